"""CATHODE: SR data vs samples of the sideband-trained background flow (Hallin et al.,
arXiv:2109.00546; Hallin et al. [arXiv:2210.14924] and Das et al. [arXiv:2411.00085]).

Per window:

1. ``p_bg(x | m)``: the conditional MAF trained on the sidebands
   (:func:`~bumpstat.flows.background.fit_background`, preprocessing with its Jacobian);
2. the template: the flow sampled in the SR with m drawn from a KDE of the SR masses,
   ``oversample`` × N_SR events (4 by default), each with weight ``1/oversample``
   (:func:`~bumpstat.flows.cathode.sr_template`) — the direct method's template;
3. a BDT ensemble trained SR data (class 1) vs the samples (class 0) with stratified k-fold
   (:func:`~bumpstat.classifiers.bdt.kfold_scores`): every SR data event and every sample gets
   an out-of-fold score.

With ``score_range`` the data events in the range outside the window are scored by the mean of
the k fold ensembles (``fold = -1``). The classifier is trained in the SR only, so this is an
extrapolation: with features correlated with m it sculpts the m spectrum (Hallin et al.), which is
what :class:`~bumpstat.producers.lacathode.LaCATHODEProducer` avoids.

Seeds: the window's seed is split into the background flow, the template, the fold split and
one child per run; runs are independent classifier trainings sharing the flow and the template.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bumpstat.events import Events
from bumpstat.producers._flowtools import (
    FlowProducerBase,
    bdt_window_scores,
    score_mask,
    torch_threads,
)
from bumpstat.producers.base import ScoreProducer, select_features
from bumpstat.scores.schema import WindowScores
from bumpstat.windows import Window

__all__ = ["CATHODEProducer"]


@dataclass(frozen=True)
class CATHODEProducer(FlowProducerBase, ScoreProducer):
    """CATHODE scores (BDT ensemble, data vs flow samples, out of fold) and template.

    Parameters
    ----------
    config : FlowMethodConfig or str
        ``"test"`` (seconds), ``"fast"`` (CPU default), ``"paper"`` (hours per window).
    features, sideband, sideband_width, fit_range
        See :class:`~bumpstat.producers._flowtools.FlowProducerBase`.

    Examples
    --------
    >>> from bumpstat.data import SyntheticLHCO
    >>> data = SyntheticLHCO().sample(n_background=60_000, n_signal=300, seed=3)
    >>> sf = CATHODEProducer(config="test").produce(data, [Window(3.3, 3.7)], seed=1,
    ...                                             progress=False)
    >>> t = sf.windows[0].template
    >>> sf.method, round(float(t.weight[0]), 2), t.n_events // sf.windows[0].data.n_events
    ('cathode', 0.25, 4)
    """

    name: ClassVar[str] = "cathode"

    def describe(self, data: Events) -> dict[str, Any]:
        cols = select_features(data.feature_names, self.features)
        k = self.config.oversample
        return {"features": [data.feature_names[c] for c in cols],
                "score": "BDT ensemble P(data | x), SR data vs background-flow samples",
                "template": f"CATHODE: background flow sampled in the SR (m from a KDE of the SR "
                            f"masses), oversampled x{k:g}, weight 1/{k:g}",
                "fold": "stratified k-fold of SR data and samples, shared by runs; -1 = data "
                        "outside the window, scored by the ensemble of one fold drawn at random",
                "sidebands": self.sideband, "config": self.config.to_dict()}

    def score_window(self, data: Events, window: Window, *, runs: int,
                     seed: np.random.SeedSequence, reference: Events | None,
                     score_range: tuple[float, float] | None,
                     progress: bool) -> tuple[WindowScores, dict[str, Any]]:
        from bumpstat.flows.cathode import sr_template

        cfg = self.config
        cols = select_features(data.feature_names, self.features)
        m, x = data.m, data.x[:, cols]
        sr = window.contains(m)
        keep = score_mask(m, window, score_range)
        bg_ss, tmpl_ss, split_ss, *run_ss = seed.spawn(3 + runs)
        t0 = time.perf_counter()
        with torch_threads(cfg.threads):
            bg = self.background_for(data, window, cols, bg_ss, keep & ~sr, progress)
            t1 = time.perf_counter()
            tmpl = sr_template(bg, m[sr], oversample=cfg.oversample,
                               seed=np.random.default_rng(tmpl_ss))
        t2 = time.perf_counter()
        ws, info = bdt_window_scores(
            data, window, x_sr=x[sr], x_extra=x[keep & ~sr], keep=keep, x_template=tmpl.x,
            m_template=tmpl.m, w_template=np.full(len(tmpl), tmpl.weight),
            config=cfg.classifier, runs=runs, split_ss=split_ss, run_ss=run_ss)
        info.update(oversample=float(cfg.oversample),
                    seconds={"background": round(t1 - t0, 3), "template": round(t2 - t1, 3),
                             "classifier": round(time.perf_counter() - t2, 3)},
                    background_events_per_second=round(
                        bg.flow.history["events_per_second"], 1))
        return ws, info
