"""ROC, AUC and the significance improvement characteristic (SIC), per run and over runs.

Definitions (Das, Kasieczka & Shih [arXiv:2312.11629] §III.C, BRIEF §3.6):

- ``eps_S(t)``, ``eps_B(t)``: weighted fractions of signal / background events with score
  ``> t``; the ROC is traced over every distinct score (ties move together).
- AUC: the area under ``eps_S(eps_B)`` (trapezoids, so ties count one half; equal to the
  Mann–Whitney probability ``P(s_sig > s_bkg)``).
- ``SIC = eps_S / sqrt(eps_B)``. The curve is cut where the relative statistical error of
  ``eps_B`` exceeds ``max_rel_error`` (20%): ``1 / sqrt(N_B,pass) > 0.2``, i.e. fewer than 25
  background events pass (with weights, ``N_B,pass`` is the effective number
  ``(sum w)^2 / sum w^2`` of the passing events).
- max SIC: the largest SIC on the kept part of the curve.
- SIC at ``eps_B = 1e-3``: ``eps_S`` linearly interpolated on the ROC at that ``eps_B``, divided
  by ``sqrt(1e-3)``; flagged ``reliable`` only if the expected number of passing background
  events ``eps_B * N_B,eff`` is at least ``1 / max_rel_error^2`` (25).

Per window of a score file: :mod:`bumpstat.metrics.report`.

>>> rng = np.random.default_rng(0)
>>> s = np.r_[rng.normal(1, 1, 20000), rng.normal(0, 1, 20000)]
>>> y = np.r_[np.ones(20000), np.zeros(20000)]
>>> round(roc_curve(s, y).auc, 2)  # closed form Phi(1 / sqrt(2)) = 0.760
0.76
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError
from bumpstat.results import Result

__all__ = [
    "EPS_B_REF",
    "MAX_REL_ERROR",
    "RocCurve",
    "SicCurve",
    "ClassifierMetrics",
    "roc_curve",
    "sic_curve",
    "classifier_metrics",
]

#: Default working point for "SIC at eps_B".
EPS_B_REF = 1e-3
#: Default cut on the relative statistical error of eps_B along the SIC curve.
MAX_REL_ERROR = 0.2


def _check(scores: Any, labels: Any, weights: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    if s.ndim != 1:
        raise InputError(f"scores must be 1-D, got shape {s.shape}")
    if y.shape != s.shape:
        raise InputError(f"labels have shape {y.shape}, scores {s.shape}")
    if not np.isfinite(s).all():
        raise InputError(f"scores have {int((~np.isfinite(s)).sum())} NaN/inf value(s)")
    if not np.isin(y, (0, 1)).all():
        raise InputError("labels must be 0 (background) or 1 (signal)")
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != s.shape:
        raise InputError(f"weights have shape {w.shape}, scores {s.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise InputError("weights must be finite and non-negative")
    y = y.astype(bool)
    if not (w[y] > 0).any():
        raise InputError("no signal events (label 1 with positive weight): ROC undefined")
    if not (w[~y] > 0).any():
        raise InputError("no background events (label 0 with positive weight): ROC undefined")
    return s, y, w


@dataclass(frozen=True, repr=False)
class SicCurve(Result):
    """SIC along the ROC with the statistical-stability cut.

    Attributes
    ----------
    eps_s, eps_b, sic : numpy.ndarray
        Points with ``eps_b > 0``, in order of increasing ``eps_b``.
    rel_error_b : numpy.ndarray
        ``1 / sqrt(N_B,pass)`` at each point.
    kept : numpy.ndarray of bool
        ``rel_error_b <= max_rel_error``: the kept part of the curve.
    max_rel_error : float
    """

    eps_s: np.ndarray
    eps_b: np.ndarray
    sic: np.ndarray
    rel_error_b: np.ndarray
    kept: np.ndarray
    max_rel_error: float = MAX_REL_ERROR

    @property
    def max_sic(self) -> float:
        """Largest SIC on the kept part of the curve (0 if no point is kept)."""
        return float(self.sic[self.kept].max()) if self.kept.any() else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready kept part of the curve."""
        v = self.kept
        return {"eps_s": self.eps_s[v].tolist(), "eps_b": self.eps_b[v].tolist(),
                "sic": self.sic[v].tolist(), "max_rel_error": self.max_rel_error,
                "max_sic": self.max_sic}

    def records(self) -> list[dict[str, Any]]:
        """One row per kept point."""
        v = self.kept
        return [{"eps_s": float(a), "eps_b": float(b), "sic": float(c)}
                for a, b, c in zip(self.eps_s[v], self.eps_b[v], self.sic[v], strict=True)]


@dataclass(frozen=True, repr=False)
class RocCurve(Result):
    """A (weighted) ROC curve.

    Attributes
    ----------
    eps_s, eps_b : numpy.ndarray
        Signal and background efficiencies for ``score > threshold``, starting at (0, 0) and
        ending at (1, 1); non-decreasing.
    threshold : numpy.ndarray
        The cut for each point (``+inf`` for the first).
    n_b_pass : numpy.ndarray
        Effective number of background events passing (``(sum w)^2 / sum w^2``).
    n_s_total, n_b_total : float
        Effective numbers of signal and background events.
    auc : float
        Area under the curve.
    """

    eps_s: np.ndarray
    eps_b: np.ndarray
    threshold: np.ndarray
    n_b_pass: np.ndarray
    n_s_total: float
    n_b_total: float
    auc: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready curve (the ``+inf`` threshold of the first point becomes null)."""
        from bumpstat.serialize import jsonable

        return jsonable({"eps_s": self.eps_s, "eps_b": self.eps_b, "threshold": self.threshold,
                         "n_b_pass": self.n_b_pass, "n_s_total": self.n_s_total,
                         "n_b_total": self.n_b_total, "auc": self.auc})

    def records(self) -> list[dict[str, Any]]:
        """One row per point of the curve."""
        d = self.to_dict()
        return [{"eps_s": a, "eps_b": b, "threshold": t} for a, b, t in
                zip(d["eps_s"], d["eps_b"], d["threshold"], strict=True)]

    def sic(self, *, max_rel_error: float = MAX_REL_ERROR) -> SicCurve:
        """The SIC curve with the cut ``1/sqrt(N_B,pass) <= max_rel_error``."""
        if not max_rel_error > 0:
            raise InputError(f"max_rel_error must be positive, got {max_rel_error}")
        keep = self.eps_b > 0
        eb, es, nb = self.eps_b[keep], self.eps_s[keep], self.n_b_pass[keep]
        rel = 1.0 / np.sqrt(nb)
        return SicCurve(es, eb, es / np.sqrt(eb), rel, rel <= max_rel_error * (1 + 1e-12),
                        float(max_rel_error))

    def eps_s_at(self, eps_b: float) -> float:
        """Signal efficiency at background efficiency ``eps_b``, linearly interpolated."""
        if not 0 < eps_b <= 1:
            raise InputError(f"eps_b must be in (0, 1], got {eps_b}")
        # the ROC is non-decreasing in eps_b; take the upper envelope at ties of eps_b
        i = int(np.searchsorted(self.eps_b, eps_b, side="left"))
        if self.eps_b[i] == eps_b:
            j = int(np.searchsorted(self.eps_b, eps_b, side="right")) - 1
            return float(self.eps_s[j])
        x0, x1 = self.eps_b[i - 1], self.eps_b[i]
        y0, y1 = self.eps_s[i - 1], self.eps_s[i]
        return float(y0 + (y1 - y0) * (eps_b - x0) / (x1 - x0))

    def sic_at(self, eps_b: float = EPS_B_REF) -> float:
        """``eps_S(eps_b) / sqrt(eps_b)`` with ``eps_S`` interpolated on the ROC."""
        return self.eps_s_at(eps_b) / float(np.sqrt(eps_b))


def roc_curve(scores: Any, labels: Any, *, weights: Any = None) -> RocCurve:
    """ROC of ``scores`` for signal (``labels == 1``) vs background (``labels == 0``).

    Parameters
    ----------
    scores : array (n,)
        Larger = more signal-like; finite.
    labels : array (n,)
        1 = signal, 0 = background; both must be present.
    weights : array (n,), optional
        Non-negative event weights.

    Returns
    -------
    RocCurve
    """
    s, y, w = _check(scores, labels, weights)
    order = np.argsort(-s, kind="stable")
    s, y, w = s[order], y[order], w[order]
    ws = np.cumsum(np.where(y, w, 0.0))
    wb = np.cumsum(np.where(y, 0.0, w))
    wb2 = np.cumsum(np.where(y, 0.0, w * w))
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]  # end of each tie group
    tot_s, tot_b = ws[-1], wb[-1]
    eps_s = np.r_[0.0, ws[last] / tot_s]
    eps_b = np.r_[0.0, wb[last] / tot_b]
    with np.errstate(invalid="ignore", divide="ignore"):
        nb = np.where(wb2[last] > 0, wb[last] ** 2 / np.where(wb2[last] > 0, wb2[last], 1), 0.0)
    n_b_pass = np.r_[0.0, nb]
    thr = np.r_[np.inf, s[last]]
    auc = float(np.sum(np.diff(eps_b) * 0.5 * (eps_s[1:] + eps_s[:-1])))
    n_s_tot = float(tot_s**2 / np.sum(np.where(y, w * w, 0.0)))
    n_b_tot = float(tot_b**2 / wb2[-1])
    return RocCurve(eps_s, eps_b, thr, n_b_pass, n_s_tot, n_b_tot, auc)


def sic_curve(scores: Any, labels: Any, *, weights: Any = None,
              max_rel_error: float = MAX_REL_ERROR) -> SicCurve:
    """SIC curve with the 20% relative-error cut (see :meth:`RocCurve.sic`)."""
    return roc_curve(scores, labels, weights=weights).sic(max_rel_error=max_rel_error)


@dataclass(frozen=True, repr=False)
class ClassifierMetrics(Result):
    """Metrics of one score array.

    Attributes
    ----------
    auc, max_sic : float
    sic_at_eps_b : float
        SIC at ``eps_b_ref`` (interpolated).
    sic_at_reliable : bool
        ``eps_b_ref * N_B,eff >= 1 / max_rel_error**2``.
    eps_b_ref, max_rel_error : float
    n_signal, n_background : float
        Effective numbers of signal and background events.
    """

    auc: float
    max_sic: float
    sic_at_eps_b: float
    sic_at_reliable: bool
    eps_b_ref: float
    max_rel_error: float
    n_signal: float
    n_background: float


def classifier_metrics(
    scores: Any,
    labels: Any,
    *,
    weights: Any = None,
    eps_b: float = EPS_B_REF,
    max_rel_error: float = MAX_REL_ERROR,
) -> ClassifierMetrics:
    """AUC, max SIC (with the relative-error cut) and SIC at ``eps_b`` of one score array.

    >>> rng = np.random.default_rng(1)
    >>> s = np.r_[rng.normal(2, 1, 5000), rng.normal(0, 1, 100000)]
    >>> y = np.r_[np.ones(5000), np.zeros(100000)]
    >>> m = classifier_metrics(s, y)
    >>> round(m.auc, 2), m.sic_at_reliable
    (0.92, True)
    """
    roc = roc_curve(scores, labels, weights=weights)
    sic = roc.sic(max_rel_error=max_rel_error)
    return ClassifierMetrics(
        auc=roc.auc,
        max_sic=sic.max_sic,
        sic_at_eps_b=roc.sic_at(eps_b),
        sic_at_reliable=bool(eps_b * roc.n_b_total >= 1.0 / max_rel_error**2 * (1 - 1e-12)),
        eps_b_ref=float(eps_b),
        max_rel_error=float(max_rel_error),
        n_signal=roc.n_s_total,
        n_background=roc.n_b_total,
    )
