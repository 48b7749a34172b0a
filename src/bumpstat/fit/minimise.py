"""Minimisation with MIGRAD and HESSE, retries, and the checks that make a fit valid.

MIGRAD runs first with strategy 0 and the analytic gradient (and the analytic Hessian when the
model has one), then HESSE. A minimum is accepted (:func:`minuit_ok`) when MIGRAD converged
(``fmin.is_valid``), the covariance is accurate, values, covariance and likelihood are finite,
the variances positive and no two parameters correlate above :data:`MAX_CORRELATION`. Otherwise
:func:`minimise` retries: strategy 1, then SIMPLEX + MIGRAD, then the same from the
parametrisation's pre-fit start. What went wrong is described in one sentence
(:func:`describe_failure`); callers report an invalid fit with ``valid=False`` and a
:class:`FitWarning`, never silently.

>>> import numpy as np
>>> from bumpstat.fit import get_function
>>> from bumpstat.fit.cost import cost_and_hessian
>>> edges = np.geomspace(2.8, 5.2, 21)
>>> n = np.round(get_function("dijet3").bin_integrals(edges, [1e3, 10.0, 5.0]))
>>> par = get_function("dijet3").parametrise(edges, n)
>>> cost, hess = cost_and_hessian(par, n, edges, None, None)
>>> m, attempts, reason = minimise(cost, par, par.start, hessian=hess)
>>> minuit_ok(m), attempts, reason
(True, 1, '')
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from iminuit import Minuit

from bumpstat.fit.base import Parametrisation

__all__ = ["FitWarning", "MAX_CORRELATION", "describe_failure", "minimise", "minuit_ok"]

#: Fits whose parameters correlate more than this are reported invalid (degenerate model).
MAX_CORRELATION = 0.99999


class FitWarning(UserWarning):
    """A fit did not converge or its covariance is not accurate (result has ``valid=False``)."""


def minimise(cost: Any, par: Parametrisation, start: np.ndarray, *, strategy: int = 0,
             retries: bool = True, hessian: Any = None,
             hesse: bool = True) -> tuple[Minuit, int, str]:
    """Run MIGRAD (+ HESSE) with retries.

    Parameters
    ----------
    cost : iminuit cost
        The likelihood (:func:`bumpstat.fit.cost.make_cost`).
    par : Parametrisation
        Names, step sizes, limits and the pre-fit start of the parameters.
    start : ndarray
        Starting values of the first attempt.
    strategy : int
        MIGRAD strategy of the first attempt (retries use 1).
    retries : bool
        Retry with strategy 1, SIMPLEX + MIGRAD and the pre-fit start.
    hessian : callable, optional
        Analytic Hessian ``hessian(*q)`` for MIGRAD and HESSE.
    hesse : bool
        Run HESSE and require an accurate covariance.

    Returns
    -------
    minuit : iminuit.Minuit
        The successful (or last) attempt.
    n_attempts : int
        Attempts made.
    reason : str
        Empty when the minimum is accepted, otherwise what went wrong.
    """
    attempts = 0
    reason = ""
    starts = [np.asarray(start, dtype=float)]
    if retries and not np.allclose(starts[0], par.start):
        starts.append(np.asarray(par.start, dtype=float))
    m = None
    for s in starts:
        for mode in ("plain", "strategy1", "simplex") if retries else ("plain",):
            attempts += 1
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if mode == "plain" or m is None:
                    # iminuit 2.33 can call G2 even when only a Hessian is given (a sparse
                    # spectrum: TypeError "'NoneType' object is not callable" inside MIGRAD):
                    # give it the Hessian's diagonal
                    m = Minuit(cost, *s, name=par.names, hessian=hessian,
                               g2=None if hessian is None else _diagonal(hessian))
                    m.errors = par.errors
                    for name, lim in zip(par.names, par.limits, strict=True):
                        if lim != (None, None):
                            m.limits[name] = lim
                    m.strategy = strategy
                    m.migrad()
                elif mode == "strategy1":
                    m.strategy = 1
                    m.migrad()
                else:
                    m.simplex().migrad()
                if m.fmin.is_valid and hesse:
                    m.hesse()
            ok = minuit_ok(m) if hesse else bool(m.fmin.is_valid and np.isfinite(m.fval))
            if ok:
                return m, attempts, ""
            reason = describe_failure(m)
    assert m is not None
    return m, attempts, reason


def _diagonal(hessian: Callable) -> Callable:
    """``g2(*q)``: the diagonal of ``hessian(*q)``."""
    def g2(*q: float) -> np.ndarray:
        return np.diag(hessian(*q))

    return g2


def minuit_ok(m: Minuit) -> bool:
    """MIGRAD converged, accurate finite covariance, no degenerate parameters."""
    fm = m.fmin
    if fm is None or not fm.is_valid or not fm.has_accurate_covar:
        return False
    if m.covariance is None:
        return False
    cov = np.asarray(m.covariance)
    ok = bool(np.all(np.isfinite(m.values)) and np.all(np.isfinite(cov))
              and np.all(np.diag(cov) > 0) and np.isfinite(fm.fval))
    return ok and max_correlation(cov) < MAX_CORRELATION


def max_correlation(cov: np.ndarray) -> float:
    """Largest absolute off-diagonal correlation of ``cov`` (1 for a non-positive variance)."""
    if cov.shape[0] < 2:
        return 0.0
    if np.any(np.diag(cov) <= 0):
        return 1.0
    d = np.sqrt(np.diag(cov))
    corr = cov / np.outer(d, d)
    return float(np.max(np.abs(corr[~np.eye(len(d), dtype=bool)])))


def describe_failure(m: Minuit) -> str:
    """What is wrong with a minimum, e.g. ``"MIGRAD did not converge; parameter at limit"``."""
    fm = m.fmin
    if fm is None:
        return "minimisation did not run"
    bits = []
    if not fm.is_valid:
        bits.append("MIGRAD did not converge")
        if fm.has_reached_call_limit:
            bits.append("call limit reached")
        if fm.is_above_max_edm:
            bits.append(f"EDM {fm.edm:.3g} above goal")
        if not np.isfinite(fm.fval):
            bits.append("non-finite likelihood")
    if not fm.has_accurate_covar:
        bits.append("covariance not accurate")
    if fm.has_parameters_at_limit:
        bits.append("parameter at limit")
    if m.covariance is not None and np.all(np.isfinite(np.asarray(m.covariance))):
        c = max_correlation(np.asarray(m.covariance))
        if c >= MAX_CORRELATION:
            bits.append(f"parameters degenerate (|correlation| = {c:.6f})")
    return "; ".join(bits) or "non-finite result"
