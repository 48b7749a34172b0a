"""Benchmark of the BDT ensembles: training time per window and run, scoring throughput.

Runs IAD on the synthetic LHCO-like set in the central window [3.3, 3.7) TeV (≈120k data +
≈120k template events at full size) and reports, per ensemble size and OpenMP thread count:

- ``train_s_per_window_run``: one k-fold ensemble training (k * n_models fits, out-of-fold scores);
- ``s_per_fit``: the same divided by the number of fits;
- ``score_events_per_s``: throughput of scoring with one fitted fold ensemble;
- ``ratio_vs_sklearn_binning``: fit time of scikit-learn's own (weighted-percentile) binning with
  class weights divided by bumpstat's pre-binned fit, on one training set;
- the load average during the run (timings on a shared machine vary a lot) and peak memory.

Usage::

    python benchmarks/bench_classifiers.py [--quick] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np

from bumpstat.classifiers.bdt import BDTConfig, fit_ensemble, kfold_scores
from bumpstat.data import SyntheticLHCO
from bumpstat.windows import Window


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200k events, ensemble size 1 and 2")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args()

    n_bg = 200_000 if args.quick else 1_000_000
    sizes = (1, 2) if args.quick else (1, 2, 10)
    threads = (1, None)
    gen = SyntheticLHCO()
    data = gen.sample(n_background=n_bg, n_signal=n_bg // 1000, seed=1)
    tmpl = gen.sample_background(n_bg, seed=2)
    w = Window(3.3, 3.7, "SR5")
    xd, xt = data.x[w.contains(data.m)], tmpl.x[w.contains(tmpl.m)]

    rows = []
    load0 = os.getloadavg()[0]
    for n_threads in threads:
        for n_models in sizes:
            cfg = BDTConfig(n_models=n_models, n_threads=n_threads)
            t0 = time.perf_counter()
            res = kfold_scores(xd, xt, config=cfg, seed=3)
            dt = time.perf_counter() - t0
            rows.append({
                "n_models": n_models,
                "n_threads": n_threads or "all",
                "fits": cfg.n_folds * n_models,
                "train_s_per_window_run": round(dt, 3),
                "s_per_fit": round(dt / (cfg.n_folds * n_models), 4),
                "n_iter_mean": round(float(res.n_iter.mean()), 1),
            })

    # scoring throughput of one fold ensemble (10 members), 1M events
    x = np.concatenate([xd, xt])
    y = np.r_[np.ones(len(xd)), np.zeros(len(xt))]
    ens = fit_ensemble(x, y, config=BDTConfig(n_models=10 if not args.quick else 2), seed=4)
    big = np.tile(data.x, (max(1, 1_000_000 // len(data)), 1))[:1_000_000]
    t0 = time.perf_counter()
    ens.score(big)
    score_rate = len(big) / (time.perf_counter() - t0)

    # scikit-learn's own binning with class weights vs pre-binned (one fit each)
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    sub = np.random.default_rng(0).permutation(len(x))[: min(len(x), 160_000)]
    with threadpool_limits(1, user_api="openmp"):
        t0 = time.perf_counter()
        HistGradientBoostingClassifier(max_iter=200, early_stopping=True, n_iter_no_change=10,
                                       validation_fraction=0.2, class_weight="balanced",
                                       random_state=0).fit(x[sub], y[sub])
        t_skl = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit_ensemble(x[sub], y[sub], config=BDTConfig(n_models=1), seed=0)
    t_own = time.perf_counter() - t0

    summary = {
        "benchmark": "bench_classifiers",
        "quick": args.quick,
        "n_data_sr": int(len(xd)),
        "n_template_sr": int(len(xt)),
        "n_features": int(xd.shape[1]),
        "cpu_count": os.cpu_count(),
        "load_average_start_end": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "training": rows,
        "score_events_per_s": round(score_rate),
        "score_ensemble_size": len(ens.models),
        "sklearn_binning_fit_s": round(t_skl, 3),
        "prebinned_fit_s": round(t_own, 3),
        "ratio_vs_sklearn_binning": round(t_skl / t_own, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
