"""Small counts: asymptotic formulas vs pseudo-experiments for the one-bin model.

Run ``python benchmarks/small_counts_table.py`` (JSON on stdout; ``--markdown`` for the tables
of docs/statistics.md, ``--quick`` for a smoke run). For every N_exp in 1, 3, 10, 30, 100 and
relative uncertainty sigma in 0, 0.1, 0.3:

* discovery: n_obs is the smallest integer whose asymptotic Z (eq. 6) reaches 3; the
  asymptotic p-value and Z against :func:`bumpstat.stats.toy_discovery` (toys at the
  conditional MLE of the nuisance), and Z_Bi with the off count n_off = 1/sigma^2 and
  tau = n_off / N_exp (the on/off problem with the same background uncertainty);
* limits: n_obs = round(N_exp) (a background-like observation); the asymptotic observed and
  median expected 95% CL CLs limits against :func:`bumpstat.stats.toy_limits`, run with
  N_SEEDS seeds: their mean is reported with its standard error (spread / sqrt(N_SEEDS)).

Every row and seed gets its own ``SeedSequence(seed, spawn_key=(row, run))``, so the toy
fluctuations of different rows are independent. For sigma = 0 the exact values (Poisson tail,
Poisson CLs) are printed beside the toys as a check.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np
from scipy import optimize, stats

from bumpstat.stats import (
    asimov_significance,
    cut_and_count,
    toy_discovery,
    toy_limits,
    z_bi,
)

N_EXP = (1.0, 3.0, 10.0, 30.0, 100.0)
SIGMA = (0.0, 0.1, 0.3)
N_SEEDS = 8


def three_sigma_count(b: float, sigma: float) -> int:
    """Smallest integer n with eq. 6 >= 3."""
    n = int(b)
    while asimov_significance(n, b, sigma) < 3.0:
        n += 1
    return n


def exact_poisson_limit(n: float, b: float, cl: float = 0.95) -> float:
    """CLs limit of a Poisson count without uncertainty: P(N <= n | s + b) / P(N <= n | b)."""
    return optimize.brentq(
        lambda s: stats.poisson.cdf(n, s + b) / stats.poisson.cdf(n, b) - (1 - cl), 1e-9, 1e3)


def _seed(seed: int, *key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=key)


def discovery_row(b: float, sigma: float, n_toys: int, seed) -> dict:
    n = three_sigma_count(b, sigma)
    asym = cut_and_count(n, b, sigma)
    toys = toy_discovery(n, b, sigma, n_toys=n_toys, seed=seed)
    row = {"n_exp": b, "rel_unc": sigma, "n_obs": n, "p_asymptotic": float(asym.p_value),
           "z_asymptotic": float(asym.z), "p_toys": toys.p_value,
           "p_toys_unc": toys.p_value_unc, "z_toys": toys.z,
           "z_toys_unc": None if toys.p_value_unc is None else
           toys.p_value_unc / math.exp(-0.5 * toys.z**2) * math.sqrt(2 * math.pi),
           "p_ratio": float(asym.p_value) / toys.p_value, "n_toys": n_toys}
    if sigma == 0:  # exact: the Poisson tail
        row["z_exact"] = float(stats.norm.isf(stats.poisson.sf(n - 1, b)))
    else:
        n_off = 1.0 / sigma**2
        bi = z_bi(n, n_off, n_off / b)
        row.update(n_off=n_off, tau=n_off / b, z_bi=bi.z, p_bi=bi.p_value)
    return row


def limit_row(b: float, sigma: float, n_toys: int, seed: int, row: int) -> dict:
    n = float(round(b))
    asym = cut_and_count(n, b, sigma)
    runs = [toy_limits(n, b, sigma, n_toys=n_toys, seed=_seed(seed, row, k))
            for k in range(N_SEEDS)]
    obs = np.array([r.upper_limit for r in runs])
    med = np.array([r.expected_limits[2] for r in runs])
    sem = math.sqrt(N_SEEDS)
    return {"n_exp": b, "rel_unc": sigma, "n_obs": n,
            "limit_asymptotic": float(asym.upper_limit),
            "limit_toys": float(obs.mean()), "limit_toys_mc": float(obs.std(ddof=1) / sem),
            "median_asymptotic": float(asym.expected_limits[2]),
            "median_toys": float(med.mean()), "median_toys_mc": float(med.std(ddof=1) / sem),
            "band_asymptotic": [float(x) for x in asym.expected_limits],
            "band_toys": list(runs[0].expected_limits), "n_toys": n_toys,
            "limit_exact": exact_poisson_limit(n, b) if sigma == 0 else None}


def markdown(result: dict) -> str:
    out = ["| N_exp | σ | n_obs | Z asympt. (eq. 6) | Z toys | p asympt. / p toys | "
           "Z exact (σ = 0) | Z_Bi |", "|---|---|---|---|---|---|---|---|"]
    for r in result["discovery"]:
        zt = f"{r['z_toys']:.3f} ± {r['z_toys_unc']:.3f}" if r["z_toys_unc"] else \
            f"> {r['z_toys']:.3f}"
        exact = f"{r['z_exact']:.3f}" if "z_exact" in r else "—"
        zbi = f"{r['z_bi']:.2f}" if "z_bi" in r else "—"
        out.append(f"| {r['n_exp']:g} | {r['rel_unc']:g} | {r['n_obs']} | "
                   f"{r['z_asymptotic']:.3f} | {zt} | {r['p_ratio']:.2f} | {exact} | {zbi} |")
    out += ["", "| N_exp | σ | n_obs | limit asympt. | limit toys | exact (σ = 0) | "
            "median exp. asympt. | median exp. toys |", "|---|---|---|---|---|---|---|---|"]
    for r in result["limits"]:
        exact = "—" if r["limit_exact"] is None else f"{r['limit_exact']:.2f}"
        out.append(f"| {r['n_exp']:g} | {r['rel_unc']:g} | {r['n_obs']:g} | "
                   f"{r['limit_asymptotic']:.2f} | {r['limit_toys']:.2f} ± "
                   f"{r['limit_toys_mc']:.2f} | {exact} | {r['median_asymptotic']:.2f} | "
                   f"{r['median_toys']:.2f} ± {r['median_toys_mc']:.2f} |")
    out.append(f"\n({result['seconds']:.0f} s)")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few toys (smoke run)")
    ap.add_argument("--markdown", action="store_true",
                    help="print the markdown tables instead of the JSON")
    ap.add_argument("--json", dest="json_path", help="also write the JSON to this file")
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)
    n_disc, n_lim = (20_000, 500) if args.quick else (4_000_000, 20_000)
    t0 = time.perf_counter()
    grid = [(b, s) for b in N_EXP for s in SIGMA]
    result = {
        "discovery": [discovery_row(b, s, n_disc, _seed(args.seed, i))
                      for i, (b, s) in enumerate(grid)],
        "limits": [limit_row(b, s, n_lim, args.seed, i) for i, (b, s) in enumerate(grid)],
    }
    result["seconds"] = time.perf_counter() - t0
    text = json.dumps(result, indent=1)
    if args.json_path:
        with open(args.json_path, "w") as f:
            f.write(text + "\n")
    print(markdown(result) if args.markdown else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
