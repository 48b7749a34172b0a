"""Benchmark: direct-estimation scan of 9 windows x 3 eps_b x 10 runs, 1.1M data + 4.4M template.

Compared in the same run with the obvious alternative, pyhf alone on the same one-bin models
(timed on a sample of them and extrapolated). Prints a JSON summary.

    python benchmarks/bench_scan.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from bumpstat.scan import run_scan
from bumpstat.scores import EventSet, ScoreFile, WindowScores
from bumpstat.stats.pyhf_models import pyhf_discovery, pyhf_upper_limit
from bumpstat.windows import sliding_windows


def _score_file(n_data: int, n_template: int, n_runs: int, seed: int) -> ScoreFile:
    rng = np.random.default_rng(seed)
    windows = sliding_windows()
    per_d, per_t = n_data // len(windows), n_template // len(windows)
    out = []
    for w in windows:
        data = EventSet(rng.standard_normal((n_runs, per_d)), m=rng.uniform(w.low, w.high, per_d))
        out.append(WindowScores(w, data, EventSet(rng.standard_normal((n_runs, per_t)))))
    return ScoreFile(tuple(out), method="bench")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="10x smaller inputs, 3 pyhf models")
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    n_data, n_template, n_runs = 1_100_000 // scale, 4_400_000 // scale, 10
    eps_b = (1e-2, 1e-3, 1e-4)

    t0 = time.perf_counter()
    sf = _score_file(n_data, n_template, n_runs, seed=1)
    t_make = time.perf_counter() - t0
    rss_inputs = _peak_rss_mb()

    t0 = time.perf_counter()
    res = run_scan(sf, eps_b=eps_b, delta_sys=0.05, progress=False)
    t_scan = time.perf_counter() - t0
    rss_scan = _peak_rss_mb()
    n_models = sum(p.n_runs for p in res.points)

    # pyhf alone on a sample of the same models (discovery + upper limit each)
    sample = [(float(p.n_obs[r]), float(p.n_exp[r]), float(p.rel_unc[r]))
              for p in res.points[: (1 if args.quick else 3)] for r in range(1)]
    t0 = time.perf_counter()
    for n, b, s in sample:
        pyhf_discovery(n, b, s)
        pyhf_upper_limit(n, b, s)
    t_pyhf_each = (time.perf_counter() - t0) / len(sample)
    t_pyhf_total = t_pyhf_each * n_models

    print(json.dumps({
        "inputs": {"n_data": n_data, "n_template": n_template, "n_runs": n_runs,
                   "windows": len(sf.windows), "eps_b": eps_b, "models": n_models,
                   "make_inputs_s": round(t_make, 3)},
        "bumpstat_scan_s": round(t_scan, 3),
        "pyhf_alone_per_model_s": round(t_pyhf_each, 3),
        "pyhf_alone_extrapolated_s": round(t_pyhf_total, 1),
        "speedup_vs_pyhf": round(t_pyhf_total / t_scan, 1),
        "peak_rss_mb_inputs": round(rss_inputs, 1),
        "peak_rss_mb_after_scan": round(rss_scan, 1),
        "targets": {"scan_s": 10, "memory_mb": 2000},
    }, indent=2))


if __name__ == "__main__":
    main()
