"""LaCATHODE: the CATHODE classifier trained in the background flow's latent space (Hallin et al.
[arXiv:2210.14924],
Hallin et al., arXiv:2210.14924).

Per window:

1. ``p_bg(x | m)``: the conditional MAF trained on the sidebands, as for CATHODE; it maps every
   event to a latent space, ``z = f(x; m)`` (:func:`~bumpstat.flows.latent.to_latent`), where
   the background is standard normal *for every m*;
2. the template: ``oversample`` × N_SR standard-normal samples (weight ``1/oversample``), with m
   drawn from the KDE of the SR masses (used only for the stored ``m``);
3. a BDT ensemble trained SR data in latent space (class 1) vs the normal samples (class 0) with
   stratified k-fold: every SR data event and every sample gets an out-of-fold score.

Because z is independent of m in the background, the score does not sculpt the m spectrum
when it is applied outside the window: with ``score_range`` every data event in the range is
mapped to z and scored by the ensemble of one fold drawn at random (``fold = -1``; distributed
like the out-of-fold SR scores, see :func:`~bumpstat.classifiers.bdt.kfold_scores`), so that the
fit-based bump hunt applies. Sideband events were used to train the flow (not the classifier).
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

__all__ = ["LaCATHODEProducer"]


@dataclass(frozen=True)
class LaCATHODEProducer(FlowProducerBase, ScoreProducer):
    """LaCATHODE scores (BDT ensemble in the latent space, out of fold) and template.

    Parameters
    ----------
    config : FlowMethodConfig or str
        ``"test"`` (seconds), ``"fast"`` (CPU default), ``"paper"`` (hours per window).
    features, sideband, sideband_width, fit_range
        See :class:`~bumpstat.producers._flowtools.FlowProducerBase`.

    Examples
    --------
    >>> from bumpstat.data import SyntheticLHCO
    >>> data = SyntheticLHCO().sample(n_background=60_000, seed=3)
    >>> sf = LaCATHODEProducer(config="test").produce(data, [Window(3.3, 3.7)], seed=1,
    ...                                               score_range=(3.0, 4.0), progress=False)
    >>> d = sf.windows[0].data
    >>> bool(d.m.min() < 3.3 < 3.7 < d.m.max()), sorted(set(d.fold.tolist()))
    (True, [-1, 0, 1, 2])
    """

    name: ClassVar[str] = "lacathode"

    def describe(self, data: Events) -> dict[str, Any]:
        cols = select_features(data.feature_names, self.features)
        k = self.config.oversample
        return {"features": [data.feature_names[c] for c in cols],
                "score": "BDT ensemble P(data | z), SR data mapped to the background flow's "
                         "latent space vs standard-normal samples",
                "template": f"standard-normal latent samples, x{k:g} the SR data, weight "
                            f"1/{k:g} (m from a KDE of the SR masses)",
                "fold": "stratified k-fold of SR data and samples, shared by runs; -1 = data "
                        "outside the window, scored by the ensemble of one fold drawn at random",
                "sidebands": self.sideband, "config": self.config.to_dict()}

    def score_window(self, data: Events, window: Window, *, runs: int,
                     seed: np.random.SeedSequence, reference: Events | None,
                     score_range: tuple[float, float] | None,
                     progress: bool) -> tuple[WindowScores, dict[str, Any]]:
        from bumpstat.flows.cathode import _sample_kde_in_window
        from bumpstat.flows.latent import to_latent

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
            z = to_latent(bg, x[keep], m[keep])
        in_sr = sr[keep]
        rng = np.random.default_rng(tmpl_ss)
        n_t = int(round(cfg.oversample * int(sr.sum())))
        m_t = _sample_kde_in_window(m[sr], n_t, window.low, window.high, rng, None)
        z_t = rng.standard_normal((n_t, len(cols)))
        t2 = time.perf_counter()
        ws, info = bdt_window_scores(
            data, window, x_sr=z[in_sr], x_extra=z[~in_sr], keep=keep, x_template=z_t,
            m_template=m_t, w_template=np.full(n_t, n_t and int(sr.sum()) / n_t),
            config=cfg.classifier, runs=runs, split_ss=split_ss, run_ss=run_ss)
        info.update(oversample=float(cfg.oversample),
                    latent_sr_mean=[round(float(v), 4) for v in z[in_sr].mean(0)],
                    latent_sr_std=[round(float(v), 4) for v in z[in_sr].std(0)],
                    seconds={"background": round(t1 - t0, 3), "latent": round(t2 - t1, 3),
                             "classifier": round(time.perf_counter() - t2, 3)},
                    background_events_per_second=round(
                        bg.flow.history["events_per_second"], 1))
        return ws, info
