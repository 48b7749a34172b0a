"""Sideband fit of a binned m spectrum: extended binned Poisson likelihood, SR bins masked.

The likelihood is :class:`iminuit.cost.ExtendedBinnedNLL` with the model integrated over every
bin (see :mod:`bumpstat.fit.functions`) and the signal-region bins masked. Weighted histograms
are passed as (sum of weights, sum of weights squared); iminuit then uses the scaled Poisson
likelihood of Bohm and Zech.

Robustness: starting values come from a linear least-squares pre-fit of log counts; MIGRAD runs
first with strategy 0 and an analytic gradient, then HESSE. If the minimum or the covariance is
not valid, it retries (strategy 1, SIMPLEX + MIGRAD, the pre-fit start). A fit that still fails is
returned with ``valid=False`` and a :class:`FitWarning` is emitted -- never silently.

>>> import numpy as np
>>> from bumpstat.fit import make_edges, fit_sideband, get_function
>>> edges = make_edges((2.8, 5.2), 30, sr=(3.3, 3.7))
>>> mu = get_function("dijet4").bin_integrals(edges, [1.0, 10.0, 5.0, 0.1])
>>> counts = np.random.default_rng(1).poisson(mu / mu.sum() * 1e5).astype(float)
>>> fit = fit_sideband(counts, edges, sr=(3.3, 3.7), function="dijet4")
>>> fit.valid, fit.ndof
(True, 20)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from iminuit import Minuit
from iminuit.cost import ExtendedBinnedNLL

from bumpstat.exceptions import FitError, InputError, WindowError
from bumpstat.fit.functions import SQRT_S, FitFunction, Parametrisation, get_function

__all__ = [
    "FitWarning",
    "SidebandFit",
    "fit_sideband",
    "histogram",
    "make_edges",
    "log_uniform_edges",
    "sr_mask",
]


class FitWarning(UserWarning):
    """A fit did not converge or its covariance is not accurate (result has ``valid=False``)."""


def log_uniform_edges(fit_range: tuple[float, float], bins: int) -> np.ndarray:
    """``bins`` bins uniform in log m over ``fit_range`` (TeV), as in paper 004."""
    lo, hi = _check_range(fit_range)
    if int(bins) < 1:
        raise InputError(f"number of bins must be >= 1, got {bins}")
    return np.geomspace(lo, hi, int(bins) + 1)


def make_edges(fit_range: tuple[float, float], bins: int,
               sr: tuple[float, float] | None = None) -> np.ndarray:
    """About ``bins`` log-uniform bins over ``fit_range`` with the SR edges as bin edges.

    The bins are shared between lower sideband, SR and upper sideband in proportion to their
    width in log m (at least one bin each), so every bin is close to the same log width and the
    signal region is an exact union of bins.

    >>> e = make_edges((2.8, 5.2), 30, sr=(3.3, 3.7))
    >>> len(e) - 1, bool(np.isclose(e, 3.3).any() and np.isclose(e, 3.7).any())
    (30, True)
    """
    lo, hi = _check_range(fit_range)
    bins = int(bins)
    if sr is None:
        return log_uniform_edges((lo, hi), bins)
    s_lo, s_hi = _check_sr(sr, (lo, hi))
    pieces = [(lo, s_lo), (s_lo, s_hi), (s_hi, hi)]
    pieces = [(a, b) for a, b in pieces if b > a * (1 + 1e-12)]
    if bins < len(pieces):
        raise InputError(f"need at least {len(pieces)} bins for the sidebands and SR, got {bins}")
    logw = np.array([math.log(b / a) for a, b in pieces])
    raw = logw / logw.sum() * bins
    n = np.maximum(np.floor(raw).astype(int), 1)
    while n.sum() < bins:
        n[np.argmax(raw - n)] += 1
    while n.sum() > bins:
        i = np.argmax(np.where(n > 1, n - raw, -np.inf))
        n[i] -= 1
    parts = [np.geomspace(a, b, k + 1)[:-1] for (a, b), k in zip(pieces, n, strict=True)]
    return np.concatenate(parts + [np.array([hi])])


def _check_range(fit_range) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in fit_range)
    except (TypeError, ValueError) as exc:
        raise InputError(f"fit range must be (low, high) in TeV, got {fit_range!r}") from exc
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise InputError(f"fit range must satisfy 0 < low < high (TeV), got ({lo}, {hi})")
    return lo, hi


def _check_sr(sr, fit_range) -> tuple[float, float]:
    try:
        s_lo, s_hi = (float(v) for v in sr)
    except (TypeError, ValueError) as exc:
        raise WindowError(f"signal region must be (low, high) in TeV, got {sr!r}") from exc
    lo, hi = fit_range
    if not (np.isfinite(s_lo) and np.isfinite(s_hi) and s_lo < s_hi):
        raise WindowError(f"signal region ({s_lo}, {s_hi}) TeV must have low < high")
    if s_lo < lo or s_hi > hi or (s_lo <= lo and s_hi >= hi):
        raise WindowError(
            f"signal region ({s_lo}, {s_hi}) TeV must lie inside the fit range ({lo}, {hi}) TeV "
            "and leave a sideband"
        )
    return s_lo, s_hi


def sr_mask(edges: np.ndarray, sr: tuple[float, float]) -> np.ndarray:
    """Boolean mask of the bins forming the SR; the SR edges must be bin edges.

    Raises :class:`~bumpstat.exceptions.WindowError` naming the nearest edges otherwise.
    """
    edges = np.asarray(edges, dtype=float)
    s_lo, s_hi = _check_sr(sr, (edges[0], edges[-1]))
    tol = 1e-9 * max(1.0, abs(edges[-1]))
    idx = []
    for v in (s_lo, s_hi):
        i = int(np.argmin(np.abs(edges - v)))
        if abs(edges[i] - v) > tol:
            raise WindowError(
                f"signal-region edge {v} TeV is not a bin edge; nearest edges are "
                f"{edges[max(i - 1, 0)]:.6g}, {edges[i]:.6g}, "
                f"{edges[min(i + 1, len(edges) - 1)]:.6g} TeV "
                "(use make_edges(fit_range, bins, sr) to align them)"
            )
        idx.append(i)
    mask = np.zeros(len(edges) - 1, bool)
    mask[idx[0] : idx[1]] = True
    return mask


def histogram(m: np.ndarray, edges: np.ndarray, *,
              weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Histogram ``m`` (TeV) with boost-histogram; returns (counts, variances or None).

    Events outside the edges are not counted (they are outside the fit range by definition).
    """
    import boost_histogram as bh

    m = np.asarray(m, dtype=float).ravel()
    if not np.all(np.isfinite(m)):
        raise InputError(f"m contains {int(np.sum(~np.isfinite(m)))} non-finite values")
    axis = bh.axis.Variable(np.asarray(edges, dtype=float))
    if weights is None:
        h = bh.Histogram(axis, storage=bh.storage.Double())
        h.fill(m)
        return h.values().astype(float), None
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape != m.shape:
        raise InputError(f"weights have {w.size} entries but m has {m.size}")
    if not np.all(np.isfinite(w)):
        raise InputError("weights contain non-finite values")
    h = bh.Histogram(axis, storage=bh.storage.Weight())
    h.fill(m, weight=w)
    return h.values().astype(float), h.variances().astype(float)


@dataclass(frozen=True)
class SidebandFit:
    """Result of a sideband fit.

    Attributes
    ----------
    function : str
        Fit function name.
    edges : ndarray
        Bin edges in TeV.
    counts, variances : ndarray
        Observed (weighted) counts per bin; variances (sum of w^2) or None if unweighted.
    sr_bins : ndarray of bool
        Bins masked out of the fit (the signal region).
    sr : (float, float) or None
        Signal region in TeV.
    parameters : dict
        Conventional parameters (``p0``... ; ``p0`` in events per TeV for the dijet functions).
    parameter_errors : dict
        Their standard errors (from the transformed covariance).
    covariance : ndarray
        Covariance of the conventional parameters (Jacobian-transformed).
    parameters_fit, errors_fit : dict
        Fitted values and errors in the well-conditioned fit parametrisation.
    covariance_fit : ndarray
        Covariance of the fit parameters (HESSE).
    expected : ndarray
        Fitted expected counts per bin (all bins, including the SR).
    fval : float
        Poisson deviance of the sidebands at the minimum (iminuit's ExtendedBinnedNLL value).
    ndof : int
        Sideband bins minus free parameters.
    valid : bool
        MIGRAD converged (``fmin.is_valid``), the covariance is accurate and everything is finite.
    migrad_valid, covariance_accurate : bool
        The two iminuit checks separately.
    n_attempts : int
        Number of minimisation attempts used.
    nfcn : int
        Number of function calls of the successful (or last) attempt.
    message : str
        Empty when valid, otherwise what went wrong.
    """

    function: str
    edges: np.ndarray
    counts: np.ndarray
    variances: np.ndarray | None
    sr_bins: np.ndarray
    sr: tuple[float, float] | None
    parameters: dict[str, float]
    parameter_errors: dict[str, float]
    covariance: np.ndarray
    parameters_fit: dict[str, float]
    errors_fit: dict[str, float]
    covariance_fit: np.ndarray
    expected: np.ndarray
    fval: float
    ndof: int
    valid: bool
    migrad_valid: bool
    covariance_accurate: bool
    n_attempts: int
    nfcn: int
    message: str = ""
    parametrisation: Parametrisation | None = field(default=None, repr=False, compare=False)

    @property
    def q(self) -> np.ndarray:
        """Fit-parameter vector."""
        return np.array(list(self.parameters_fit.values()))

    @property
    def sideband_bins(self) -> np.ndarray:
        """Mask of the bins used in the fit."""
        return ~self.sr_bins

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (plain floats and lists)."""
        return {
            "function": self.function,
            "edges": [float(v) for v in self.edges],
            "counts": [float(v) for v in self.counts],
            "sr_bins": [bool(v) for v in self.sr_bins],
            "sr": None if self.sr is None else list(self.sr),
            "parameters": {k: float(v) for k, v in self.parameters.items()},
            "parameter_errors": {k: float(v) for k, v in self.parameter_errors.items()},
            "covariance": np.asarray(self.covariance, dtype=float).tolist(),
            "parameters_fit": {k: float(v) for k, v in self.parameters_fit.items()},
            "errors_fit": {k: float(v) for k, v in self.errors_fit.items()},
            "covariance_fit": np.asarray(self.covariance_fit, dtype=float).tolist(),
            "expected": [float(v) for v in self.expected],
            "fval": float(self.fval),
            "ndof": int(self.ndof),
            "valid": bool(self.valid),
            "migrad_valid": bool(self.migrad_valid),
            "covariance_accurate": bool(self.covariance_accurate),
            "n_attempts": int(self.n_attempts),
            "nfcn": int(self.nfcn),
            "message": self.message,
        }


def _cdf_model(par: Parametrisation, index: np.ndarray | None = None):
    """Scaled-CDF model and gradient for ExtendedBinnedNLL from per-bin integrals.

    ``index`` selects which cumulative edges the cost sees (to merge bins, e.g. the SR).
    """

    def cdf(xe, *q):
        c = np.concatenate([[0.0], np.cumsum(par.bin_integrals(np.asarray(q)))])
        return c if index is None else c[index]

    def grad(xe, *q):
        g = par.bin_integrals_grad(np.asarray(q))
        c = np.concatenate([np.zeros((g.shape[0], 1)), np.cumsum(g, axis=1)], axis=1)
        return c if index is None else c[:, index]

    has_grad = par.bin_integrals_grad(np.asarray(par.start, dtype=float)) is not None
    return cdf, (grad if has_grad else None)


def _data(counts: np.ndarray, variances: np.ndarray | None) -> np.ndarray:
    if variances is None:
        return counts
    return np.column_stack([counts, variances])


def make_cost(par: Parametrisation, counts: np.ndarray, edges: np.ndarray,
              variances: np.ndarray | None, mask: np.ndarray | None,
              index: np.ndarray | None = None) -> ExtendedBinnedNLL:
    """ExtendedBinnedNLL on the given bins (``mask`` True = used).

    ``index`` selects a subset of the cumulative edges (``edges[index]``) to merge bins;
    ``counts``/``variances``/``mask`` then refer to the merged bins.
    """
    cdf, grad = _cdf_model(par, index)
    xe = edges if index is None else edges[index]
    cost = ExtendedBinnedNLL(_data(counts, variances), xe, cdf, grad=grad, name=par.names)
    if mask is not None:
        cost.mask = mask
    return cost


def _bohm_zech_scale(counts: np.ndarray, variances: np.ndarray | None) -> np.ndarray:
    """Per-bin scale n/var of the scaled Poisson likelihood, as iminuit computes it."""
    if variances is None:
        return np.ones_like(counts)
    s = np.zeros_like(counts)
    ok = variances > 0
    s[ok] = np.abs(counts[ok]) / variances[ok]
    s[~ok] = np.median(s[ok]) if ok.any() else 1.0
    return s


def make_hessian(par: Parametrisation, counts: np.ndarray, variances: np.ndarray | None,
                 mask: np.ndarray | None, index: np.ndarray | None = None):
    """Analytic Hessian of the cost made by :func:`make_cost` (None if the model has none).

    For the deviance ``D = 2 sum s (mu - n + n ln(n/mu))`` it is
    ``2 sum s [ (n / mu^2) dmu dmu^T + (1 - n/mu) d2mu ]``.
    """
    q0 = np.asarray(par.start, dtype=float)
    if par.bin_integrals_hess(q0) is None or par.bin_integrals_grad(q0) is None:
        return None
    scale = _bohm_zech_scale(counts, variances)
    use = np.ones(counts.size, bool) if mask is None else np.asarray(mask, bool)
    n, s = counts[use], scale[use]

    def agg(a):
        if index is None:
            return a[..., use]
        c = np.concatenate([np.zeros(a.shape[:-1] + (1,)), np.cumsum(a, axis=-1)], axis=-1)
        return np.diff(c[..., index], axis=-1)[..., use]

    def hess(*q):
        q = np.asarray(q, dtype=float)
        mu = agg(par.bin_integrals(q))
        g = agg(par.bin_integrals_grad(q))
        h = agg(par.bin_integrals_hess(q))
        r = n / mu
        return 2.0 * (np.einsum("b,jb,lb->jl", s * r / mu, g, g)
                      + np.einsum("b,jlb->jl", s * (1 - r), h))

    return hess


def minimise(cost, par: Parametrisation, start: np.ndarray, *, strategy: int = 0,
             retries: bool = True, hessian=None, hesse: bool = True) -> tuple[Minuit, int, str]:
    """Run MIGRAD (+ HESSE) with retries; returns (minuit, n_attempts, message)."""
    attempts = 0
    msg = ""
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
                    m = Minuit(cost, *s, name=par.names, hessian=hessian)
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
            ok = _minuit_ok(m) if hesse else bool(m.fmin.is_valid and np.isfinite(m.fval))
            if ok:
                return m, attempts, ""
            msg = _describe(m)
    assert m is not None
    return m, attempts, msg


def _minuit_ok(m: Minuit) -> bool:
    fm = m.fmin
    if fm is None or not fm.is_valid or not fm.has_accurate_covar:
        return False
    if m.covariance is None:
        return False
    cov = np.asarray(m.covariance)
    ok = bool(np.all(np.isfinite(m.values)) and np.all(np.isfinite(cov))
              and np.all(np.diag(cov) > 0) and np.isfinite(fm.fval))
    return ok and _max_correlation(cov) < MAX_CORRELATION


#: Fits whose parameters correlate more than this are reported invalid (degenerate model).
MAX_CORRELATION = 0.99999


def _max_correlation(cov: np.ndarray) -> float:
    if cov.shape[0] < 2:
        return 0.0
    if np.any(np.diag(cov) <= 0):
        return 1.0
    d = np.sqrt(np.diag(cov))
    corr = cov / np.outer(d, d)
    return float(np.max(np.abs(corr[~np.eye(len(d), dtype=bool)])))


def _describe(m: Minuit) -> str:
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
        c = _max_correlation(np.asarray(m.covariance))
        if c >= MAX_CORRELATION:
            bits.append(f"parameters degenerate (|correlation| = {c:.6f})")
    return "; ".join(bits) or "non-finite result"


def fit_sideband(counts: np.ndarray, edges: np.ndarray, *, sr: tuple[float, float] | None,
                 function: str | FitFunction = "dijet4", variances: np.ndarray | None = None,
                 sqrt_s: float = SQRT_S, start: np.ndarray | None = None,
                 parametrisation: Parametrisation | None = None,
                 strategy: int = 0, warn: bool = True) -> SidebandFit:
    """Fit the sidebands of a binned m spectrum.

    Parameters
    ----------
    counts : array (n_bins,)
        Observed counts (or sums of weights) per bin.
    edges : array (n_bins + 1,)
        Bin edges in TeV; the SR edges must be among them (see :func:`make_edges`).
    sr : (low, high) or None, keyword-only
        Signal region in TeV, masked in the fit; None fits all bins.
    function : str or FitFunction
        ``dijet3``, ``dijet4`` (default), ``dijet5``, ``linear`` or a custom function.
    variances : array, optional
        Sums of squared weights per bin for weighted histograms.
    sqrt_s : float
        Centre-of-mass energy in TeV for the dijet functions.
    start : array, optional
        Starting fit parameters (fit parametrisation), e.g. from a previous fit.
    parametrisation : Parametrisation, optional
        Reuse the parametrisation of a previous fit on the same binning (pseudo-experiments).
    strategy : int
        MIGRAD strategy of the first attempt (0, validated in the tests; retries use 1).
    warn : bool
        Emit :class:`FitWarning` for an invalid fit.

    Returns
    -------
    SidebandFit

    Raises
    ------
    FitError
        Empty sidebands, fewer sideband bins than parameters, negative counts.
    """
    edges = np.asarray(edges, dtype=float)
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 1 or counts.size != edges.size - 1:
        raise InputError(f"counts must have len(edges) - 1 = {edges.size - 1} entries, "
                         f"got shape {counts.shape}")
    if not np.all(np.isfinite(counts)):
        raise InputError("counts contain non-finite values")
    if variances is not None:
        variances = np.asarray(variances, dtype=float)
        if variances.shape != counts.shape or not np.all(np.isfinite(variances)):
            raise InputError("variances must be finite and have the shape of counts")
        if np.any(variances < 0):
            raise InputError("variances must be >= 0")
    elif np.any(counts < 0):
        raise InputError("unweighted counts must be >= 0")
    func = get_function(function, sqrt_s=sqrt_s)
    srb = np.zeros(counts.size, bool) if sr is None else sr_mask(edges, sr)
    sb = ~srb
    n_sb = float(np.sum(counts[sb]))
    if n_sb <= 0:
        raise FitError(
            f"{func.name}: the sidebands are empty (sum of counts {n_sb}); nothing to fit")
    if int(sb.sum()) <= func.n_params:
        raise FitError(f"{func.name}: {int(sb.sum())} sideband bins for {func.n_params} "
                       "parameters leave no degree of freedom; use more bins or a simpler function")
    par = parametrisation or func.parametrise(edges, counts, mask=sb, variances=variances)
    q0 = par.start if start is None else np.asarray(start, dtype=float)
    with np.errstate(all="ignore"):
        mu0 = par.bin_integrals(q0)
    if not np.all(np.isfinite(mu0)):
        raise FitError(f"{func.name}: the model is not finite at the starting parameters "
                       f"{dict(zip(par.names, map(float, q0), strict=True))} over the fit range")
    cost = make_cost(par, counts, edges, variances, sb)
    hess = make_hessian(par, counts, variances, sb)
    m, attempts, msg = minimise(cost, par, q0, strategy=strategy, hessian=hess)
    sr_t = None if sr is None else (float(sr[0]), float(sr[1]))
    return _result(func, par, m, counts, variances, edges, srb, sr_t, attempts, msg, warn)


def _result(func, par, m, counts, variances, edges, srb, sr, attempts, msg, warn) -> SidebandFit:
    valid = _minuit_ok(m)
    q = np.array(m.values)
    k = len(q)
    cov_fit = np.array(m.covariance) if m.covariance is not None else np.full((k, k), np.nan)
    with np.errstate(all="ignore"):
        p = par.to_conventional(q)
        jac = par.jacobian(q)
        cov = jac @ cov_fit @ jac.T
        expected = par.bin_integrals(q)
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(expected))):
        valid = False
        msg = msg or "non-finite parameters or prediction"
    if not valid and warn:
        warnings.warn(f"{func.name} sideband fit is not valid: {msg}", FitWarning, stacklevel=3)
    names = func.param_names
    return SidebandFit(
        function=func.name,
        edges=edges,
        counts=counts,
        variances=variances,
        sr_bins=srb,
        sr=sr,
        parameters=dict(zip(names, map(float, p), strict=True)),
        parameter_errors=dict(zip(names, map(float, np.sqrt(np.abs(np.diag(cov)))), strict=True)),
        covariance=cov,
        parameters_fit=dict(zip(par.names, map(float, q), strict=True)),
        errors_fit=dict(zip(par.names, map(float, np.sqrt(np.abs(np.diag(cov_fit)))), strict=True)),
        covariance_fit=cov_fit,
        expected=expected,
        fval=float(m.fval) if m.fmin is not None else float("nan"),
        ndof=int((~srb).sum()) - k,
        valid=bool(valid),
        migrad_valid=bool(m.fmin is not None and m.fmin.is_valid),
        covariance_accurate=bool(m.fmin is not None and m.fmin.has_accurate_covar),
        n_attempts=attempts,
        nfcn=int(m.nfcn),
        message="" if valid else msg,
        parametrisation=par,
    )
