"""A busy machine: the reduced ``bumpstat demo`` idle and beside one CPU-bound process.

Issue 9 measured ``bumpstat demo`` going from about 2 to over 10 minutes on a 2-core machine
when one other CPU-bound process ran (R-ANODE flow epochs 1.5 s -> 30 s: torch's thread pool
waiting at every barrier for a thread that shared its core with the neighbour). Thread counts
now come from :func:`bumpstat.parallel.idle_cpus` inside :func:`bumpstat.parallel.torch_threads`.
This script runs the same reduced demo twice, idle and beside a Python spin loop, and reports
both wall times and their ratio (target: at most 1.5).

Usage::

    python benchmarks/bench_busy.py [--n-background 200000] [--ranode test] [--repeat 1]

The load average before each run is printed: other work on the machine makes "idle" less idle.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def _demo(args: argparse.Namespace, out: str) -> tuple[float, dict[str, float]]:
    """Wall time of one demo run and its per-step times (``OUT/timings.json``)."""
    cmd = [sys.executable, "-c", "from bumpstat.cli import main; main()", "demo", "--out", out,
           "--n-background", str(args.n_background), "--n-signal", str(args.n_signal),
           "--ranode", args.ranode, "--global-toys", str(args.global_toys), "--quiet"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"demo failed (exit {res.returncode}):\n{res.stderr[-2000:]}")
    with open(os.path.join(out, "timings.json")) as fh:
        return dt, json.load(fh)


def _spinner() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-background", type=int, default=200_000)
    ap.add_argument("--n-signal", type=int, default=600)
    ap.add_argument("--ranode", default="test")
    ap.add_argument("--global-toys", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    times: dict[str, list[float]] = {"idle": [], "busy": []}
    steps: dict[str, list[dict[str, float]]] = {"idle": [], "busy": []}
    load: dict[str, list[float]] = {"idle": [], "busy": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            for mode in ("idle", "busy"):
                load[mode].append(os.getloadavg()[0])
                spin = _spinner() if mode == "busy" else None
                try:
                    if spin is not None:
                        time.sleep(1.0)  # let the neighbour occupy its core
                    dt, t = _demo(args, os.path.join(tmp, f"{mode}{i}"))
                    times[mode].append(dt)
                    steps[mode].append(t)
                finally:
                    if spin is not None:
                        spin.kill()
                        spin.wait()
    best = {m: min(range(args.repeat), key=times[m].__getitem__) for m in times}
    idle, busy = times["idle"][best["idle"]], times["busy"][best["busy"]]
    per_step = {k: [steps["idle"][best["idle"]][k], steps["busy"][best["busy"]].get(k)]
                for k in steps["idle"][best["idle"]]}
    summary = {"cpus": len(os.sched_getaffinity(0)), "options": vars(args),
               "idle_s": times["idle"], "busy_s": times["busy"], "steps_s": per_step,
               "load1_before": load, "ratio_best": busy / idle, "target": 1.5}
    print(json.dumps(summary, indent=1))
    for k, (a, b) in per_step.items():
        print(f"  {k:12s} idle {a:7.1f} s  busy {b:7.1f} s  ratio {b / max(a, 1e-9):5.2f}")
    print(f"idle {idle:.1f} s, beside one busy process {busy:.1f} s: ratio {busy / idle:.2f} "
          f"(target <= 1.5)")

if __name__ == "__main__":
    main()
