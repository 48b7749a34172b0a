"""Metrics of score files, per window and over classifier runs (Das, Kasieczka & Shih
[arXiv:2312.11629] §III.C).

Per window the ROC uses the *data* events in the signal region with their truth labels (signal
= label 1, background = label 0); the template is not used for it. Per-run values are
summarised by the median and the 68% band (16th–84th percentiles) over runs; ``ensemble`` holds
the metrics of the run-averaged score. Beside them: the AUC of data (all SR events) vs template,
a no-signal check (0.5 for a perfect template).

Events without truth labels (real data) have no ``label`` field: the metrics then raise one
:class:`~bumpstat.exceptions.InputError` naming the file and window and saying so — they never
report "no signal" for missing labels. A window whose labels are all 0 has ``has_signal =
false``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError
from bumpstat.metrics.roc import (
    EPS_B_REF,
    MAX_REL_ERROR,
    ClassifierMetrics,
    classifier_metrics,
    roc_curve,
)
from bumpstat.results import Result, flatten
from bumpstat.scores.schema import ScoreFile, WindowScores
from bumpstat.serialize import jsonable
from bumpstat.windows import Window

__all__ = ["WindowMetrics", "MetricsReport", "window_metrics", "score_file_metrics",
           "summarise_runs", "sic_key", "no_labels_message"]


def no_labels_message(source: str | None, window: str | None = None) -> str:
    """The one message for score files whose data carry no truth labels."""
    where = ", ".join(([f"score file {source!r}"] if source else ["score file"])
                      + ([f"window {window!r}"] if window else []))
    return (f"{where}: the data events have no truth labels (no 'label' field), so ROC, AUC "
            "and SIC cannot be computed; metrics need labelled events (synthetic or simulated)")


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


@dataclass(frozen=True, repr=False)
class WindowMetrics(Result):
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
        return jsonable(out)


def window_metrics(ws: WindowScores, *, eps_b: float = EPS_B_REF,
                   max_rel_error: float = MAX_REL_ERROR,
                   source: str | None = None) -> WindowMetrics:
    """Metrics of one window: SR data events, signal = label 1, background = label 0.

    Raises
    ------
    InputError
        The data carry no ``label`` field (the message names ``source`` and the window).
    """
    sr = ws.signal_region()
    if sr.label is None:
        raise InputError(no_labels_message(source, ws.window.name))
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


@dataclass(frozen=True, repr=False)
class MetricsReport(Result):
    """Metrics of all windows of one score file.

    Attributes
    ----------
    method : str
    windows : tuple of WindowMetrics
    eps_b_ref, max_rel_error : float
    n_runs : int
    source : str or None
        The score file the metrics are of.
    """

    method: str
    windows: tuple[WindowMetrics, ...]
    eps_b_ref: float
    max_rel_error: float
    n_runs: int
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"scores", "method", "n_runs", "eps_b_ref", "max_rel_error", "windows": [...]}``."""
        return jsonable({"scores": self.source, "method": self.method, "n_runs": self.n_runs,
                         "eps_b_ref": self.eps_b_ref, "max_rel_error": self.max_rel_error,
                         "windows": [w.to_dict() for w in self.windows]})

    def records(self) -> list[dict[str, Any]]:
        """One flat row per window (the per-run lists and the ensemble left out)."""
        rows = []
        for w in self.to_dict()["windows"]:
            row = {k: v for k, v in w.items() if not k.endswith("_runs") and k != "ensemble"}
            rows.append(flatten({"method": self.method, **row}))
        return rows


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
    if not (np.isfinite(eps_b) and 0.0 < eps_b < 1.0):
        raise InputError(f"eps_b of 'SIC at eps_B' must lie in (0, 1), got {eps_b}")
    if not (np.isfinite(max_rel_error) and max_rel_error > 0.0):
        raise InputError(f"max_rel_error must be a positive number, got {max_rel_error}")
    names = sf.window_names if windows is None else tuple(windows)
    missing = [n for n in names if n not in sf.window_names]
    if missing:
        raise InputError(f"window(s) {missing} not in the score file {list(sf.window_names)}")
    if all(sf[n].data.label is None for n in names):
        raise InputError(no_labels_message(sf.source))
    return MetricsReport(
        method=sf.method,
        windows=tuple(window_metrics(sf[n], eps_b=eps_b, max_rel_error=max_rel_error,
                                     source=sf.source) for n in names),
        eps_b_ref=float(eps_b),
        max_rel_error=float(max_rel_error),
        n_runs=sf.n_runs,
        source=sf.source,
    )
