"""A small signal-injection study with the exact score, through the Python API.

4 injection levels × 2 seeds on 50k background events: each point generates data with that
injection, scores it with the exact likelihood ratio, estimates delta_sys^MC from the
alternative generator, scans the 9 sliding windows with the direct method and computes the
global significance. Prints the median local Z of the true window (3.3-3.7 TeV) per injection
and the N_sig at which it reaches 3σ; writes OUT/study.json and the figures. Rerunning into the
same OUT reuses the points already there.

    python examples/study_small.py [OUT_DIR]
"""

import sys
import tempfile
from pathlib import Path

from bumpstat.study import StudyConfig, run_study, write_study

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
config = StudyConfig(n_signal=(0, 30, 60, 120), seeds=2, score_methods=("exact",),
                     methods=("direct",), global_toys=200,
                     size_overrides={"n_background": 50_000, "n_reference": 50_000,
                                     "n_mc": 50_000})
result = run_study(config, out=out, progress=False)
for row in result.summary_of(score_method="exact", method="direct"):
    lo, hi = row["z_true_window_band"]
    print(f"N_sig = {row['n_signal']:4d} (S/sqrt(B) = {row['s_over_sqrt_b_median']:.2f}): "
          f"median local Z = {row['z_true_window_median']:5.2f} [{lo:5.2f}, {hi:5.2f}], "
          f"global Z = {row['z_global_median']:.2f}")
n3 = result.summary[0]["n_signal_3sigma"]
print("median reaches 3 sigma at N_sig ≈", "never" if n3 is None else f"{n3:.0f}")
written = write_study(result, out)
print("wrote", ", ".join(p.name for p in written))
