"""The binned likelihood of the sideband fit and its analytic Hessian.

The cost is :class:`iminuit.cost.ExtendedBinnedNLL`, the Poisson deviance

    D(q) = 2 sum_b s_b (mu_b - n_b + n_b ln(n_b / mu_b)),

summed over the bins the cost uses (``mask`` True: the sidebands), with ``mu_b(q)`` the fit
function integrated over bin b (a cumulative-sum CDF model with its analytic gradient, see
:class:`~bumpstat.fit.base.Parametrisation`). For an unweighted histogram ``s_b = 1``; a weighted
histogram is passed as (sum of weights, sum of weights squared) and iminuit uses the scaled
Poisson likelihood of Bohm and Zech with ``s_b = |n_b| / var_b``. Bins of zero variance get the
median of ``s_b`` over the *used* bins of non-zero variance: iminuit computes the scale after
applying the mask, so :func:`bohm_zech_scale` does the same, and the Hessian

    d2D / dq dq^T = 2 sum_b s_b [ (n_b / mu_b^2) dmu_b dmu_b^T + (1 - n_b / mu_b) d2mu_b ]

(:func:`make_hessian`, given to MIGRAD/HESSE) is that of the cost exactly (tested against finite
differences of the cost on weighted histograms with empty bins, masked and merged).

``index`` selects a subset of the cumulative bin edges (``edges[index]``) to merge bins: the SR
test fits the sidebands plus the SR summed into one bin (:mod:`bumpstat.fit.srtest`).

>>> import numpy as np
>>> from bumpstat.fit import get_function
>>> edges = np.geomspace(2.8, 5.2, 11)
>>> n = np.full(10, 100.0)
>>> par = get_function("dijet3").parametrise(edges, n)
>>> cost, hess = cost_and_hessian(par, n, edges, None, None)
>>> hess(*par.start).shape
(3, 3)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from iminuit.cost import ExtendedBinnedNLL

from bumpstat.fit.base import Parametrisation

__all__ = ["bohm_zech_scale", "cost_and_hessian", "make_cost", "make_hessian"]

#: Signature of an analytic Hessian: ``hess(*q) -> (k, k) array``.
Hessian = Callable[..., np.ndarray]


def bohm_zech_scale(counts: np.ndarray, variances: np.ndarray | None,
                    mask: np.ndarray | None = None) -> np.ndarray:
    """Per-bin scale ``s = |n| / var`` of the scaled Poisson likelihood, as iminuit's cost has it.

    Parameters
    ----------
    counts, variances : ndarray (n_bins,)
        Sum of weights and sum of squared weights per bin (events, events^2); ``variances``
        None for an unweighted histogram (``s = 1``).
    mask : ndarray of bool (n_bins,), optional
        The bins the cost uses (None: all). Bins of zero variance get the median of ``s`` over
        the used bins of non-zero variance (NaN if there are none, as in iminuit).

    Returns
    -------
    ndarray (n_bins,)
        The scale of every bin; on the used bins it equals iminuit's exactly.
    """
    counts = np.asarray(counts, dtype=float)
    if variances is None:
        return np.ones_like(counts)
    variances = np.asarray(variances, dtype=float)
    use = np.ones(counts.size, bool) if mask is None else np.asarray(mask, bool)
    ok = variances > 0
    s = np.zeros_like(counts)
    s[ok] = np.abs(counts[ok]) / variances[ok]
    ref = s[ok & use]
    s[~ok] = np.median(ref) if ref.size else np.nan
    return s


def _cdf_model(par: Parametrisation, index: np.ndarray | None = None):
    """Scaled-CDF model and gradient for ExtendedBinnedNLL from per-bin integrals."""

    def cdf(xe, *q):
        c = np.concatenate([[0.0], np.cumsum(par.bin_integrals(np.asarray(q)))])
        return c if index is None else c[index]

    def grad(xe, *q):
        g = par.bin_integrals_grad(np.asarray(q))
        c = np.concatenate([np.zeros((g.shape[0], 1)), np.cumsum(g, axis=1)], axis=1)
        return c if index is None else c[:, index]

    has_grad = par.bin_integrals_grad(np.asarray(par.start, dtype=float)) is not None
    return cdf, (grad if has_grad else None)


def make_cost(par: Parametrisation, counts: np.ndarray, edges: np.ndarray,
              variances: np.ndarray | None, mask: np.ndarray | None,
              index: np.ndarray | None = None) -> ExtendedBinnedNLL:
    """ExtendedBinnedNLL of ``par`` on the given bins.

    Parameters
    ----------
    par : Parametrisation
        The fit function bound to the (unmerged) binning ``edges``.
    counts : ndarray
        Observed (weighted) counts of the bins the cost sees (merged bins if ``index`` is set).
    edges : ndarray
        The unmerged bin edges in TeV.
    variances : ndarray or None
        Sums of squared weights, same bins as ``counts``; None if unweighted.
    mask : ndarray of bool or None
        True for the bins used in the likelihood (None: all), same bins as ``counts``.
    index : ndarray of int, optional
        Indices into ``edges`` of the merged edges.
    """
    cdf, grad = _cdf_model(par, index)
    xe = edges if index is None else edges[index]
    data = counts if variances is None else np.column_stack([counts, variances])
    cost = ExtendedBinnedNLL(data, xe, cdf, grad=grad, name=par.names)
    if mask is not None:
        cost.mask = mask
    return cost


def make_hessian(par: Parametrisation, counts: np.ndarray, variances: np.ndarray | None,
                 mask: np.ndarray | None, index: np.ndarray | None = None) -> Hessian | None:
    """Analytic Hessian of the cost :func:`make_cost` builds from the same arguments.

    Returns ``hess(*q)``, a (k, k) array, or None when ``par`` has no analytic second
    derivatives. The Bohm-Zech scale is :func:`bohm_zech_scale` with the same ``mask``, i.e.
    the one the cost uses.
    """
    q0 = np.asarray(par.start, dtype=float)
    if par.bin_integrals_hess(q0) is None or par.bin_integrals_grad(q0) is None:
        return None
    counts = np.asarray(counts, dtype=float)
    use = np.ones(counts.size, bool) if mask is None else np.asarray(mask, bool)
    scale = bohm_zech_scale(counts, variances, use)
    n, s = counts[use], scale[use]

    def agg(a: np.ndarray) -> np.ndarray:
        if index is None:
            return a[..., use]
        c = np.concatenate([np.zeros(a.shape[:-1] + (1,)), np.cumsum(a, axis=-1)], axis=-1)
        return np.diff(c[..., index], axis=-1)[..., use]

    def hess(*q: float) -> np.ndarray:
        qa = np.asarray(q, dtype=float)
        mu = agg(par.bin_integrals(qa))
        g = agg(par.bin_integrals_grad(qa))
        h = agg(par.bin_integrals_hess(qa))
        r = n / mu
        return 2.0 * (np.einsum("b,jb,lb->jl", s * r / mu, g, g)
                      + np.einsum("b,jlb->jl", s * (1 - r), h))

    return hess


def cost_and_hessian(par: Parametrisation, counts: np.ndarray, edges: np.ndarray,
                     variances: np.ndarray | None, mask: np.ndarray | None,
                     index: np.ndarray | None = None
                     ) -> tuple[ExtendedBinnedNLL, Hessian | None]:
    """:func:`make_cost` and :func:`make_hessian` from one set of arguments (they always agree)."""
    return (make_cost(par, counts, edges, variances, mask, index),
            make_hessian(par, counts, variances, mask, index))
