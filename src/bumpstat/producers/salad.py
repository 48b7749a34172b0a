"""SALAD: simulation reweighted to the data in the sidebands, interpolated into the SR, then
data vs reweighted simulation (Andreassen, Nachman & Shih, arXiv:2001.05001).

Per window, with ``reference`` the simulated background sample (in the synthetic world the
``alternative`` generator plays the simulation):

1. a classifier parametrised in m, a small fully connected network on ``(x, m)``
   (:func:`~bumpstat.flows.mlp.fit_mlp_classifier`), is trained data (class 1) vs simulation
   (class 0) in the sidebands, the classes balanced; its odds ``w(x, m) = p/(1 - p)`` reweight
   the simulation to the data. The network is smooth in m, so the weights are interpolated into
   the SR;
2. the simulated events in the SR get the weights ``w(x, m)``, normalised so that they sum to the
   number of SR data events (the template of the direct method, event_id = position in
   ``reference``);
3. a BDT ensemble (scikit-learn ``HistGradientBoostingClassifier`` with event weights) is
   trained SR data vs reweighted SR simulation with stratified k-fold, the classes balanced by
   weight: every SR data event and every template event gets an out-of-fold score.

The score is defined in the SR only (``score_range`` is refused). Assumes that the simulation
differs from the data smoothly in m, so that the sideband correction holds in the SR.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bumpstat.classifiers.bdt import BDTConfig
from bumpstat.events import Events
from bumpstat.exceptions import WindowError
from bumpstat.parallel import available_cpus
from bumpstat.producers._flowtools import FlowProducerBase, folds, torch_threads
from bumpstat.producers.base import ScoreProducer, select_features
from bumpstat.scores.schema import EventSet, WindowScores
from bumpstat.windows import Window

__all__ = ["SALADProducer", "weighted_kfold_scores"]


def weighted_kfold_scores(x1: np.ndarray, x0: np.ndarray, w0: np.ndarray, *,
                          config: BDTConfig, fold1: np.ndarray, fold0: np.ndarray,
                          seed: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold mean ``P(1 | x)`` of class 1 (unit weights) vs class 0 (weights ``w0``):
    for each fold an ensemble of ``config.n_models`` BDTs trained on the other folds, the two
    classes balanced by their total weight."""
    from bumpstat._extras import require

    HistGradientBoostingClassifier = require("sklearn.ensemble").HistGradientBoostingClassifier
    limits = require("threadpoolctl").threadpool_limits

    s1, s0 = np.zeros(len(x1)), np.zeros(len(x0))
    k = int(config.n_folds)
    for f, fss in enumerate(seed.spawn(k)):
        tr1, tr0 = fold1 != f, fold0 != f
        x = np.concatenate([x1[tr1], x0[tr0]])
        y = np.concatenate([np.ones(int(tr1.sum())), np.zeros(int(tr0.sum()))])
        w = np.concatenate([np.ones(int(tr1.sum())), w0[tr0] * tr1.sum() / w0[tr0].sum()])
        seeds = np.random.default_rng(fss).integers(0, 2**31 - 1, config.n_models)
        with limits(int(config.n_threads or available_cpus()), user_api="openmp"):
            for s in seeds:
                clf = HistGradientBoostingClassifier(
                    learning_rate=config.learning_rate, max_leaf_nodes=config.max_leaf_nodes,
                    max_bins=config.max_bins, max_iter=config.max_iter, early_stopping=True,
                    n_iter_no_change=config.n_iter_no_change,
                    validation_fraction=config.validation_fraction, random_state=int(s))
                clf.fit(x, y, sample_weight=w)
                s1[fold1 == f] += clf.predict_proba(x1[fold1 == f])[:, 1] / config.n_models
                s0[fold0 == f] += clf.predict_proba(x0[fold0 == f])[:, 1] / config.n_models
    return s1, s0


@dataclass(frozen=True)
class SALADProducer(FlowProducerBase, ScoreProducer):
    """SALAD scores (needs ``reference``: the simulated background sample).

    Parameters
    ----------
    config : FlowMethodConfig or str
        ``"test"``, ``"fast"``, ``"paper"``: ``reweighter`` (the m-parametrised network),
        ``classifier`` and ``n_folds`` are used.
    features, sideband, sideband_width, fit_range
        Sidebands in which the simulation is reweighted (as for
        :class:`~bumpstat.producers._flowtools.FlowProducerBase`).
    """

    name: ClassVar[str] = "salad"
    needs_reference: ClassVar[bool] = True
    reference_is_simulation: ClassVar[bool] = True
    supports_score_range: ClassVar[bool] = False

    def describe(self, data: Events) -> dict[str, Any]:
        cols = select_features(data.feature_names, self.features)
        return {"features": [data.feature_names[c] for c in cols],
                "score": "weighted BDT ensemble P(data | x), SR data vs SR simulation "
                         "reweighted by an m-parametrised data/simulation classifier trained "
                         "in the sidebands",
                "template": "simulation (reference) in the SR with the SALAD weights, "
                            "normalised to the SR data count",
                "fold": "stratified k-fold of SR data and SR simulation, shared by runs",
                "sidebands": self.sideband, "config": self.config.to_dict()}

    def score_window(self, data: Events, window: Window, *, runs: int,
                     seed: np.random.SeedSequence, reference: Events | None,
                     score_range: tuple[float, float] | None,
                     progress: bool) -> tuple[WindowScores, dict[str, Any]]:
        from bumpstat.flows.mlp import fit_mlp_classifier

        assert reference is not None
        cfg = self.config
        cols = select_features(data.feature_names, self.features)
        sbk = {"kind": self.sideband, "width": self.sideband_width, "fit_range": self.fit_range}
        sr_d, sr_s = window.contains(data.m), window.contains(reference.m)
        sb_d = window.sideband_mask(data.m, **sbk)
        sb_s = window.sideband_mask(reference.m, **sbk)
        need = max(cfg.classifier.min_events, cfg.n_folds)
        counts = [int(v.sum()) for v in (sr_d, sr_s, sb_d, sb_s)]
        if min(counts) < need:
            raise WindowError(f"window {window.name!r}: SR data/simulation {counts[0]}/"
                              f"{counts[1]}, sideband data/simulation {counts[2]}/{counts[3]} "
                              f"event(s); SALAD needs >= {need} of each")
        xm_d = np.column_stack([data.x[:, cols], data.m])
        xm_s = np.column_stack([reference.x[:, cols], reference.m])
        rw_ss, split_ss, *run_ss = seed.spawn(2 + runs)
        t0 = time.perf_counter()
        n1, n0 = counts[2], counts[3]
        with torch_threads(cfg.threads):
            rw = fit_mlp_classifier(
                np.concatenate([xm_d[sb_d], xm_s[sb_s]]),
                np.concatenate([np.ones(n1), np.zeros(n0)]),
                np.concatenate([np.full(n1, 0.5 / n1), np.full(n0, 0.5 / n0)]),
                seed=np.random.default_rng(rw_ss), progress=progress,
                desc="SALAD reweighter", **cfg.reweighter)
            logit = np.clip(rw.logit(xm_s[sr_s]), -10.0, 10.0)
        w = np.exp(logit)
        w_t = w * counts[0] / w.sum()
        t1 = time.perf_counter()
        split = np.random.default_rng(split_ss)
        k = int(cfg.n_folds)
        fold_d, fold_t = folds(counts[0], k, split), folds(counts[1], k, split)
        x1, x0 = data.x[sr_d][:, cols], reference.x[sr_s][:, cols]
        s_d, s_t = np.empty((runs, counts[0])), np.empty((runs, counts[1]))
        for r in range(runs):
            s_d[r], s_t[r] = weighted_kfold_scores(x1, x0, w_t, config=cfg.classifier,
                                                   fold1=fold_d, fold0=fold_t, seed=run_ss[r])
        t2 = time.perf_counter()
        ws = WindowScores(
            window=window,
            data=EventSet(scores=s_d, m=data.m[sr_d],
                          weight=None if data.weight is None else data.weight[sr_d],
                          label=None if data.label is None else data.label[sr_d],
                          fold=fold_d, event_id=np.flatnonzero(sr_d)),
            template=EventSet(scores=s_t, m=reference.m[sr_s], weight=w_t, fold=fold_t,
                              event_id=np.flatnonzero(sr_s)),
        )
        ess = float(w.sum() ** 2 / (w**2).sum())
        info = {"n_data_sr": counts[0], "n_template": counts[1], "n_sideband_data": n1,
                "n_sideband_simulation": n0, "weight_mean_raw": round(float(w.mean()), 4),
                "weight_effective_events": round(ess, 1), "n_folds": k,
                "reweighter_best_epoch": rw.history.get("best_epoch"),
                "seconds": {"reweighter": round(t1 - t0, 3), "classifier": round(t2 - t1, 3)},
                "reweighter_events_per_second": round(rw.history["events_per_second"], 1)}
        return ws, info
