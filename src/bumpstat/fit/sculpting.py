"""Background sculpting metric of Hallin et al. [arXiv:2210.14924] (eq. 5): does a score cut change
the m shape?

Histogram m *before* the selection in ``n_bins`` (300) bins of equal content ``N_i``, and the
selected events (``S_i``, total S, efficiency ``eps = S / N``) with the same bins. Both are
normalised to unit area and compared with

    chi^2 = sum_i (n_i^full - n_i^sel)^2 / sigma_i^2,   sigma_i^2 = eps N_i / S^2,

i.e. ``sigma_i`` is the Poisson uncertainty of the selected, normalised content when the
selection does not depend on m. Equivalently ``chi^2 = sum_i (S_i - eps N_i)^2 / (eps N_i)``.
``chi2_ndof = chi^2 / (n_bins - 1)``. A selection independent of m gives ~1 (more precisely
``1 - eps`` for sampling without replacement), so the reference is the spread of the same metric
for random selections of the same size (Hallin et al. uses 100), reported as a band.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> m = 2.8 + rng.exponential(0.5, 200_000)
>>> keep = rng.random(m.size) < 0.05
>>> 0.8 < sculpting_chi2(m, keep) < 1.2
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError
from bumpstat.fit.hunt import score_threshold
from bumpstat.results import Result

__all__ = ["SculptingResult", "equal_content_edges", "sculpting_chi2", "sculpting_curve"]


def equal_content_edges(m: np.ndarray, n_bins: int = 300) -> np.ndarray:
    """Bin edges with (as nearly as ties allow) equal numbers of events of ``m`` per bin."""
    m = np.asarray(m, dtype=float).ravel()
    if m.size == 0 or not np.all(np.isfinite(m)):
        raise InputError("m must be a non-empty array of finite values")
    if n_bins < 2 or m.size < n_bins:
        raise InputError(f"need n_bins >= 2 and at least n_bins events, got {n_bins} for {m.size}")
    edges = np.quantile(m, np.linspace(0, 1, n_bins + 1))
    edges = np.unique(edges)
    edges[-1] = np.nextafter(edges[-1], np.inf)
    return edges


def _counts(m: np.ndarray, edges: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(edges, m, side="right") - 1
    idx = np.clip(idx, 0, len(edges) - 2)
    return np.bincount(idx, minlength=len(edges) - 1).astype(float)


def _chi2_ndof(full: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """chi^2/ndof for full counts (n_bins,) and selected counts (..., n_bins)."""
    s = sel.sum(axis=-1, keepdims=True)
    eps = s / full.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        exp = eps * full
        chi2 = np.sum(np.where(exp > 0, (sel - exp) ** 2 / exp, 0.0), axis=-1)
    return chi2 / (full.size - 1)


def sculpting_chi2(m: np.ndarray, selected: np.ndarray, *, n_bins: int = 300,
                   edges: np.ndarray | None = None) -> float:
    """chi^2/ndof of eq. 5 between all ``m`` and ``m[selected]`` (boolean mask)."""
    m = np.asarray(m, dtype=float).ravel()
    sel = np.asarray(selected, dtype=bool).ravel()
    if sel.shape != m.shape:
        raise InputError(f"selection mask has {sel.size} entries but m has {m.size}")
    if not sel.any():
        raise InputError("the selection keeps no events")
    edges = equal_content_edges(m, n_bins) if edges is None else np.asarray(edges, dtype=float)
    return float(_chi2_ndof(_counts(m, edges), _counts(m[sel], edges)))


@dataclass(frozen=True, repr=False)
class SculptingResult(Result):
    """Sculpting metric as a function of the selection efficiency.

    Attributes
    ----------
    eps_sel : ndarray
        Requested efficiencies (defined in the SR if an SR was given, else on all events).
    eps_actual : ndarray
        Fraction of all events selected by the resulting threshold.
    chi2_ndof : ndarray
        Metric of the score selection.
    random_median, random_lo, random_hi : ndarray
        Median and central 68% (16th, 84th percentiles) of the metric for ``n_random`` random
        selections with the same number of events.
    n_bins, n_random : int
        Equal-content bins and random selections used.
    """

    eps_sel: np.ndarray
    eps_actual: np.ndarray
    chi2_ndof: np.ndarray
    random_median: np.ndarray
    random_lo: np.ndarray
    random_hi: np.ndarray
    n_bins: int
    n_random: int

    def records(self) -> list[dict[str, Any]]:
        """One row per selection efficiency."""
        d = self.to_dict()
        keys = ("eps_sel", "eps_actual", "chi2_ndof", "random_median", "random_lo", "random_hi")
        return [{**{k: d[k][i] for k in keys}, "n_bins": self.n_bins, "n_random": self.n_random}
                for i in range(len(d["eps_sel"]))]


def sculpting_curve(m: np.ndarray, scores: np.ndarray, eps_sel: Sequence[float], *,
                    sr: tuple[float, float] | None = None, n_bins: int = 300,
                    n_random: int = 100,
                    seed: int | np.random.Generator | None = 0) -> SculptingResult:
    """Sculpting metric vs selection efficiency with the band from random selections.

    Parameters
    ----------
    m, scores : array (N,)
        Background events: m in TeV and anomaly score (higher = more anomalous).
    eps_sel : sequence of float
        Selection efficiencies in (0, 1].
    sr : (low, high), optional
        If given, the threshold keeps a fraction ``eps_sel`` of the events in the SR and the
        same threshold is applied to all events (Hallin et al.).
    n_bins : int
        Equal-content bins of the unselected m distribution (300 in Hallin et al.).
    n_random : int
        Random selections per efficiency for the reference band.
    seed : int or Generator
        Seed of the random selections.
    """
    m = np.asarray(m, dtype=float).ravel()
    scores = np.asarray(scores, dtype=float).ravel()
    if scores.shape != m.shape:
        raise InputError(f"scores have {scores.size} entries but m has {m.size}")
    if not np.all(np.isfinite(scores)):
        raise InputError("scores contain non-finite values")
    eps = np.atleast_1d(np.asarray(eps_sel, dtype=float))
    if np.any((eps <= 0) | (eps > 1)):
        raise InputError(f"selection efficiencies must be in (0, 1], got {eps}")
    rng = np.random.default_rng(seed)
    edges = equal_content_edges(m, n_bins)
    full = _counts(m, edges).astype(np.int64)
    ref = scores if sr is None else scores[(m >= sr[0]) & (m < sr[1])]
    out = {k: np.empty(eps.size) for k in ("act", "chi", "med", "lo", "hi")}
    for i, e in enumerate(eps):
        thr = score_threshold(ref, float(e))
        sel = scores > thr
        n_sel = int(sel.sum())
        if n_sel == 0:
            raise InputError(f"selection efficiency {e} keeps no events")
        out["act"][i] = n_sel / m.size
        out["chi"][i] = _chi2_ndof(full, _counts(m[sel], edges))
        rand = rng.multivariate_hypergeometric(full, n_sel, size=n_random).astype(float)
        r = _chi2_ndof(full.astype(float), rand)
        out["med"][i], out["lo"][i], out["hi"][i] = np.percentile(r, [50, 16, 84])
    return SculptingResult(eps_sel=eps, eps_actual=out["act"], chi2_ndof=out["chi"],
                           random_median=out["med"], random_lo=out["lo"], random_hi=out["hi"],
                           n_bins=len(edges) - 1, n_random=int(n_random))
