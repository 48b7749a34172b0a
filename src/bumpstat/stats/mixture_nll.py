"""The R-ANODE mixture negative log-likelihood of the signal fraction w as a cost object.

``NLL(w) = -sum_i omega_i log(w p_sig,i + (1 - w) p_bg,i)`` (Das, Kasieczka, Shih,
arXiv:2312.11629, eqs. 2–3) from per-event natural-log densities, with analytic gradient and
Hessian; written per event relative to ``M = max(p_sig, p_bg)`` so that it is exact for any
density ratio. The fits, intervals and limits built on it are in :mod:`bumpstat.stats.mixture`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError

__all__ = ["MixtureNLL"]


def _as_1d(name: str, a: Any) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a numeric array: {err}") from err
    if arr.ndim != 1:
        raise InputError(f"{name} must be one-dimensional (one value per SR event), got shape "
                         f"{arr.shape}")
    return arr


def _check_log_density(name: str, arr: np.ndarray) -> None:
    for bad, what in ((np.isnan(arr), "NaN value(s)"), (np.isposinf(arr), "+inf value(s)")):
        if bad.any():
            raise InputError(f"{name} has {int(bad.sum())} {what} (first at event "
                             f"{int(np.argmax(bad))}); log-densities must be finite or -inf")


class MixtureNLL:
    """``NLL(w)`` of the mixture as a callable cost object (``errordef = 0.5``, iminuit-ready).

    Parameters
    ----------
    log_p_sig, log_p_bg : array_like, shape (n,)
        Natural log of the signal and background densities of each SR event, in the same
        units. ``-inf`` is allowed in one of the two.
    weights : array_like, shape (n,), optional
        Non-negative finite frequency weights; default 1.

    >>> nll = MixtureNLL([0.0, 1.0], [0.0, 0.0])
    >>> bool(np.isclose(nll(0.5), -np.log(0.5 + 0.5 * np.e)))
    True
    """

    errordef: float = 0.5

    def __init__(self, log_p_sig: Any, log_p_bg: Any, *, weights: Any = None) -> None:
        ls, lb = _as_1d("log_p_sig", log_p_sig), _as_1d("log_p_bg", log_p_bg)
        if ls.shape != lb.shape:
            raise InputError(
                f"log_p_sig and log_p_bg must have the same length, got {ls.size} and {lb.size}"
            )
        if ls.size == 0:
            raise InputError("no SR events: log_p_sig and log_p_bg are empty")
        _check_log_density("log_p_sig", ls)
        _check_log_density("log_p_bg", lb)
        both = np.isneginf(ls) & np.isneginf(lb)
        if both.any():
            raise InputError(
                f"{int(both.sum())} event(s) have zero density under both signal and background "
                f"(log_p_sig = log_p_bg = -inf, first at event {int(np.argmax(both))}); such an "
                "event is impossible for every w: fix the density models or the SR selection"
            )
        self.weighted = weights is not None
        wts = np.ones_like(ls) if weights is None else _as_1d("weights", weights)
        for bad, msg in ((wts.shape != ls.shape, f"weights must have one entry per event: "
                          f"{wts.size} weights for {ls.size} events"),
                         (not np.all(np.isfinite(wts)), "weights contain NaN or inf"),
                         (np.any(wts < 0), "weights must be non-negative"),
                         (wts.sum() <= 0, "the sum of weights is zero")):
            if bad:
                raise InputError(msg)
        self.weights = wts
        self.n_events = int(ls.size)
        self.sum_weights = float(wts.sum())
        with np.errstate(invalid="ignore"):
            d = ls - lb  # +inf where p_bg = 0, -inf where p_sig = 0
        sig_larger = d > 0
        em1 = np.expm1(np.where(sig_larger, -d, d))  # expm1(-|d|) in [-1, 0]
        self._a = np.where(sig_larger, 1.0 + em1, 1.0)
        self._b = np.where(sig_larger, -em1, em1)
        self._const = float(-(wts * np.maximum(ls, lb)).sum())
        self.n_bg_zero = int(np.isneginf(lb).sum())
        # t(w) = A + w B vanishes at w = 0 where p_bg = 0 and at w = 1 where p_sig = 0
        self._zero_at0 = bool(np.any(self._a == 0.0))
        self._zero_at1 = bool(np.any(self._a + self._b == 0.0))
        self._unit = not self.weighted

    def _t(self, w: float) -> np.ndarray:
        return self._a + w * self._b

    def _edge(self, w: float) -> bool:
        return (w == 0.0 and self._zero_at0) or (w == 1.0 and self._zero_at1)

    # sums avoid BLAS (np.dot): a busy multi-threaded BLAS costs ms per call on loaded CPUs
    def _wsum(self, v: np.ndarray) -> float:
        return float(v.sum()) if self._unit else float((self.weights * v).sum())

    def _wsum_safe(self, v: np.ndarray) -> float:
        with np.errstate(invalid="ignore"):  # zero-weight events with an infinite term: 0
            prod = self.weights * v
        return float(np.where(self.weights > 0, prod, 0.0).sum())

    def w_min(self) -> float:
        """Smallest w at which every event's mixture density stays positive (``-inf`` if no
        event has ``p_sig > p_bg``); the lower end of the deficit fit."""
        pos = self._b > 0
        return float(np.max(-self._a[pos] / self._b[pos])) if pos.any() else -math.inf

    def rel(self, w: float) -> float:
        """``NLL(w)`` without the w-independent constant (same differences, better precision)."""
        w = float(w)
        if self._edge(w):
            with np.errstate(divide="ignore"):
                return -self._wsum_safe(np.log(self._t(w)))
        return -self._wsum(np.log(self._t(w)))

    def __call__(self, w: float) -> float:
        """``NLL(w)``; ``+inf`` where an event has zero mixture density."""
        return self.rel(w) + self._const

    def grad(self, w: float) -> np.ndarray:
        """``[dNLL/dw]`` as a length-1 array (the gradient interface of ``iminuit``)."""
        return np.array([self.value_grad_hess(w)[1]])

    def _eval(self, w: float, value: bool, hess: bool) -> tuple[float, ...]:
        w = float(w)
        t = self._t(w)
        if self._edge(w):
            with np.errstate(divide="ignore", invalid="ignore"):
                q = np.where(t > 0, self._b / t, np.where(self._b > 0, np.inf, -np.inf))
                out = (-self._wsum_safe(np.log(t)), -self._wsum_safe(q), self._wsum_safe(q * q))
            return out[0 if value else 1 : 3 if hess else 2]
        q = self._b / t
        wq = q if self._unit else self.weights * q
        res = [-float(wq.sum())]
        if value:
            res.insert(0, -self._wsum(np.log(t)))
        if hess:
            res.append(float((wq * q).sum()))
        return tuple(res)

    def value_grad_hess(self, w: float) -> tuple[float, ...]:
        """``(NLL_rel(w), dNLL/dw, d²NLL/dw²)`` in one pass over the events."""
        return self._eval(w, True, True)

    def grad_hess(self, w: float) -> tuple[float, ...]:
        """``(dNLL/dw, d²NLL/dw²)`` without the log (cheaper, for the MLE iteration)."""
        return self._eval(w, False, True)

    def value_grad(self, w: float) -> tuple[float, ...]:
        """``(NLL_rel(w), dNLL/dw)`` (for the interval crossings)."""
        return self._eval(w, True, False)

    def rel_many(self, ws: Sequence[float] | np.ndarray, *, chunk: int = 2_000_000) -> np.ndarray:
        """Vectorised :meth:`rel` over an array of w (evaluated in memory-bounded chunks)."""
        ws = np.atleast_1d(np.asarray(ws, dtype=np.float64))
        out = np.empty(ws.size)
        step = max(1, chunk // self.n_events)
        pos = self.weights > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            for i in range(0, ws.size, step):
                terms = np.log(self._a + ws[i : i + step, None] * self._b) * self.weights
                out[i : i + step] = -np.where(pos, terms, 0.0).sum(axis=1)
        return out
