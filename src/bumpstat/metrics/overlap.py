"""Top-p percentile overlap between methods, relative to the random baseline (Golling et al.
[arXiv:2307.11157] §3–4).

For a fraction ``p`` each method selects its ``k = max(1, round(p n))`` highest-scored events
(ties broken by event order). The overlap of two methods is ``|A ∩ B| / k``; for independent
selections its expectation is ``k / n ≈ p`` (the *random baseline*). The overlap of all ``M``
methods, ``|A_1 ∩ … ∩ A_M| / k``, has the baseline ``(k / n)^(M-1)``. Paper 000 plots the
*excess* overlap, overlap − baseline: 0 means no more agreement than chance.

Scores with a runs axis ``(n_runs, n)`` are averaged over runs first, as in Golling et al..

>>> rng = np.random.default_rng(0)
>>> r = percentile_overlap({"a": rng.random(100000), "b": rng.random(100000)}, p=[0.1])
>>> round(float(r.pairs[("a", "b")][0]), 2), float(r.baseline_pair[0])
(0.1, 0.1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError
from bumpstat.metrics.report import no_labels_message
from bumpstat.results import Result
from bumpstat.scores.schema import ScoreFile
from bumpstat.serialize import jsonable

__all__ = ["OverlapResult", "top_fraction", "percentile_overlap", "score_file_overlap"]

#: Default percentiles, from 0.5% (Golling et al.'s left-most point) to 50%.
DEFAULT_P = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


def top_fraction(scores: Any, p: float) -> np.ndarray:
    """Boolean mask of the ``max(1, round(p n))`` highest scores (ties: earlier event first).

    >>> top_fraction(np.array([0.1, 0.9, 0.5, 0.7]), 0.5).tolist()
    [False, True, False, True]
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise InputError(f"scores must be a non-empty 1-D array, got shape {s.shape}")
    if not 0 < p <= 1:
        raise InputError(f"p must be in (0, 1], got {p}")
    k = max(1, int(round(p * s.size)))
    idx = np.argsort(-s, kind="stable")[:k]
    out = np.zeros(s.size, dtype=bool)
    out[idx] = True
    return out


@dataclass(frozen=True, repr=False)
class OverlapResult(Result):
    """Top-p overlaps of several methods.

    Attributes
    ----------
    p : numpy.ndarray
        Requested fractions.
    names : tuple of str
        Method names.
    n_events : int
    pairs : dict
        ``(name_a, name_b) -> overlap fraction per p``.
    all : numpy.ndarray
        Overlap of all methods per p.
    baseline_pair, baseline_all : numpy.ndarray
        Random baselines ``k/n`` and ``(k/n)^(M-1)`` per p.
    """

    p: np.ndarray
    names: tuple[str, ...]
    n_events: int
    pairs: dict[tuple[str, str], np.ndarray]
    all: np.ndarray
    baseline_pair: np.ndarray
    baseline_all: np.ndarray

    @property
    def excess_pairs(self) -> dict[tuple[str, str], np.ndarray]:
        """Pair overlaps minus the random baseline."""
        return {k: v - self.baseline_pair for k, v in self.pairs.items()}

    @property
    def excess_all(self) -> np.ndarray:
        """All-method overlap minus its random baseline."""
        return self.all - self.baseline_all

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (pairs keyed ``"a|b"``)."""
        return jsonable({
            "p": self.p,
            "names": list(self.names),
            "n_events": self.n_events,
            "pairs": {f"{a}|{b}": v for (a, b), v in self.pairs.items()},
            "excess_pairs": {f"{a}|{b}": v for (a, b), v in self.excess_pairs.items()},
            "all": self.all,
            "excess_all": self.excess_all,
            "baseline_pair": self.baseline_pair,
            "baseline_all": self.baseline_all,
        })

    def records(self) -> list[dict[str, Any]]:
        """One row per fraction p: the pair and all-method overlaps and their baselines."""
        rows = []
        for i, p in enumerate(self.p):
            row = {"p": float(p), "all": float(self.all[i]),
                   "baseline_pair": float(self.baseline_pair[i]),
                   "baseline_all": float(self.baseline_all[i])}
            row.update({f"{a}|{b}": float(v[i]) for (a, b), v in self.pairs.items()})
            rows.append(row)
        return rows


def _as_named(scores: Mapping[str, Any] | Sequence[Any],
              names: Sequence[str] | None) -> dict[str, np.ndarray]:
    if isinstance(scores, Mapping):
        items = {str(k): v for k, v in scores.items()}
    else:
        seq = list(scores)
        nm = list(names) if names is not None else [f"method{i}" for i in range(len(seq))]
        if len(nm) != len(seq):
            raise InputError(f"{len(nm)} names for {len(seq)} score arrays")
        items = dict(zip(nm, seq, strict=True))
    out = {}
    for k, v in items.items():
        a = np.asarray(v, dtype=np.float64)
        if a.ndim == 2:
            a = a.mean(axis=0)
        if a.ndim != 1:
            raise InputError(f"scores of {k!r} must be (n,) or (n_runs, n), got {np.shape(v)}")
        if not np.isfinite(a).all():
            raise InputError(f"scores of {k!r} have NaN/inf values")
        out[k] = a
    if len(out) < 2:
        raise InputError(f"overlaps need at least two methods, got {list(out)}")
    sizes = {k: v.size for k, v in out.items()}
    if len(set(sizes.values())) != 1:
        raise InputError(f"methods score different numbers of events: {sizes}")
    return out


def percentile_overlap(
    scores: Mapping[str, Any] | Sequence[Any],
    p: Sequence[float] | float = DEFAULT_P,
    *,
    names: Sequence[str] | None = None,
) -> OverlapResult:
    """Overlap of the top-``p`` events between methods that scored the *same* events.

    Parameters
    ----------
    scores : mapping name -> array, or sequence of arrays
        Each ``(n,)`` or ``(n_runs, n)`` (averaged over runs); the same events in the same order.
    p : float or sequence of float
        Fractions in (0, 1].
    names : sequence of str, optional
        Names when ``scores`` is a sequence.

    Returns
    -------
    OverlapResult
    """
    named = _as_named(scores, names)
    ps = np.atleast_1d(np.asarray(p, dtype=np.float64))
    n = next(iter(named.values())).size
    keys = tuple(named)
    pairs = {pair: np.zeros(ps.size) for pair in combinations(keys, 2)}
    all_ = np.zeros(ps.size)
    base = np.zeros(ps.size)
    for i, pi in enumerate(ps):
        masks = {k: top_fraction(v, float(pi)) for k, v in named.items()}
        k_sel = int(masks[keys[0]].sum())
        for a, b in pairs:
            pairs[(a, b)][i] = np.count_nonzero(masks[a] & masks[b]) / k_sel
        all_[i] = np.count_nonzero(np.logical_and.reduce(list(masks.values()))) / k_sel
        base[i] = k_sel / n
    return OverlapResult(ps, keys, int(n), pairs, all_, base, base ** (len(keys) - 1))


def score_file_overlap(
    files: Mapping[str, ScoreFile] | Sequence[ScoreFile],
    window: str,
    p: Sequence[float] | float = DEFAULT_P,
    *,
    population: str = "background",
) -> OverlapResult:
    """Top-p overlap of several score files in one window, on their common SR data events.

    Parameters
    ----------
    files : mapping name -> ScoreFile, or sequence (named by their ``method``)
        Score files of the same data (same SR events, in the same order).
    window : str
        Window name.
    p : float or sequence
    population : {"background", "signal", "all"}
        Which SR data events to rank (by truth label; Golling et al. Fig. 7 uses background).
    """
    if isinstance(files, Mapping):
        named = dict(files)
    else:
        named = {}
        for f in files:
            key = f.method or f"method{len(named)}"
            while key in named:
                key += "'"
            named[key] = f
    if population not in ("background", "signal", "all"):
        raise InputError(f"population must be 'background', 'signal' or 'all', got {population!r}")
    srs = {k: f[window].signal_region() for k, f in named.items()}
    first_key = next(iter(srs))
    ref = srs[first_key]
    for k, sr in srs.items():
        if sr.n_events != ref.n_events or not np.array_equal(sr.m, ref.m):
            raise InputError(
                f"window {window!r}: {k!r} and {first_key!r} do not hold the same SR data "
                f"events ({sr.n_events} vs {ref.n_events}); overlaps need the same events"
            )
    if population == "all":
        mask = np.ones(ref.n_events, dtype=bool)
    else:
        if ref.label is None:
            raise InputError(no_labels_message(named[first_key].source, window))
        mask = ref.label == (1 if population == "signal" else 0)
    if not mask.any():
        raise InputError(f"window {window!r}: no {population} events in the SR")
    return percentile_overlap({k: sr.scores[:, mask] for k, sr in srs.items()}, p)
