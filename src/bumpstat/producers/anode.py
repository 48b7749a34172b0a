"""ANODE: the ratio of two conditional densities, ``R = p_data(x | m) / p_bg(x | m)`` (Nachman &
Shih, arXiv:2001.04990; compared with R-ANODE in Das, Kasieczka & Shih [arXiv:2312.11629]).

Per window:

1. ``p_bg(x | m)``: the conditional MAF trained on the sidebands
   (:func:`~bumpstat.flows.background.fit_background`);
2. ``p_data(x | m)``: a second conditional flow (RQS, as in Das, Kasieczka & Shih App. A) trained
   on the SR data in the same preprocessed space (the SB preprocessing, so the Jacobians cancel
   in R);
3. k-fold: the SR data are split into ``config.n_folds`` folds (seeded, shared by the runs); the
   data flow of fold f is trained on the other folds and scores fold f, ``log R = log p_data -
   log p_bg``; the CATHODE template (the background flow sampled in the SR, ``oversample`` ×
   N_SR, weight ``1/oversample``) is split the same way and scored by its fold's flow, so data
   and template see the same score functions and no data event is scored by a flow trained on
   it.

``p_data`` is learned in the SR only, so the score is not defined outside the window
(``score_range`` is refused).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bumpstat.events import Events
from bumpstat.exceptions import WindowError
from bumpstat.producers._flowtools import FlowProducerBase, folds, torch_threads
from bumpstat.producers.base import ScoreProducer, select_features
from bumpstat.scores.schema import EventSet, WindowScores
from bumpstat.windows import Window

__all__ = ["ANODEProducer"]


@dataclass(frozen=True)
class ANODEProducer(FlowProducerBase, ScoreProducer):
    """ANODE scores ``log p_data(x|m) - log p_bg(x|m)`` out of fold, with a CATHODE template.

    Parameters
    ----------
    config : FlowMethodConfig or str
        ``"test"``, ``"fast"`` (CPU default), ``"paper"``; ``data_flow`` is the SR flow and
        ``n_folds`` its k.
    features, sideband, sideband_width, fit_range
        See :class:`~bumpstat.producers._flowtools.FlowProducerBase`.
    """

    name: ClassVar[str] = "anode"
    supports_score_range: ClassVar[bool] = False

    def describe(self, data: Events) -> dict[str, Any]:
        cols = select_features(data.feature_names, self.features)
        k = self.config.oversample
        return {"features": [data.feature_names[c] for c in cols],
                "score": "log p_data(x|m) - log p_bg(x|m) (ANODE flows, out of fold)",
                "template": f"CATHODE: background flow sampled in the SR, oversampled x{k:g}, "
                            f"weight 1/{k:g}",
                "fold": "k-fold split of the SR data (and of the template) per window, shared "
                        "by runs; each event scored by the data flow not trained on its fold",
                "sidebands": self.sideband, "config": self.config.to_dict()}

    def score_window(self, data: Events, window: Window, *, runs: int,
                     seed: np.random.SeedSequence, reference: Events | None,
                     score_range: tuple[float, float] | None,
                     progress: bool) -> tuple[WindowScores, dict[str, Any]]:
        from bumpstat.flows.cathode import sr_template
        from bumpstat.flows.flow import fit_flow

        cfg = self.config
        k = int(cfg.n_folds)
        cols = select_features(data.feature_names, self.features)
        m, x = data.m, data.x[:, cols]
        sr = window.contains(m)
        n_sr = int(sr.sum())
        if n_sr < max(20, 4 * k):
            raise WindowError(f"only {n_sr} events in the SR {window.name!r}: too few for "
                              f"{k}-fold ANODE")
        bg_ss, tmpl_ss, split_ss, *run_ss = seed.spawn(3 + runs)
        secs: dict[str, float] = {}
        t0 = time.perf_counter()
        with torch_threads(cfg.threads):
            bg = self.background_for(data, window, cols, bg_ss, None, progress)
            m_sr, x_sr = m[sr], x[sr]
            tmpl = sr_template(bg, m_sr, oversample=cfg.oversample,
                               seed=np.random.default_rng(tmpl_ss))
            secs["background"] = time.perf_counter() - t0
            # densities in the SB-preprocessed space: the Jacobian cancels in the ratio
            z_d, _ = bg.x_pre.transform(x_sr)
            z_t, _ = bg.x_pre.transform(tmpl.x)
            c_d, c_t = bg._ctx(m_sr), bg._ctx(tmpl.m)
            lpb_d = bg.flow.log_prob(z_d, c_d)
            lpb_t = bg.flow.log_prob(z_t, c_t)
            split = np.random.default_rng(split_ss)
            fold_d, fold_t = folds(n_sr, k, split), folds(len(tmpl), k, split)
            s_d, s_t = np.empty((runs, n_sr)), np.empty((runs, len(tmpl)))
            t0 = time.perf_counter()
            rates = []
            for r in range(runs):
                for f, fss in enumerate(run_ss[r].spawn(k)):
                    train, test, tt = fold_d != f, fold_d == f, fold_t == f
                    flow = fit_flow(z_d[train], config=cfg.data_flow, context=c_d[train],
                                    seed=np.random.default_rng(fss), progress=progress,
                                    desc=f"p_data(x|m) fold {f}", n_threads=cfg.threads)
                    rates.append(flow.history["events_per_second"])
                    s_d[r, test] = flow.log_prob(z_d[test], c_d[test]) - lpb_d[test]
                    s_t[r, tt] = flow.log_prob(z_t[tt], c_t[tt]) - lpb_t[tt]
            secs["data_flows"] = time.perf_counter() - t0
        ws = WindowScores(
            window=window,
            data=EventSet(scores=s_d, m=m_sr, weight=None if data.weight is None
                          else data.weight[sr],
                          label=None if data.label is None else data.label[sr],
                          fold=fold_d, event_id=np.flatnonzero(sr)),
            template=EventSet(scores=s_t, m=tmpl.m, weight=np.full(len(tmpl), tmpl.weight),
                              fold=fold_t),
        )
        info = {"n_data_sr": n_sr, "n_template": len(tmpl), "n_folds": k,
                "oversample": float(cfg.oversample),
                "seconds": {key: round(v, 3) for key, v in secs.items()},
                "background_events_per_second": round(bg.flow.history["events_per_second"], 1),
                "data_flow_events_per_second": round(float(np.mean(rates)), 1)}
        return ws, info
