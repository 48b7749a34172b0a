"""Kolmogorov–Smirnov statistics of template vs truth marginals (Golling et al. [arXiv:2307.11157]
Table 3).

For each feature, ``D = sup_x |F_template(x) - F_truth(x)|`` of the (weighted) empirical CDFs,
and an asymptotic p-value from the Kolmogorov distribution with the effective sample size
``n_eff = n1 n2 / (n1 + n2)`` (``n`` = effective numbers ``(sum w)^2 / sum w^2``). Without weights
the statistic equals :func:`scipy.stats.ks_2samp`'s.

>>> rng = np.random.default_rng(0)
>>> r = marginal_ks(rng.normal(size=(5000, 1)), rng.normal(size=(5000, 1)), feature_names=["a"])
>>> bool(r.statistic[0] < 0.05), r.feature_names
(True, ('a',))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from bumpstat.exceptions import InputError
from bumpstat.results import Result
from bumpstat.serialize import jsonable

__all__ = ["MarginalKS", "ks_statistic", "marginal_ks"]


def _w(w: Any, n: int, what: str) -> np.ndarray:
    if w is None:
        return np.ones(n)
    a = np.asarray(w, dtype=np.float64)
    if a.shape != (n,) or not np.isfinite(a).all() or (a < 0).any() or a.sum() <= 0:
        raise InputError(f"{what} weights must be {n} finite non-negative numbers, not all zero")
    return a


def ks_statistic(a: Any, b: Any, *, weights_a: Any = None, weights_b: Any = None) -> float:
    """Two-sample KS statistic of 1-D samples with optional weights."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1 or a.size == 0 or b.size == 0:
        raise InputError(f"KS needs two non-empty 1-D samples, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError("KS samples contain NaN/inf")
    wa, wb = _w(weights_a, a.size, "first"), _w(weights_b, b.size, "second")
    grid = np.unique(np.r_[a, b])
    oa, ob = np.argsort(a), np.argsort(b)
    ca = np.r_[0.0, np.cumsum(wa[oa])] / wa.sum()
    cb = np.r_[0.0, np.cumsum(wb[ob])] / wb.sum()
    fa = ca[np.searchsorted(a[oa], grid, side="right")]
    fb = cb[np.searchsorted(b[ob], grid, side="right")]
    return float(np.max(np.abs(fa - fb)))


@dataclass(frozen=True, repr=False)
class MarginalKS(Result):
    """Per-feature KS statistics and asymptotic p-values.

    Attributes
    ----------
    feature_names : tuple of str
    statistic, p_value : numpy.ndarray
    n_template, n_truth : float
        Effective sample sizes.
    """

    feature_names: tuple[str, ...]
    statistic: np.ndarray
    p_value: np.ndarray
    n_template: float
    n_truth: float

    def to_dict(self) -> dict[str, Any]:
        """``{"features": {name: {"ks": D, "p_value": p}}, "n_template", "n_truth"}``."""
        return jsonable({
            "features": {n: {"ks": d, "p_value": p} for n, d, p in
                         zip(self.feature_names, self.statistic, self.p_value, strict=True)},
            "n_template": self.n_template,
            "n_truth": self.n_truth,
        })

    def records(self) -> list[dict[str, Any]]:
        """One row per feature."""
        return [{"feature": n, **v} for n, v in self.to_dict()["features"].items()]


def marginal_ks(
    template_x: Any,
    truth_x: Any,
    *,
    feature_names: Sequence[str] | None = None,
    template_weights: Any = None,
    truth_weights: Any = None,
) -> MarginalKS:
    """KS statistic of each feature's marginal, template vs truth (e.g. true SR background).

    Parameters
    ----------
    template_x, truth_x : array (n, d) and (n_truth, d)
        Features (1-D arrays are one feature). ``m`` can be passed as a column too.
    feature_names : sequence of str, optional
    template_weights, truth_weights : array, optional

    Returns
    -------
    MarginalKS
    """
    t = np.asarray(template_x, dtype=np.float64)
    u = np.asarray(truth_x, dtype=np.float64)
    t = t[:, None] if t.ndim == 1 else t
    u = u[:, None] if u.ndim == 1 else u
    if t.ndim != 2 or u.ndim != 2 or t.shape[1] != u.shape[1]:
        raise InputError(f"template {t.shape} and truth {u.shape} need the same feature columns")
    d = t.shape[1]
    names = tuple(feature_names) if feature_names is not None else tuple(f"x{j}" for j in range(d))
    if len(names) != d:
        raise InputError(f"{len(names)} feature names for {d} columns")
    wt = _w(template_weights, t.shape[0], "template")
    wu = _w(truth_weights, u.shape[0], "truth")
    n1 = wt.sum() ** 2 / np.sum(wt**2)
    n2 = wu.sum() ** 2 / np.sum(wu**2)
    en = n1 * n2 / (n1 + n2)
    dstat = np.array([ks_statistic(t[:, j], u[:, j], weights_a=wt, weights_b=wu)
                      for j in range(d)])
    p = stats.kstwobign.sf(dstat * np.sqrt(en))
    return MarginalKS(names, dstat, np.asarray(p, dtype=np.float64), float(n1), float(n2))
