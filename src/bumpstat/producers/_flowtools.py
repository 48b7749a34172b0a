"""Pieces shared by the flow-based producers (CATHODE, LaCATHODE, ANODE, SALAD).

* :class:`FlowMethodConfig` — the background MAF, the ANODE data flow, the BDT ensemble and the
  k of the k-fold, with the presets ``test`` / ``fast`` / ``paper``;
* :func:`torch_threads` — torch's intra-op threads for a block, restored afterwards
  (:func:`bumpstat.parallel.torch_threads`);
* :func:`window_background` — the SB-trained conditional flow ``p_bg(x | m)`` of one window
  (:func:`bumpstat.flows.background.fit_background`), its preprocessing support widened to every
  event that will be scored;
* :func:`folds` — a seeded, balanced fold index.

Nothing here imports torch at import time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from bumpstat.classifiers.bdt import BDTConfig
from bumpstat.events import Events
from bumpstat.exceptions import InputError, WindowError
from bumpstat.flows.config import FlowConfig
from bumpstat.parallel import available_cpus
from bumpstat.serialize import jsonable
from bumpstat.windows import DEFAULT_RANGE, Window

__all__ = ["FlowMethodConfig", "as_flow_method_config", "folds", "torch_threads",
           "window_background"]


def torch_threads(n: int | None) -> Any:
    """:func:`bumpstat.parallel.torch_threads`: ``n`` torch threads (default
    :func:`available_cpus`, capped by the idle CPUs) for a block, the caller's count restored."""
    from bumpstat.parallel import torch_threads as _threads

    return _threads(int(n) if n else None)


def folds(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fold index ``0..k-1`` of ``n`` events, balanced and shuffled with ``rng``."""
    return (np.arange(n) % k)[rng.permutation(n)].astype(np.int16)


@dataclass(frozen=True)
class FlowMethodConfig:
    """Settings of the flow-based producers.

    Attributes
    ----------
    background : FlowConfig
        Conditional MAF ``p_bg(x | m)`` trained on the sidebands (CATHODE, LaCATHODE, ANODE).
    data_flow : FlowConfig
        ANODE's conditional flow ``p_data(x | m)`` trained on the SR data.
    classifier : BDTConfig
        BDT ensemble of the weakly supervised step (CATHODE, LaCATHODE, SALAD); its ``n_folds``
        is set to :attr:`n_folds`; ``n_threads=None`` (the presets) means
        :func:`bumpstat.parallel.available_cpus` threads.
    n_folds : int
        k of the k-fold: BDT folds, and ANODE's data-flow folds.
    oversample : float
        Template size in units of N_SR (CATHODE samples, LaCATHODE normal samples).
    m_bins : int
        Bins of the SR mass histogram of the background model.
    margin : float
        Preprocessing margin (fraction of each feature's range).
    reweighter : dict
        SALAD's m-parametrised reweighting network: ``hidden``, ``n_layers``, ``epochs``,
        ``batch_size``, ``lr``, ``max_train_events`` (see :mod:`bumpstat.flows.mlp`).
    n_threads : int or None
        torch threads (``None``: :func:`bumpstat.parallel.available_cpus`); BDTs keep the
        classifier's own ``n_threads``.
    """

    background: FlowConfig = field(default_factory=FlowConfig.maf_small)
    data_flow: FlowConfig = field(default_factory=FlowConfig.rqs_small)
    classifier: BDTConfig = field(
        default_factory=lambda: BDTConfig(n_models=2, n_threads=None))
    n_folds: int = 5
    oversample: float = 4.0
    m_bins: int = 40
    margin: float = 0.05
    reweighter: dict = field(default_factory=lambda: {
        "hidden": 64, "n_layers": 3, "epochs": 10, "batch_size": 1024, "lr": 1e-3,
        "max_train_events": 400_000})
    n_threads: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.n_folds, bool) or int(self.n_folds) < 2:
            raise InputError(f"FlowMethodConfig: n_folds must be >= 2, got {self.n_folds}")
        if not float(self.oversample) > 0:
            raise InputError(f"FlowMethodConfig: oversample must be positive, "
                             f"got {self.oversample}")
        if self.n_threads is not None and int(self.n_threads) < 1:
            raise InputError(f"FlowMethodConfig: n_threads must be None or >= 1, "
                             f"got {self.n_threads}")
        for name, typ in (("background", FlowConfig), ("data_flow", FlowConfig),
                          ("classifier", BDTConfig)):
            v = getattr(self, name)
            if isinstance(v, dict):
                v = typ(**v)
            if not isinstance(v, typ):
                raise InputError(f"FlowMethodConfig.{name} must be a {typ.__name__}, got {v!r}")
            object.__setattr__(self, name, v)
        if self.classifier.n_folds != int(self.n_folds):
            object.__setattr__(self, "classifier", self.classifier.with_(n_folds=int(self.n_folds)))
        object.__setattr__(self, "reweighter", dict(self.reweighter))

    @property
    def threads(self) -> int:
        """torch threads to use."""
        return int(self.n_threads) if self.n_threads else available_cpus()

    @classmethod
    def test(cls) -> FlowMethodConfig:
        """Tiny flows, 1 BDT per fold, 3 folds: seconds per window on 2 cores (unit tests)."""
        return cls(background=FlowConfig.maf_test().replace(epochs=5, batch_size=512,
                                                                max_train_events=15_000),
                   data_flow=FlowConfig.rqs_test().replace(epochs=3, batch_size=512),
                   classifier=BDTConfig(n_models=1, max_iter=60, n_threads=None), n_folds=3,
                   m_bins=20,
                   reweighter={"hidden": 32, "n_layers": 2, "epochs": 4, "batch_size": 512,
                               "lr": 3e-3, "max_train_events": 40_000})

    @classmethod
    def fast(cls) -> FlowMethodConfig:
        """CPU default: the small MAF (30 epochs, at most 300k SB events), the small RQS for
        ANODE, 2 BDTs per fold, 5 folds; a few minutes per window on 2 cores with 1M events."""
        return cls(background=FlowConfig.maf_small().replace(max_train_events=300_000))

    @classmethod
    def paper(cls) -> FlowMethodConfig:
        """The papers' sizes: background MAF of Das, Kasieczka & Shih [arXiv:2312.11629] App. A
        (15 blocks × 128, 100 epochs; the CATHODE flow of arXiv:2109.00546 has the same size),
        ANODE RQS of Das, Kasieczka & Shih App. A, 50 BDTs per fold with k = 5 (Das et al.
        [arXiv:2411.00085] App. A.1), SALAD reweighter 3 × 64 for 50 epochs (arXiv:2001.05001
        used a 3-layer network of this width). Hours per window on CPU."""
        return cls(background=FlowConfig.maf_paper(), data_flow=FlowConfig.rqs_paper(),
                   classifier=BDTConfig(n_models=50, n_threads=None), n_folds=5, m_bins=50,
                   reweighter={"hidden": 64, "n_layers": 3, "epochs": 50, "batch_size": 256,
                               "lr": 1e-3, "max_train_events": None})

    @classmethod
    def preset(cls, name: str) -> FlowMethodConfig:
        """``"test"``, ``"fast"`` or ``"paper"``."""
        presets = {"test": cls.test, "fast": cls.fast, "paper": cls.paper}
        if name not in presets:
            raise InputError(f"unknown preset {name!r}; choose one of {sorted(presets)}")
        return presets[name]()

    def with_(self, **changes: Any) -> FlowMethodConfig:
        """A copy with fields changed; ``n_models`` and ``max_iter`` go to the classifier."""
        clf = {k: changes.pop(k) for k in ("n_models", "max_iter") if k in changes}
        out = replace(self, **changes)
        if clf:
            out = replace(out, classifier=out.classifier.with_(**clf))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return jsonable(asdict(self))


def as_flow_method_config(config: Any) -> FlowMethodConfig:
    """A :class:`FlowMethodConfig` from itself, a preset name or a dict of fields."""
    if isinstance(config, FlowMethodConfig):
        return config
    if isinstance(config, str):
        return FlowMethodConfig.preset(config)
    if isinstance(config, dict):
        return FlowMethodConfig(**config)
    raise InputError(f"config must be a FlowMethodConfig, a preset name or a dict, got {config!r}")


def window_background(data: Events, window: Window, cfg: FlowMethodConfig, *,
                      cols: list[int], seed: np.random.SeedSequence, sideband: str,
                      sideband_width: float, fit_range: tuple[float, float],
                      support: np.ndarray | None, progress: bool) -> Any:
    """The window's :class:`~bumpstat.flows.background.BackgroundModel` trained on the sidebands.

    ``support`` (a boolean mask of ``data``) names further events whose features must lie inside
    the preprocessing support (the events scored outside the window).
    """
    from bumpstat.flows.background import fit_background

    m, x = data.m, data.x[:, cols]
    sr = window.contains(m)
    sb = window.sideband_mask(m, kind=sideband, width=sideband_width, fit_range=fit_range)
    if int(sr.sum()) < 20 or int(sb.sum()) < 20:
        raise WindowError(f"window {window.name!r}: {int(sr.sum())} SR and {int(sb.sum())} "
                          "sideband event(s); the background flow needs >= 20 of each")
    sup = sr if support is None else (sr | support)
    return fit_background(m[sb], x[sb], m[sr], window=window, x_sr=x[sup],
                          config=cfg.background, m_bins=cfg.m_bins, margin=cfg.margin,
                          seed=np.random.default_rng(seed), progress=progress,
                          n_threads=cfg.threads)




def check_sideband(sideband: str, sideband_width: float) -> None:
    """Validate the sideband options of a flow producer."""
    if sideband not in ("full", "short"):
        raise InputError(f"sideband must be 'full' or 'short', got {sideband!r}")
    if not float(sideband_width) > 0:
        raise WindowError(f"sideband_width must be positive, got {sideband_width} TeV")


def bdt_window_scores(data: Events, window: Window, *, x_sr: np.ndarray, x_extra: np.ndarray,
                      keep: np.ndarray, x_template: np.ndarray, m_template: np.ndarray,
                      w_template: np.ndarray, config: BDTConfig, runs: int,
                      split_ss: np.random.SeedSequence,
                      run_ss: list[np.random.SeedSequence]) -> tuple[Any, dict[str, Any]]:
    """SR data (``x_sr``) vs a generated template with the BDT k-fold; out-of-fold scores.

    ``keep`` marks the data events stored (the SR and, with a score range, the events in it);
    ``x_extra`` are the features of the kept events outside the SR, each scored by the ensemble
    of one fold drawn at random (``fold = -1``). Template events carry no ``event_id`` (fresh
    samples in every window).
    """
    from bumpstat.classifiers.bdt import kfold_scores
    from bumpstat.scores.schema import EventSet, WindowScores

    if config.n_threads is None:
        config = config.with_(n_threads=available_cpus())
    sr = window.contains(data.m)
    pos = np.cumsum(keep) - 1
    extra = keep & ~sr
    n_sr, n_t = int(sr.sum()), len(m_template)
    need = max(config.min_events, config.n_folds)
    if n_sr < need or n_t < need:
        raise WindowError(f"window {window.name!r}: {n_sr} SR data and {n_t} template event(s); "
                          f"the classifier needs >= {need} of each (BDTConfig.min_events)")
    d_scores, t_scores = np.zeros((runs, int(keep.sum()))), np.zeros((runs, n_t))
    seconds = []
    res = None
    for r in range(runs):
        res = kfold_scores(x_sr, x_template, config=config, seed=np.random.default_rng(run_ss[r]),
                           split_seed=np.random.default_rng(split_ss),
                           x_extra=x_extra if extra.any() else None)
        d_scores[r, pos[sr]] = res.data_scores
        if extra.any():
            d_scores[r, pos[extra]] = res.extra_scores
        t_scores[r] = res.template_scores
        seconds.append(round(res.train_seconds, 3))
    assert res is not None
    fold = np.full(data.m.size, -1, dtype=np.int16)
    fold[sr] = res.data_fold
    ws = WindowScores(
        window=window,
        data=EventSet(scores=d_scores, m=data.m[keep],
                      weight=None if data.weight is None else data.weight[keep],
                      label=None if data.label is None else data.label[keep],
                      fold=fold[keep], event_id=np.flatnonzero(keep)),
        template=EventSet(scores=t_scores, m=m_template, weight=w_template,
                          fold=res.template_fold),
    )
    return ws, {"n_data_sr": n_sr, "n_template": n_t, "n_data_extra": int(extra.sum()),
                "classifier_seconds": seconds}


def score_mask(m: np.ndarray, window: Window,
               score_range: tuple[float, float] | None) -> np.ndarray:
    """Data events to store: the SR, and every event in ``score_range``."""
    keep = window.contains(m)
    if score_range is not None:
        keep = keep | ((m >= score_range[0]) & (m < score_range[1]))
    return keep


@dataclass(frozen=True)
class FlowProducerBase:
    """Options shared by the flow producers (mixed into their frozen dataclasses).

    Parameters
    ----------
    config : FlowMethodConfig or str
        Settings, or a preset name: ``"test"``, ``"fast"`` (default), ``"paper"``.
    features : sequence of str or int, optional
        Feature subset (all by default).
    sideband : {"full", "short"}
        Sidebands the background flow is trained on (full: the rest of ``fit_range``).
    sideband_width : float
        Width of short sidebands in TeV.
    fit_range : (float, float)
        Analysis range in TeV (full sidebands).
    """

    config: Any = "fast"
    features: tuple[str | int, ...] | None = None
    sideband: str = "full"
    sideband_width: float = 0.2
    fit_range: tuple[float, float] = DEFAULT_RANGE

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", as_flow_method_config(self.config))
        if self.features is not None:
            if isinstance(self.features, str):
                raise InputError("features must be a sequence of names or columns, not a string")
            object.__setattr__(self, "features", tuple(self.features))
        check_sideband(self.sideband, self.sideband_width)
        object.__setattr__(self, "fit_range", tuple(float(v) for v in self.fit_range))

    def background_for(self, data: Events, window: Window, cols: list[int],
                       seed: np.random.SeedSequence, support: np.ndarray | None,
                       progress: bool) -> Any:
        """:func:`window_background` with this producer's options."""
        return window_background(data, window, self.config, cols=cols, seed=seed,
                                 sideband=self.sideband, sideband_width=self.sideband_width,
                                 fit_range=self.fit_range, support=support, progress=progress)
