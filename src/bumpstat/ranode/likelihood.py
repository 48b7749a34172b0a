"""The R-ANODE mixture likelihood for the signal fraction w (paper 002, eq. 2–3).

Given per-event log-densities of the signal-region (SR) events under a signal model,
``log p_sig(x_i, m_i)``, and under the background model, ``log p_bg(x_i, m_i)``, the data are
modelled as the mixture ``p_data = w p_sig + (1 - w) p_bg`` and

.. math:: \\mathrm{NLL}(w) = -\\sum_i \\omega_i \\log\\big(w\\,p_{sig,i} + (1 - w)\\,p_{bg,i}\\big)

with optional per-event weights ``omega_i`` (default 1). This module fits w, profiles it,
sets intervals and limits and tests ``w = 0``. It needs numpy and scipy only (no torch).

Numerics
--------
Each event is evaluated relative to its larger density, ``M_i = max(p_sig,i, p_bg,i)``:
``w p_sig + (1-w) p_bg = M_i (A_i + w B_i)`` with ``A_i = p_bg/M_i`` and
``B_i = (p_sig - p_bg)/M_i``, both in [-1, 1] and computed from the log-densities with
``exp``/``expm1`` of non-positive numbers only. The NLL is then one ``log`` per event and its
derivatives are ``-sum(omega B/t)`` and ``sum(omega (B/t)^2)`` with ``t = A + w B``: this is
the log-space evaluation (``logaddexp(log w + log p_sig, log1p(-w) + log p_bg)``) in closed
form, exact for any ratio ``p_sig/p_bg`` including 0 and infinity, and about 10× faster. The NLL
is convex in w, so the fit is a safeguarded Newton iteration on the analytic gradient inside a
sign-change bracket; the boundary case is decided by the sign of the derivative at the bound.

Conventions
-----------
* **Zero densities.** ``log p = -inf`` in *one* component is a valid zero density: an event
  with ``p_bg = 0`` forces ``w > 0`` (``NLL(0) = +inf``, ``q0 = inf``, ``Z = inf``), one with
  ``p_sig = 0`` forces ``w < 1``. ``-inf`` in *both* components, NaN, ``+inf`` and negative or
  non-finite weights are :class:`~bumpstat.exceptions.InputError`. Nothing is dropped.
* **Intervals** are likelihood-ratio (profile) intervals: the set of w in the allowed range
  with ``2[NLL(w) - NLL(w_hat)] <= 1`` (68.27 %) or ``<= 3.841`` (95 %), truncated at the w
  bounds (the interval then starts at the bound). Feldman–Cousins constructions are out of scope;
  near the boundary these intervals undercover by construction when the true w is at the bound.
* **Upper limit.** One-sided, CLs-free, with the test statistic ``q~_w`` of Cowan et al. (2011,
  eq. 16): ``q~_w = 2[NLL(w) - NLL(w_hat)]`` for ``w >= w_hat`` (w_hat already clipped at the
  lower bound) and 0 otherwise; asymptotically half-χ²₁, so the 95 % CL limit is the crossing of
  ``q~_w = 2.706``. No CLs: after a downward fluctuation the limit is not protected.
* **Discovery test** of ``w = 0``: ``q0 = 2[NLL(0) - NLL(w_hat)]`` if ``w_hat > 0`` else 0;
  asymptotically ``½δ(0) + ½χ²₁`` (Chernoff), so ``Z = sqrt(q0)`` and ``p = ½ P(χ²₁ > q0) =
  1 - Φ(Z)`` (``p = 0.5`` when ``q0 = 0``).
* **Weights** are treated as frequency weights (the intervals are exact for integer
  multiplicities; for non-integer weights they are approximate, no sandwich correction).
  ``N_SR`` is the sum of weights and ``N_sig,SR = w · N_SR``.
* **Ensembles.** When p_sig (or p_bg) is an ensemble of trained density models, pass the log of
  the ensemble-*averaged* density (see :func:`ensemble_log_density`); the w profile treats it as
  a fixed density, i.e. the flow parameters are not profiled.

>>> import numpy as np
>>> from scipy import stats
>>> rng = np.random.default_rng(1)
>>> x = np.concatenate([rng.normal(0, 1, 9_000), rng.normal(2.5, 0.2, 1_000)])
>>> res = fit_signal_fraction(stats.norm(2.5, 0.2).logpdf(x), stats.norm(0, 1).logpdf(x))
>>> round(res.w_hat, 3), res.w_interval_68[0] < 0.1 < res.w_interval_68[1], res.z > 5
(0.098, True, True)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special, stats

from bumpstat.exceptions import InputError, ScoreFileError

__all__ = [
    "MixtureNLL",
    "MixtureFitResult",
    "ProfileCurve",
    "fit_signal_fraction",
    "profile_likelihood",
    "ensemble_log_density",
    "read_density_file",
    "write_density_file",
    "DELTA_2NLL_68",
    "DELTA_2NLL_95",
    "Q_UPPER_95",
    "DENSITY_FIELDS",
]

#: Δ(2 NLL) of a two-sided 68.27 % interval (χ²₁ quantile).
DELTA_2NLL_68: float = float(stats.chi2.ppf(stats.norm.cdf(1) - stats.norm.cdf(-1), 1))
#: Δ(2 NLL) of a two-sided 95 % interval (χ²₁ quantile, 3.841).
DELTA_2NLL_95: float = float(stats.chi2.ppf(0.95, 1))
#: Threshold of the one-sided 95 % CL upper limit (half-χ²₁: χ²₁ quantile at 0.90, 2.706).
Q_UPPER_95: float = float(stats.chi2.ppf(0.90, 1))

#: Names of the arrays in a density file (``log_p_sig``, ``log_p_bg`` required).
DENSITY_FIELDS: tuple[str, ...] = ("log_p_sig", "log_p_bg", "weights")


# ----------------------------------------------------------------------------------------------
# the cost object
# ----------------------------------------------------------------------------------------------


def _as_1d(name: str, a: Any) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a numeric array: {err}") from err
    if arr.ndim != 1:
        raise InputError(f"{name} must be one-dimensional (one value per SR event), got shape "
                         f"{arr.shape}")
    return arr


class MixtureNLL:
    """Negative log-likelihood of the signal fraction, ``NLL(w)``, as a callable cost object.

    Parameters
    ----------
    log_p_sig, log_p_bg : array_like, shape (n,)
        Natural log of the signal and background densities of each SR event, in the same
        (physical) units, e.g. ``TeV^-1 × [x]^-1``. ``-inf`` is allowed in one of the two.
    weights : array_like, shape (n,), optional
        Non-negative finite per-event (frequency) weights; default 1.

    Notes
    -----
    ``cost(w)`` returns the full NLL including ``-sum(omega log max(p_sig, p_bg))``; use
    :meth:`value_grad_hess` for derivatives. ``errordef = 0.5`` so the object can be handed to
    ``iminuit.Minuit(cost, w=...)`` directly.

    >>> nll = MixtureNLL([0.0, 1.0], [0.0, 0.0])
    >>> bool(np.isclose(nll(0.5), -np.log(0.5 + 0.5 * np.e)))
    True
    """

    errordef: float = 0.5

    def __init__(self, log_p_sig: Any, log_p_bg: Any, *, weights: Any = None) -> None:
        ls = _as_1d("log_p_sig", log_p_sig)
        lb = _as_1d("log_p_bg", log_p_bg)
        if ls.shape != lb.shape:
            raise InputError(
                f"log_p_sig and log_p_bg must have the same length, got {ls.size} and {lb.size}"
            )
        if ls.size == 0:
            raise InputError("no SR events: log_p_sig and log_p_bg are empty")
        for name, arr in (("log_p_sig", ls), ("log_p_bg", lb)):
            bad = np.isnan(arr)
            if bad.any():
                raise InputError(
                    f"{name} has {int(bad.sum())} NaN value(s) (first at event "
                    f"{int(np.argmax(bad))}); NaN log-densities are not allowed"
                )
            bad = np.isposinf(arr)
            if bad.any():
                raise InputError(
                    f"{name} has {int(bad.sum())} +inf value(s) (first at event "
                    f"{int(np.argmax(bad))}); densities must be finite"
                )
        both = np.isneginf(ls) & np.isneginf(lb)
        if both.any():
            raise InputError(
                f"{int(both.sum())} event(s) have zero density under both signal and background "
                f"(log_p_sig = log_p_bg = -inf, first at event {int(np.argmax(both))}); such an "
                "event is impossible for every w: fix the density models or the SR selection"
            )
        if weights is None:
            wts = np.ones_like(ls)
            self.weighted = False
        else:
            wts = _as_1d("weights", weights)
            if wts.shape != ls.shape:
                raise InputError(
                    f"weights must have one entry per event: {wts.size} weights for {ls.size} "
                    "events"
                )
            if not np.all(np.isfinite(wts)):
                raise InputError("weights contain NaN or inf")
            if np.any(wts < 0):
                raise InputError(f"weights must be non-negative, {int((wts < 0).sum())} are < 0")
            if wts.sum() <= 0:
                raise InputError("the sum of weights is zero")
            self.weighted = True
        self.weights = wts
        self.n_events = int(ls.size)
        self.sum_weights = float(wts.sum())
        # M = max(p_sig, p_bg); t(w) = A + w B with A = p_bg/M, B = (p_sig - p_bg)/M.
        ref = np.maximum(ls, lb)
        with np.errstate(invalid="ignore"):
            d = ls - lb  # +inf where p_bg = 0, -inf where p_sig = 0
        sig_larger = d > 0
        neg_abs = np.where(sig_larger, -d, d)  # -|d| <= 0; -inf allowed
        em1 = np.expm1(neg_abs)  # in [-1, 0]
        self._a = np.where(sig_larger, 1.0 + em1, 1.0)
        self._b = np.where(sig_larger, -em1, em1)
        self._const = float(-(wts * ref).sum())
        self._n_bg_zero = int(np.isneginf(lb).sum())
        self._n_sig_zero = int(np.isneginf(ls).sum())
        # t(w) = A + w B can vanish only at w = 0 (A = 0: p_bg = 0 or p_bg/p_sig < 1e-323)
        # and at w = 1 (A + B = 0: the same for p_sig)
        self._zero_at0 = bool(np.any(self._a == 0.0))
        self._zero_at1 = bool(np.any(self._a + self._b == 0.0))
        self._unit = not self.weighted

    # -- evaluation -------------------------------------------------------------------------

    def _t(self, w: float) -> np.ndarray:
        return self._a + w * self._b

    # sums avoid BLAS (np.dot): a busy multi-threaded BLAS costs ms per call on loaded CPUs
    def _wsum(self, v: np.ndarray) -> float:
        return float(v.sum()) if self._unit else float((self.weights * v).sum())

    def _wsum_safe(self, v: np.ndarray) -> float:
        # zero-weight events with an infinite term contribute 0, not NaN
        with np.errstate(invalid="ignore"):
            prod = self.weights * v
        return float(np.where(self.weights > 0, prod, 0.0).sum())

    def rel(self, w: float) -> float:
        """``NLL(w)`` without the w-independent constant (same differences, better precision)."""
        w = float(w)
        if (w == 0.0 and self._zero_at0) or (w == 1.0 and self._zero_at1):
            with np.errstate(divide="ignore"):
                return -self._wsum_safe(np.log(self._t(w)))
        return -self._wsum(np.log(self._t(w)))

    def __call__(self, w: float) -> float:
        """``NLL(w)``; ``+inf`` where an event has zero mixture density."""
        return self.rel(w) + self._const

    def grad(self, w: float) -> np.ndarray:
        """``[dNLL/dw]`` as a length-1 array (the gradient interface of ``iminuit``)."""
        return np.array([self.value_grad_hess(w)[1]])

    def value_grad_hess(self, w: float) -> tuple[float, float, float]:
        """``(NLL_rel(w), dNLL/dw, d²NLL/dw²)`` in one pass over the events."""
        w = float(w)
        t = self._t(w)
        if (w == 0.0 and self._zero_at0) or (w == 1.0 and self._zero_at1):
            with np.errstate(divide="ignore", invalid="ignore"):
                val = -self._wsum_safe(np.log(t))
                q = np.where(t > 0, self._b / t, np.where(self._b > 0, np.inf, -np.inf))
                g = -self._wsum_safe(q)
                h = self._wsum_safe(q * q)
            return val, g, h
        q = self._b / t
        val = -self._wsum(np.log(t))
        if self._unit:
            return val, -float(q.sum()), float((q * q).sum())
        wq = self.weights * q
        return val, -float(wq.sum()), float((wq * q).sum())

    def grad_hess(self, w: float) -> tuple[float, float]:
        """``(dNLL/dw, d²NLL/dw²)`` without the log (cheaper, for the MLE iteration)."""
        w = float(w)
        if (w == 0.0 and self._zero_at0) or (w == 1.0 and self._zero_at1):
            return self.value_grad_hess(w)[1:]
        q = self._b / self._t(w)
        if self._unit:
            return -float(q.sum()), float((q * q).sum())
        wq = self.weights * q
        return -float(wq.sum()), float((wq * q).sum())

    def value_grad(self, w: float) -> tuple[float, float]:
        """``(NLL_rel(w), dNLL/dw)`` (for the interval crossings)."""
        w = float(w)
        if (w == 0.0 and self._zero_at0) or (w == 1.0 and self._zero_at1):
            return self.value_grad_hess(w)[:2]
        t = self._t(w)
        return -self._wsum(np.log(t)), -self._wsum(self._b / t)

    def rel_many(self, ws: Sequence[float] | np.ndarray, *, chunk: int = 2_000_000) -> np.ndarray:
        """Vectorised :meth:`rel` over an array of w (evaluated in memory-bounded chunks)."""
        ws = np.atleast_1d(np.asarray(ws, dtype=np.float64))
        out = np.empty(ws.size)
        step = max(1, chunk // self.n_events)
        pos = self.weights > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            for i in range(0, ws.size, step):
                wb = ws[i : i + step, None]
                terms = np.log(self._a + wb * self._b) * self.weights
                out[i : i + step] = -np.where(pos, terms, 0.0).sum(axis=1)
        return out


# ----------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------


def _pair(a: tuple[float, float]) -> list[float]:
    return [float(a[0]), float(a[1])]


@dataclass(frozen=True)
class MixtureFitResult:
    """Result of :func:`fit_signal_fraction` (all w dimensionless, N in events).

    Attributes
    ----------
    w_hat : float
        Maximum-likelihood signal fraction in ``w_bounds`` (can sit at a bound).
    w_interval_68, w_interval_95 : tuple of float
        Profile-likelihood intervals, ``Δ(2NLL) = 1`` and ``3.841``, truncated at the bounds.
    w_upper_95 : float
        One-sided 95 % CL upper limit on w (``q~_w = 2.706``, CLs-free).
    sigma_w : float
        ``1/sqrt(d²NLL/dw²)`` at ``w_hat`` (Hessian error; meaningful away from the boundary).
    q0, z, p_value : float
        Test of ``w = 0``: ``q0 = 2[NLL(0) - NLL(w_hat)]`` (0 if ``w_hat = 0``),
        ``Z = sqrt(q0)``, ``p = 1 - Φ(Z)``. ``inf``/``0`` if some event has ``p_bg = 0``.
    n_events : int
        Number of SR events in the fit.
    sum_weights : float
        ``N_SR`` = sum of event weights (= ``n_events`` without weights).
    n_sig_hat, n_sig_interval_68, n_sig_interval_95, n_sig_upper_95 : float
        The same in signal events in the SR, ``N_sig,SR = w · N_SR``.
    nll_hat, nll_zero : float
        ``NLL(w_hat)`` and ``NLL(0)`` (``NLL(0)`` may be ``inf``).
    w_bounds : tuple of float
        The allowed range of w.
    at_lower_bound, at_upper_bound : bool
        Whether ``w_hat`` sits on a bound.
    converged : bool
        The Newton iteration met its tolerance (the result is then ``valid``).
    n_iterations : int
        Newton iterations used for ``w_hat``.
    """

    w_hat: float
    w_interval_68: tuple[float, float]
    w_interval_95: tuple[float, float]
    w_upper_95: float
    sigma_w: float
    q0: float
    z: float
    p_value: float
    n_events: int
    sum_weights: float
    n_sig_hat: float
    n_sig_interval_68: tuple[float, float]
    n_sig_interval_95: tuple[float, float]
    n_sig_upper_95: float
    nll_hat: float
    nll_zero: float
    w_bounds: tuple[float, float] = (0.0, 1.0)
    at_lower_bound: bool = False
    at_upper_bound: bool = False
    converged: bool = True
    n_iterations: int = 0

    @property
    def valid(self) -> bool:
        """Alias of :attr:`converged` (the convention name for a usable fit)."""
        return self.converged

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: floats, lists of two floats, ints, bools.

        ``inf`` values (``q0``/``z`` when an event has zero background density) stay ``inf``;
        ``json.dumps`` writes them as ``Infinity``.
        """
        return {
            "w_hat": float(self.w_hat),
            "w_interval_68": _pair(self.w_interval_68),
            "w_interval_95": _pair(self.w_interval_95),
            "w_upper_95": float(self.w_upper_95),
            "sigma_w": float(self.sigma_w),
            "q0": float(self.q0),
            "z": float(self.z),
            "p_value": float(self.p_value),
            "n_events": int(self.n_events),
            "sum_weights": float(self.sum_weights),
            "n_sig_hat": float(self.n_sig_hat),
            "n_sig_interval_68": _pair(self.n_sig_interval_68),
            "n_sig_interval_95": _pair(self.n_sig_interval_95),
            "n_sig_upper_95": float(self.n_sig_upper_95),
            "nll_hat": float(self.nll_hat),
            "nll_zero": float(self.nll_zero),
            "w_bounds": _pair(self.w_bounds),
            "at_lower_bound": bool(self.at_lower_bound),
            "at_upper_bound": bool(self.at_upper_bound),
            "converged": bool(self.converged),
            "valid": bool(self.converged),
            "n_iterations": int(self.n_iterations),
        }


@dataclass(frozen=True)
class ProfileCurve:
    """Profile-likelihood curve ``Δ(2NLL)(w) = 2[NLL(w) - NLL(w_hat)]`` on a grid of w.

    Attributes
    ----------
    w : numpy.ndarray
        Grid of signal fractions.
    delta_2nll : numpy.ndarray
        ``2[NLL(w) - NLL(w_hat)]`` (>= 0; ``inf`` where the mixture has a zero-density event).
    w_hat : float
        The MLE the curve is relative to.
    """

    w: np.ndarray = field(repr=False)
    delta_2nll: np.ndarray = field(repr=False)
    w_hat: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"w": [...], "delta_2nll": [...], "w_hat": ...}``."""
        return {
            "w": [float(v) for v in self.w],
            "delta_2nll": [float(v) for v in self.delta_2nll],
            "w_hat": float(self.w_hat),
        }


# ----------------------------------------------------------------------------------------------
# fitting
# ----------------------------------------------------------------------------------------------


def _check_bounds(w_bounds: tuple[float, float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in w_bounds)
    except (TypeError, ValueError) as err:
        raise InputError(f"w_bounds must be two numbers (low, high), got {w_bounds!r}") from err
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise InputError(f"w_bounds must be finite, got ({lo}, {hi})")
    if not lo < hi:
        raise InputError(f"w_bounds are inverted or empty: low={lo} must be below high={hi}")
    if lo < 0 or hi > 1:
        raise InputError(f"w_bounds must lie inside [0, 1] (a fraction), got ({lo}, {hi})")
    return lo, hi


def _root_newton(
    fun, a: float, b: float, x0: float, *, increasing: bool, xtol: float, maxiter: int
):
    """Safeguarded Newton for the root of a monotone ``fun`` in ``[a, b]``.

    ``fun(x) -> (f, f')``; ``f(a) < 0 < f(b)`` if ``increasing`` else ``f(a) > 0 > f(b)``
    (values at the ends may be infinite). Newton steps that leave the current bracket are
    replaced by bisection. Returns ``(x, n_iter, converged)``.
    """
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
        # bisect when Newton leaves the bracket or does not halve the step (rtsafe rule);
        # geometrically when the bracket spans decades (e.g. -n/w behaviour near w = 0)
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
    g_hi, _ = nll.grad_hess(hi)
    if g_hi <= 0:
        return hi, 0, True, False, True

    def fun(w):
        return nll.grad_hess(w)

    # start from the Newton step at the lower end (finite there unless p_bg = 0 somewhere)
    g0, h0 = g_lo, h_lo
    x0 = lo - g0 / h0 if (np.isfinite(g0) and np.isfinite(h0) and h0 > 0) else 0.5 * (lo + hi)
    w, it, ok = _root_newton(fun, lo, hi, x0, increasing=True, xtol=xtol, maxiter=maxiter)
    return w, it, ok, False, False


def _crossing(nll, w_hat, f_hat, target, end, h_hat, *, xtol, maxiter):
    """w between ``w_hat`` and ``end`` where ``2[NLL(w) - NLL(w_hat)] = target`` (or ``end``)."""
    if end == w_hat:
        return end, True
    if 2.0 * (nll.rel(end) - f_hat) <= target:
        return end, True

    def fun(w):
        v, g = nll.value_grad(w)
        return 2.0 * (v - f_hat) - target, 2.0 * g

    step = math.sqrt(target / h_hat) if h_hat > 0 and np.isfinite(h_hat) else abs(end - w_hat)
    x0 = w_hat + math.copysign(min(step, abs(end - w_hat)), end - w_hat)
    a, b = (end, w_hat) if end < w_hat else (w_hat, end)
    w, _, ok = _root_newton(
        fun, a, b, x0, increasing=end > w_hat, xtol=xtol, maxiter=maxiter
    )
    return w, ok


def fit_signal_fraction(
    log_p_sig: Any,
    log_p_bg: Any,
    *,
    weights: Any = None,
    w_bounds: tuple[float, float] = (0.0, 1.0),
    xtol: float = 1e-12,
    maxiter: int = 100,
) -> MixtureFitResult:
    """Fit the signal fraction w of the mixture ``w p_sig + (1 - w) p_bg`` to the SR events.

    Parameters
    ----------
    log_p_sig, log_p_bg : array_like, shape (n,)
        Per-event natural-log densities (same units), see :class:`MixtureNLL`.
    weights : array_like, shape (n,), optional
        Frequency weights.
    w_bounds : (float, float)
        Allowed range of w inside [0, 1]; default the full range.
    xtol : float
        Absolute tolerance on w of the MLE and interval end points.
    maxiter : int
        Iteration cap of each safeguarded Newton solve.

    Returns
    -------
    MixtureFitResult

    Raises
    ------
    bumpstat.exceptions.InputError
        NaN or +inf log-densities, ``-inf`` in both components of an event, mismatched or empty
        arrays, invalid weights, inverted or out-of-range ``w_bounds``.

    Examples
    --------
    >>> r = fit_signal_fraction([0.0, -1.0, -2.0], [-1.0, -1.0, -1.0])
    >>> 0 <= r.w_interval_68[0] <= r.w_hat <= r.w_interval_68[1] <= r.w_upper_95 <= 1
    True
    """
    lo, hi = _check_bounds(w_bounds)
    nll = MixtureNLL(log_p_sig, log_p_bg, weights=weights)
    w_hat, n_it, ok, at_lo, at_hi = _mle(nll, lo, hi, xtol=xtol, maxiter=maxiter)
    f_hat, _, h_hat = nll.value_grad_hess(w_hat)
    sigma = 1.0 / math.sqrt(h_hat) if h_hat > 0 and np.isfinite(h_hat) else float("inf")

    ends = {}
    all_ok = ok
    for label, target in (("68", DELTA_2NLL_68), ("95", DELTA_2NLL_95), ("ul", Q_UPPER_95)):
        lower, ok_l = (
            _crossing(nll, w_hat, f_hat, target, lo, h_hat, xtol=xtol, maxiter=maxiter)
            if label != "ul"
            else (lo, True)
        )
        upper, ok_u = _crossing(nll, w_hat, f_hat, target, hi, h_hat, xtol=xtol, maxiter=maxiter)
        ends[label] = (lower, upper)
        all_ok = all_ok and ok_l and ok_u

    f_zero = nll.rel(0.0)
    if w_hat > 0:
        q0 = max(0.0, 2.0 * (f_zero - f_hat))
    else:
        q0 = 0.0
    z = math.sqrt(q0)
    p_value = float(stats.norm.sf(z))
    if not all_ok:
        warnings.warn(
            "fit_signal_fraction: the Newton iteration did not reach the tolerance "
            f"xtol={xtol} in {maxiter} iterations; the result is flagged converged=False",
            RuntimeWarning,
            stacklevel=2,
        )
    n_sr = nll.sum_weights

    def scaled(pair):
        return (pair[0] * n_sr, pair[1] * n_sr)

    return MixtureFitResult(
        w_hat=float(w_hat),
        w_interval_68=ends["68"],
        w_interval_95=ends["95"],
        w_upper_95=float(ends["ul"][1]),
        sigma_w=float(sigma),
        q0=float(q0),
        z=float(z),
        p_value=p_value,
        n_events=nll.n_events,
        sum_weights=n_sr,
        n_sig_hat=float(w_hat * n_sr),
        n_sig_interval_68=scaled(ends["68"]),
        n_sig_interval_95=scaled(ends["95"]),
        n_sig_upper_95=float(ends["ul"][1] * n_sr),
        nll_hat=float(f_hat + nll._const),
        nll_zero=float(f_zero + nll._const),
        w_bounds=(lo, hi),
        at_lower_bound=bool(at_lo),
        at_upper_bound=bool(at_hi),
        converged=bool(all_ok),
        n_iterations=int(n_it),
    )


def profile_likelihood(
    log_p_sig: Any,
    log_p_bg: Any,
    w: Any = None,
    *,
    weights: Any = None,
    w_bounds: tuple[float, float] = (0.0, 1.0),
    n_points: int = 101,
) -> ProfileCurve:
    """``Δ(2NLL)(w)`` on a grid of w, relative to the MLE in ``w_bounds``.

    Parameters
    ----------
    log_p_sig, log_p_bg, weights, w_bounds
        As in :func:`fit_signal_fraction`.
    w : array_like, optional
        Grid of w values in [0, 1]; default ``n_points`` from the lower bound to
        ``min(high bound, 2 × w_upper_95)``.
    n_points : int
        Size of the default grid.

    Returns
    -------
    ProfileCurve

    >>> c = profile_likelihood([0.0, -1.0], [-1.0, -1.0], [0.0, 0.5, 1.0])
    >>> bool(c.delta_2nll.min() >= 0)
    True
    """
    res = fit_signal_fraction(log_p_sig, log_p_bg, weights=weights, w_bounds=w_bounds)
    nll = MixtureNLL(log_p_sig, log_p_bg, weights=weights)
    if w is None:
        lo, hi = res.w_bounds
        grid = np.linspace(lo, min(hi, max(2.0 * res.w_upper_95, res.w_hat)), int(n_points))
    else:
        grid = np.atleast_1d(np.asarray(w, dtype=np.float64))
        if grid.ndim != 1 or np.any(~np.isfinite(grid)) or np.any((grid < 0) | (grid > 1)):
            raise InputError("the w grid must be finite values in [0, 1]")
    f_hat = nll.rel(res.w_hat)
    d2 = 2.0 * (nll.rel_many(grid) - f_hat)
    return ProfileCurve(w=grid, delta_2nll=np.maximum(d2, 0.0), w_hat=res.w_hat)


def ensemble_log_density(log_p: Any, *, axis: int = 0) -> np.ndarray:
    """Log of the ensemble-averaged density, ``log(mean_k exp(log_p[k]))``.

    Parameters
    ----------
    log_p : array_like, shape (k, n)
        Log-densities of the same events under k models (``-inf`` allowed).
    axis : int
        The model axis.

    >>> ensemble_log_density([[0.0], [np.log(3.0)]]).round(6).tolist() == [round(np.log(2), 6)]
    True
    """
    arr = np.asarray(log_p, dtype=np.float64)
    if arr.ndim < 1 or arr.shape[axis] == 0:
        raise InputError("ensemble_log_density needs at least one model")
    if np.isnan(arr).any():
        raise InputError("ensemble log-densities contain NaN")
    return special.logsumexp(arr, axis=axis) - math.log(arr.shape[axis])


# ----------------------------------------------------------------------------------------------
# density files
# ----------------------------------------------------------------------------------------------


def read_density_file(path: str | Path, *, group: str | None = None) -> dict[str, np.ndarray]:
    """Read per-event densities of SR events from ``.npz`` or HDF5.

    The file holds the 1-D arrays ``log_p_sig`` and ``log_p_bg`` (natural-log densities, one
    entry per SR event) and optionally ``weights``; other arrays (``m``, ``x``, ``label``,
    ``score``) are ignored here. HDF5 files (``.h5``/``.hdf5``) hold datasets of the same names
    at the root or under ``group``.

    Returns
    -------
    dict
        ``{"log_p_sig": ..., "log_p_bg": ..., "weights": ... or absent}``.

    Raises
    ------
    bumpstat.exceptions.ScoreFileError
        Unreadable file, or a required field missing (the message lists what the file holds).
    """
    path = Path(path)
    if not path.exists():
        raise ScoreFileError(f"density file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in (".h5", ".hdf5", ".hdf"):
            import h5py

            with h5py.File(path, "r") as f:
                node = f[group] if group else f
                contents = sorted(node.keys())
                data = {
                    k: np.asarray(node[k][()]) for k in DENSITY_FIELDS if k in node
                }
        else:
            with np.load(path, allow_pickle=False) as f:
                contents = sorted(f.files)
                data = {k: np.asarray(f[k]) for k in DENSITY_FIELDS if k in f.files}
    except ScoreFileError:
        raise
    except Exception as err:  # noqa: BLE001 - any reader failure is a file problem
        raise ScoreFileError(f"cannot read density file {str(path)!r}: {err}") from err
    missing = [k for k in ("log_p_sig", "log_p_bg") if k not in data]
    if missing:
        where = f" (group {group!r})" if group else ""
        raise ScoreFileError(
            f"density file {str(path)!r}{where} has no field(s) {', '.join(map(repr, missing))}; "
            f"it contains: {', '.join(contents) if contents else '(nothing)'}. Expected 1-D "
            "arrays 'log_p_sig' and 'log_p_bg' (optional 'weights')"
        )
    return data


def write_density_file(
    path: str | Path,
    log_p_sig: Any,
    log_p_bg: Any,
    *,
    weights: Any = None,
    **extra: Any,
) -> Path:
    """Write a density file readable by :func:`read_density_file` (``.npz``, or HDF5 by suffix).

    ``extra`` arrays (e.g. ``m``, ``x``, ``label``, ``score``) are stored alongside.
    """
    path = Path(path)
    arrays = {"log_p_sig": np.asarray(log_p_sig), "log_p_bg": np.asarray(log_p_bg)}
    if weights is not None:
        arrays["weights"] = np.asarray(weights)
    arrays.update({k: np.asarray(v) for k, v in extra.items()})
    if path.suffix.lower() in (".h5", ".hdf5", ".hdf"):
        import h5py

        with h5py.File(path, "w") as f:
            for k, v in arrays.items():
                f.create_dataset(k, data=v)
    else:
        np.savez(path, **arrays)
    return path
