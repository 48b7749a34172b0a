"""Fit-based bump hunt: score cut, sideband fit, SR prediction and the significance of the excess.

Significance: profile likelihood with the fit parameters as nuisance parameters
---------------------------------------------------------------------------------
The SR is one counting bin on top of the fitted background. With a free signal count ``s`` in the
SR (any sign), the likelihood is ``L(s, theta) = L_SB(theta) * Pois(n_SR | b_SR(theta) + s)``.
The test statistic for ``s = 0`` is

    q0 = -2 ln [ max_theta L(0, theta) / max_{s,theta} L(s, theta) ]
       = D_joint(theta_hat_0) - D_SB(theta_hat),

the deviance of a background-only fit to the sidebands *plus the summed SR bin* minus the
deviance of the sideband-only fit (the SR bin is saturated when ``s`` is free). The significance
is signed, ``Z = sign(n_SR - b_SR) sqrt(q0)``, and ``p = 1 - Phi(Z)`` (one-sided; a deficit gives
Z < 0, p > 0.5). This profiles the full fit covariance (all correlations, no Gaussian
approximation of the prediction) and reduces to the Poisson-Gamma result (eq. 6 with the fit's
relative uncertainty) when the nuisance constraint is Gaussian. Background-only pseudo-experiments
give uniform p-values (tests/test_fit_bumphunt.py).

The predicted SR count is the fitted function integrated over the SR bins; its uncertainty is
``sqrt(g C g^T)`` with ``g = d n_pred / d theta`` (analytic) and C the HESSE covariance.

>>> import numpy as np
>>> from bumpstat.fit import bumphunt
>>> rng = np.random.default_rng(0)
>>> m = 2.8 * (1.0 + rng.pareto(6.0, 100_000))     # falling spectrum, TeV
>>> r = bumphunt(m, window=(3.3, 3.7), fit_range=(2.8, 5.2), bins=30, function="dijet4")
>>> r.valid, abs(r.z) < 4
(True, True)
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from bumpstat.exceptions import FitError, InputError, WindowError
from bumpstat.fit.functions import SQRT_S, FitFunction, get_function
from bumpstat.fit.gof import goodness_of_fit
from bumpstat.fit.sideband import (
    FitWarning,
    SidebandFit,
    _check_range,
    fit_sideband,
    histogram,
    make_cost,
    make_edges,
    make_hessian,
    minimise,
    sr_mask,
)
from bumpstat.windows import window_edges

__all__ = [
    "SRTest",
    "BumpHuntResult",
    "ToyFits",
    "sr_test",
    "bumphunt",
    "bumphunt_histogram",
    "score_threshold",
    "pseudo_experiments",
]


def _f(x: Any) -> float | None:
    """Float for JSON; None for non-finite (never NaN in JSON)."""
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class SRTest:
    """SR prediction from the sideband fit and the test of the excess.

    Attributes
    ----------
    n_obs_sr : float
        Observed (weighted) events in the SR bins.
    n_pred_sr, n_pred_sr_unc : float
        Fitted background integrated over the SR bins and its uncertainty from the fit covariance.
    q0 : float
        Profile-likelihood test statistic (see module docstring).
    z : float
        Signed significance, negative for a deficit.
    p_value : float
        One-sided p-value ``1 - Phi(z)``.
    valid : bool
        Both the sideband fit and the background-only fit including the SR converged.
    """

    n_obs_sr: float
    n_pred_sr: float
    n_pred_sr_unc: float
    q0: float
    z: float
    p_value: float
    valid: bool

    def to_dict(self) -> dict[str, Any]:
        return {k: (bool(v) if k == "valid" else _f(v)) for k, v in self.__dict__.items()}


def _sr_prediction(fit: SidebandFit) -> tuple[float, float]:
    par = fit.parametrisation
    assert par is not None
    q = fit.q
    srb = fit.sr_bins
    pred = float(np.sum(fit.expected[srb]))
    g = par.bin_integrals_grad(q)
    if g is None:  # numerical Jacobian for custom functions
        g = np.empty((len(q), len(srb)))
        for j in range(len(q)):
            h = 1e-5 * max(abs(q[j]), 1e-3)
            d = np.zeros(len(q))
            d[j] = h
            with np.errstate(all="ignore"):
                g[j] = (par.bin_integrals(q + d) - par.bin_integrals(q - d)) / (2 * h)
    gs = g[:, srb].sum(axis=1)
    var = float(gs @ fit.covariance_fit @ gs)
    return pred, math.sqrt(var) if var > 0 and math.isfinite(var) else float("nan")


def sr_test(fit: SidebandFit) -> SRTest:
    """Predict the SR count from a sideband fit and test the observed excess.

    Parameters
    ----------
    fit : SidebandFit
        A fit with an SR (``fit.sr_bins`` not empty).

    Returns
    -------
    SRTest
    """
    srb = fit.sr_bins
    if not srb.any():
        raise WindowError("the fit has no signal-region bins to test")
    par = fit.parametrisation
    assert par is not None
    n_obs = float(np.sum(fit.counts[srb]))
    pred, unc = _sr_prediction(fit)
    # merged histogram: sideband bins + one SR bin
    first, last = int(np.argmax(srb)), int(len(srb) - np.argmax(srb[::-1]))
    index = np.concatenate([np.arange(first + 1), np.arange(last, len(fit.edges))])
    counts = np.concatenate([fit.counts[:first], [n_obs], fit.counts[last:]])
    var = None
    if fit.variances is not None:
        v = fit.variances
        var = np.concatenate([v[:first], [float(np.sum(v[srb]))], v[last:]])
    valid = bool(fit.valid)
    if not valid:
        return SRTest(n_obs, pred, unc, float("nan"), float("nan"), float("nan"), False)
    cost = make_cost(par, counts, fit.edges, var, None, index=index)
    hess = make_hessian(par, counts, var, None, index=index)
    m, _, _ = minimise(cost, par, fit.q, hessian=hess, hesse=False)
    ok = bool(m.fmin is not None and m.fmin.is_valid and math.isfinite(m.fval))
    if not ok:
        warnings.warn("background-only fit including the SR did not converge; z is not valid",
                      FitWarning, stacklevel=2)
        return SRTest(n_obs, pred, unc, float("nan"), float("nan"), float("nan"), False)
    q0 = max(float(m.fval) - float(fit.fval), 0.0)
    z = math.copysign(math.sqrt(q0), n_obs - pred)
    return SRTest(n_obs, pred, unc, q0, z, float(stats.norm.sf(z)), valid and ok)


@dataclass(frozen=True)
class BumpHuntResult:
    """Fit-based bump-hunt result for one window and working point.

    Attributes
    ----------
    function : str
        Fit function.
    sr : (float, float)
        Signal region in TeV.
    fit_range : (float, float)
        Fit range in TeV.
    bins : list of float
        Bin edges in TeV.
    counts : list of float
        Observed (weighted) counts per bin after the cut.
    expected : list of float
        Fitted background per bin.
    n_obs_sr, n_pred_sr, n_pred_sr_unc, q0, z, p_value :
        See :class:`SRTest`.
    valid : bool
        Fit and test valid.
    parameters, parameter_errors : dict
        Conventional parameters (``p0`` events/TeV, ...) and errors.
    parameters_fit : dict
        Parameters of the well-conditioned fit parametrisation.
    covariance, covariance_fit : list of list
        Covariance in conventional and fit parameters.
    chi2, ndof, chi2_ndof, deviance, deviance_p_value, ks_p_value : float
        Goodness of fit in the sidebands (see :mod:`bumpstat.fit.gof`).
    threshold : float or None
        Score threshold applied (events with score > threshold kept), None when no cut.
    threshold_source : str
        ``"none"``, ``"given"``, ``"template"`` (eps_b of the template) or ``"sr_data"``
        (fraction eps_b of SR data).
    eps_b : float or None
        Requested background efficiency.
    n_selected : int
        Events in the fit range passing the cut.
    message : str
        Why the fit is invalid (empty when valid).
    """

    function: str
    sr: tuple[float, float]
    fit_range: tuple[float, float]
    bins: list[float]
    counts: list[float]
    expected: list[float]
    n_obs_sr: float
    n_pred_sr: float
    n_pred_sr_unc: float
    q0: float
    z: float
    p_value: float
    valid: bool
    parameters: dict[str, float]
    parameter_errors: dict[str, float]
    parameters_fit: dict[str, float]
    covariance: list[list[float]]
    covariance_fit: list[list[float]]
    chi2: float
    ndof: int
    chi2_ndof: float
    deviance: float
    deviance_p_value: float
    ks_p_value: float
    threshold: float | None
    threshold_source: str
    eps_b: float | None
    n_selected: int
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (non-finite numbers become None)."""
        out: dict[str, Any] = {"method": "fit"}
        for k, v in self.__dict__.items():
            if isinstance(v, bool | str) or v is None:
                out[k] = v
            elif isinstance(v, int):
                out[k] = int(v)
            elif isinstance(v, float):
                out[k] = _f(v)
            elif isinstance(v, dict):
                out[k] = {kk: _f(vv) for kk, vv in v.items()}
            elif isinstance(v, tuple):
                out[k] = [_f(x) for x in v]
            elif k.startswith("covariance"):
                out[k] = [[_f(x) for x in row] for row in v]
            else:
                out[k] = [_f(x) for x in v]
        return out


def score_threshold(scores: np.ndarray, eps: float, *,
                    weights: np.ndarray | None = None, where: str = "template") -> float:
    """Threshold R_c such that a (weighted) fraction ``eps`` of ``scores`` has score > R_c.

    Same convention as the direct method (:func:`bumpstat.direct.thresholds.template_thresholds`).

    >>> score_threshold(np.arange(100.0), 0.1)
    89.5
    """
    from bumpstat.direct.thresholds import template_thresholds

    s = np.asarray(scores, dtype=float).ravel()
    w = None if weights is None else np.asarray(weights, dtype=float).ravel()
    return float(template_thresholds(s, float(eps), weights=w, where=where).threshold[0, 0])


def bumphunt_histogram(counts: np.ndarray, edges: np.ndarray, *, sr: tuple[float, float],
                       function: str | FitFunction = "dijet4",
                       variances: np.ndarray | None = None,
                       sqrt_s: float = SQRT_S) -> tuple[SidebandFit, SRTest]:
    """Sideband fit and SR test of a histogram (no cut)."""
    fit = fit_sideband(counts, edges, sr=sr, function=function, variances=variances,
                       sqrt_s=sqrt_s)
    return fit, sr_test(fit)


def bumphunt(m: np.ndarray, scores: np.ndarray | None = None, *, window: Any,
             eps_b: float | None = None, threshold: float | None = None,
             template_scores: np.ndarray | None = None,
             template_weights: np.ndarray | None = None,
             weights: np.ndarray | None = None,
             fit_range: tuple[float, float] = (2.8, 5.2), bins: int = 30,
             edges: np.ndarray | None = None, function: str | FitFunction = "dijet4",
             sqrt_s: float = SQRT_S) -> BumpHuntResult:
    """Cut on the anomaly score, fit the m sidebands, predict and test the SR.

    Parameters
    ----------
    m : array (N,)
        Resonant variable of the data events, TeV (events outside ``fit_range`` are ignored).
    scores : array (N,), optional
        Anomaly scores of the same events; None means no cut.
    window : Window or (low, high)
        Signal region in TeV.
    eps_b : float, optional
        Working point. With ``template_scores``: threshold such that a weighted fraction eps_b of
        the template (SR background template) passes. Without: a fraction eps_b of the SR data.
    threshold : float, optional
        Explicit threshold (overrides ``eps_b``). Events with ``score > threshold`` are kept.
    template_scores, template_weights : array, optional
        Background-template scores and weights defining ``eps_b``.
    weights : array (N,), optional
        Event weights (weighted histogram, scaled Poisson likelihood).
    fit_range : (float, float)
        Fit range in TeV (default 2.8-5.2, paper 004).
    bins : int
        About this many log-uniform bins, SR edges aligned (see :func:`make_edges`).
    edges : array, optional
        Explicit bin edges (TeV) instead of ``bins``; the SR edges must be among them.
    function : str or FitFunction
        ``dijet4`` by default.
    sqrt_s : float
        TeV.

    Returns
    -------
    BumpHuntResult

    Raises
    ------
    FitError
        All events cut away, empty sidebands, too few bins.
    WorkingPointError
        The working point cannot be realised.
    """
    m = np.asarray(m, dtype=float).ravel()
    if not np.all(np.isfinite(m)):
        raise InputError(f"m contains {int(np.sum(~np.isfinite(m)))} non-finite values")
    sr = window_edges(window)
    lo, hi = _check_range(fit_range)
    if edges is None:
        edges = make_edges((lo, hi), bins, sr)
    else:
        edges = np.asarray(edges, dtype=float)
        lo, hi = float(edges[0]), float(edges[-1])
    sr_mask(edges, sr)  # validates alignment early
    in_range = (m >= lo) & (m < hi)
    if weights is not None:
        weights = np.asarray(weights, dtype=float).ravel()
        if weights.shape != m.shape:
            raise InputError(f"weights have {weights.size} entries but m has {m.size}")
    source = "none"
    thr: float | None = None
    if scores is not None:
        scores = np.asarray(scores, dtype=float).ravel()
        if scores.shape != m.shape:
            raise InputError(f"scores have {scores.size} entries but m has {m.size}")
        if not np.all(np.isfinite(scores)):
            raise InputError("scores contain non-finite values")
        if threshold is not None:
            thr, source = float(threshold), "given"
        elif eps_b is not None:
            if template_scores is not None:
                thr = score_threshold(template_scores, eps_b, weights=template_weights)
                source = "template"
            else:
                in_sr = (m >= sr[0]) & (m < sr[1])
                if not in_sr.any():
                    raise WindowError(f"no data events in the SR {sr} TeV to define eps_b")
                thr = score_threshold(scores[in_sr], eps_b, where=f"SR {sr} data")
                source = "sr_data"
    elif threshold is not None or eps_b is not None:
        raise InputError("a threshold or eps_b needs per-event scores")
    keep = in_range if thr is None else in_range & (scores > thr)
    n_sel = int(keep.sum())
    if n_sel == 0:
        raise FitError(f"all events in the fit range ({lo}, {hi}) TeV are cut away "
                       f"(threshold {thr})")
    counts, var = histogram(m[keep], edges, weights=None if weights is None else weights[keep])
    fit = fit_sideband(counts, edges, sr=sr, function=function, variances=var, sqrt_s=sqrt_s)
    test = sr_test(fit)
    gof = goodness_of_fit(fit)
    return BumpHuntResult(
        function=fit.function,
        sr=sr,
        fit_range=(float(edges[0]), float(edges[-1])),
        bins=[float(v) for v in edges],
        counts=[float(v) for v in counts],
        expected=[float(v) for v in fit.expected],
        n_obs_sr=test.n_obs_sr,
        n_pred_sr=test.n_pred_sr,
        n_pred_sr_unc=test.n_pred_sr_unc,
        q0=test.q0,
        z=test.z,
        p_value=test.p_value,
        valid=bool(fit.valid and test.valid),
        parameters=fit.parameters,
        parameter_errors=fit.parameter_errors,
        parameters_fit=fit.parameters_fit,
        covariance=np.asarray(fit.covariance).tolist(),
        covariance_fit=np.asarray(fit.covariance_fit).tolist(),
        chi2=gof.chi2,
        ndof=gof.ndof,
        chi2_ndof=gof.chi2_ndof,
        deviance=gof.deviance,
        deviance_p_value=gof.deviance_p_value,
        ks_p_value=gof.ks_p_value,
        threshold=thr,
        threshold_source=source,
        eps_b=None if eps_b is None else float(eps_b),
        n_selected=n_sel,
        message=fit.message,
    )


# ---------------------------------------------------------------------------------------------
# Pseudo-experiments
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToyFits:
    """Refits of Poisson pseudo-experiments.

    Attributes
    ----------
    parameters_fit : ndarray (n_toys, k)
        Fitted parameters (fit parametrisation).
    errors_fit : ndarray (n_toys, k)
        Their HESSE errors.
    parameters : ndarray (n_toys, k)
        Conventional parameters.
    valid : ndarray of bool
        Fit (and SR test, if run) valid.
    n_obs_sr, n_pred_sr, n_pred_sr_unc, z, p_value : ndarray
        SR test per toy (NaN when ``sr_test`` was not run or the toy is invalid).
    seconds : float
        Wall time of all refits.
    """

    parameters_fit: np.ndarray
    errors_fit: np.ndarray
    parameters: np.ndarray
    valid: np.ndarray
    n_obs_sr: np.ndarray
    n_pred_sr: np.ndarray
    n_pred_sr_unc: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    seconds: float

    @property
    def fraction_valid(self) -> float:
        return float(np.mean(self.valid))


def _refit_chunk(fit: SidebandFit, toys: np.ndarray, do_test: bool) -> list[tuple]:
    out = []
    par = fit.parametrisation
    start = fit.q
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        for counts in toys:
            try:
                f = fit_sideband(counts, fit.edges, sr=fit.sr, function=_function_of(fit),
                                 parametrisation=par, start=start, warn=False)
            except FitError:
                k = len(start)
                out.append((np.full(k, np.nan), np.full(k, np.nan), np.full(k, np.nan), False,
                            np.nan, np.nan, np.nan, np.nan, np.nan))
                continue
            t = sr_test(f) if do_test and fit.sr is not None else None
            out.append((f.q, np.array(list(f.errors_fit.values())),
                        np.array(list(f.parameters.values())),
                        bool(f.valid and (t is None or t.valid)),
                        np.nan if t is None else t.n_obs_sr, np.nan if t is None else t.n_pred_sr,
                        np.nan if t is None else t.n_pred_sr_unc, np.nan if t is None else t.z,
                        np.nan if t is None else t.p_value))
    return out


def _function_of(fit: SidebandFit) -> FitFunction:
    par = fit.parametrisation
    func = getattr(par, "func", None)
    if isinstance(func, FitFunction):
        return func
    return get_function(fit.function)


def pseudo_experiments(fit: SidebandFit, *, n_toys: int, seed: int | np.random.Generator | None = 0,
                       expected: Sequence[float] | None = None, sr_test: bool = True,
                       workers: int = 1) -> ToyFits:
    """Refit Poisson pseudo-experiments drawn from the fitted (or given) expectation.

    Each toy reuses the parametrisation of ``fit`` and starts from its parameters.

    Parameters
    ----------
    fit : SidebandFit
        Nominal fit (binning, SR, function, parametrisation).
    n_toys : int
        Number of pseudo-experiments.
    seed : int or Generator
        Random seed; the toys are the same for any ``workers``.
    expected : array, optional
        Expected counts per bin to draw from (default: ``fit.expected``).
    sr_test : bool
        Also run the SR test on every toy.
    workers : int
        Processes (``concurrent.futures``); 1 runs in this process.
    """
    rng = np.random.default_rng(seed)
    mu = np.asarray(fit.expected if expected is None else expected, dtype=float)
    if mu.shape != fit.counts.shape or not np.all(np.isfinite(mu)) or np.any(mu < 0):
        raise InputError("expected counts must be finite, >= 0 and match the binning")
    toys = rng.poisson(mu, size=(int(n_toys), mu.size)).astype(float)
    t0 = time.perf_counter()
    if workers > 1 and n_toys > 1:
        chunks = np.array_split(toys, workers)
        with ProcessPoolExecutor(max_workers=workers) as ex:
            parts = list(ex.map(_refit_chunk, [fit] * len(chunks), chunks,
                                [sr_test] * len(chunks)))
        rows = [r for p in parts for r in p]
    else:
        rows = _refit_chunk(fit, toys, sr_test)
    secs = time.perf_counter() - t0
    cols = list(zip(*rows, strict=True))
    return ToyFits(
        parameters_fit=np.array(cols[0]),
        errors_fit=np.array(cols[1]),
        parameters=np.array(cols[2]),
        valid=np.array(cols[3], dtype=bool),
        n_obs_sr=np.array(cols[4], dtype=float),
        n_pred_sr=np.array(cols[5], dtype=float),
        n_pred_sr_unc=np.array(cols[6], dtype=float),
        z=np.array(cols[7], dtype=float),
        p_value=np.array(cols[8], dtype=float),
        seconds=secs,
    )
