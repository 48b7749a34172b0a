"""Global significance of a scan: how often the background alone gives a local excess as
large as the largest one seen anywhere in the scan.

:func:`global_significance` throws background-only pseudo-experiments of a direct-method scan
that reproduce the correlations between overlapping windows (events matched by ``event_id``),
between nested working points and classifier runs, the statistical fluctuation of the
background template and its systematic (:mod:`~bumpstat.global_significance.patterns`,
:mod:`~bumpstat.global_significance.toys`), with the Gross–Vitells upcrossings estimate beside
it (:mod:`~bumpstat.global_significance.upcrossings`). Whole-chain pseudo-experiments that
retrain the score producers are in :mod:`~bumpstat.global_significance.pseudo_experiments`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError
from bumpstat.global_significance.patterns import build_tables
from bumpstat.global_significance.result import GlobalSignificance, make_result
from bumpstat.global_significance.toys import SYSTEMATICS, toy_maxima
from bumpstat.global_significance.upcrossings import upcrossings_by_eps
from bumpstat.parallel import _is_dask_client, _resolve, check_workers, run_tasks, seed_sequence
from bumpstat.scores.schema import ScoreFile

__all__ = ["GlobalSignificance", "global_significance", "with_global_significance"]

#: Toys per task (fixed, so that the toys do not depend on who runs them).
CHUNK = 250


def _chunk(tables, seed: np.random.SeedSequence, n: int, systematic: str):
    return toy_maxima(tables, seed, n, systematic=systematic)


def _approximation(tables, method: str) -> str:
    bits = [f"background-only pseudo-experiments of the {method} method's counts: data "
            "patterns raked to the null expectation"]
    bits.append("overlapping windows matched by data event_id" if tables.data_ids else
                "no data event_id: windows treated as independent (more effective trials "
                "than in truth: conservative)")
    bits.append("template matched across windows by event_id" if tables.template_ids else
                "template fluctuations independent between windows")
    t_min = float(tables.template.cell_sums().min(initial=np.inf))
    bits.append("template counts Gaussian with the shared-event covariance" if t_min >= 25 else
                "template counts Poisson per pattern")
    return "; ".join(bits)


def global_significance(
    scores: ScoreFile,
    scan: Any,
    *,
    method: str = "direct",
    n_toys: int = 10_000,
    seed: int = 0,
    systematic: str = "random",
    upcrossing_toys: int = 200,
    u0: float = 1.0,
    executor: Any = None,
    max_workers: int | None = None,
    progress: bool = True,
) -> GlobalSignificance:
    """Global p-value and Z of the largest local significance of ``scan``.

    Parameters
    ----------
    scores : ScoreFile
        The score file the scan was run on (its events define the correlations).
    scan : ScanResult
        A scan holding the ``method`` points of every window and working point.
    method : str
        The background estimator whose local significances are maximised (``"direct"``).
    n_toys : int
        Background-only pseudo-experiments.
    seed : int
        Seeds every toy (same seed, same result whatever executor runs the toys).
    systematic : {"random", "fixed"}
        Draw the template's systematic shift per toy (``delta_sys + sigma_sys g``), or keep
        it at ``delta_sys``.
    upcrossing_toys : int
        Pseudo-experiments for the Gross–Vitells estimate (0: skip it).
    u0 : float
        Its low reference level.
    executor, max_workers, progress
        Where the toys run (:func:`bumpstat.parallel.run_tasks`).
    """
    if method != "direct":
        raise InputError(
            f"global significance by count pseudo-experiments is available for the direct "
            f"method, not {method!r}; for a fit-based or trained pipeline use whole-chain "
            "pseudo-experiments (bumpstat.global_significance.pseudo_experiments)")
    if systematic not in SYSTEMATICS:
        raise InputError(f"systematic must be one of {SYSTEMATICS}, got {systematic!r}")
    if isinstance(n_toys, bool) or not isinstance(n_toys, int | np.integer) or n_toys < 1:
        raise InputError(f"n_toys must be a positive integer, got {n_toys!r}")
    pts = scan.select(method=method)
    if not pts:
        raise InputError(f"the scan has no {method!r} points")
    names = [w.name for w in scan.windows]
    missing = [n for n in names if n not in scores.window_names]
    if missing:
        raise InputError(f"the score file has no window(s) {missing} of the scan")
    zs = np.array([p.mean("z") for p in pts])
    if not np.isfinite(zs).any():
        raise InputError(f"no {method!r} point has a finite local significance")
    best = pts[int(np.nanargmax(zs))]
    bad = [p for p in pts if not p.all_valid]
    reason = (f"{len(bad)} of {len(pts)} local point(s) are not valid (e.g. "
              f"{bad[0].window.name} at eps_b = {bad[0].eps_b:g}: {bad[0].reason})"
              if bad else None)
    tables = build_tables(scores, pts, eps_b=scan.eps_b, windows=names)
    root = seed_sequence(seed)
    sizes = [CHUNK] * (n_toys // CHUNK) + ([n_toys % CHUNK] if n_toys % CHUNK else [])
    children = root.spawn(len(sizes) + 1)
    with _resolve(executor, check_workers(max_workers)) as pool:
        # a Dask cluster receives the tables once, not once per task
        shipped = pool.scatter(tables, broadcast=True) if _is_dask_client(pool) else tables
        parts = run_tasks(_chunk, [(shipped, c, n, systematic)
                                   for c, n in zip(children, sizes, strict=False)],
                          executor=pool, max_workers=max_workers, progress=progress,
                          desc="global toys")
    max_z = np.concatenate([p.max_z for p in parts])
    per_eps = np.concatenate([p.max_per_eps for p in parts])
    upc: dict = {}
    if upcrossing_toys:
        few = toy_maxima(tables, children[-1], int(upcrossing_toys), systematic=systematic,
                         keep_curves=True)
        z_eps = np.array([max(p.mean("z") for p in pts if np.isclose(p.eps_b, e))
                          for e in scan.eps_b])
        upc = upcrossings_by_eps(few.curves, np.array([w.center for w in scan.windows]),
                                 scan.eps_b, z_eps, u0=u0, full_toys=per_eps)
    return make_result(method=method, z_obs=float(best.mean("z")), window=best.window.name,
                       eps_b=best.eps_b, max_z=max_z, n_points=len(pts),
                       approximation=_approximation(tables, method), systematic=systematic,
                       seed=seed if isinstance(seed, int) else None, upcrossings=upc,
                       reason=reason)


def with_global_significance(scan: Any, result: GlobalSignificance) -> Any:
    """A copy of ``scan`` carrying ``result`` (written as ``"global"`` in ``scan.json``)."""
    return dataclasses.replace(scan, global_significance=result)
