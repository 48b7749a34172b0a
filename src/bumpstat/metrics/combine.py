"""Combining anomaly-detection methods (Golling et al. [arXiv:2307.11157] §4): at the score level
and the sample level.

- **Score level**: standardise each method's score, ``z = (s - mean_ref) / std_ref``, then average
  the ``z`` of the methods event by event. The reference sample sets the standardisation; in a
  score file it is the window's template (the background reference on which working points are
  set), per run.
- **Sample level**: build one background template from several (e.g. the synthetic samples of
  several methods), each contributing the same number of events, and train one classifier on it
  (:func:`sample_level_template`, then e.g. :class:`bumpstat.producers.iad.IADProducer` with
  that template as ``reference``).

>>> a, b = np.array([0.0, 1.0, 2.0]), np.array([10.0, 30.0, 20.0])
>>> combine_scores([a, b]).round(3).tolist()
[-1.225, 0.612, 0.612]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bumpstat.events import Events
from bumpstat.exceptions import InputError
from bumpstat.scores.schema import EventSet, ScoreFile, WindowScores

__all__ = ["standardise", "combine_scores", "combine_score_files", "sample_level_template"]


def standardise(scores: Any, *, reference: Any = None) -> np.ndarray:
    """``(scores - mean) / std`` with mean and std (ddof 0) of ``reference`` (default: scores).

    Works row-wise on ``(n_runs, n)`` arrays (reference ``(n_runs, n_ref)``).
    """
    s = np.asarray(scores, dtype=np.float64)
    ref = s if reference is None else np.asarray(reference, dtype=np.float64)
    if s.ndim not in (1, 2) or ref.ndim != s.ndim:
        raise InputError(f"scores {s.shape} and reference {ref.shape} must both be 1-D or 2-D")
    if s.ndim == 2 and ref.shape[0] != s.shape[0]:
        raise InputError(f"scores have {s.shape[0]} runs but the reference {ref.shape[0]}")
    if not (np.isfinite(s).all() and np.isfinite(ref).all()):
        raise InputError("scores or reference contain NaN/inf")
    mu = ref.mean(axis=-1, keepdims=True)
    sd = ref.std(axis=-1, keepdims=True)
    if (sd <= 0).any():
        raise InputError("a reference score distribution has zero spread; cannot standardise")
    return (s - mu) / sd


def combine_scores(
    scores: Sequence[Any],
    *,
    references: Sequence[Any] | None = None,
    weights: Sequence[float] | None = None,
) -> np.ndarray:
    """Score-level combination: the (weighted) mean of standardised scores.

    Parameters
    ----------
    scores : sequence of arrays
        One ``(n,)`` or ``(n_runs, n)`` array per method, for the same events.
    references : sequence of arrays, optional
        Standardisation reference per method (default: the scores themselves).
    weights : sequence of float, optional
        Method weights (default equal).
    """
    arrs = [np.asarray(s, dtype=np.float64) for s in scores]
    if len(arrs) < 2:
        raise InputError(f"combining needs at least two methods, got {len(arrs)}")
    if len({a.shape for a in arrs}) != 1:
        raise InputError(f"methods' scores have different shapes {[a.shape for a in arrs]}")
    refs = [None] * len(arrs) if references is None else list(references)
    if len(refs) != len(arrs):
        raise InputError(f"{len(refs)} references for {len(arrs)} methods")
    w = np.ones(len(arrs)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(arrs),) or (w < 0).any() or w.sum() <= 0:
        raise InputError(f"weights must be {len(arrs)} non-negative numbers, not all zero")
    z = [standardise(a, reference=r) for a, r in zip(arrs, refs, strict=True)]
    return np.tensordot(w / w.sum(), np.stack(z), axes=1)


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


def combine_score_files(files: Sequence[ScoreFile], *, method: str | None = None,
                        weights: Sequence[float] | None = None) -> ScoreFile:
    """Score-level combination of score files over the same data *and* template events.

    Per window and run, each method's data and template scores are standardised with that
    method's template scores, then averaged. A method with one run is broadcast to the others'
    run count.

    Raises
    ------
    InputError
        Different windows, events or run counts that cannot be matched.
    """
    files = list(files)
    if len(files) < 2:
        raise InputError(f"combining needs at least two score files, got {len(files)}")
    names = files[0].window_names
    for f in files[1:]:
        if f.window_names != names:
            raise InputError(f"score files have different windows: {names} vs {f.window_names}")
    runs = {f.n_runs for f in files}
    n_runs = max(runs)
    if len(runs - {1, n_runs}) or (len(runs) > 1 and 1 not in runs):
        raise InputError(f"score files have incompatible run counts {sorted(runs)}")
    out = []
    for name in names:
        wss = [f[name] for f in files]
        ref = wss[0]
        for f, ws in zip(files, wss, strict=True):
            for part in ("data", "template"):
                a, b = getattr(ws, part), getattr(ref, part)
                if a.n_events != b.n_events or not _same(a.m, b.m):
                    raise InputError(
                        f"window {name!r}: {part} events of {f.method!r} ({a.n_events}) and "
                        f"{files[0].method!r} ({b.n_events}) differ; a score-level combination "
                        "needs the same events (combine data scores with combine_scores instead)"
                    )

        def rows(s: np.ndarray) -> np.ndarray:
            return np.repeat(s, n_runs, axis=0) if s.shape[0] == 1 else s

        d = [rows(ws.data.scores) for ws in wss]
        t = [rows(ws.template.scores) for ws in wss]
        out.append(WindowScores(
            ref.window,
            EventSet(combine_scores(d, references=t, weights=weights), m=ref.data.m,
                     weight=ref.data.weight, label=ref.data.label, fold=ref.data.fold),
            EventSet(combine_scores(t, references=t, weights=weights), m=ref.template.m,
                     weight=ref.template.weight),
        ))
    label = method or "+".join(f.method or "?" for f in files)
    return ScoreFile(tuple(out), method=label,
                     metadata={"combination": "mean of template-standardised scores",
                               "methods": [f.method for f in files],
                               "weights": None if weights is None else list(map(float, weights))})


def sample_level_template(
    templates: Sequence[Any],
    *,
    n_per_template: int | None = None,
    seed: int | np.random.Generator | None = 0,
) -> Any:
    """Sample-level combination: one template with equal contributions from each input.

    Parameters
    ----------
    templates : sequence of Events
        Background templates with the same features (e.g. samples from several generative
        methods, or several simulations).
    n_per_template : int, optional
        Events drawn (without replacement) from each; default the size of the smallest.
    seed : int or Generator

    Returns
    -------
    Events
        The shuffled union.
    """
    ts = list(templates)
    if len(ts) < 2:
        raise InputError(f"a sample-level combination needs at least two templates, got {len(ts)}")
    n_min = min(len(t) for t in ts)
    n = n_min if n_per_template is None else int(n_per_template)
    if not 0 < n <= n_min:
        raise InputError(
            f"n_per_template must be in [1, {n_min}] (the smallest template), got {n}"
        )
    rng = np.random.default_rng(seed)
    parts = [t.select(np.sort(rng.choice(len(t), size=n, replace=False))) for t in ts]
    return Events.concatenate(*parts).shuffled(rng)
