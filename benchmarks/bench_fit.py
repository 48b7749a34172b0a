"""Benchmark of the sideband fit: one 4-parameter fit on 30 bins and 1,000 pseudo-experiment refits.

Compared in the same run with a straightforward iminuit fit in the textbook parametrisation
(p0..p3 of eq. 4.1, the same bin integrals, numerical gradient, default strategy, HESSE).

Usage: ``python benchmarks/bench_fit.py [--quick] [--workers N]``; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
import warnings

import numpy as np
from iminuit import Minuit
from iminuit.cost import ExtendedBinnedNLL

from bumpstat.fit import (
    GOF_MIN_P,
    FitWarning,
    bumphunt,
    fit_sideband,
    get_function,
    make_edges,
    pseudo_experiments,
    sr_mask,
)

SR = (3.3, 3.7)
P_TRUE = [1.0, 10.0, 5.0, 0.1]


def textbook_fit(counts, edges, mask, start):
    """The obvious approach: fit p0..p3 directly."""
    f = get_function("dijet4")

    def cdf(xe, p0, p1, p2, p3):
        return np.concatenate([[0.0], np.cumsum(f.bin_integrals(edges, [p0, p1, p2, p3]))])

    cost = ExtendedBinnedNLL(counts, edges, cdf)
    cost.mask = mask
    m = Minuit(cost, *start)
    m.errors = np.maximum(np.abs(start) * 0.01, 0.01)
    m.limits["p0"] = (0, None)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.migrad()
        m.hesse()
    return bool(m.fmin.is_valid and m.fmin.has_accurate_covar), m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats and toys")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args()
    n_rep = 30 if args.quick else 200
    n_toys = 200 if args.quick else 1000
    n_textbook = 50 if args.quick else 200

    edges = make_edges((2.8, 5.2), 30, sr=SR)
    mu = get_function("dijet4").bin_integrals(edges, P_TRUE)
    mu = mu / mu.sum() * 5e5
    rng = np.random.default_rng(0)
    data = [rng.poisson(mu).astype(float) for _ in range(n_rep)]

    # one fit from scratch (pre-fit, parametrisation, MIGRAD, HESSE, conventional parameters)
    times, valid = [], []
    for n in data:
        t = time.perf_counter()
        fit = fit_sideband(n, edges, sr=SR, function="dijet4")
        times.append(time.perf_counter() - t)
        valid.append(fit.valid)
    single = float(np.median(times))

    # textbook parametrisation, started from the same least-squares pre-fit
    mask = ~sr_mask(edges, SR)
    tb_times, tb_valid = [], []
    for n in data[:n_textbook] + [rng.poisson(mu).astype(float)
                                  for _ in range(max(0, n_textbook - n_rep))]:
        t = time.perf_counter()
        p_start = get_function("dijet4").prefit(edges, n, mask=mask)
        ok, _ = textbook_fit(n, edges, mask, p_start)
        tb_times.append(time.perf_counter() - t)
        tb_valid.append(ok)
    tb_single = float(np.median(tb_times))

    # the full bump hunt on events (histogram, fit, SR test, goodness of fit, CLs limit)
    grid = np.linspace(2.8, 5.2, 4001)
    cdf = np.concatenate([[0], np.cumsum(get_function("dijet4").bin_integrals(grid, P_TRUE))])
    events = np.interp(rng.random(500_000), cdf / cdf[-1], grid)
    bh_times = []
    for _ in range(n_rep // 3):
        t = time.perf_counter()
        bh = bumphunt(events, window=SR, edges=edges)
        bh_times.append(time.perf_counter() - t)

    # 1,000 pseudo-experiment refits (fit only, and fit + SR test)
    nominal = fit_sideband(data[0], edges, sr=SR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        toys = pseudo_experiments(nominal, n_toys=n_toys, seed=1, expected=mu, sr_test=False,
                                  workers=args.workers)
        toys_1 = pseudo_experiments(nominal, n_toys=n_toys, seed=1, expected=mu, sr_test=False,
                                    workers=1)
        toys_sr = pseudo_experiments(nominal, n_toys=n_toys, seed=1, expected=mu, sr_test=True,
                                     workers=args.workers)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {
        "n_bins": 30,
        "function": "dijet4",
        "events": 5e5,
        "load_average_1min": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        "single_fit_median_ms": 1e3 * single,
        "single_fit_valid_fraction": float(np.mean(valid)),
        "textbook_fit_median_ms": 1e3 * tb_single,
        "textbook_fit_valid_fraction": float(np.mean(tb_valid)),
        "speedup_vs_textbook": tb_single / single,
        "bumphunt_5e5_events_median_ms": 1e3 * float(np.median(bh_times)),
        "bumphunt_valid": bool(bh.valid),
        "n_toys": n_toys,
        "toys_workers": args.workers,
        "toys_refit_seconds": toys.seconds,
        "toys_refit_seconds_1_worker": toys_1.seconds,
        "toys_refit_valid_fraction": toys.fraction_valid,
        "toys_refit_plus_sr_test_seconds": toys_sr.seconds,
        "toys_refit_plus_sr_test_valid_fraction": toys_sr.fraction_valid,
        "toys_failing_gof_gate_fraction": toys.fraction_failing_gof(GOF_MIN_P),
        "textbook_equivalent_toys_seconds_estimate": tb_single * n_toys,
        "peak_rss_mb": peak / 2**20,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
