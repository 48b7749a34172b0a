"""Sideband fit of a binned m spectrum: extended binned Poisson likelihood, SR bins masked.

:func:`fit_sideband` builds the well-conditioned parametrisation of the fit function for the
binning (:mod:`bumpstat.fit.functions`), the likelihood with the signal-region bins masked and
its analytic Hessian (:mod:`bumpstat.fit.cost`), minimises it with retries
(:mod:`bumpstat.fit.minimise`) and returns a :class:`SidebandFit`: parameters in the fit and the
conventional parametrisation with their covariances, the fitted expectation in every bin and
whether the fit can be trusted (``valid``, and ``reason`` when not; a :class:`FitWarning` is
emitted for an invalid fit). Masses are in TeV, counts in events (sums of weights).

>>> import numpy as np
>>> from bumpstat.fit import make_edges, fit_sideband, get_function
>>> edges = make_edges((2.8, 5.2), 30, sr=(3.3, 3.7))
>>> mu = get_function("dijet4").bin_integrals(edges, [1.0, 10.0, 5.0, 0.1])
>>> counts = np.random.default_rng(1).poisson(mu / mu.sum() * 1e5).astype(float)
>>> fit = fit_sideband(counts, edges, sr=(3.3, 3.7), function="dijet4")
>>> fit.valid, fit.ndof, fit.reason
(True, 20, None)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bumpstat.exceptions import FitError, InputError
from bumpstat.fit.base import SQRT_S, FitFunction, Parametrisation
from bumpstat.fit.binning import spectrum, sr_mask
from bumpstat.fit.cost import cost_and_hessian
from bumpstat.fit.functions import get_function
from bumpstat.fit.minimise import FitWarning, minimise, minuit_ok
from bumpstat.results import Result

__all__ = ["FitWarning", "SidebandFit", "fit_sideband"]


@dataclass(frozen=True, repr=False)
class SidebandFit(Result):
    """Result of a sideband fit.

    Attributes
    ----------
    function : str
        Fit function name.
    edges : ndarray (n_bins + 1,)
        Bin edges in TeV.
    counts : ndarray (n_bins,)
        Observed counts (sums of weights) per bin, events.
    variances : ndarray (n_bins,) or None
        Sums of squared weights per bin; None if unweighted.
    sr_bins : ndarray of bool (n_bins,)
        Bins masked out of the fit (the signal region).
    sr : (float, float) or None
        Signal region in TeV.
    parameters : dict
        Conventional parameters (``p0`` in events per TeV for the dijet functions, the others
        dimensionless).
    parameter_errors : dict
        Their standard errors (from the transformed covariance).
    covariance : ndarray (k, k)
        Covariance of the conventional parameters (Jacobian-transformed).
    parameters_fit, errors_fit : dict
        Fitted values and errors in the well-conditioned fit parametrisation (``norm`` in
        events).
    covariance_fit : ndarray (k, k)
        Covariance of the fit parameters (HESSE).
    expected : ndarray (n_bins,)
        Fitted expected counts per bin (all bins, including the SR), events.
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
    reason : str or None
        None when valid, otherwise what went wrong.
    parametrisation : Parametrisation or None
        The fit parametrisation (reused by pseudo-experiments; not serialised).
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
    reason: str | None = None
    parametrisation: Parametrisation | None = field(default=None, repr=False, compare=False,
                                                    metadata={"json": False})

    @property
    def q(self) -> np.ndarray:
        """Fit-parameter vector."""
        return np.array(list(self.parameters_fit.values()))

    @property
    def sideband_bins(self) -> np.ndarray:
        """Mask of the bins used in the fit."""
        return ~self.sr_bins


def fit_sideband(counts: Any, edges: np.ndarray | None = None, *,
                 sr: tuple[float, float] | None,
                 function: str | FitFunction = "dijet4", variances: np.ndarray | None = None,
                 sqrt_s: float = SQRT_S, start: np.ndarray | None = None,
                 parametrisation: Parametrisation | None = None,
                 strategy: int = 0, warn: bool = True) -> SidebandFit:
    """Fit the sidebands of a binned m spectrum.

    Parameters
    ----------
    counts : array (n_bins,) or histogram
        Observed counts (or sums of weights) per bin, or a 1-D UHI histogram of m in TeV
        (boost-histogram, hist, uproot TH1; weighted or not), whose edges and variances are
        then used.
    edges : array (n_bins + 1,), optional
        Bin edges in TeV (not with a histogram); the SR edges must be among them (see
        :func:`make_edges`).
    sr : (low, high) or None, keyword-only
        Signal region in TeV, masked in the fit; None fits all bins.
    function : str or FitFunction
        ``dijet3``, ``dijet4`` (default), ``dijet5``, ``linear`` or a custom function.
    variances : array (n_bins,), optional
        Sums of squared weights per bin for weighted histograms (scaled Poisson likelihood).
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
        Empty sidebands, no degree of freedom left, a model not finite at its start.
    InputError
        Non-finite or negative counts, shapes that do not match the edges.
    """
    counts, edges, variances = spectrum(counts, edges, variances)
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
    cost, hess = cost_and_hessian(par, counts, edges, variances, sb)
    m, attempts, reason = minimise(cost, par, q0, strategy=strategy, hessian=hess)
    sr_t = None if sr is None else (float(sr[0]), float(sr[1]))
    return _result(func, par, m, counts, variances, edges, srb, sr_t, attempts, reason, warn)


def _result(func, par, m, counts, variances, edges, srb, sr, attempts, reason,
            warn) -> SidebandFit:
    valid = minuit_ok(m)
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
        reason = reason or "non-finite parameters or prediction"
    if not valid and warn:
        warnings.warn(f"{func.name} sideband fit is not valid: {reason}", FitWarning, stacklevel=3)
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
        reason=None if valid else reason,
        parametrisation=par,
    )
