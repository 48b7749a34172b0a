"""Autoencoder: reconstruction error of an ensemble of small autoencoders (Collins et al.
[arXiv:2104.02092] §3.2).

The ensemble (:mod:`bumpstat.flows.autoencoder`) is trained once for all windows on random
subsamples of *all* data events, across the whole m range, and knows nothing about the signal
region: the score is m-agnostic and applies everywhere, and it does not depend on the amount of
injected signal (Collins et al.: a rare signal barely changes what the members learn). Out of fold:
the events are split into ``config.n_folds`` folds (seeded); ``n_models`` members are trained on
subsamples of the other folds of each fold and score it, so no event is scored by a member that
saw it (``fold`` in the file). Runs are independent ensembles sharing the fold split.

Per window the data in the SR (and, with ``score_range``, every event in the range) are stored,
and the template is the data in the two short sidebands of ``sideband_width`` TeV (unit weights,
``event_id`` their position in ``data``): the score is independent of m only as far as the
features are, like CWoLa's template.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from bumpstat.events import Events
from bumpstat.exceptions import InputError, WindowError
from bumpstat.flows.autoencoder import AEConfig
from bumpstat.parallel import seed_sequence
from bumpstat.producers._flowtools import folds, score_mask, torch_threads
from bumpstat.producers.base import ScoreProducer, check_events, select_features
from bumpstat.scores.schema import EventSet, ScoreFile, WindowScores
from bumpstat.windows import Window

__all__ = ["AutoencoderProducer", "autoencoder_scores"]


def autoencoder_scores(x: np.ndarray, need: np.ndarray, *, config: AEConfig, runs: int,
                       seed: np.random.SeedSequence,
                       progress: bool = True) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Out-of-fold ensemble reconstruction errors of the events ``need`` (mask of ``x``).

    Returns ``(scores (runs, n), fold (n,), info)``; events outside ``need`` score 0.
    """
    from tqdm.auto import tqdm

    from bumpstat.flows.autoencoder import fit_autoencoder, reconstruction_error

    n, k = len(x), int(config.n_folds)
    mean, std = x.mean(0), x.std(0)
    xs = (x - mean) / np.where(std > 0, std, 1.0)
    split_ss, *run_ss = seed.spawn(1 + runs)
    fold = folds(n, k, np.random.default_rng(split_ss))
    scores = np.zeros((runs, n))
    t_train = t_score = 0.0
    bar = tqdm(total=runs * k * config.n_models, desc="autoencoders", disable=not progress,
               leave=False)
    with torch_threads(config.n_threads):
        for r in range(runs):
            for f, fss in enumerate(run_ss[r].spawn(k)):
                pool = np.flatnonzero(fold != f)
                target = np.flatnonzero((fold == f) & need)
                for mss in fss.spawn(config.n_models):
                    rng = np.random.default_rng(mss)
                    sub = rng.choice(pool, size=min(config.subsample, pool.size), replace=False)
                    t0 = time.perf_counter()
                    model = fit_autoencoder(xs[sub], config=config, seed=rng)
                    t1 = time.perf_counter()
                    scores[r, target] += reconstruction_error(model, xs[target]) / config.n_models
                    t_train += t1 - t0
                    t_score += time.perf_counter() - t1
                    bar.update()
    bar.close()
    n_fit = runs * k * config.n_models
    info = {"n_members": n_fit, "train_seconds": round(t_train, 3),
            "score_seconds": round(t_score, 3),
            "train_events_per_second": round(n_fit * config.epochs
                                             * min(config.subsample, n) / max(t_train, 1e-9), 1)}
    return scores, fold, info


@dataclass(frozen=True)
class AutoencoderProducer(ScoreProducer):
    """Autoencoder-ensemble reconstruction error, trained once on all events, out of fold.

    Parameters
    ----------
    config : AEConfig or str
        ``"test"``, ``"fast"`` (default), ``"paper"`` (Collins et al.: 50 members of 2 × 512).
    features : sequence of str or int, optional
        Feature subset (all by default).
    sideband_width : float
        Width in TeV of each short sideband that forms the template.

    Examples
    --------
    >>> from bumpstat.data import SyntheticLHCO
    >>> data = SyntheticLHCO().sample(n_background=20_000, n_signal=200, seed=3)
    >>> sf = AutoencoderProducer(config="test").produce(data, [Window(3.3, 3.7)], seed=1,
    ...                                                 progress=False)
    >>> sf.method, sorted(set(sf.windows[0].data.fold.tolist()))
    ('ae', [0, 1])
    """

    name: ClassVar[str] = "ae"
    config: Any = "fast"
    features: tuple[str | int, ...] | None = None
    sideband_width: float = 0.2

    def __post_init__(self) -> None:
        cfg = self.config
        if isinstance(cfg, str):
            cfg = AEConfig.preset(cfg)
        elif isinstance(cfg, dict):
            cfg = AEConfig(**cfg)
        if not isinstance(cfg, AEConfig):
            raise InputError(f"config must be an AEConfig or a preset name, got {cfg!r}")
        object.__setattr__(self, "config", cfg)
        if self.features is not None:
            if isinstance(self.features, str):
                raise InputError("features must be a sequence of names or columns, not a string")
            object.__setattr__(self, "features", tuple(self.features))
        if not float(self.sideband_width) > 0:
            raise WindowError(f"sideband_width must be positive, got {self.sideband_width} TeV")

    def describe(self, data: Events) -> dict[str, Any]:
        cols = select_features(data.feature_names, self.features)
        return {"features": [data.feature_names[c] for c in cols],
                "score": "mean reconstruction MSE of an autoencoder ensemble trained on all "
                         "events (m-agnostic, unsupervised)",
                "template": f"data in the short sidebands of {self.sideband_width:g} TeV",
                "fold": "k-fold split of all events, shared by runs; each event scored by the "
                        "members trained on the other folds",
                "config": self.config.to_dict()}

    def produce(self, data: Any, windows: Sequence[Window], *, runs: int = 1, seed: Any = 0,
                reference: Any = None, score_range: Any = None,
                progress: bool = True) -> ScoreFile:
        """Train the ensemble once, then store each window's scores (see
        :meth:`ScoreProducer.produce`)."""
        from bumpstat.producers.base import check_score_range

        data = check_events(data, "data")
        windows = tuple(windows)
        if reference is not None:
            raise InputError("ae builds its own template and takes no reference sample")
        if not windows or not all(isinstance(w, Window) for w in windows):
            raise WindowError("windows must be a non-empty sequence of Window")
        if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 1:
            raise InputError(f"runs must be an integer >= 1, got {runs!r}")
        rng_range = check_score_range(score_range)
        master = seed_sequence(seed)
        train_ss = np.random.SeedSequence(master.entropy,
                                          spawn_key=(*master.spawn_key, 0xAE0E))
        need = np.zeros(len(data), dtype=bool)
        for w in windows:
            need |= score_mask(data.m, w, rng_range)
            need |= w.sideband_mask(data.m, kind="short", width=self.sideband_width)
        cols = select_features(data.feature_names, self.features)
        t0 = time.perf_counter()
        scores, fold, info = autoencoder_scores(data.x[:, cols], need, config=self.config,
                                                runs=int(runs), seed=train_ss,
                                                progress=progress)
        info["seconds"] = round(time.perf_counter() - t0, 3)
        scored = _ScoredAE(self, scores, fold, info)
        return scored.produce(data, windows, runs=runs, seed=master, score_range=rng_range,
                              progress=progress)

    def score_window(self, data: Events, window: Window, *, runs: int,
                     seed: np.random.SeedSequence, reference: Events | None,
                     score_range: tuple[float, float] | None,
                     progress: bool) -> tuple[WindowScores, dict[str, Any]]:
        # one window on its own: train the ensemble for these events only
        sf = self.produce(data, [window], runs=runs, seed=seed, score_range=score_range,
                          progress=progress)
        return sf.windows[0], sf.metadata["windows"][window.name]


@dataclass(frozen=True)
class _ScoredAE(ScoreProducer):
    """The trained ensemble's scores of every event, cut into windows."""

    name: ClassVar[str] = "ae"
    producer: AutoencoderProducer
    scores: np.ndarray = field(repr=False)
    fold: np.ndarray = field(repr=False)
    info: dict = field(default_factory=dict)

    def options(self) -> dict[str, Any]:
        return self.producer.options()

    def describe(self, data: Events) -> dict[str, Any]:
        return {**self.producer.describe(data), "training": self.info}

    def score_window(self, data: Events, window: Window, *, runs: int,
                     seed: np.random.SeedSequence, reference: Events | None,
                     score_range: tuple[float, float] | None,
                     progress: bool) -> tuple[WindowScores, dict[str, Any]]:
        keep = score_mask(data.m, window, score_range)
        tmpl = window.sideband_mask(data.m, kind="short", width=self.producer.sideband_width)
        if int(window.contains(data.m).sum()) < 2 or int(tmpl.sum()) < 2:
            raise WindowError(f"window {window.name!r}: too few SR or sideband events")
        ws = WindowScores(
            window=window,
            data=EventSet(scores=self.scores[:, keep], m=data.m[keep],
                          weight=None if data.weight is None else data.weight[keep],
                          label=None if data.label is None else data.label[keep],
                          fold=self.fold[keep], event_id=np.flatnonzero(keep)),
            template=EventSet(scores=self.scores[:, tmpl], m=data.m[tmpl],
                              weight=None if data.weight is None else data.weight[tmpl],
                              fold=self.fold[tmpl], event_id=np.flatnonzero(tmpl)),
        )
        return ws, {"n_data": int(keep.sum()), "n_template": int(tmpl.sum())}


