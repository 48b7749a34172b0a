"""R-ANODE anomaly scores with every data event scored out of fold, and a CATHODE template.

Per window (Das, Kasieczka & Shih, arXiv:2312.11629; CATHODE: Hallin et al.,
arXiv:2109.00546):

1. ``p_bg(x, m)``: the conditional MAF trained on the sidebands and the SR mass histogram
   (:func:`~bumpstat.flows.background.fit_background`). No SR feature is learned from (the SR
   events only widen the preprocessing support and fill the mass histogram).
2. Template: the background flow sampled in the SR, m from a KDE of the SR masses,
   ``oversample`` × N_SR events (default 4), each with weight ``1/oversample``
   (:func:`~bumpstat.flows.cathode.sr_template`).
3. k-fold: the SR data events are split into ``config.n_folds`` folds (seeded, shared by the
   runs); for each fold the signal RQS flow is trained with the R-ANODE loss on the other folds
   and scores the fold's events, ``log R = log p_sig - log p_bg``. The template events are
   split into folds the same way and scored by their fold's flow, so data and template are
   scored by the same mixture of score functions and no data event is ever scored by a flow
   that saw it (``fold`` in the file). Data events carry their position in ``data`` as
   ``event_id``; template events (fresh samples in every window) carry none.

Runs are independent trainings of the k signal flows (the background flow and the template are
shared by the runs of a window). The w fit of :func:`bumpstat.flows.ranode.run_ranode` is a
separate, in-sample step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bumpstat.events import Events
from bumpstat.exceptions import InputError, WindowError
from bumpstat.flows.background import fit_background
from bumpstat.flows.cathode import sr_template
from bumpstat.flows.ranode import RanodeConfig
from bumpstat.flows.signal import fit_signal
from bumpstat.parallel import seed_sequence
from bumpstat.producers.base import ScoreProducer
from bumpstat.scores.schema import EventSet, WindowScores
from bumpstat.windows import DEFAULT_RANGE, Window

__all__ = ["RanodeProducer", "ranode_window_scores"]


def _folds(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    return (np.arange(n) % k)[rng.permutation(n)].astype(np.int16)


def ranode_window_scores(
    data: Events,
    window: Window,
    *,
    config: Any = "small",
    runs: int = 1,
    seed: Any = 0,
    oversample: float = 4.0,
    sideband: str = "full",
    sideband_width: float = 0.2,
    fit_range: tuple[float, float] = DEFAULT_RANGE,
    background: Any = None,
    progress: bool = True,
) -> tuple[WindowScores, dict[str, Any]]:
    """Out-of-fold R-ANODE scores of one window (see the module docstring).

    Parameters
    ----------
    data : Events
    window : Window
    config : RanodeConfig or str
        Flow sizes, ``n_folds`` etc., or a preset name (``"test"``, ``"small"``, ``"paper"``).
    runs : int
        Independent trainings of the k signal flows.
    seed : int or numpy.random.SeedSequence
        Seeds the background flow, the template, the fold split and every signal flow.
    oversample : float
        Template size in units of N_SR.
    sideband, sideband_width, fit_range
        Sidebands of the background flow (:meth:`Window.sideband_mask`).
    background : BackgroundModel, optional
        Reuse a background model trained on this window's sidebands (e.g. that of
        :func:`~bumpstat.flows.ranode.run_ranode`) instead of training one.
    progress : bool

    Returns
    -------
    (WindowScores, dict)
        The scores and per-window details (sizes, learned w per run and fold, timings).
    """
    cfg = RanodeConfig.preset(config) if isinstance(config, str) else config
    k = int(cfg.n_folds)
    if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 1:
        raise InputError(f"runs must be an integer >= 1, got {runs!r}")
    if not oversample > 0:
        raise InputError(f"oversample must be positive, got {oversample}")
    m, x = data.m, data.x
    sr = window.contains(m)
    n_sr = int(sr.sum())
    if n_sr < max(10, 2 * k):
        raise WindowError(f"only {n_sr} events in the SR {window.name!r}: too few for "
                          f"{k}-fold R-ANODE")
    ss = seed_sequence(seed)
    bg_ss, tmpl_ss, split_ss, *run_ss = ss.spawn(3 + int(runs))
    secs: dict[str, float] = {}
    t0 = time.perf_counter()
    if background is None:
        sb = window.sideband_mask(m, kind=sideband, width=sideband_width, fit_range=fit_range)
        background = fit_background(
            m[sb], x[sb], m[sr], window=window, x_sr=x[sr], config=cfg.background,
            m_bins=cfg.m_bins, margin=cfg.margin, seed=np.random.default_rng(bg_ss),
            progress=progress, n_threads=cfg.n_threads)
    elif background.window != window:
        raise InputError(f"the background model is for window {background.window.name!r}, "
                         f"not {window.name!r}")
    m_sr, x_sr = m[sr], x[sr]
    lpb = background.log_p(x_sr, m_sr)
    secs["background"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    tmpl = sr_template(background, m_sr, oversample=oversample,
                       seed=np.random.default_rng(tmpl_ss))
    lpb_t = background.log_p(tmpl.x, tmpl.m)
    secs["template"] = time.perf_counter() - t0
    split = np.random.default_rng(split_ss)
    fold_d, fold_t = _folds(n_sr, k, split), _folds(len(tmpl), k, split)
    s_d, s_t = np.empty((runs, n_sr)), np.empty((runs, len(tmpl)))
    w_learned = np.full((runs, k), np.nan)
    t0 = time.perf_counter()
    for r in range(runs):
        for f, fss in enumerate(run_ss[r].spawn(k)):
            train, test, tt = fold_d != f, fold_d == f, fold_t == f
            sig = fit_signal(m_sr[train], x_sr[train], lpb[train], window=window,
                             x_pre=background.x_pre, config=cfg.signal, learn_w=cfg.learn_w,
                             w_init=cfg.w_init, w_lr=cfg.w_lr, seed=np.random.default_rng(fss),
                             progress=progress, n_threads=cfg.n_threads)
            s_d[r, test] = sig.log_p(x_sr[test], m_sr[test]) - lpb[test]
            s_t[r, tt] = sig.log_p(tmpl.x[tt], tmpl.m[tt]) - lpb_t[tt]
            w_learned[r, f] = sig.w_learned if cfg.learn_w else cfg.w_init
    secs["signal"] = time.perf_counter() - t0
    ws = WindowScores(
        window=window,
        data=EventSet(scores=s_d, m=m_sr, weight=None if data.weight is None
                      else data.weight[sr], label=None if data.label is None else data.label[sr],
                      fold=fold_d, event_id=np.flatnonzero(sr)),
        template=EventSet(scores=s_t, m=tmpl.m, weight=np.full(len(tmpl), tmpl.weight),
                          fold=fold_t),
    )
    info = {"n_data_sr": n_sr, "n_template": len(tmpl), "n_folds": k,
            "oversample": float(oversample), "w_learned": w_learned.tolist(),
            "undetected": (w_learned < cfg.w_threshold).tolist() if cfg.learn_w else None,
            "seconds": {key: round(v, 3) for key, v in secs.items()}}
    return ws, info


@dataclass(frozen=True)
class RanodeProducer(ScoreProducer):
    """R-ANODE scores ``log p_sig - log p_bg`` with a CATHODE template, out of fold.

    Parameters
    ----------
    config : RanodeConfig or str
        Flow sizes and ``n_folds``, or a preset: ``"test"`` (seconds), ``"small"`` (CPU default,
        3 folds), ``"paper"`` (Das, Kasieczka & Shih App. A, 5 folds; hours on CPU).
    oversample : float
        CATHODE template size in units of N_SR (Das et al. [arXiv:2411.00085]: 4).
    sideband : {"full", "short"}
        Sidebands the background flow is trained on.
    sideband_width : float
        Width of short sidebands in TeV.
    fit_range : (float, float)
        Analysis range of full sidebands in TeV.
    """

    name: ClassVar[str] = "ranode"
    supports_score_range: ClassVar[bool] = False
    config: Any = "small"
    oversample: float = 4.0
    sideband: str = "full"
    sideband_width: float = 0.2
    fit_range: tuple[float, float] = DEFAULT_RANGE

    def __post_init__(self) -> None:
        cfg = self.config
        if isinstance(cfg, str):
            cfg = RanodeConfig.preset(cfg)
        elif isinstance(cfg, dict):
            cfg = RanodeConfig(**cfg)
        if not isinstance(cfg, RanodeConfig):
            raise InputError(f"config must be a RanodeConfig or a preset name, got {cfg!r}")
        if self.sideband not in ("full", "short"):
            raise InputError(f"sideband must be 'full' or 'short', got {self.sideband!r}")
        if not self.oversample > 0:
            raise InputError(f"oversample must be positive, got {self.oversample}")
        object.__setattr__(self, "config", cfg)
        object.__setattr__(self, "fit_range", tuple(float(v) for v in self.fit_range))

    def describe(self, data: Events) -> dict[str, Any]:
        return {"features": list(data.feature_names),
                "score": "log p_sig - log p_bg (R-ANODE flows, out of fold)",
                "template": f"CATHODE: background flow sampled in the SR, oversampled "
                            f"x{self.oversample:g}, weight 1/{self.oversample:g}",
                "fold": "k-fold split of the SR data (and of the template) per window, shared "
                        "by runs; each event scored by the signal flow not trained on its fold"}

    def score_window(self, data: Events, window: Window, *, runs: int,
                     seed: np.random.SeedSequence, reference: Events | None,
                     score_range: tuple[float, float] | None,
                     progress: bool) -> tuple[WindowScores, dict[str, Any]]:
        return ranode_window_scores(
            data, window, config=self.config, runs=runs, seed=seed, oversample=self.oversample,
            sideband=self.sideband, sideband_width=self.sideband_width, fit_range=self.fit_range,
            progress=progress)
