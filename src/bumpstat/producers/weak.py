"""Weak supervision, data vs template: the BDT k-fold machinery shared by IAD and CWoLa.

For every window a BDT ensemble (:mod:`bumpstat.classifiers.bdt`) is trained with stratified
k-fold to separate the signal-region data (class 1) from the window's template (class 0): every
SR data event and every template event gets an out-of-fold score (its ``fold``). With
``score_range`` the data events outside the window but inside the range are scored too, each
by the ensemble of one of the window's k folds drawn at random (``fold = -1``; so that their
scores are distributed like the out-of-fold scores in the window); data events that are
template events (CWoLa's sidebands) carry their out-of-fold template scores. ``event_id`` is
the position of an event in ``data`` (data) and in the template's source sample (template), so
the same event has the same id in every window.

Runs are independent trainings that share one k-fold split per window and differ in the seeds
of every ensemble member. Seeds: the window's child seed ``ss`` (from
:meth:`~bumpstat.producers.base.ScoreProducer.produce`) is split into ``ss.spawn(runs + 1)``:
the first child seeds the fold split, the others the runs. These are the seeds the earlier
``bumpstat.methods.iad.weak_score_file`` used, so the same seed gives the same scores.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bumpstat.classifiers.bdt import BDTConfig, kfold_scores
from bumpstat.events import Events
from bumpstat.exceptions import InputError, WindowError
from bumpstat.producers.base import ScoreProducer, select_features
from bumpstat.scores.schema import EventSet, WindowScores
from bumpstat.windows import Window

__all__ = ["WeakProducer", "as_bdt_config"]


def as_bdt_config(config: Any) -> BDTConfig:
    """A :class:`BDTConfig` from a config, a preset name (``"fast"``, ``"default"``,
    ``"paper"``) or a dict of settings."""
    if isinstance(config, BDTConfig):
        return config
    if isinstance(config, str):
        return BDTConfig.preset(config)
    if isinstance(config, dict):
        return BDTConfig(**config)
    raise InputError(f"config must be a BDTConfig, a preset name or a dict, got {config!r}")


@dataclass(frozen=True)
class WeakProducer(ScoreProducer):
    """Base of the data-vs-template BDT producers (IAD, CWoLa).

    Parameters
    ----------
    config : BDTConfig or str
        Ensemble and k-fold settings, or a preset name (``"fast"``, ``"default"``,
        ``"paper"``).
    features : sequence of str or int, optional
        Feature subset by name or column (all by default).
    """

    config: BDTConfig = field(default_factory=BDTConfig)
    features: tuple[str | int, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", as_bdt_config(self.config))
        if self.features is not None:
            if isinstance(self.features, str):
                raise InputError("features must be a sequence of names or columns, not a string")
            object.__setattr__(self, "features", tuple(self.features))

    @abstractmethod
    def template(self, data: Events, window: Window,
                 reference: Events | None) -> tuple[Events, np.ndarray]:
        """The window's template as ``(source, index)``: the events ``source.select(index)``,
        where ``source`` is ``data`` (CWoLa's sidebands) or ``reference`` (IAD)."""

    def describe(self, data: Events) -> dict[str, Any]:
        cols = select_features(data.feature_names, self.features)
        return {
            "features": [data.feature_names[c] for c in cols],
            "classifier": "HistGradientBoostingClassifier ensemble, stratified k-fold",
            "fold": "k-fold split fixed per window and shared by runs; -1 = event not used in "
                    "training, scored by the ensemble of one fold drawn at random",
        }

    def score_window(self, data: Events, window: Window, *, runs: int,
                     seed: np.random.SeedSequence, reference: Events | None,
                     score_range: tuple[float, float] | None,
                     progress: bool) -> tuple[WindowScores, dict[str, Any]]:
        config = self.config
        cols = select_features(data.feature_names, self.features)
        x_all, m_all = data.x, data.m
        sr = window.contains(m_all)
        source, t_pos = self.template(data, window, reference)
        x_t, m_t = source.x[t_pos], source.m[t_pos]
        w_t = None if source.weight is None else source.weight[t_pos]
        t_idx = t_pos if source is data else None
        n_sr, n_t = int(sr.sum()), int(len(m_t))
        need = max(config.min_events, config.n_folds)
        if n_sr < need or n_t < need:
            raise WindowError(
                f"window {window.name!r} [{window.low}, {window.high}) TeV: {n_sr} data event(s) "
                f"in the signal region and {n_t} template event(s); {self.name} needs >= {need} "
                "of each (BDTConfig.min_events)"
            )
        keep = sr.copy()
        if score_range is not None:
            keep |= (m_all >= score_range[0]) & (m_all < score_range[1])
        in_tmpl = np.zeros(m_all.shape, dtype=bool)
        if t_idx is not None:
            in_tmpl[t_idx] = True
        extra = keep & ~sr & ~in_tmpl
        split_ss, *run_ss = seed.spawn(runs + 1)
        pos = np.cumsum(keep) - 1  # positions of the kept events in the stored arrays
        data_scores = np.zeros((runs, int(keep.sum())))
        tmpl_scores = np.zeros((runs, n_t))
        seconds, iters = [], []
        for r in range(runs):
            res = kfold_scores(x_all[sr][:, cols], np.asarray(x_t)[:, cols], config=config,
                               seed=np.random.default_rng(run_ss[r]),
                               split_seed=np.random.default_rng(split_ss),
                               x_extra=x_all[extra][:, cols])
            data_scores[r, pos[sr]] = res.data_scores
            data_scores[r, pos[extra]] = res.extra_scores
            tmpl_scores[r] = res.template_scores
            if t_idx is not None:
                t_kept = keep[t_idx]
                data_scores[r, pos[t_idx[t_kept]]] = res.template_scores[t_kept]
            seconds.append(res.train_seconds)
            iters.append(float(res.n_iter.mean()))
        fold = np.full(m_all.size, -1, dtype=np.int16)
        fold[sr] = res.data_fold
        if t_idx is not None:
            fold[t_idx] = res.template_fold
        ws = WindowScores(
            window=window,
            data=EventSet(scores=data_scores, m=m_all[keep],
                          weight=None if data.weight is None else data.weight[keep],
                          label=None if data.label is None else data.label[keep],
                          fold=fold[keep], event_id=np.flatnonzero(keep)),
            template=EventSet(scores=tmpl_scores, m=m_t, weight=w_t, fold=res.template_fold,
                              event_id=t_pos),
        )
        info = {"n_data_sr": n_sr, "n_template": n_t, "n_data_extra": int(extra.sum()),
                "train_seconds": [round(s, 3) for s in seconds],
                "n_iter_mean": [round(i, 2) for i in iters]}
        return ws, info
