"""ROC, AUC and the significance improvement characteristic (SIC), per run and over runs.

Definitions (paper 002 §III.C, BRIEF §3.6):

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

For a score file (:func:`score_file_metrics`): per window the ROC uses the *data* events in the
signal region with their truth labels (signal = label 1, background = label 0); the template is
not used for it. Per run values are summarised by the median and the 68% band (16th–84th
percentiles) over runs; ``ensemble`` holds the metrics of the run-averaged score. The AUC of
data (all SR events) vs template, a no-signal check (0.5 for a perfect template), is reported
beside them.

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
from bumpstat.scores.schema import ScoreFile, WindowScores
from bumpstat.windows import Window

__all__ = [
    "RocCurve",
    "SicCurve",
    "ClassifierMetrics",
    "WindowMetrics",
    "MetricsReport",
    "roc_curve",
    "sic_curve",
    "classifier_metrics",
    "window_metrics",
    "score_file_metrics",
    "summarise_runs",
    "sic_key",
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


@dataclass(frozen=True)
class SicCurve:
    """SIC along the ROC with the statistical-stability cut.

    Attributes
    ----------
    eps_s, eps_b, sic : numpy.ndarray
        Points with ``eps_b > 0``, in order of increasing ``eps_b``.
    rel_error_b : numpy.ndarray
        ``1 / sqrt(N_B,pass)`` at each point.
    valid : numpy.ndarray of bool
        ``rel_error_b <= max_rel_error``: the kept part of the curve.
    max_rel_error : float
    """

    eps_s: np.ndarray
    eps_b: np.ndarray
    sic: np.ndarray
    rel_error_b: np.ndarray
    valid: np.ndarray
    max_rel_error: float = MAX_REL_ERROR

    @property
    def max_sic(self) -> float:
        """Largest SIC on the kept part of the curve (0 if no point is kept)."""
        return float(self.sic[self.valid].max()) if self.valid.any() else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready kept part of the curve."""
        v = self.valid
        return {"eps_s": self.eps_s[v].tolist(), "eps_b": self.eps_b[v].tolist(),
                "sic": self.sic[v].tolist(), "max_rel_error": self.max_rel_error,
                "max_sic": self.max_sic}


@dataclass(frozen=True)
class RocCurve:
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


@dataclass(frozen=True)
class ClassifierMetrics:
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"auc": self.auc, "max_sic": self.max_sic, "sic_at_eps_b": self.sic_at_eps_b,
                "sic_at_reliable": self.sic_at_reliable, "eps_b_ref": self.eps_b_ref,
                "max_rel_error": self.max_rel_error, "n_signal": self.n_signal,
                "n_background": self.n_background}


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


def sic_key(eps_b: float) -> str:
    """JSON key of "SIC at eps_b": ``sic_at_1e-3`` for powers of ten, else ``sic_at_<g>``.

    >>> sic_key(1e-3), sic_key(2e-3)
    ('sic_at_1e-3', 'sic_at_0.002')
    """
    e = float(np.log10(eps_b))
    if abs(e - round(e)) < 1e-9:
        return f"sic_at_1e{int(round(e))}"
    return f"sic_at_{eps_b:g}"


def summarise_runs(values: Any) -> dict[str, Any]:
    """Median and 68% band (16th, 84th percentiles) of per-run values.

    >>> summarise_runs([1.0, 2.0, 3.0])["median"]
    2.0
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise InputError("no runs to summarise")
    lo, med, hi = np.percentile(v, [16, 50, 84])
    return {"median": float(med), "band": [float(lo), float(hi)], "runs": v.tolist()}


@dataclass(frozen=True)
class WindowMetrics:
    """Per-run metrics of one window of a score file.

    Attributes
    ----------
    window : Window
    per_run : tuple of ClassifierMetrics or None
        ``None`` if the window's SR holds no signal (or no background) events.
    ensemble : ClassifierMetrics or None
        Metrics of the score averaged over runs.
    auc_data_vs_template : numpy.ndarray
        Per run: AUC of SR data (all labels) vs the template (template weights used).
    n_signal, n_background : int
        Labelled data events in the SR.
    """

    window: Window
    per_run: tuple[ClassifierMetrics, ...] | None
    ensemble: ClassifierMetrics | None
    auc_data_vs_template: np.ndarray
    n_signal: int
    n_background: int

    def values(self, name: str) -> np.ndarray:
        """Per-run array of ``"auc"``, ``"max_sic"`` or ``"sic_at_eps_b"``."""
        if self.per_run is None:
            raise InputError(f"window {self.window.name!r} has no signal events: no {name}")
        return np.array([getattr(m, name) for m in self.per_run])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: medians over runs as ``auc``, ``max_sic``, ``sic_at_1e-3`` (key named
        after the working point), with ``*_band`` (16th/84th percentiles) and ``*_runs``."""
        out: dict[str, Any] = {
            "window": self.window.to_dict(),
            "n_signal": self.n_signal,
            "n_background": self.n_background,
        }
        dvt = summarise_runs(self.auc_data_vs_template)
        if self.per_run is None or self.ensemble is None:
            out.update({"auc": None, "max_sic": None, "has_signal": False})
        else:
            key = sic_key(self.per_run[0].eps_b_ref)
            out["has_signal"] = True
            for name, label in (("auc", "auc"), ("max_sic", "max_sic"), ("sic_at_eps_b", key)):
                s = summarise_runs(self.values(name))
                out[label] = s["median"]
                out[f"{label}_band"] = s["band"]
                out[f"{label}_runs"] = s["runs"]
            out["sic_at_reliable"] = self.per_run[0].sic_at_reliable
            out["ensemble"] = self.ensemble.to_dict()
        out["auc_data_vs_template"] = dvt["median"]
        out["auc_data_vs_template_band"] = dvt["band"]
        return out


def window_metrics(
    ws: WindowScores, *, eps_b: float = EPS_B_REF, max_rel_error: float = MAX_REL_ERROR
) -> WindowMetrics:
    """Metrics of one window: SR data events, signal = label 1, background = label 0.

    Raises
    ------
    InputError
        The data carry no ``label`` field.
    """
    sr = ws.signal_region()
    if sr.label is None:
        raise InputError(
            f"window {ws.window.name!r}: data events have no truth labels ('data/label'), so "
            "ROC/SIC cannot be computed; write the score file with labels"
        )
    w = sr.weights()
    n_sig = int(np.count_nonzero(sr.label == 1))
    n_bkg = int(np.count_nonzero(sr.label == 0))
    if n_sig and n_bkg:
        per_run = tuple(
            classifier_metrics(sr.scores[r], sr.label, weights=w, eps_b=eps_b,
                               max_rel_error=max_rel_error)
            for r in range(sr.n_runs)
        )
        ens = classifier_metrics(sr.scores.mean(axis=0), sr.label, weights=w, eps_b=eps_b,
                                 max_rel_error=max_rel_error)
    else:
        per_run, ens = None, None
    tw = ws.template.weights()
    y = np.r_[np.ones(sr.n_events), np.zeros(ws.template.n_events)]
    ww = np.r_[w, tw]
    dvt = np.array([
        roc_curve(np.r_[sr.scores[r], ws.template.scores[r]], y, weights=ww).auc
        for r in range(sr.n_runs)
    ])
    return WindowMetrics(ws.window, per_run, ens, dvt, n_sig, n_bkg)


@dataclass(frozen=True)
class MetricsReport:
    """Metrics of all windows of one score file.

    Attributes
    ----------
    method : str
    windows : tuple of WindowMetrics
    eps_b_ref, max_rel_error : float
    n_runs : int
    """

    method: str
    windows: tuple[WindowMetrics, ...]
    eps_b_ref: float
    max_rel_error: float
    n_runs: int

    def to_dict(self) -> dict[str, Any]:
        """``{"method", "n_runs", "eps_b_ref", "max_rel_error", "windows": [...]}``."""
        return {
            "method": self.method,
            "n_runs": self.n_runs,
            "eps_b_ref": self.eps_b_ref,
            "max_rel_error": self.max_rel_error,
            "windows": [w.to_dict() for w in self.windows],
        }


def score_file_metrics(
    sf: ScoreFile,
    *,
    eps_b: float = EPS_B_REF,
    max_rel_error: float = MAX_REL_ERROR,
    windows: Any = None,
) -> MetricsReport:
    """Per-window metrics of a labelled score file (see the module docstring).

    Parameters
    ----------
    sf : ScoreFile
    eps_b : float
        Working point of "SIC at eps_B".
    max_rel_error : float
        SIC-curve cut on the relative error of eps_B.
    windows : sequence of str, optional
        Names of the windows to evaluate (default all).

    Raises
    ------
    InputError
        No window has labels, or a requested window does not exist.
    """
    names = sf.window_names if windows is None else tuple(windows)
    missing = [n for n in names if n not in sf.window_names]
    if missing:
        raise InputError(f"window(s) {missing} not in the score file {list(sf.window_names)}")
    if all(sf[n].data.label is None for n in names):
        where = f"score file {sf.source!r}" if sf.source else "score file"
        raise InputError(
            f"{where}: no truth labels ('data/label') in any window; metrics need labelled "
            "data (e.g. synthetic or simulated events)"
        )
    return MetricsReport(
        method=sf.method,
        windows=tuple(window_metrics(sf[n], eps_b=eps_b, max_rel_error=max_rel_error)
                      for n in names),
        eps_b_ref=float(eps_b),
        max_rel_error=float(max_rel_error),
        n_runs=sf.n_runs,
    )
