"""The R-ANODE mixture likelihood of the signal fraction w (Das, Kasieczka, Shih,
arXiv:2312.11629, eqs. 2–3): numpy and scipy only, no torch, no file I/O.

SR events with log-densities ``log p_sig`` and ``log p_bg`` are modelled as
``w p_sig + (1 - w) p_bg``: ``NLL(w) = -sum_i omega_i log(w p_sig,i + (1 - w) p_bg,i)`` with
optional frequency weights ``omega`` (``N_SR = sum omega``). Per event, relative to
``M = max(p_sig, p_bg)``, the mixture is ``M (A + w B)`` with ``A = p_bg/M`` and
``B = (p_sig - p_bg)/M`` in [-1, 1] (``exp``/``expm1`` of non-positive numbers only): one
``log`` per event, analytic gradient and Hessian, exact for any ratio. The NLL is convex; every
solve is a safeguarded Newton iteration in a sign-change bracket.

Conventions (details in ``docs/ranode.md``):

* ``w_hat`` in ``w_bounds``; intervals ``{w : 2[NLL(w) - NLL(w_hat)] <= 1 (3.841)}``.
* **Upper limit** at ``cl``: profile likelihood ratio, one-sided ``q~_w`` (Cowan, Cranmer,
  Gross, Vitells, arXiv:1007.1727, eq. 16), asymptotic half-χ²₁: the crossing of
  ``q~_w = Φ⁻¹(cl)²`` (2.706 at 95 %); not CLs. ``upper_limit`` is in signal events.
* **Discovery**: ``q0 = 2[NLL(0) - NLL(w_hat)]`` if ``w_hat > 0`` else 0 (one-sided,
  ``½δ(0) + ½χ²₁``). **Signed z**: ``+sqrt(q0)`` for an excess; for a deficit (the NLL rises at
  ``w = 0``) w may go negative down to ``w_min``, the smallest w at which every event's mixture
  density stays positive, and ``z = -sqrt(2[NLL(0) - NLL(w_neg)])`` with ``w_neg`` the minimum
  on ``(w_min, 0]``. ``p_value = Φ(-z)``; ``p_value_q0 = ½ P(χ²₁ > q0)`` (0.5 for a deficit).
* **Zero densities**: ``-inf`` in one component is allowed (``p_bg = 0`` excludes ``w = 0``:
  ``q0 = z = inf``, ``valid = False`` with the reason, ``null`` in JSON); ``-inf`` in both, NaN,
  ``+inf`` and bad weights are :class:`~bumpstat.exceptions.InputError`. Nothing is dropped.
* **Ensembles**: pass the log of the ensemble-averaged density (:func:`ensemble_log_density`);
  the density models are not profiled.

>>> rng = np.random.default_rng(1)
>>> x = np.concatenate([rng.normal(0, 1, 9_000), rng.normal(2.5, 0.2, 1_000)])
>>> res = fit_signal_fraction(stats.norm(2.5, 0.2).logpdf(x), stats.norm(0, 1).logpdf(x))
>>> round(res.w_hat, 3), res.w_interval_68[0] < 0.1 < res.w_interval_68[1], res.z > 5
(0.098, True, True)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from bumpstat.exceptions import InputError
from bumpstat.results import Result, p_value_of_z
from bumpstat.stats.mixture_nll import MixtureNLL

__all__ = ["MixtureNLL", "MixtureFitResult", "ProfileCurve", "fit_signal_fraction",
           "profile_likelihood", "ensemble_log_density", "upper_limit_threshold",
           "DELTA_2NLL_68", "DELTA_2NLL_95", "Q_UPPER_95", "LIMIT_METHOD"]

#: Δ(2 NLL) of a two-sided 68.27 % interval (χ²₁ quantile).
DELTA_2NLL_68: float = float(stats.chi2.ppf(stats.norm.cdf(1) - stats.norm.cdf(-1), 1))
#: Δ(2 NLL) of a two-sided 95 % interval (χ²₁ quantile, 3.841).
DELTA_2NLL_95: float = float(stats.chi2.ppf(0.95, 1))
#: Threshold of the one-sided 95 % CL upper limit (half-χ²₁: χ²₁ quantile at 0.90, 2.706).
Q_UPPER_95: float = float(stats.chi2.ppf(0.90, 1))
#: How the upper limit is obtained (the ``limit_method`` of every mixture fit).
LIMIT_METHOD = "profile likelihood ratio, one-sided q~_w, asymptotic; not CLs"


def upper_limit_threshold(cl: float) -> float:
    """``q~_w`` at the one-sided limit of confidence level ``cl``: ``Φ⁻¹(cl)²``.

    >>> round(upper_limit_threshold(0.95), 4), round(upper_limit_threshold(0.9), 4)
    (2.7055, 1.6424)
    """
    cl = float(cl)
    if not 0.5 < cl < 1.0:
        raise InputError(f"cl must be a confidence level in (0.5, 1), got {cl}")
    return Q_UPPER_95 if cl == 0.95 else float(stats.chi2.ppf(2.0 * cl - 1.0, 1))


@dataclass(frozen=True, repr=False)
class MixtureFitResult(Result):
    """Result of :func:`fit_signal_fraction` (w dimensionless, N in signal events in the SR).

    ``w_hat`` (may sit on a bound of ``w_bounds``: ``at_lower_bound``/``at_upper_bound``);
    ``w_interval_68``/``_95`` (Δ(2NLL) = 1 / 3.841, truncated at the bounds); ``sigma_w`` =
    ``1/sqrt(d²NLL/dw²)`` at ``w_hat``; ``q0`` (one-sided); ``z`` signed and ``p_value = Φ(-z)``;
    ``p_value_q0 = ½ P(χ²₁ > q0)``; ``upper_limit`` (signal events, ``upper_limit_w · N_SR``)
    and ``upper_limit_w`` at ``cl`` by ``limit_method``; ``n_events`` and ``sum_weights``
    (= ``N_SR``); ``n_sig_*`` = ``w · N_SR``; ``nll_hat``, ``nll_zero`` (``NLL(0)``, infinite
    when some ``p_bg = 0``); ``w_neg`` (deficit fit, else None); ``converged`` (all Newton
    solves met ``xtol``); ``valid`` false when not converged or a number is infinite, with
    ``reason`` (None when valid); ``n_iterations`` of the MLE.
    """

    w_hat: float
    w_interval_68: tuple[float, float]
    w_interval_95: tuple[float, float]
    sigma_w: float
    q0: float
    z: float
    p_value: float
    p_value_q0: float
    upper_limit: float
    upper_limit_w: float
    cl: float
    limit_method: str
    n_events: int
    sum_weights: float
    n_sig_hat: float
    n_sig_interval_68: tuple[float, float]
    n_sig_interval_95: tuple[float, float]
    nll_hat: float
    nll_zero: float
    w_neg: float | None = None
    w_bounds: tuple[float, float] = (0.0, 1.0)
    at_lower_bound: bool = False
    at_upper_bound: bool = False
    converged: bool = True
    valid: bool = True
    reason: str | None = None
    n_iterations: int = 0


@dataclass(frozen=True, repr=False)
class ProfileCurve(Result):
    """``Δ(2NLL)(w) = 2[NLL(w) - NLL(w_hat)]`` (>= 0, ``inf`` where a density vanishes) on a
    grid ``w``, relative to the MLE ``w_hat``."""

    w: np.ndarray = field(repr=False)
    delta_2nll: np.ndarray = field(repr=False)
    w_hat: float = 0.0

    def records(self) -> list[dict[str, Any]]:
        """One row per grid point."""
        return [{"w": float(a), "delta_2nll": float(b) if np.isfinite(b) else None}
                for a, b in zip(self.w, self.delta_2nll, strict=True)]


def _check_bounds(w_bounds: tuple[float, float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in w_bounds)
    except (TypeError, ValueError) as err:
        raise InputError(f"w_bounds must be two numbers (low, high), got {w_bounds!r}") from err
    for bad, msg in ((not (np.isfinite(lo) and np.isfinite(hi)), "must be finite"),
                     (not lo < hi, f"are inverted or empty: low={lo} must be below high={hi}"),
                     (lo < 0 or hi > 1, "must lie inside [0, 1] (a fraction)")):
        if bad:
            raise InputError(f"w_bounds {msg}, got ({lo}, {hi})")
    return lo, hi


def _root_newton(fun, a: float, b: float, x0: float, *, increasing: bool, xtol: float,
                 maxiter: int):
    """Safeguarded Newton for the root of a monotone ``fun(x) -> (f, f')`` in ``[a, b]``
    (``f(a) < 0 < f(b)`` if ``increasing``, else reversed; end values may be infinite). Steps
    leaving the bracket or not halving are replaced by (geometric across decades) bisection.
    Returns ``(x, n_iter, converged)``."""
    fa_sign = -1.0 if increasing else 1.0
    x = min(max(x0, a), b)
    dx_old = b - a
    for it in range(1, maxiter + 1):
        f, d = fun(x)
        if f == 0.0:
            return x, it, True
        if np.sign(f) == fa_sign:
            a = x
        else:
            b = x
        xn = x - f / d if (d != 0.0 and np.isfinite(d) and np.isfinite(f)) else np.nan
        if not (a < xn < b) or abs(xn - x) > 0.5 * abs(dx_old):
            xn = math.sqrt(a * b) if a > 0 and b > 10 * a else 0.5 * (a + b)
        dx_old = xn - x
        if abs(xn - x) <= xtol or (b - a) <= xtol:
            return xn, it, True
        x = xn
    return x, maxiter, False


def _mle(nll: MixtureNLL, lo: float, hi: float, *, xtol: float, maxiter: int):
    """``(w_hat, n_iter, converged, at_lo, at_hi)`` for the convex NLL on ``[lo, hi]``."""
    g_lo, h_lo = nll.grad_hess(lo)
    if g_lo >= 0:
        return lo, 0, True, True, False
    if nll.grad_hess(hi)[0] <= 0:
        return hi, 0, True, False, True
    # start from the Newton step at the lower end (finite there unless p_bg = 0 somewhere)
    ok0 = np.isfinite(g_lo) and np.isfinite(h_lo) and h_lo > 0
    x0 = lo - g_lo / h_lo if ok0 else 0.5 * (lo + hi)
    w, it, ok = _root_newton(nll.grad_hess, lo, hi, x0, increasing=True, xtol=xtol,
                             maxiter=maxiter)
    return w, it, ok, False, False


def _crossing(nll, w_hat, f_hat, target, end, h_hat, *, xtol, maxiter):
    """w between ``w_hat`` and ``end`` where ``2[NLL(w) - NLL(w_hat)] = target`` (or ``end``)."""
    if end == w_hat or 2.0 * (nll.rel(end) - f_hat) <= target:
        return end, True

    def fun(w):
        v, g = nll.value_grad(w)
        return 2.0 * (v - f_hat) - target, 2.0 * g

    step = math.sqrt(target / h_hat) if h_hat > 0 and np.isfinite(h_hat) else abs(end - w_hat)
    x0 = w_hat + math.copysign(min(step, abs(end - w_hat)), end - w_hat)
    a, b = (end, w_hat) if end < w_hat else (w_hat, end)
    w, _, ok = _root_newton(fun, a, b, x0, increasing=end > w_hat, xtol=xtol, maxiter=maxiter)
    return w, ok


def _deficit(nll: MixtureNLL, f_zero: float, *, xtol: float, maxiter: int):
    """``(z, w_neg, converged)`` when the NLL rises at w = 0: minimum on ``(w_min, 0]``."""
    w_min = nll.w_min()
    if not np.isfinite(w_min):
        return -math.inf, -math.inf, True
    g0, h0 = nll.grad_hess(0.0)
    x0 = max(-g0 / h0, 0.5 * w_min) if h0 > 0 else 0.5 * w_min
    with np.errstate(divide="ignore", invalid="ignore"):
        w, _, ok = _root_newton(nll.grad_hess, w_min, 0.0, x0, increasing=True, xtol=xtol,
                                maxiter=maxiter)
        f_neg = nll.rel(w)
    return -math.sqrt(max(0.0, 2.0 * (f_zero - f_neg))), float(w), ok


def _reason(nll: MixtureNLL, ok: bool, z: float, sigma: float, xtol: float,
            maxiter: int) -> str | None:
    why = []
    if not ok:
        why.append(f"the Newton iteration did not reach xtol={xtol} in {maxiter} iterations")
    if math.isinf(z) and z > 0:
        why.append(f"{nll.n_bg_zero} event(s) have zero background density (log_p_bg = -inf): "
                   "w = 0 is excluded, NLL(0), q0 and z are infinite (null in JSON)")
    elif math.isinf(z):
        why.append("no event has p_sig > p_bg: the likelihood grows without bound for negative "
                   "w, z = -inf (null in JSON)")
    if not np.isfinite(sigma):
        why.append("the NLL has no curvature at w_hat (p_sig = p_bg for every event): sigma_w "
                   "is infinite (null in JSON)")
    return "; ".join(why) or None


def fit_signal_fraction(log_p_sig: Any, log_p_bg: Any, *, weights: Any = None,
                        w_bounds: tuple[float, float] = (0.0, 1.0), cl: float = 0.95,
                        xtol: float = 1e-12, maxiter: int = 100) -> MixtureFitResult:
    """Fit the signal fraction w of the mixture ``w p_sig + (1 - w) p_bg`` to the SR events.

    Parameters
    ----------
    log_p_sig, log_p_bg : array_like, shape (n,)
        Per-event natural-log densities in the same units (:class:`MixtureNLL`).
    weights : array_like, shape (n,), optional
        Frequency weights.
    w_bounds : (float, float)
        Allowed range of w inside [0, 1] for the estimate, intervals and limit.
    cl : float
        Confidence level of the one-sided upper limit.
    xtol, maxiter : float, int
        Absolute tolerance on w and iteration cap of each Newton solve.

    Raises :class:`~bumpstat.exceptions.InputError` for NaN/+inf log-densities, ``-inf`` in
    both components, mismatched or empty arrays, bad weights or ``w_bounds``, ``cl`` outside
    (0.5, 1).

    >>> r = fit_signal_fraction([0.0, -1.0, -2.0], [-1.0, -1.0, -1.0])
    >>> 0 <= r.w_interval_68[0] <= r.w_hat <= r.w_interval_68[1] <= r.upper_limit_w <= 1
    True
    """
    lo, hi = _check_bounds(w_bounds)
    q_up = upper_limit_threshold(cl)
    nll = MixtureNLL(log_p_sig, log_p_bg, weights=weights)
    w_hat, n_it, ok, at_lo, at_hi = _mle(nll, lo, hi, xtol=xtol, maxiter=maxiter)
    f_hat, _, h_hat = nll.value_grad_hess(w_hat)
    sigma = 1.0 / math.sqrt(h_hat) if h_hat > 0 and np.isfinite(h_hat) else math.inf
    kw = {"xtol": xtol, "maxiter": maxiter}
    ends = {}
    for label, target in (("68", DELTA_2NLL_68), ("95", DELTA_2NLL_95), ("ul", q_up)):
        lower, ok_l = ((lo, True) if label == "ul"
                       else _crossing(nll, w_hat, f_hat, target, lo, h_hat, **kw))
        upper, ok_u = _crossing(nll, w_hat, f_hat, target, hi, h_hat, **kw)
        ends[label] = (float(lower), float(upper))
        ok = ok and ok_l and ok_u
    f_zero = nll.rel(0.0)
    q0 = max(0.0, 2.0 * (f_zero - f_hat)) if w_hat > 0 else 0.0
    z, w_neg = math.sqrt(q0), None
    if q0 == 0.0 and nll.grad_hess(0.0)[0] > 0:
        z, w_neg, ok_neg = _deficit(nll, f_zero, **kw)
        ok = ok and ok_neg
    if not ok:
        warnings.warn("fit_signal_fraction: the Newton iteration did not reach the tolerance "
                      f"xtol={xtol} in {maxiter} iterations; the result is flagged "
                      "converged=False", RuntimeWarning, stacklevel=2)
    n_sr = nll.sum_weights
    reason = _reason(nll, ok, z, sigma, xtol, maxiter)
    return MixtureFitResult(
        w_hat=float(w_hat), w_interval_68=ends["68"], w_interval_95=ends["95"],
        sigma_w=float(sigma), q0=float(q0), z=float(z), p_value=p_value_of_z(z),
        p_value_q0=float(0.5 * stats.chi2.sf(q0, 1)) if q0 > 0 else 0.5,
        upper_limit=ends["ul"][1] * n_sr, upper_limit_w=ends["ul"][1], cl=float(cl),
        limit_method=LIMIT_METHOD, n_events=nll.n_events, sum_weights=n_sr,
        n_sig_hat=float(w_hat * n_sr),
        n_sig_interval_68=(ends["68"][0] * n_sr, ends["68"][1] * n_sr),
        n_sig_interval_95=(ends["95"][0] * n_sr, ends["95"][1] * n_sr),
        nll_hat=float(f_hat + nll._const), nll_zero=float(f_zero + nll._const), w_neg=w_neg,
        w_bounds=(lo, hi), at_lower_bound=bool(at_lo), at_upper_bound=bool(at_hi),
        converged=bool(ok), valid=reason is None, reason=reason, n_iterations=int(n_it),
    )


def profile_likelihood(log_p_sig: Any, log_p_bg: Any, w: Any = None, *, weights: Any = None,
                       w_bounds: tuple[float, float] = (0.0, 1.0),
                       n_points: int = 101) -> ProfileCurve:
    """``Δ(2NLL)(w)`` on a grid of w, relative to the MLE in ``w_bounds``.

    ``w`` is a grid in [0, 1]; default ``n_points`` from the lower bound to
    ``min(high bound, 2 × upper_limit_w)``. Other arguments as in :func:`fit_signal_fraction`.

    >>> c = profile_likelihood([0.0, -1.0], [-1.0, -1.0], [0.0, 0.5, 1.0])
    >>> bool(c.delta_2nll.min() >= 0)
    True
    """
    res = fit_signal_fraction(log_p_sig, log_p_bg, weights=weights, w_bounds=w_bounds)
    nll = MixtureNLL(log_p_sig, log_p_bg, weights=weights)
    if w is None:
        lo, hi = res.w_bounds
        grid = np.linspace(lo, min(hi, max(2.0 * res.upper_limit_w, res.w_hat)), int(n_points))
    else:
        grid = np.atleast_1d(np.asarray(w, dtype=np.float64))
        if grid.ndim != 1 or np.any(~np.isfinite(grid)) or np.any((grid < 0) | (grid > 1)):
            raise InputError("the w grid must be finite values in [0, 1]")
    d2 = 2.0 * (nll.rel_many(grid) - nll.rel(res.w_hat))
    return ProfileCurve(w=grid, delta_2nll=np.maximum(d2, 0.0), w_hat=res.w_hat)


def ensemble_log_density(log_p: Any, *, axis: int = 0) -> np.ndarray:
    """Log of the ensemble-averaged density, ``log(mean_k exp(log_p[k]))``.

    ``log_p`` has the model axis ``axis`` (shape ``(k, n)`` by default; ``-inf`` allowed).

    >>> ensemble_log_density([[0.0], [np.log(3.0)]]).round(6).tolist() == [round(np.log(2), 6)]
    True
    """
    arr = np.asarray(log_p, dtype=np.float64)
    if arr.ndim < 1 or arr.shape[axis] == 0:
        raise InputError("ensemble_log_density needs at least one model")
    if np.isnan(arr).any():
        raise InputError("ensemble log-densities contain NaN")
    return special.logsumexp(arr, axis=axis) - math.log(arr.shape[axis])
