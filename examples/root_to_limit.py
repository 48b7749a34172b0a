"""From a ROOT file of scored events to a scan, a global significance and a limit plot.

The tutorial docs/own_data.md walks through these steps. Run it as

    python examples/root_to_limit.py [WORKDIR]

1. Write ``scored.root`` with uproot: a ``data`` tree (m_JJ in GeV, two classifier runs'
   out-of-fold scores, fold index, event id), a ``template`` tree (an oversampled background
   template, weight 1/4 per event) and a signal-free ``mc`` tree with its own template (for
   δ_sys^MC).
2. ``bumpstat convert`` each into a score file (declaring GeV).
3. ``bumpstat delta-sys`` on the signal-free sample, ``bumpstat scan --delta-sys … --global-toys``
   on the data: ``scan.json``, ``report.md``, ``limits_direct_eps*.png``.
4. The limit plot again from Python, as a signal fraction of the SR.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import uproot

work = Path(sys.argv[1] if len(sys.argv) > 1 else "root_to_limit")
work.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)


def background(n):
    """A falling m_JJ spectrum (GeV) and anomaly scores that do not depend on m."""
    m = 2800.0 * (1.0 + rng.pareto(6.0, 3 * n))
    m = m[m < 5200.0][:n]
    return m, rng.random((2, m.size))


def tree(m, scores, **extra):
    cols = {"mjj": m, "score_run0": scores[0], "score_run1": scores[1], **extra}
    return {k: np.ascontiguousarray(v) for k, v in cols.items()}


# 1. scored events in ROOT --------------------------------------------------------------------
m_bg, s_bg = background(120_000)
n_sig = 400
m_sig = rng.normal(3500.0, 90.0, n_sig)
s_sig = 1.0 - rng.beta(1.0, 30.0, (2, n_sig))  # signal scores close to 1
m = np.concatenate([m_bg, m_sig])
data = tree(m, np.concatenate([s_bg, s_sig], axis=1),
            label=np.r_[np.zeros(m_bg.size), np.ones(n_sig)].astype(np.int32),
            fold=rng.integers(0, 5, m.size).astype(np.int32),
            event_id=np.arange(m.size, dtype=np.int64))
_, s_t = background(200_000)  # template: 4x oversampled -> weight 1/4
template = tree(np.full(s_t.shape[1], 3500.0), s_t, weight=np.full(s_t.shape[1], 0.25))
mc_m, mc_s = background(120_000)  # simulated background only (signal-free)
_, mc_t = background(200_000)
mc_template = tree(np.full(mc_t.shape[1], 3500.0), mc_t, weight=np.full(mc_t.shape[1], 0.25))

root = work / "scored.root"
with uproot.recreate(root) as f:
    for name, cols in (("data", data), ("template", template),
                       ("mc", tree(mc_m, mc_s)), ("mc_template", mc_template)):
        f.mktree(name, {k: v.dtype for k, v in cols.items()}).extend(cols)
print(f"wrote {root}")


def bumpstat(*args):
    cmd = [sys.executable, "-c", "from bumpstat.cli import main; main()", *map(str, args)]
    print("$ bumpstat", " ".join(map(str, args)))
    subprocess.run(cmd, check=True)


# 2. convert (masses declared in GeV; the score file stores TeV) ------------------------------
windows = ["--window", "SR4:3200:3600", "--window", "SR5:3300:3700", "--window", "SR6:3400:3800"]
bumpstat("convert", root, "-o", work / "scores.h5", "--tree", "data",
         "--template-tree", "template", "--m", "mjj", "--score", "score_run0", "score_run1",
         "--label", "label", "--fold", "fold", "--event-id", "event_id",
         "--template-weight", "weight", *windows, "--mass-unit", "GeV", "--method", "mine",
         "--quiet")
bumpstat("convert", root, "-o", work / "mc.h5", "--tree", "mc", "--template-tree",
         "mc_template", "--m", "mjj", "--score", "score_run0", "score_run1",
         "--template-weight", "weight", *windows, "--mass-unit", "GeV", "--quiet")

# 3. delta_sys on the signal-free sample, then the scan with a global significance -----------
bumpstat("delta-sys", work / "mc.h5", "-o", work / "delta_sys.json", "--eps-b", 1e-2, 1e-3,
         "--quiet")
bumpstat("scan", work / "scores.h5", "--out", work / "scan", "--eps-b", 1e-2, 1e-3,
         "--delta-sys", work / "delta_sys.json", "--global-toys", 200, "--seed", 1, "--quiet")

scan = json.loads((work / "scan" / "scan.json").read_text())
best = max((r for r in scan["results"] if r["valid"]), key=lambda r: r["z"])
g = scan["global"]
print(f"largest local Z = {best['z']:.2f} in {best['window']['name']} at eps_b = "
      f"{best['eps_b']:g}; global Z = {g['z_global']:.2f} ({g['n_toys']} toys)")
print(f"observed 95% CL limit {best['upper_limit']:.1f} signal events, expected "
      f"{best['expected_limits'][2]:.1f} [{best['expected_limits'][1]:.1f}, "
      f"{best['expected_limits'][3]:.1f}]")
plots = sorted(p.name for p in (work / "scan").glob("limits*.png"))
assert plots, "the scan writes limits_<method>_eps<eps_b>.png"
print("limit plots:", ", ".join(plots))

# 4. the same scan from Python, and its limit plot as a fraction of the SR ---------------------
from bumpstat.direct.delta_sys import DeltaSys  # noqa: E402
from bumpstat.estimators import DirectEstimator  # noqa: E402
from bumpstat.plotting.limits import plot_limits  # noqa: E402
from bumpstat.scan import run_scan  # noqa: E402
from bumpstat.scores import read_scores  # noqa: E402

dsys = DeltaSys.read_json(work / "delta_sys.json")
result = run_scan(read_scores(work / "scores.h5"), estimators=[DirectEstimator(delta_sys=dsys)],
                  eps_b=[1e-2, 1e-3], progress=False)
print(result)
print(result.to_dataframe()[["window.name", "eps_b", "z", "upper_limit",
                             "expected_limit_median"]].to_string(index=False))
plot_limits(result, eps_b=1e-2, quantity="fraction", path=work / "limit_fraction.png")
print(f"wrote {work / 'limit_fraction.png'}")
