"""Idealised anomaly detector (IAD): SR data vs an independent background sample in the SR.

For every window, a BDT ensemble (:mod:`bumpstat.classifiers.bdt`) is trained with stratified
k-fold to separate the signal-region data (class 1) from the background sample's events in the
same window (class 0, the *template*). Every SR data event and every template event gets an
out-of-fold score; with ``score_range`` the data events outside the window but inside the range
are scored too, by the mean of the window's k fold ensembles (``fold = -1`` in the file).

Runs (``runs=N``) are independent trainings that share one k-fold split per window and differ
in the seeds of every ensemble member (its random train/validation split). Seeds are derived
from ``seed`` and the window's position in ``windows``: same seed, same windows, same scores.

The shared machinery here (:func:`weak_score_file`) also drives CWoLa
(:mod:`bumpstat.methods.cwola`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bumpstat.classifiers.bdt import BDTConfig, kfold_scores
from bumpstat.exceptions import InputError, WindowError
from bumpstat.scores.schema import EventSet, ScoreFile, WindowScores
from bumpstat.windows import Window

__all__ = ["iad_score_file", "weak_score_file", "select_features"]

#: Builds the template of one window: ``(x, m, data_index)``; ``data_index`` gives, for templates
#: made of data events (CWoLa sidebands), their positions in the data, else ``None``.
TemplateMaker = Callable[[Window], tuple[np.ndarray, np.ndarray, np.ndarray | None]]


def select_features(
    feature_names: Sequence[str], features: Sequence[str | int] | None
) -> list[int]:
    """Column indices of ``features`` (names or indices) in ``feature_names``; all if ``None``.

    >>> select_features(("mj1", "delta_mj", "delta_r"), ["mj1", "delta_r"])
    [0, 2]
    """
    names = list(feature_names)
    if features is None:
        return list(range(len(names)))
    cols: list[int] = []
    for f in features:
        if isinstance(f, (int, np.integer)):
            if not 0 <= int(f) < len(names):
                raise InputError(f"feature index {f} out of range for features {names}")
            cols.append(int(f))
        elif str(f) in names:
            cols.append(names.index(str(f)))
        else:
            raise InputError(f"unknown feature {f!r}; the events have features {names}")
    if not cols:
        raise InputError("no features selected")
    if len(set(cols)) != len(cols):
        raise InputError(f"feature selection {list(features)} names a column twice")
    return cols


def _seed_entropy(seed: int | np.random.Generator | None) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    return int(seed)


def _check_range(score_range: tuple[float, float] | None) -> tuple[float, float] | None:
    if score_range is None:
        return None
    lo, hi = (float(v) for v in score_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise InputError(f"score_range must be (low, high) TeV with low < high, got {score_range}")
    return lo, hi


def weak_score_file(
    method: str,
    data: Any,
    windows: Sequence[Window],
    make_template: TemplateMaker,
    *,
    runs: int = 1,
    config: BDTConfig | None = None,
    seed: int | np.random.Generator | None = 0,
    features: Sequence[str | int] | None = None,
    score_range: tuple[float, float] | None = None,
    progress: bool = True,
    metadata: dict[str, Any] | None = None,
) -> ScoreFile:
    """Train data-vs-template BDT ensembles per window and run; collect a score file.

    Parameters
    ----------
    method : str
        Name written to the score file.
    data : Events
        Data events (``m`` in TeV, ``x``, ``label``, ``feature_names``).
    windows : sequence of Window
    make_template : callable
        ``window -> (x_template, m_template, data_index or None)``; ``x_template`` has all of
        the data's feature columns.
    runs, config, seed, features, score_range, progress
        See :func:`iad_score_file`.
    metadata : dict, optional
        Extra provenance for the file.

    Returns
    -------
    ScoreFile
    """
    config = config or BDTConfig()
    runs = int(runs)
    if runs < 1:
        raise InputError(f"runs must be >= 1, got {runs}")
    windows = tuple(windows)
    if not windows:
        raise WindowError("no windows given")
    rng_range = _check_range(score_range)
    cols = select_features(data.feature_names, features)
    x_all = np.asarray(data.x, dtype=np.float64)
    m_all = np.asarray(data.m, dtype=np.float64)
    label = getattr(data, "label", None)
    entropy = _seed_entropy(seed)
    window_ss = np.random.SeedSequence(entropy).spawn(len(windows))
    tqdm = _tqdm(progress)
    bar = tqdm(total=len(windows) * runs, desc=f"{method} training", unit="run")
    out = []
    per_window: dict[str, Any] = {}
    try:
        for w, wss in zip(windows, window_ss, strict=True):
            sr = w.contains(m_all)
            x_t, m_t, t_idx = make_template(w)
            n_sr, n_t = int(sr.sum()), int(len(m_t))
            need = max(config.min_events, config.n_folds)
            if n_sr < need or n_t < need:
                raise WindowError(
                    f"window {w.name!r} [{w.low}, {w.high}) TeV: {n_sr} data event(s) in the "
                    f"signal region and {n_t} template event(s); {method} needs >= {need} of "
                    "each (BDTConfig.min_events)"
                )
            keep = sr.copy()
            if rng_range is not None:
                keep |= (m_all >= rng_range[0]) & (m_all < rng_range[1])
            in_tmpl = np.zeros(m_all.shape, dtype=bool)
            if t_idx is not None:
                in_tmpl[t_idx] = True
            extra = keep & ~sr & ~in_tmpl
            split_ss, *run_ss = wss.spawn(runs + 1)
            # positions of the kept events in the stored arrays
            pos = np.cumsum(keep) - 1
            data_scores = np.zeros((runs, int(keep.sum())))
            tmpl_scores = np.zeros((runs, n_t))
            seconds, iters = [], []
            for r in range(runs):
                res = kfold_scores(
                    x_all[sr][:, cols],
                    np.asarray(x_t)[:, cols],
                    config=config,
                    seed=np.random.default_rng(run_ss[r]),
                    split_seed=np.random.default_rng(split_ss),
                    x_extra=x_all[extra][:, cols],
                )
                data_scores[r, pos[sr]] = res.data_scores
                data_scores[r, pos[extra]] = res.extra_scores
                tmpl_scores[r] = res.template_scores
                if t_idx is not None:
                    t_kept = keep[t_idx]
                    data_scores[r, pos[t_idx[t_kept]]] = res.template_scores[t_kept]
                seconds.append(res.train_seconds)
                iters.append(float(res.n_iter.mean()))
                bar.update(1)
            fold = np.full(m_all.size, -1, dtype=np.int16)
            fold[sr] = res.data_fold
            if t_idx is not None:
                fold[t_idx] = res.template_fold
            out.append(
                WindowScores(
                    window=w,
                    data=EventSet(
                        scores=data_scores,
                        m=m_all[keep],
                        label=None if label is None else np.asarray(label)[keep],
                        fold=fold[keep],
                    ),
                    template=EventSet(scores=tmpl_scores, m=np.asarray(m_t, dtype=np.float64),
                                      fold=res.template_fold),
                )
            )
            per_window[w.name] = {
                "n_data_sr": n_sr,
                "n_template": n_t,
                "n_data_extra": int(extra.sum()),
                "train_seconds": [round(s, 3) for s in seconds],
                "n_iter_mean": [round(i, 2) for i in iters],
            }
    finally:
        bar.close()
    meta = {
        "classifier": "HistGradientBoostingClassifier ensemble, stratified k-fold",
        "config": config.to_dict(),
        "features": [data.feature_names[c] for c in cols],
        "runs": runs,
        "seed": entropy,
        "score_range": None if rng_range is None else list(rng_range),
        "fold": "k-fold split fixed per window and shared by runs; -1 = event not used in "
                "training, scored by the mean of the k fold ensembles",
        "n_data": int(m_all.size),
        "windows": per_window,
        **(metadata or {}),
    }
    return ScoreFile(tuple(out), method=method, metadata=meta)


def _tqdm(progress: bool) -> Any:
    from functools import partial

    from tqdm.auto import tqdm

    return partial(tqdm, disable=not progress, leave=False)


def iad_score_file(
    data: Any,
    template: Any,
    windows: Sequence[Window],
    *,
    runs: int = 1,
    config: BDTConfig | None = None,
    seed: int | np.random.Generator | None = 0,
    features: Sequence[str | int] | None = None,
    score_range: tuple[float, float] | None = None,
    progress: bool = True,
) -> ScoreFile:
    """IAD scores: SR data vs an independent background sample (the template) in the SR.

    Parameters
    ----------
    data : Events
        Data events: background plus any signal; ``m`` in TeV.
    template : Events
        An independent background sample (simulation, a second generator) with the same
        ``feature_names``; its events inside each window form that window's template.
    windows : sequence of Window
        Signal regions, e.g. :func:`bumpstat.windows.sliding_windows`.
    runs : int
        Independent trainings (rows of the score arrays).
    config : BDTConfig, optional
        Ensemble settings (default ``BDTConfig()``; ``BDTConfig.paper()`` for paper size,
        ``BDTConfig.fast()`` for demos).
    seed : int or Generator
        Master seed.
    features : sequence of str or int, optional
        Feature subset by name or column (e.g. the baseline set without ``"delta_r"``); all by
        default.
    score_range : (float, float), optional
        Also score the data events in ``[low, high)`` TeV outside the window (fit range of a
        bump hunt), with the mean of the window's k fold ensembles.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    ScoreFile
        Method ``"iad"``; per window ``data`` = SR (+ range) events with ``label`` and ``fold``,
        ``template`` = the background sample's events in the window.

    Raises
    ------
    WindowError
        A window holds fewer than ``config.min_events`` data or template events.
    InputError
        Mismatched features, unknown feature names, bad options.
    """
    if tuple(template.feature_names) != tuple(data.feature_names):
        raise InputError(
            f"template features {tuple(template.feature_names)} differ from data features "
            f"{tuple(data.feature_names)}"
        )
    t_m = np.asarray(template.m, dtype=np.float64)
    t_x = np.asarray(template.x, dtype=np.float64)

    def make_template(w: Window) -> tuple[np.ndarray, np.ndarray, None]:
        mask = w.contains(t_m)
        return t_x[mask], t_m[mask], None

    return weak_score_file(
        "iad", data, windows, make_template, runs=runs, config=config, seed=seed,
        features=features, score_range=score_range, progress=progress,
        metadata={"template": "independent background sample in the window",
                  "n_template_total": int(t_m.size)},
    )
