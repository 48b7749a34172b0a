"""Weakly supervised BDT ensembles with k-fold out-of-fold scoring (Das et al. [arXiv:2411.00085]
App. A.1).

A *classifier* is an ensemble of scikit-learn ``HistGradientBoostingClassifier`` models trained to
separate class 1 (the signal-region data) from class 0 (the background template). Every member
sees the same training events but draws its own random training/validation split for early
stopping (seeded), as in Das et al.. With k-fold cross-validation (k = 5, stratified, seeded) each
event of either class is scored exactly once by the ensemble trained on the other k - 1 folds,
so no event is ever scored by a model that was trained on it.

Score
-----
``score="proba"`` (default): the mean over ensemble members of ``P(class 1 | x)``; with balanced
class weights 0.5 means "no preference". ``score="logit"``: the mean of the members' log-odds.
Both are monotone in the learned likelihood ratio; only the ordering of events matters for a
cut, and the two agree to first order.

Speed
-----
scikit-learn fits its feature binning with weighted percentiles when class weights are given and
the training set has fewer than 200k events, which costs ~2 s per fit. This module therefore bins
the features itself once per fold (unweighted quantiles of the training events, ``max_bins`` bins,
exactly like scikit-learn's unweighted binning) and hands the integer bin indices to the BDTs,
which then use them as exact thresholds. A fit on 200k events then takes ~0.3-0.5 s on 2 cores.
Cost per window and run: ``n_folds * n_models`` fits (5 x 10 = 50 by default, 250 for the paper
configuration); see ``benchmarks/bench_classifiers.py`` and ``docs/scores_methods.md``.

>>> rng = np.random.default_rng(0)
>>> xa, xb = rng.normal(0.5, 1, (400, 2)), rng.normal(0, 1, (400, 2))
>>> res = kfold_scores(xa, xb, config=BDTConfig(n_models=2), seed=1)
>>> res.data_scores.shape, res.template_scores.shape, sorted(set(res.data_fold.tolist()))
((400,), (400,), [0, 1, 2, 3, 4])
>>> bool(res.data_scores.mean() > res.template_scores.mean())
True
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from bumpstat._extras import require
from bumpstat.exceptions import InputError

__all__ = ["BDTConfig", "BDTEnsemble", "KFoldScores", "fit_ensemble", "kfold_scores"]

_SCORES = ("proba", "logit")


@dataclass(frozen=True)
class BDTConfig:
    """Hyper-parameters of the BDT ensemble and the k-fold scheme.

    Parameters
    ----------
    n_models : int
        Ensemble size per fold (Das et al.: 50). Training time grows linearly with it.
    n_folds : int
        k of the k-fold scheme (Das et al.: 5).
    learning_rate, max_leaf_nodes, max_bins, max_iter : float, int, int, int
        ``HistGradientBoostingClassifier`` settings (Das et al.: 0.1, 31, 255, 200).
    n_iter_no_change : int
        Early-stopping patience in boosting iterations (Das et al.: 10).
    validation_fraction : float
        Fraction of the training folds held out (per member, at random) for early stopping.
    balanced : bool
        Weight the two classes inversely to their sizes (scikit-learn ``class_weight="balanced"``).
    score : {"proba", "logit"}
        Mean ensemble probability of class 1, or mean log-odds.
    min_events : int
        Fewest events of each class a training may use; fewer raises an error.
    n_threads : int or None
        OpenMP threads per fit. Default 1: on a shared or busy machine scikit-learn's OpenMP
        threads spin-wait on each other and a fit can become 10x slower, while on an idle
        2-core machine two threads gain only ~15-30% (see ``benchmarks/bench_classifiers.py``).
        ``None``: scikit-learn's default (all cores).
    """

    n_models: int = 10
    n_folds: int = 5
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    max_bins: int = 255
    max_iter: int = 200
    n_iter_no_change: int = 10
    validation_fraction: float = 0.2
    balanced: bool = True
    score: str = "proba"
    min_events: int = 100
    n_threads: int | None = 1

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (int(self.n_models) >= 1, f"n_models must be >= 1, got {self.n_models}"),
            (int(self.n_folds) >= 2, f"n_folds must be >= 2, got {self.n_folds}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (int(self.max_leaf_nodes) >= 2, f"max_leaf_nodes must be >= 2, got "
                                           f"{self.max_leaf_nodes}"),
            (2 <= int(self.max_bins) <= 255, f"max_bins must be in [2, 255], got {self.max_bins}"),
            (int(self.max_iter) >= 1, f"max_iter must be >= 1, got {self.max_iter}"),
            (int(self.n_iter_no_change) >= 1, "n_iter_no_change must be >= 1"),
            (0 < self.validation_fraction < 1, f"validation_fraction must be in (0, 1), got "
                                               f"{self.validation_fraction}"),
            (self.score in _SCORES, f"score must be one of {_SCORES}, got {self.score!r}"),
            (int(self.min_events) >= 1, f"min_events must be >= 1, got {self.min_events}"),
            (self.n_threads is None or int(self.n_threads) >= 1,
             f"n_threads must be None or >= 1, got {self.n_threads}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise InputError(f"BDTConfig: {msg}")

    @classmethod
    def paper(cls) -> BDTConfig:
        """Paper 003 App. A.1: 50 BDTs per fold, k = 5 (250 fits per window and run)."""
        return cls(n_models=50)

    @classmethod
    def fast(cls) -> BDTConfig:
        """For demos: 2 BDTs per fold (10 fits per window and run)."""
        return cls(n_models=2)

    @classmethod
    def preset(cls, name: str) -> BDTConfig:
        """``"fast"``, ``"default"`` or ``"paper"``."""
        presets = {"fast": cls.fast, "default": cls, "paper": cls.paper}
        if name not in presets:
            raise InputError(f"unknown BDT preset {name!r}; choose one of {sorted(presets)}")
        return presets[name]()

    def with_(self, **changes: Any) -> BDTConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of all settings."""
        return asdict(self)


def _as_features(x: Any, what: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(f"{what}: features must have shape (n, d), got {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0)).tolist()
        raise InputError(
            f"{what}: {int(bad.any(axis=1).sum())} event(s) with NaN/inf features "
            f"(feature column(s) {cols}); remove or fix them before training"
        )
    return arr


class _Binner:
    """Quantile binning of each feature into at most ``max_bins`` integer codes."""

    def __init__(self, x_train: np.ndarray, max_bins: int) -> None:
        q = np.linspace(0, 100, max_bins + 1)[1:-1]
        self.edges = []
        for j in range(x_train.shape[1]):
            col = x_train[:, j]
            distinct = np.unique(col)
            if distinct.size <= max_bins:
                e = 0.5 * (distinct[1:] + distinct[:-1])
            else:
                e = np.unique(np.percentile(col, q, method="averaged_inverted_cdf"))
            self.edges.append(e)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(x.shape, dtype=np.float32)
        for j, e in enumerate(self.edges):
            out[:, j] = np.searchsorted(e, x[:, j], side="right")
        return out


def _seed_ints(rng: np.random.Generator, n: int) -> list[int]:
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=n)]


@dataclass(frozen=True, eq=False)
class BDTEnsemble:
    """A fitted ensemble: a binning and ``n_models`` fitted BDTs.

    Attributes
    ----------
    models : tuple
        Fitted ``HistGradientBoostingClassifier`` objects.
    config : BDTConfig
    n_iter : numpy.ndarray
        Boosting iterations each member used (early stopping), shape ``(n_models,)``.
    """

    models: tuple[Any, ...]
    binner: _Binner
    config: BDTConfig
    n_iter: np.ndarray

    def member_logits(self, x: Any) -> np.ndarray:
        """Log-odds of class 1 per member, shape ``(n_models, n)``."""
        xb = self.binner(_as_features(x, "scored events"))
        return np.stack([m.decision_function(xb) for m in self.models])

    def score(self, x: Any) -> np.ndarray:
        """Ensemble score of ``x`` (mean probability or mean log-odds, per ``config.score``)."""
        z = self.member_logits(x)
        if self.config.score == "logit":
            return z.mean(axis=0)
        return (1.0 / (1.0 + np.exp(-z))).mean(axis=0)


def fit_ensemble(
    x: Any,
    y: Any,
    *,
    config: BDTConfig | None = None,
    seed: int | np.random.Generator | None = 0,
) -> BDTEnsemble:
    """Fit ``config.n_models`` BDTs separating ``y == 1`` from ``y == 0``.

    Parameters
    ----------
    x : array, shape (n, d)
        Features (finite).
    y : array, shape (n,)
        Class labels 0/1; both classes need at least ``config.min_events`` events.
    config : BDTConfig, optional
    seed : int or Generator
        Seeds the members' validation splits.

    Returns
    -------
    BDTEnsemble
    """
    config = config or BDTConfig()
    x = _as_features(x, "training events")
    y = np.asarray(y)
    if y.shape != (x.shape[0],):
        raise InputError(f"labels have shape {y.shape}, expected ({x.shape[0]},)")
    if not np.isin(y, (0, 1)).all():
        raise InputError("class labels must be 0 (template) or 1 (data)")
    n1 = int(np.count_nonzero(y == 1))
    n0 = int(y.size - n1)
    if min(n0, n1) < config.min_events:
        raise InputError(
            f"training needs >= {config.min_events} events of each class, got {n1} of class 1 "
            f"(data) and {n0} of class 0 (template)"
            + ("; only one class present" if min(n0, n1) == 0 else "")
        )
    skl = require("sklearn.ensemble")
    rng = np.random.default_rng(seed)
    binner = _Binner(x, config.max_bins)
    xb = binner(x)
    models = []
    n_iter = []
    with _thread_limit(config.n_threads):
        for s in _seed_ints(rng, config.n_models):
            clf = _fit_one(skl, config, s, xb, y)
            models.append(clf)
            n_iter.append(int(clf.n_iter_))
    return BDTEnsemble(tuple(models), binner, config, np.asarray(n_iter))


def _thread_limit(n_threads: int | None) -> Any:
    if n_threads is None:
        return contextlib.nullcontext()
    return require("threadpoolctl").threadpool_limits(int(n_threads), user_api="openmp")


def _fit_one(skl: Any, config: BDTConfig, s: int, xb: np.ndarray, y: np.ndarray) -> Any:
    clf = skl.HistGradientBoostingClassifier(
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        max_bins=config.max_bins,
        max_iter=config.max_iter,
        early_stopping=True,
        n_iter_no_change=config.n_iter_no_change,
        validation_fraction=config.validation_fraction,
        class_weight="balanced" if config.balanced else None,
        random_state=s,
    )
    clf.fit(xb, y)
    return clf


@dataclass(frozen=True, eq=False)
class KFoldScores:
    """Out-of-fold scores of one k-fold ensemble training.

    Attributes
    ----------
    data_scores, template_scores : numpy.ndarray
        Score of every class-1 (data) and class-0 (template) event, each from the ensemble of the
        fold that did not train on it.
    data_fold, template_fold : numpy.ndarray
        Index of the fold (0..k-1) each event was tested in.
    extra_scores : numpy.ndarray or None
        Scores of the extra events (not used in training), each from the ensemble of one fold
        (``extra_fold``), so that, for events like the training ones, they are distributed as
        the out-of-fold scores of the data. (The mean over the k ensembles would not be: it
        varies less, so a cut would keep a different fraction of such events than of the
        data — a step in m at the window edges for scores applied over a fit range.)
    extra_fold : numpy.ndarray or None
        The fold whose ensemble scored each extra event: balanced, drawn with the split seed.
    n_iter : numpy.ndarray
        Boosting iterations used, shape ``(k, n_models)``.
    train_seconds : float
        Wall time of the training and scoring.
    config : BDTConfig
    """

    data_scores: np.ndarray
    template_scores: np.ndarray
    data_fold: np.ndarray
    template_fold: np.ndarray
    extra_scores: np.ndarray | None
    n_iter: np.ndarray
    train_seconds: float
    config: BDTConfig = field(default_factory=BDTConfig)
    extra_fold: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """Summary (not the per-event arrays): sizes, timing, iterations, config."""
        return {
            "n_data": int(self.data_scores.size),
            "n_template": int(self.template_scores.size),
            "n_extra": 0 if self.extra_scores is None else int(self.extra_scores.size),
            "train_seconds": float(self.train_seconds),
            "n_iter_mean": float(self.n_iter.mean()),
            "n_iter_max": int(self.n_iter.max()),
            "config": self.config.to_dict(),
        }


def _stratified_folds(n1: int, n0: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fold index per event (class-1 events first), each class spread evenly over k folds."""
    out = []
    for n in (n1, n0):
        f = np.arange(n) % k
        out.append(f[rng.permutation(n)])
    return np.concatenate(out).astype(np.int16)


def kfold_scores(
    x_data: Any,
    x_template: Any,
    *,
    config: BDTConfig | None = None,
    seed: int | np.random.Generator | None = 0,
    x_extra: Any = None,
    split_seed: int | np.random.Generator | None = None,
) -> KFoldScores:
    """Train data (class 1) vs template (class 0) with stratified k-fold; score out of fold.

    Parameters
    ----------
    x_data, x_template : array, shape (n, d) and (n_t, d)
        Features of the two classes (finite). Each needs at least ``config.min_events`` events
        and at least ``config.n_folds`` events.
    config : BDTConfig, optional
    seed : int or Generator
        Seeds the fold assignment and every member's validation split; same seed, same scores.
    x_extra : array, shape (n_e, d), optional
        Events not used in training (e.g. data outside the window but inside a fit range),
        each scored by the ensemble of one fold, the folds assigned at random (balanced, with
        the split seed): their scores are then distributed like the out-of-fold scores.
    split_seed : int or Generator, optional
        Seeds the fold assignment alone (then ``seed`` seeds only the members), so that several
        runs can share one k-fold split; default: drawn from ``seed``.

    Returns
    -------
    KFoldScores
    """
    config = config or BDTConfig()
    t0 = time.perf_counter()
    xd = _as_features(x_data, "data (class 1)")
    xt = _as_features(x_template, "template (class 0)")
    if xd.shape[1] != xt.shape[1]:
        raise InputError(
            f"data has {xd.shape[1]} features but the template has {xt.shape[1]}"
        )
    xe = None if x_extra is None else _as_features(x_extra, "extra events")
    if xe is not None and xe.shape[1] != xd.shape[1]:
        raise InputError(f"extra events have {xe.shape[1]} features, data has {xd.shape[1]}")
    n1, n0 = xd.shape[0], xt.shape[0]
    need = max(config.min_events, config.n_folds)
    if min(n1, n0) < need:
        raise InputError(
            f"k-fold training needs >= {need} events in each class, got {n1} data and "
            f"{n0} template event(s)"
            + ("; only one class present" if min(n1, n0) == 0 else "")
        )
    rng = np.random.default_rng(seed)
    x = np.concatenate([xd, xt])
    y = np.concatenate([np.ones(n1, np.int8), np.zeros(n0, np.int8)])
    split_rng = rng if split_seed is None else np.random.default_rng(split_seed)
    fold = _stratified_folds(n1, n0, config.n_folds, split_rng)
    fold_seeds = _seed_ints(rng, config.n_folds)
    scores = np.empty(n1 + n0)
    extra = None if xe is None else np.zeros(xe.shape[0])
    # drawn after the member seeds: the data and template scores do not depend on x_extra
    extra_fold = (None if xe is None else
                  (np.arange(xe.shape[0]) % config.n_folds)[split_rng.permutation(xe.shape[0])])
    n_iter = np.zeros((config.n_folds, config.n_models), dtype=np.int64)
    for f in range(config.n_folds):
        test = fold == f
        ens = fit_ensemble(x[~test], y[~test], config=config, seed=fold_seeds[f])
        scores[test] = ens.score(x[test])
        n_iter[f] = ens.n_iter
        if xe is not None and extra is not None and extra_fold is not None:
            sel = extra_fold == f
            if sel.any():
                extra[sel] = ens.score(xe[sel])
    return KFoldScores(
        data_scores=scores[:n1],
        template_scores=scores[n1:],
        data_fold=fold[:n1],
        template_fold=fold[n1:],
        extra_scores=extra,
        extra_fold=extra_fold,
        n_iter=n_iter,
        train_seconds=time.perf_counter() - t0,
        config=config,
    )
