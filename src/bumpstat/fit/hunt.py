"""Fit-based bump hunt: score cut, sideband fit, SR prediction, significance and limit.

:func:`bumphunt` cuts on the anomaly score (threshold from a background template, the SR data
or given), histograms m (TeV) in the fit range, fits the sidebands
(:func:`~bumpstat.fit.sideband.fit_sideband`), predicts and tests the SR
(:func:`~bumpstat.fit.srtest.sr_test`: profile-likelihood z with the fit parameters as nuisance
parameters) and sets an upper limit on signal events with the one-bin Poisson-constrained CLs
model in closed form, using the fit's relative uncertainty on the SR prediction
(:func:`bumpstat.stats.cutcount.cut_and_count`). The result follows the shared test contract of
:mod:`bumpstat.results` (``n_obs``, ``n_exp``, ``n_exp_unc``, ``rel_unc``, signed ``z``,
``p_value = Phi(-z)``, ``upper_limit`` at ``cl``, ``valid`` with a ``reason``); a fit whose
sideband goodness of fit fails (deviance p-value below ``min_gof_p``,
:data:`bumpstat.fit.gof.GOF_MIN_P`) is not valid, its numbers are kept for inspection.

>>> import numpy as np
>>> from bumpstat.fit import bumphunt
>>> rng = np.random.default_rng(0)
>>> m = 2.8 * (1.0 + rng.pareto(6.0, 100_000))     # falling spectrum, TeV
>>> r = bumphunt(m, window=(3.3, 3.7), fit_range=(2.8, 5.2), bins=30, function="dijet4")
>>> r.valid, r.reason, bool(abs(r.z) < 4), bool(r.upper_limit > 0), len(r.expected_limits)
(True, None, True, True, 5)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bumpstat.exceptions import FitError, InputError, WindowError
from bumpstat.fit.base import SQRT_S, FitFunction
from bumpstat.fit.binning import (
    check_masses,
    check_range,
    histogram,
    histogram_data,
    is_histogram,
    make_edges,
    sr_mask,
)
from bumpstat.fit.gof import GOF_MIN_P, goodness_of_fit
from bumpstat.fit.sideband import SidebandFit, fit_sideband
from bumpstat.fit.srtest import SRTest, sr_test
from bumpstat.results import Result
from bumpstat.scanpoint import LIMIT_CLS
from bumpstat.stats.cutcount import cut_and_count
from bumpstat.windows import check_mass_unit, window_edges

__all__ = ["BumpHuntResult", "LIMIT_METHOD", "bumphunt", "bumphunt_histogram", "score_threshold"]

#: How :func:`bumphunt` obtains its upper limits.
LIMIT_METHOD = (LIMIT_CLS[:-1] + " with the fit's relative uncertainty on the SR prediction)"
                if LIMIT_CLS.endswith(")")
                else LIMIT_CLS + " with the fit's relative uncertainty on the SR prediction")

_NAN = float("nan")


@dataclass(frozen=True, repr=False)
class BumpHuntResult(Result):
    """Fit-based bump-hunt result for one window and working point.

    Attributes
    ----------
    method : str
        ``"fit"`` (set automatically).
    function : str
        Fit function.
    sr : (float, float)
        Signal region in TeV.
    fit_range : (float, float)
        Fit range in TeV.
    n_obs : float
        Observed (weighted) events in the SR after the cut.
    n_exp, n_exp_unc : float
        Fitted background in the SR and its uncertainty from the fit covariance, events.
    rel_unc : float
        ``n_exp_unc / n_exp`` (NaN when undefined).
    q0, z, p_value : float
        Profile-likelihood test statistic, signed significance and ``Phi(-z)`` (see
        :mod:`bumpstat.fit.srtest`).
    upper_limit : float
        Observed CLs upper limit on signal events in the SR at ``cl`` (NaN unless ``n_exp > 0``
        and ``rel_unc`` is finite).
    expected_limits : tuple of 5 float
        Expected limits at -2, -1, 0, +1, +2 sigma, events.
    cl : float
        Confidence level of the limits.
    limit_method : str
        How the limits were obtained (:data:`LIMIT_METHOD`).
    valid : bool
        The numbers can be trusted: valid sideband fit, sideband deviance p-value >=
        ``min_gof_p``, SR refit converged, finite uncertainty.
    reason : str or None
        None when valid, otherwise why not.
    chi2, ndof, chi2_ndof, deviance, deviance_p_value, ks_p_value : float
        Goodness of fit in the sidebands (see :mod:`bumpstat.fit.gof`).
    min_gof_p : float
        The goodness-of-fit gate applied.
    threshold : float or None
        Score threshold applied (events with score > threshold kept), None when no cut.
    threshold_source : str
        ``"none"``, ``"given"``, ``"template"`` (eps_b of the template) or ``"sr_data"``
        (fraction eps_b of SR data).
    eps_b : float or None
        Requested background efficiency.
    n_selected : int
        Events in the fit range passing the cut.
    parameters, parameter_errors : dict
        Conventional parameters (``p0`` events/TeV, ...) and errors.
    parameters_fit : dict
        Parameters of the well-conditioned fit parametrisation.
    covariance, covariance_fit : list of list
        Covariance in conventional and fit parameters.
    bins : list of float
        Bin edges in TeV.
    counts : list of float
        Observed (weighted) counts per bin after the cut.
    expected : list of float
        Fitted background per bin, events.
    """

    method: str = field(default="fit", init=False)
    function: str
    sr: tuple[float, float]
    fit_range: tuple[float, float]
    n_obs: float
    n_exp: float
    n_exp_unc: float
    rel_unc: float
    q0: float
    z: float
    p_value: float
    upper_limit: float
    expected_limits: tuple[float, ...]
    cl: float
    limit_method: str
    valid: bool
    reason: str | None
    chi2: float
    ndof: int
    chi2_ndof: float
    deviance: float
    deviance_p_value: float
    ks_p_value: float
    min_gof_p: float
    threshold: float | None
    threshold_source: str
    eps_b: float | None
    n_selected: int
    parameters: dict[str, float]
    parameter_errors: dict[str, float]
    parameters_fit: dict[str, float]
    covariance: list[list[float]]
    covariance_fit: list[list[float]]
    bins: list[float]
    counts: list[float]
    expected: list[float]


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


def bumphunt_histogram(counts: Any, edges: np.ndarray | None = None, *,
                       sr: tuple[float, float],
                       function: str | FitFunction = "dijet4",
                       variances: np.ndarray | None = None, sqrt_s: float = SQRT_S,
                       min_gof_p: float = GOF_MIN_P) -> tuple[SidebandFit, SRTest]:
    """Sideband fit and SR test of a histogram (no cut).

    Arguments as for :func:`~bumpstat.fit.sideband.fit_sideband` and
    :func:`~bumpstat.fit.srtest.sr_test`; ``counts`` may also be a 1-D UHI histogram
    (boost-histogram, hist, uproot TH1) with ``edges`` None.
    """
    if is_histogram(counts):
        if edges is not None or variances is not None:
            raise InputError("give either a histogram or counts with edges and variances")
        counts, edges, variances = histogram_data(counts)
    elif edges is None:
        raise InputError("edges are needed with an array of counts")
    fit = fit_sideband(counts, edges, sr=sr, function=function, variances=variances,
                       sqrt_s=sqrt_s)
    return fit, sr_test(fit, min_gof_p=min_gof_p)


def _limits(n_obs: float, n_exp: float, rel_unc: float,
            cl: float) -> tuple[float, tuple[float, ...], str | None]:
    """Observed and expected CLs limits (events), and why they are missing (None if not)."""
    none = (_NAN, (_NAN,) * 5)
    if not (n_exp > 0 and math.isfinite(rel_unc)):
        return *none, None  # the SR test already says why
    try:
        r = cut_and_count(n_obs, n_exp, rel_unc, cl=cl)
    except InputError as err:
        return *none, f"no upper limit: {err}"
    return float(r.upper_limit), tuple(float(v) for v in r.expected_limits), None


def bumphunt(m: np.ndarray, scores: np.ndarray | None = None, *, window: Any,
             eps_b: float | None = None, threshold: float | None = None,
             template_scores: np.ndarray | None = None,
             template_weights: np.ndarray | None = None,
             weights: np.ndarray | None = None,
             fit_range: tuple[float, float] = (2.8, 5.2), bins: int = 30,
             edges: np.ndarray | None = None, function: str | FitFunction = "dijet4",
             sqrt_s: float = SQRT_S, cl: float = 0.95,
             min_gof_p: float = GOF_MIN_P) -> BumpHuntResult:
    """Cut on the anomaly score, fit the m sidebands, predict and test the SR, set a limit.

    Parameters
    ----------
    m : array (N,) or histogram
        Resonant variable of the data events, TeV (events outside the fit range are ignored);
        or a filled 1-D UHI histogram of m in TeV (boost-histogram, hist, uproot TH1; weighted
        or not), whose bins inside ``fit_range`` are fitted: the SR edges must be bin edges,
        and no score cut, weights or edges may be given.
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
        Fit range in TeV (default 2.8-5.2, Collins et al. [arXiv:2104.02092]).
    bins : int
        About this many log-uniform bins, SR edges aligned (see
        :func:`~bumpstat.fit.binning.make_edges`).
    edges : array, optional
        Explicit bin edges (TeV) instead of ``bins`` and ``fit_range``; the SR edges must be
        among them.
    function : str or FitFunction
        ``dijet4`` by default.
    sqrt_s : float
        Centre-of-mass energy, TeV.
    cl : float
        Confidence level of the upper limits (0.95).
    min_gof_p : float
        Smallest sideband deviance p-value of a valid result
        (:data:`~bumpstat.fit.gof.GOF_MIN_P` = 1e-3); 0 switches the gate off.

    Returns
    -------
    BumpHuntResult

    Raises
    ------
    FitError
        All events cut away, empty sidebands, too few bins.
    InputError
        Non-finite inputs, mismatched lengths, ``cl`` or ``min_gof_p`` out of range.
    WorkingPointError
        The working point cannot be realised.
    """
    if not 0.0 < float(cl) < 1.0:
        raise InputError(f"cl must be between 0 and 1, got {cl}")
    if not 0.0 <= float(min_gof_p) < 1.0:
        raise InputError(f"min_gof_p must be in [0, 1), got {min_gof_p}")
    if is_histogram(m):
        return _bumphunt_hist(m, scores=scores, eps_b=eps_b, threshold=threshold,
                              weights=weights, window=window, fit_range=fit_range,
                              edges=edges, function=function, sqrt_s=sqrt_s, cl=cl,
                              min_gof_p=min_gof_p)
    m = check_masses(m)
    sr = window_edges(window)
    lo, hi = check_range(fit_range)
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
    if not in_range.any():
        span = f"m spans [{m.min():g}, {m.max():g}] TeV" if m.size else "m is empty"
        raise FitError(f"no event lies in the fit range ({lo}, {hi}) TeV ({span})")
    if n_sel == 0:
        raise FitError(f"all {int(in_range.sum())} events in the fit range ({lo}, {hi}) TeV "
                       f"are cut away by the score threshold {thr:g}")
    counts, var = histogram(m[keep], edges, weights=None if weights is None else weights[keep])
    return _finish(counts, var, edges, sr=sr, function=function, sqrt_s=sqrt_s, cl=cl,
                   min_gof_p=min_gof_p, thr=thr, source=source, eps_b=eps_b, n_sel=n_sel)


def _bumphunt_hist(h: Any, *, scores, eps_b, threshold, weights, window, fit_range, edges,
                   function, sqrt_s, cl, min_gof_p) -> BumpHuntResult:
    """:func:`bumphunt` of a filled histogram: its bins inside ``fit_range`` are fitted."""
    if any(v is not None for v in (scores, eps_b, threshold, weights, edges)):
        raise InputError("a histogram is already selected, weighted and binned: scores, eps_b, "
                         "threshold, weights and edges apply to event arrays only")
    counts, h_edges, var = histogram_data(h)
    check_mass_unit(h_edges, "the histogram's bin edges")
    sr = window_edges(window)
    lo, hi = check_range(fit_range)
    tol = 1e-9 * max(1.0, abs(h_edges[-1]))
    inside = (h_edges[:-1] >= lo - tol) & (h_edges[1:] <= hi + tol)
    if inside.sum() < 2:
        raise FitError(f"the histogram ({h_edges[0]:g}-{h_edges[-1]:g} TeV) has fewer than two "
                       f"bins inside the fit range ({lo}, {hi}) TeV")
    idx = np.flatnonzero(inside)
    edges = h_edges[idx[0]: idx[-1] + 2]
    counts = counts[idx[0]: idx[-1] + 1]
    var = None if var is None else var[idx[0]: idx[-1] + 1]
    sr_mask(edges, sr)  # the SR edges must be bin edges of the histogram
    return _finish(counts, var, edges, sr=sr, function=function, sqrt_s=sqrt_s, cl=cl,
                   min_gof_p=min_gof_p, thr=None, source="none", eps_b=None,
                   n_sel=int(round(float(counts.sum()))))


def _finish(counts, var, edges, *, sr, function, sqrt_s, cl, min_gof_p, thr, source, eps_b,
            n_sel) -> BumpHuntResult:
    """Sideband fit, SR test and limits of the filled histogram."""
    fit = fit_sideband(counts, edges, sr=sr, function=function, variances=var, sqrt_s=sqrt_s)
    test = sr_test(fit, min_gof_p=min_gof_p)
    gof = goodness_of_fit(fit)
    upper, band, limit_reason = _limits(test.n_obs, test.n_exp, test.rel_unc, float(cl))
    reasons = [r for r in (test.reason, limit_reason) if r]
    return BumpHuntResult(
        function=fit.function,
        sr=sr,
        fit_range=(float(edges[0]), float(edges[-1])),
        n_obs=test.n_obs,
        n_exp=test.n_exp,
        n_exp_unc=test.n_exp_unc,
        rel_unc=test.rel_unc,
        q0=test.q0,
        z=test.z,
        p_value=test.p_value,
        upper_limit=upper,
        expected_limits=band,
        cl=float(cl),
        limit_method=LIMIT_METHOD,
        valid=not reasons,
        reason="; ".join(reasons) if reasons else None,
        chi2=gof.chi2,
        ndof=gof.ndof,
        chi2_ndof=gof.chi2_ndof,
        deviance=gof.deviance,
        deviance_p_value=gof.deviance_p_value,
        ks_p_value=gof.ks_p_value,
        min_gof_p=float(min_gof_p),
        threshold=thr,
        threshold_source=source,
        eps_b=None if eps_b is None else float(eps_b),
        n_selected=n_sel,
        parameters=fit.parameters,
        parameter_errors=fit.parameter_errors,
        parameters_fit=fit.parameters_fit,
        covariance=np.asarray(fit.covariance).tolist(),
        covariance_fit=np.asarray(fit.covariance_fit).tolist(),
        bins=[float(v) for v in edges],
        counts=[float(v) for v in counts],
        expected=[float(v) for v in fit.expected],
    )
