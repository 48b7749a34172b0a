"""Benchmark: eq. 6 throughput and closed-form one-bin models vs pyhf.

Run ``python benchmarks/bench_cutcount.py`` (``--quick`` for a smoke run). Prints JSON:

* ``eq6``: evaluations/s of :func:`bumpstat.stats.asimov_significance` on 10^7 (n, b, sigma)
  triples (best of 3, wall and CPU), peak memory of one call (tracemalloc) and the process
  max RSS;
* ``scan``: discovery + 95% CL CLs limits (observed, ±1σ/±2σ expected) for a scan of
  9 windows x 3 working points x 10 runs = 270 one-bin models with
  :func:`bumpstat.stats.cut_and_count`, against pyhf alone (``pyhf_discovery`` +
  ``pyhf_upper_limit``) on a sample of the same models: time per model, the pyhf total
  extrapolated to 270 models, the ratio, and the largest deviations on the sample.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc

import numpy as np

from bumpstat.stats import (
    asimov_significance,
    cut_and_count,
    pyhf_discovery,
    pyhf_upper_limit,
    rel_unc_expected,
)


def _triples(size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    b = 10 ** rng.uniform(0.0, 4.0, size)
    n = rng.poisson(b * 1.05).astype(np.float64)
    s = rng.uniform(0.0, 0.5, size)
    return n, b, s


def bench_eq6(size: int, repeats: int = 3) -> dict:
    n, b, s = _triples(size)
    asimov_significance(n[:1000], b[:1000], s[:1000])  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        asimov_significance(n, b, s)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    tracemalloc.start()
    asimov_significance(n, b, s)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "n_triples": size,
        "best_wall_s": min(walls),
        "evals_per_s_wall": size / min(walls),
        "evals_per_s_cpu": size / min(cpus),
        "peak_mem_call_MB": peak / 2**20,
        "output_array_MB": size * 8 / 2**20,
    }


def scan_models(seed: int = 1):
    """9 windows x 3 working points x 10 runs of a falling spectrum, eq. 8 uncertainties."""
    rng = np.random.default_rng(seed)
    centres = 3.5 - 0.1 * (5 - np.arange(1, 10))  # TeV
    n_sr = 120_000 * np.exp(-(centres - 3.5) / 0.35)  # SR events per window
    eps = np.array([1e-2, 1e-3, 1e-4])
    sigma_sys = np.array([0.07, 0.14, 0.25])
    n_exp = eps[None, :, None] * n_sr[:, None, None] * np.ones((1, 1, 10))
    sigma = rel_unc_expected(eps[None, :, None], 4 * n_sr[:, None, None], sigma_sys[None, :, None])
    sigma = np.broadcast_to(sigma, n_exp.shape)
    n_obs = rng.poisson(n_exp * rng.normal(1.0, sigma)).astype(np.float64)
    return n_obs.ravel(), n_exp.ravel(), np.array(sigma).ravel()


def bench_scan(n_pyhf: int) -> dict:
    n, b, s = scan_models()
    cut_and_count(n[:5], b[:5], s[:5])  # warm-up
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        res = cut_and_count(n, b, s)
        times.append(time.perf_counter() - t0)
    closed_total = min(times)
    sample = np.linspace(0, n.size - 1, n_pyhf).round().astype(int)
    dz, dp, dlim = [], [], []
    t0 = time.perf_counter()
    for i in sample:
        d = pyhf_discovery(n[i], b[i], s[i])
        u = pyhf_upper_limit(n[i], b[i], s[i])
        if n[i] > b[i]:
            dz.append(abs(res.z[i] - d.z))
        dp.append(abs(res.p_value[i] - d.p_value))
        ref = np.array([u.upper_limit, *u.expected_limits])
        mine = np.array([res.upper_limit[i], *res.expected_limits[i]])
        dlim.append(np.max(np.abs(mine / ref - 1)))
    pyhf_per_model = (time.perf_counter() - t0) / len(sample)
    return {
        "n_models": int(n.size),
        "closed_form_total_s": closed_total,
        "closed_form_per_model_s": closed_total / n.size,
        "pyhf_models_timed": int(len(sample)),
        "pyhf_per_model_s": pyhf_per_model,
        "pyhf_total_extrapolated_s": pyhf_per_model * n.size,
        "speedup_pyhf_over_closed_form": pyhf_per_model * n.size / closed_total,
        "max_abs_dZ_excesses": float(max(dz)) if dz else None,
        "max_abs_dp": float(max(dp)),
        "max_rel_dlimit_obs_and_expected": float(max(dlim)),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^6 triples, 3 pyhf models")
    args = parser.parse_args(argv)
    size, n_pyhf = (10**6, 3) if args.quick else (10**7, 12)
    out = {
        "quick": args.quick,
        "eq6": bench_eq6(size),
        "scan": bench_scan(n_pyhf),
        "max_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
