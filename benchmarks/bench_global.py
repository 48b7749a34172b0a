"""Benchmark: global significance from 10^4 background-only pseudo-experiments of a scan over
9 sliding windows × 3 working points on an R&D-sized score file (1.1M data, 4.4M template
events with event ids; 10 classifier runs by default, as in the papers), beside
pyBumpHunter's 10^4-toy 1-D scan of the same data's m histogram against the template's over the
same 9 windows (the obvious alternative; it has no scores and treats the reference as exact).

pyBumpHunter is not a bumpstat dependency. Install it into the benchmark's environment from the
package index (``.venv/bin/pip install pyBumpHunter``); without it that part is skipped with a
message.

    python benchmarks/bench_global.py [--quick] [--toys N] [--workers W] [--runs R]

``--quick``: 10x smaller inputs and 1000 toys. Prints a JSON summary: wall time per stage, the
CPU seconds of the global step (main process and workers), peak memory of the main process and
of the largest worker, pyBumpHunter's time and the ratio, and the machine load
(``os.getloadavg()``) before and after, since the machine may be shared. ``--workers 1`` runs
the toys in the main process (no pool to start: faster when the cores are busy).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import io
import json
import os
import resource
import sys
import threading
import time

import numpy as np

from bumpstat.estimators import DirectEstimator
from bumpstat.global_significance import global_significance
from bumpstat.scan import run_scan
from bumpstat.scores import EventSet, ScoreFile, WindowScores
from bumpstat.windows import sliding_windows

#: m range of the generated events (TeV); the windows cover 2.9-4.1.
M_RANGE = (2.8, 5.2)


def _sample(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = M_RANGE
    m = lo * (1.0 + rng.pareto(5.0, int(1.6 * n)))
    m = m[m < hi][:n]
    return m, rng.standard_normal(m.size)


def score_file(n_data: int, n_template: int, n_runs: int,
               seed: int) -> tuple[ScoreFile, np.ndarray, np.ndarray]:
    """Background-only events shared by overlapping windows (event ids); each window's
    classifier scores an event ``x + 0.3 N(0, 1)`` per run. Returns the file and the m of every
    data and template event."""
    rng = np.random.default_rng(seed)
    m_d, x_d = _sample(rng, n_data)
    m_t, x_t = _sample(rng, n_template)

    def scores(x: np.ndarray, n: int) -> np.ndarray:
        s = rng.standard_normal((n_runs, n))
        s *= 0.3
        s += x
        return s

    out = []
    for w in sliding_windows():
        d, t = w.contains(m_d), w.contains(m_t)
        out.append(WindowScores(
            w, EventSet(scores(x_d[d], int(d.sum())), m=m_d[d], event_id=np.flatnonzero(d)),
            EventSet(scores(x_t[t], int(t.sum())), m=m_t[t], event_id=np.flatnonzero(t))))
    return ScoreFile(tuple(out), method="bench"), m_d, m_t


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ChildMemory(threading.Thread):
    """Largest peak RSS (VmHWM) of any child process (the pool's workers), polled from /proc
    (Linux). ``RUSAGE_CHILDREN`` cannot be used: it keeps the parent's size at fork time."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(0.1):
            for tasks in glob.glob(f"/proc/{me}/task/*/children"):
                try:
                    pids = open(tasks).read().split()
                    for pid in pids:
                        for line in open(f"/proc/{pid}/status"):
                            if line.startswith("VmHWM:"):
                                self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
                except OSError:  # the child has ended
                    continue


def _cpu_s() -> float:
    """CPU seconds of this process and of its ended children (user + system)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _pybumphunter(m_data: np.ndarray, m_template: np.ndarray, n_toys: int,
                  workers: int) -> dict | None:
    """pyBumpHunter's BumpHunter1D over the bumpstat windows' m range in 0.1 TeV bins, one
    window width of 4 bins (0.4 TeV) moved by one bin: the same 9 windows."""
    try:
        import pyBumpHunter as BH
    except ImportError:
        print("pyBumpHunter is not installed: skipping the comparison. Install it into this "
              "environment with '.venv/bin/pip install pyBumpHunter'.", file=sys.stderr)
        return None
    lo = min(w.low for w in sliding_windows())
    hi = max(w.high for w in sliding_windows())
    edges = np.linspace(lo, hi, int(round((hi - lo) / 0.1)) + 1)
    h_d, _ = np.histogram(m_data, edges)
    h_t, _ = np.histogram(m_template, edges)
    ref = h_t * (m_data.size / m_template.size)  # the template normalised to the data size
    bh = BH.BumpHunter1D(rang=[lo, hi], width_min=4, width_max=4, width_step=1, scan_step=1,
                         npe=n_toys, bins=edges, nworker=workers, seed=1)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its progress
        bh.bump_scan(h_d, ref, is_hist=True, do_pseudo=True)
    dt = time.perf_counter() - t0
    return {"seconds": round(dt, 2), "windows": len(edges) - 4, "p_global": bh.global_Pval,
            "z_global": round(float(bh.significance), 3), "version": BH.__version__}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10x smaller inputs, 1000 toys")
    ap.add_argument("--toys", type=int, default=None, help="default 10^4 (1000 with --quick)")
    ap.add_argument("--workers", type=int, default=2, help="local processes (1: serial)")
    ap.add_argument("--runs", type=int, default=10, help="classifier runs in the score file")
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    n_toys = args.toys or (1000 if args.quick else 10_000)
    n_data, n_template = 1_100_000 // scale, 4_400_000 // scale
    eps_b = (1e-2, 1e-3, 1e-4)
    load_before = _load()

    t0 = time.perf_counter()
    sf, m_d, m_t = score_file(n_data, n_template, args.runs, seed=1)
    t_make = time.perf_counter() - t0
    rss_inputs = _peak_rss_mb()
    t0 = time.perf_counter()
    scan = run_scan(sf, estimators=[DirectEstimator(delta_sys=0.02)], eps_b=eps_b,
                    progress=False)
    t_scan = time.perf_counter() - t0
    executor = "process" if args.workers > 1 else None
    watch = ChildMemory()
    watch.start()
    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    g = global_significance(sf, scan, n_toys=n_toys, seed=1, executor=executor,
                            max_workers=args.workers if executor else None, progress=False)
    t_global = time.perf_counter() - t0
    cpu_global = _cpu_s() - cpu0
    watch.stop.set()
    watch.join()
    rss_main = _peak_rss_mb()

    bh = _pybumphunter(m_d, m_t, n_toys, args.workers)
    print(json.dumps({
        "inputs": {"n_data": n_data, "n_template": n_template, "n_runs": args.runs,
                   "windows": len(sf.windows), "eps_b": eps_b, "n_toys": n_toys,
                   "workers": args.workers, "cpus": os.cpu_count(),
                   "data_events_in_windows": sum(w.data.n_events for w in sf.windows),
                   "template_events_in_windows": sum(w.template.n_events for w in sf.windows)},
        "make_inputs_s": round(t_make, 2),
        "scan_s": round(t_scan, 2),
        "bumpstat_global_s": round(t_global, 2),
        "bumpstat_global_cpu_s": round(cpu_global, 2),
        "global": {"z_local_max": round(g.z_local_max, 3), "p_global": g.p_global,
                   "z_global": round(g.z_global, 3), "trials_factor": round(g.trials_factor, 2),
                   "approximation": g.approximation},
        "peak_rss_mb": {"main_after_inputs": round(rss_inputs, 1),
                        "main": round(rss_main, 1),
                        "largest_worker": round(watch.peak_mb, 1) if executor else None},
        "pybumphunter": bh,
        "ratio_bumpstat_over_pybumphunter": None if bh is None
        else round(t_global / bh["seconds"], 1),
        "load_average_before_after": [load_before, _load()],
        "targets": {"global_s": 30, "memory_mb": 2000},
    }, indent=2))


if __name__ == "__main__":
    main()
