"""Benchmark of the score producers in the 3.5 TeV window: training time and the performance
table of docs/producers_comparison.md (AUC, max SIC, SIC at eps_B = 1e-3 as median [16, 84]
over runs, and the direct-method Z at eps_B = 1e-3 with delta_sys = 0).

Usage::

    python benchmarks/bench_producers.py --n-background 1000000 --n-signal 1000 \\
        --preset fast --runs 3 --out bench_producers.json

The simulation of SALAD is the ``alternative`` generator; IAD and the exact ratio use an
independent nominal background sample of the same size. Rows are merged into an existing
``--out`` file (one invocation per group of methods, e.g. different ``--runs``), each row with
its own settings, the wall and CPU seconds it took (all threads) and the load average when it
started (the machine may be shared: CPU seconds are the better measure of cost).
``auc_data_vs_template`` is the AUC of the SR data against the template with the data/template
labels (0.5 for a perfect template; the signal is < 1% of the SR, so it measures mismodelling).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from bumpstat.data import SyntheticLHCO
from bumpstat.direct.estimate import direct_estimate
from bumpstat.metrics.report import score_file_metrics
from bumpstat.producers import get_producer
from bumpstat.windows import Window

SR = Window(3.3, 3.7, "SR_3.5")
BDT_PRESET = {"test": "fast", "fast": "fast", "paper": "paper"}
RANODE_PRESET = {"test": "test", "fast": "small", "paper": "paper"}


def _producer(name: str, preset: str, gen: SyntheticLHCO):
    if name == "exact":
        return get_producer("exact", generator=gen)
    if name in ("iad", "cwola"):
        return get_producer(name, preset=BDT_PRESET[preset])
    if name == "ranode":
        return get_producer("ranode", preset=RANODE_PRESET[preset])
    return get_producer(name, preset=preset)


def _band(v: np.ndarray) -> list[float]:
    return [round(float(np.median(v)), 4), round(float(np.percentile(v, 16)), 4),
            round(float(np.percentile(v, 84)), 4)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-background", type=int, default=1_000_000)
    ap.add_argument("--n-signal", type=int, default=1000)
    ap.add_argument("--preset", default="fast", choices=["test", "fast", "paper"])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--methods", default="exact,iad,cwola,cathode,lacathode,anode,ranode,salad,ae")
    ap.add_argument("--out", default="bench_producers.json")
    a = ap.parse_args()
    gen = SyntheticLHCO()
    data = gen.sample(n_background=a.n_background, n_signal=a.n_signal, seed=a.seed)
    ref = gen.sample_background(a.n_background, seed=a.seed + 1)
    sim = SyntheticLHCO(variant="alternative").sample_background(a.n_background, seed=a.seed + 2)
    settings = {k: getattr(a, k) for k in ("n_background", "n_signal", "preset", "runs",
                                             "seed")}
    out = Path(a.out)
    rows = json.loads(out.read_text())["methods"] if out.exists() else {}
    for name in a.methods.split(","):
        load = round(os.getloadavg()[0], 2)
        p = _producer(name, a.preset, gen)
        reference = sim if name == "salad" else ref if p.needs_reference else None
        t0, c0 = time.perf_counter(), time.process_time()
        sf = p.produce(data, [SR], runs=a.runs, seed=a.seed, reference=reference, progress=False)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        w = score_file_metrics(sf, eps_b=1e-3).windows[0]
        pt = direct_estimate(sf.windows[0], [1e-3])[0]
        rows[name] = {"settings": settings, "load_average": load,
                      "seconds": round(secs, 1), "cpu_seconds": round(cpu, 1),
                      "auc": _band(w.values("auc")),
                      "auc_data_vs_template": _band(np.asarray(w.auc_data_vs_template)),
                      "max_sic": _band(w.values("max_sic")),
                      "sic_1e-3": _band(w.values("sic_at_eps_b")),
                      "z_direct_1e-3": _band(np.asarray(pt.z, dtype=float)),
                      "n_sr": int(SR.contains(data.m).sum()), "n_signal_sr": w.n_signal}
        print(name, json.dumps(rows[name]), flush=True)
        out.write_text(json.dumps({"methods": rows}, indent=1))


if __name__ == "__main__":
    main()
