"""Validation of the global significance on background-only whole-chain data sets.

Every null data set ``i`` is made by the whole chain: background events from the synthetic
generator, a template that is an independent background sample of ``--template-factor`` times
the data size, both scored by the exact likelihood ratio (``SyntheticNull`` with the ``exact``
producer, seeded ``SeedSequence(seed, spawn_key=(i,))`` exactly as
``run_pseudo_experiments`` does), then scanned over the 9 sliding windows × 3 working points
with the direct method (``delta_sys = 0``: the truth of this generator). Per data set:

- the largest local Z (the brute-force whole-chain null distribution, data and template
  regenerated every time);
- ``p_global`` of ``global_significance`` (``--toys`` count pseudo-experiments of that one data
  set), and the tail ``P(max Z >= c)`` of its toys at a few levels ``c``;
- the contrast, a pyBumpHunter-style analysis built from the same pieces that treats the
  template prediction as exact: local Z without the template's uncertainty (eq. 6 with
  sigma = 0) and toys in which only the data fluctuate;
- if pyBumpHunter is installed (``.venv/bin/pip install pyBumpHunter``), its own global p-value
  of the data's m histogram against the template's (same 9 windows, ``--toys`` pseudo-data).

Then it prints one JSON summary: calibration of each p-value (KS test against uniform,
fraction below 0.05 and 0.01 with binomial errors), the brute-force tail against the mean
count-toy tail with the difference in standard errors, and the Gross–Vitells estimate against
full toys on the first data set. Results are saved per chunk in ``--out`` and reused by a rerun.

    python benchmarks/validate_global.py [--quick] [--sets N] [--toys T] [--workers W]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from scipy import stats

from bumpstat.data import SyntheticLHCO
from bumpstat.estimators import DirectEstimator
from bumpstat.global_significance import global_significance
from bumpstat.global_significance.patterns import build_tables
from bumpstat.global_significance.pseudo_experiments import (
    SyntheticNull,
    run_pseudo_experiments,
)
from bumpstat.global_significance.toys import pattern_sampler, toy_maxima
from bumpstat.global_significance.upcrossings import upcrossings_by_eps
from bumpstat.outputs import write_json
from bumpstat.producers import get_producer
from bumpstat.scan import run_scan
from bumpstat.serialize import loads
from bumpstat.stats.significance import asimov_significance
from bumpstat.windows import sliding_windows

ESTIMATORS = (DirectEstimator(delta_sys=0.0),)
#: Levels of the largest local Z at which the brute-force and count-toy tails are compared.
LEVELS = (1.0, 1.5, 2.0, 2.5, 3.0)


def null_generator(n_background: int, template_factor: float) -> SyntheticNull:
    """Background-only score files: synthetic events scored by the exact likelihood ratio."""
    return SyntheticNull(producer=get_producer("exact", generator=SyntheticLHCO()),
                         windows=tuple(sliding_windows()), n_background=n_background,
                         n_reference=int(round(template_factor * n_background)))


def exact_template_p(tables, scan, seed: np.random.SeedSequence, n_toys: int) -> float:
    """pyBumpHunter-style global p-value: the template prediction taken as exact."""
    n_w, n_r, n_e = tables.shape
    n_exp = (tables.expected_template() / tables.n_template[:, None, None]
             * tables.n_sr[:, None, None]).reshape(-1, 1)
    obs = max(float(np.mean(asimov_significance(p.n_obs, p.n_exp, 0.0)))
              for p in scan.select(method="direct"))
    draw = pattern_sampler(tables.data)
    rng = np.random.default_rng(seed)
    n_ge, done = 0, 0
    while done < n_toys:
        b = min(250, n_toys - done)
        n_obs, _ = draw(rng, b)
        z = asimov_significance(n_obs, n_exp, 0.0).reshape(n_w, n_r, n_e, b).mean(axis=1)
        n_ge += int(np.count_nonzero(z.reshape(-1, b).max(axis=0) >= obs))
        done += b
    return n_ge / n_toys


def _m_of(part) -> np.ndarray:
    """m of every distinct event (by event_id) of one part of all windows."""
    ids = np.concatenate([part_i.event_id for part_i in part])
    m = np.concatenate([part_i.m for part_i in part])
    _, first = np.unique(ids, return_index=True)
    return m[first]


def pybumphunter_p(sf, n_toys: int, seed: int) -> float | None:
    """pyBumpHunter's global p-value of the data's m histogram against the template's, over
    the same 9 windows (0.1 TeV bins, windows of 4 bins moved by one)."""
    try:
        import pyBumpHunter as BH
    except ImportError:
        return None
    lo = min(w.window.low for w in sf.windows)
    hi = max(w.window.high for w in sf.windows)
    edges = np.linspace(lo, hi, int(round((hi - lo) / 0.1)) + 1)
    m_d = _m_of([w.data for w in sf.windows])
    m_t = _m_of([w.template for w in sf.windows])
    h_d, _ = np.histogram(m_d, edges)
    h_t, _ = np.histogram(m_t, edges)
    ref = h_t * (h_d.sum() / h_t.sum())
    bh = BH.BumpHunter1D(rang=[lo, hi], width_min=4, width_max=4, width_step=1, scan_step=1,
                         npe=n_toys, bins=edges, nworker=1, seed=seed)
    with contextlib.redirect_stdout(io.StringIO()):
        bh.bump_scan(h_d, ref, is_hist=True, do_pseudo=True)
    return float(bh.global_Pval)


def one_set(null: SyntheticNull, seed: int, i: int, n_toys: int, eps_b: tuple) -> dict:
    sf = null(np.random.SeedSequence(seed, spawn_key=(i,)))
    scan = run_scan(sf, estimators=list(ESTIMATORS), eps_b=eps_b, progress=False)
    g = global_significance(sf, scan, n_toys=n_toys, seed=i, upcrossing_toys=0, progress=False)
    tables = build_tables(sf, scan.select(method="direct"), eps_b=scan.eps_b)
    tail = toy_maxima(tables, np.random.SeedSequence([seed, i, 1]), n_toys).max_z
    return {"i": i, "z_local_max": g.z_local_max, "p_global": g.p_global,
            "n_exceed": g.n_exceed,
            "tail": [float(np.mean(tail >= c)) for c in LEVELS],
            "p_exact_template": exact_template_p(tables, scan,
                                                 np.random.SeedSequence([seed, i, 2]), n_toys),
            "p_pybumphunter": pybumphunter_p(sf, n_toys, seed=i)}


def _chunk(null, seed, indices, n_toys, eps_b) -> list[dict]:
    return [one_set(null, seed, i, n_toys, eps_b) for i in indices]


def calibration(p: np.ndarray) -> dict:
    p = p[np.isfinite(p)]
    n = p.size
    out = {"n": int(n), "ks_pvalue": float(stats.kstest(p, "uniform").pvalue)}
    for a in (0.05, 0.01):
        f = float(np.mean(p < a))
        out[f"frac_below_{a:g}"] = f
        out[f"frac_below_{a:g}_unc"] = float(np.sqrt(a * (1 - a) / n))  # under uniformity
    return out


def upcrossings_check(null, seed: int, n_full: int, eps_b: tuple) -> dict:
    """Gross–Vitells from 200 toys (u0 = 0.5 and 1) against ``n_full`` toys, per working
    point, at a few levels, on data set 0."""
    sf = null(np.random.SeedSequence(seed, spawn_key=(0,)))
    scan = run_scan(sf, estimators=list(ESTIMATORS), eps_b=eps_b, progress=False)
    tables = build_tables(sf, scan.select(method="direct"), eps_b=scan.eps_b)
    full = toy_maxima(tables, np.random.SeedSequence([seed, 10]), n_full)
    few = toy_maxima(tables, np.random.SeedSequence([seed, 11]), 200, keep_curves=True)
    centers = np.array([w.center for w in scan.windows])
    rows = []
    for u0 in (0.5, 1.0):
        for u in (2.0, 2.5, 3.0):
            est = upcrossings_by_eps(few.curves, centers, scan.eps_b, np.full(len(eps_b), u),
                                     u0=u0, full_toys=full.max_per_eps)
            for e, rec in est.items():
                k = int(np.count_nonzero(full.max_per_eps[:, eps_b.index(float(e))] >= u))
                rows.append({"u0": u0, "z": u, "eps_b": float(e),
                             "p_gv": round(rec["p_global"], 5),
                             "p_toys": k / n_full, "p_toys_unc": float(np.sqrt(max(k, 1)) / n_full),
                             "mean_upcrossings": round(rec["mean_upcrossings"], 3)})
    return {"n_full_toys": n_full, "n_gv_toys": 200, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="40 data sets of 50k events, 300 toys, eps_b 1e-2 1e-3")
    ap.add_argument("--sets", type=int, default=None, help="null data sets (default 500)")
    ap.add_argument("--toys", type=int, default=None, help="toys per data set (default 1000)")
    ap.add_argument("--n-background", type=int, default=None, help="default 250000")
    ap.add_argument("--template-factor", type=float, default=1.0,
                    help="template size / data size (1: the reference as large as the data)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=10, help="data sets per task and saved chunk")
    ap.add_argument("--out", type=Path, default=Path("validate_global_out"))
    args = ap.parse_args()
    n_sets = args.sets or (40 if args.quick else 500)
    n_toys = args.toys or (300 if args.quick else 1000)
    n_bg = args.n_background or (50_000 if args.quick else 250_000)
    eps_b = (1e-2, 1e-3) if args.quick else (1e-2, 1e-3, 1e-4)
    null = null_generator(n_bg, args.template_factor)
    tag = f"n{n_bg}_t{args.template_factor:g}_toys{n_toys}_seed{args.seed}"
    out = args.out / tag
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    have: dict[int, dict] = {}
    for path in out.glob("chunk_*.json"):
        have.update({r["i"]: r for r in loads(path.read_text())})
    groups = [list(range(a, min(a + args.chunk, n_sets))) for a in range(0, n_sets, args.chunk)]
    todo = [g for g in groups if not all(i in have for i in g)]

    def save(g: list[int], recs: list[dict]) -> None:
        write_json(out / f"chunk_{g[0]:06d}.json", recs)
        have.update({r["i"]: r for r in recs})
        print(f"{len(have)} / {n_sets} data sets", file=sys.stderr, flush=True)

    if args.workers > 1:  # each chunk saved as soon as it is done (a rerun resumes)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.workers, mp_context=ctx) as pool:
            futures = {pool.submit(_chunk, null, args.seed, g, n_toys, eps_b): g for g in todo}
            for f in as_completed(futures):
                save(futures[f], f.result())
    else:
        for g in todo:
            save(g, _chunk(null, args.seed, g, n_toys, eps_b))
    recs = [have[i] for i in range(n_sets)]

    # the same data sets through the public whole-chain runner: same largest local Z
    check = run_pseudo_experiments(null, n_toys=3, seed=args.seed, estimators=ESTIMATORS,
                                   eps_b=eps_b, chunk=3, progress=False)
    runner_agrees = bool(np.allclose(check.max_z["direct"],
                                     [r["z_local_max"] for r in recs[:3]]))

    z = np.array([r["z_local_max"] for r in recs])
    brute = {}
    for j, c in enumerate(LEVELS):
        pb = float(np.mean(z >= c))
        pt = float(np.mean([r["tail"][j] for r in recs]))
        err = float(np.sqrt(max(pb * (1 - pb), 1.0 / n_sets) / n_sets))
        brute[f"{c:g}"] = {"brute_force": pb, "brute_force_unc": round(err, 4),
                           "count_toys_mean": round(pt, 4),
                           "difference_in_unc": round((pt - pb) / err, 2)}
    p_bh = np.array([np.nan if r["p_pybumphunter"] is None else r["p_pybumphunter"]
                     for r in recs])
    summary = {
        "config": {"n_sets": n_sets, "n_toys": n_toys, "n_background": n_bg,
                   "n_template": int(round(args.template_factor * n_bg)), "eps_b": eps_b,
                   "windows": 9, "producer": "exact", "delta_sys": 0.0, "seed": args.seed},
        "runner_agrees_on_first_3": runner_agrees,
        "bumpstat_global": calibration(np.array([r["p_global"] for r in recs])),
        "template_exact": calibration(np.array([r["p_exact_template"] for r in recs])),
        "pybumphunter": calibration(p_bh) if np.isfinite(p_bh).any() else
        "not installed (.venv/bin/pip install pyBumpHunter)",
        "brute_force_vs_count_toys": brute,
        "upcrossings": upcrossings_check(null, args.seed, 4000 if args.quick else 20_000, eps_b),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    write_json(out / "summary.json", summary)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
