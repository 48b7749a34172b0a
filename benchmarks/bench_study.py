"""Benchmark: signal-injection studies.

1. The small exact-score study of the issue: 6 injection levels × 3 seeds, both background
   methods (direct with delta_sys^MC and global toys; sideband fit), ``--size small``
   (200k background events), on a local process pool of ``--workers`` processes
   (target: < 5 min on 2 cores).
2. A BDT-based study (IAD, fast preset, one thread per fit) on a Dask LocalCluster with 1 and
   with 2 single-threaded workers: the same points, the wall time of each and the speed-up.
   Reduced so that it finishes in minutes: ``--bdt-background`` events, 3 windows around the
   resonance, 2 injection levels × 2 seeds (4 points + 2 delta_sys tasks).

    python benchmarks/bench_study.py [--workers 2] [--skip-bdt] [--figures DIR]

Prints a JSON summary (times, points, 3σ reach, speed-up); identical numbers on 1 and 2 Dask
workers are checked.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bumpstat.parallel import available_cpus
from bumpstat.study import StudyConfig, run_study, write_study
from bumpstat.windows import sliding_windows


def exact_study(workers: int, figures: str | None) -> dict:
    cfg = StudyConfig(n_signal=(0, 50, 100, 200, 300, 500), seeds=3, methods=("direct", "fit"),
                      size="small")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = run_study(cfg, out=tmp, executor="process" if workers > 1 else None,
                        max_workers=workers, progress=False)
        wall = time.perf_counter() - t0
        t1 = time.perf_counter()
        res2 = run_study(cfg, out=tmp, progress=False)
        resume = time.perf_counter() - t1
        assert res2.to_json() == res.to_json()
        write_study(res, figures or tmp)
    rows = {f"{r['method']}_n{r['n_signal']}": {
        "z_true_median": r["z_true_window_median"], "z_true_band": r["z_true_window_band"],
        "z_global_median": r.get("z_global_median")} for r in res.summary}
    reach = {m: res.summary_of(score_method="exact", method=m)[0]["reach"]
             for m in cfg.methods}
    return {"points": len(res.points), "tasks": len(res.seconds) + cfg.seeds,
            "workers": workers, "wall_seconds": round(wall, 1),
            "rerun_from_disk_seconds": round(resume, 2),
            "cpu_seconds_points": round(sum(res.seconds.values()), 1),
            "summary": rows, "reach": reach}


def bdt_study(n_background: int) -> dict:
    from dask.distributed import Client, LocalCluster

    wins = tuple(w for w in sliding_windows() if w.name in ("SR4", "SR5", "SR6"))
    cfg = StudyConfig(n_signal=(0, 2000), seeds=2, score_methods=("iad",), global_toys=200,
                      windows=wins, producer_options={"n_threads": 1},
                      size_overrides={"n_background": n_background,
                                      "n_reference": n_background, "n_mc": n_background})
    out: dict = {"config": "iad fast preset (2 BDTs x 5 folds per window), "
                           f"{n_background} background events, 3 windows, 2 injections x 2 seeds",
                 "wall_seconds": {}}
    results = {}
    for n in (1, 2):
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            t0 = time.perf_counter()
            results[n] = run_study(cfg, executor=client, progress=False)
            out["wall_seconds"][str(n)] = round(time.perf_counter() - t0, 1)
    assert results[1].to_json() == results[2].to_json(), "numbers differ between 1 and 2 workers"
    out["identical_results"] = True
    out["speed_up_2_vs_1"] = round(out["wall_seconds"]["1"] / out["wall_seconds"]["2"], 2)
    out["z_true_window"] = {f"n{p['n_signal']}_s{p['seed']}": round(p["z_true_window"], 2)
                            for p in results[1].points}
    out["sic_at_1e-3"] = {f"n{p['n_signal']}_s{p['seed']}": p["sic_at_1e-3"]
                          for p in results[1].points}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=min(2, available_cpus()))
    ap.add_argument("--skip-bdt", action="store_true")
    ap.add_argument("--bdt-background", type=int, default=100_000)
    ap.add_argument("--figures", default=None, help="Keep the exact study's figures here.")
    args = ap.parse_args()
    if args.figures:
        Path(args.figures).mkdir(parents=True, exist_ok=True)
    report = {"cpus": available_cpus(), "exact": exact_study(args.workers, args.figures)}
    if not args.skip_bdt:
        report["bdt_dask"] = bdt_study(args.bdt_background)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
