"""Events: the resonant variable, auxiliary features and, when known, truth labels and weights.

:class:`Events` is the container every producer, loader and generator uses. Truth labels and
weights are optional: real data have no labels, and a missing label is ``None`` — never a
column of zeros — so that a metric asking for labels says "no truth labels" instead of
"no signal".

Every array is validated on construction, on its values *before* any cast (a label of 256 is
refused, not wrapped to 0): ``m`` and ``x`` finite, ``label`` 0/1, ``weight`` finite and
non-negative, and all of them of the same length.

>>> ev = Events(np.array([3.4, 3.8]), np.zeros((2, 1)), ("a",), label=np.array([1, 0]))
>>> len(ev), ev.in_range(3.3, 3.7).tolist(), ev.n_signal
(2, [True, False], 1)
>>> Events(np.array([3.4]), np.zeros((1, 1)), ("a",)).n_signal
Traceback (most recent call last):
...
bumpstat.exceptions.InputError: events have no truth labels ('label' field): n_signal unknown
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError

__all__ = ["Events", "check_labels", "check_weights"]

_NUMERIC = "biuf"


def _numeric(a: Any, what: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in _NUMERIC:
        raise InputError(f"{what} must be numeric, got dtype {arr.dtype}")
    return arr


def check_labels(label: Any, n: int, what: str = "label") -> np.ndarray:
    """``label`` as int8 after checking shape ``(n,)`` and values in {0, 1} on the raw values.

    >>> check_labels([0, 1.0, True], 3).tolist()
    [0, 1, 1]
    """
    raw = _numeric(label, what)
    if raw.shape != (n,):
        raise InputError(f"{what} must have shape ({n},), got {raw.shape}")
    ok = (raw == 0) | (raw == 1)
    if n and not ok.all():
        bad = raw[~ok][:5].tolist()
        raise InputError(f"{what} must be 0 (background) or 1 (signal), found values {bad}")
    return raw.astype(np.int8)


def check_weights(weight: Any, n: int, what: str = "weight") -> np.ndarray:
    """``weight`` as float64 after checking shape ``(n,)``, finite and non-negative values."""
    raw = _numeric(weight, what)
    if raw.shape != (n,):
        raise InputError(f"{what} must have shape ({n},), got {raw.shape}")
    w = raw.astype(np.float64)
    if not np.isfinite(w).all():
        raise InputError(f"{what} has {int((~np.isfinite(w)).sum())} NaN/inf value(s)")
    if (w < 0).any():
        raise InputError(f"{what} has {int((w < 0).sum())} negative value(s)")
    return w


@dataclass(frozen=True, eq=False)
class Events:
    """A set of events: ``m`` (TeV), features ``x`` and optional ``label`` and ``weight``.

    Parameters
    ----------
    m : array, shape (n,)
        Resonant variable (dijet invariant mass m_JJ) in TeV.
    x : array, shape (n, d)
        Auxiliary features (masses in TeV), columns named by ``feature_names``.
    feature_names : sequence of str
        The ``d`` column names of ``x``.
    label : array, shape (n,), optional
        Truth label, 1 = signal, 0 = background; ``None`` when unknown (real data).
    weight : array, shape (n,), optional
        Non-negative event weights; ``None`` means 1 for every event.
    """

    m: np.ndarray
    x: np.ndarray
    feature_names: tuple[str, ...]
    label: np.ndarray | None = None
    weight: np.ndarray | None = None

    def __post_init__(self) -> None:
        m = _numeric(self.m, "Events.m").astype(np.float64)
        if m.ndim != 1:
            raise InputError(f"Events.m must be 1-D, got shape {m.shape}")
        if isinstance(self.feature_names, str):
            raise InputError("Events.feature_names must be a sequence of names, not one string")
        names = tuple(str(s) for s in self.feature_names)
        n = m.shape[0]
        x = _numeric(self.x, "Events.x").astype(np.float64)
        if x.ndim == 1 and n == 0 and x.size == 0:
            x = x.reshape(0, len(names))
        if x.ndim != 2 or x.shape[0] != n:
            raise InputError(f"Events.x must have shape (n={n}, d), got {x.shape}")
        if x.shape[1] != len(names):
            raise InputError(
                f"Events.x has {x.shape[1]} columns but {len(names)} feature names {names}"
            )
        if len(set(names)) != len(names):
            raise InputError(f"Events.feature_names has duplicates: {names}")
        if not np.isfinite(m).all():
            raise InputError(f"Events.m has {int((~np.isfinite(m)).sum())} NaN/inf value(s)")
        if not np.isfinite(x).all():
            bad_cols = [names[j] for j in np.flatnonzero(~np.isfinite(x).all(axis=0))]
            raise InputError(f"Events.x has NaN/inf values in feature(s) {bad_cols}")
        label = None if self.label is None else check_labels(self.label, n, "Events.label")
        weight = None if self.weight is None else check_weights(self.weight, n, "Events.weight")
        object.__setattr__(self, "m", m)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "feature_names", names)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "weight", weight)

    def __len__(self) -> int:
        return int(self.m.shape[0])

    def __repr__(self) -> str:
        sig = f"n_signal={self.n_signal}" if self.has_labels else "no labels"
        wt = ", weighted" if self.weight is not None else ""
        return f"Events(n={len(self)}, {sig}{wt}, feature_names={self.feature_names})"

    # ---------------------------------------------------------------- labels and weights
    @property
    def has_labels(self) -> bool:
        """Whether truth labels are present."""
        return self.label is not None

    def require_labels(self, what: str = "these events") -> np.ndarray:
        """The labels, or an :class:`InputError` saying that ``what`` has no truth labels."""
        if self.label is None:
            raise InputError(f"{what} have no truth labels ('label' field)")
        return self.label

    @property
    def n_signal(self) -> int:
        """Number of events with ``label == 1`` (raises InputError without labels)."""
        if self.label is None:
            raise InputError("events have no truth labels ('label' field): n_signal unknown")
        return int(np.count_nonzero(self.label == 1))

    @property
    def n_background(self) -> int:
        """Number of events with ``label == 0`` (raises InputError without labels)."""
        return len(self) - self.n_signal

    def weights(self) -> np.ndarray:
        """Event weights, ones when none are stored."""
        return np.ones(len(self)) if self.weight is None else self.weight

    # ---------------------------------------------------------------- selections
    def select(self, mask: Any) -> Events:
        """Events picked by a boolean mask of length ``n`` or an integer index array."""
        sel = np.asarray(mask)
        if sel.dtype == bool:
            if sel.shape != (len(self),):
                raise InputError(f"boolean mask must have shape ({len(self)},), got {sel.shape}")
        elif sel.size == 0:
            sel = sel.astype(np.intp)
        elif not np.issubdtype(sel.dtype, np.integer):
            raise InputError(f"select() needs a boolean mask or integer indices, got {sel.dtype}")
        return Events(self.m[sel], self.x[sel], self.feature_names,
                      label=None if self.label is None else self.label[sel],
                      weight=None if self.weight is None else self.weight[sel])

    def in_range(self, low: float, high: float) -> np.ndarray:
        """Boolean mask of ``low <= m < high`` (TeV)."""
        return (self.m >= low) & (self.m < high)

    def shuffled(self, seed: int | np.random.Generator) -> Events:
        """The same events in a random order (``np.random.default_rng(seed)``)."""
        return self.select(np.random.default_rng(seed).permutation(len(self)))

    @staticmethod
    def concatenate(*events: Events | Sequence[Events]) -> Events:
        """Join event sets with the same ``feature_names``, in the order given.

        Labels are kept only if every part has them (labelled and unlabelled parts cannot be
        mixed); weights default to 1 for parts without weights.
        """
        if len(events) == 1 and not isinstance(events[0], Events):
            events = tuple(events[0])  # a single list/tuple of Events
        parts: list[Events] = list(events)  # type: ignore[arg-type]
        if not parts:
            raise InputError("Events.concatenate needs at least one Events")
        names = parts[0].feature_names
        for ev in parts[1:]:
            if ev.feature_names != names:
                raise InputError(
                    f"cannot concatenate Events with features {names} and {ev.feature_names}"
                )
        has = {ev.has_labels for ev in parts}
        if len(has) > 1:
            raise InputError("cannot concatenate labelled and unlabelled Events: the joined "
                             "labels would be partly unknown")
        weighted = any(ev.weight is not None for ev in parts)
        return Events(
            np.concatenate([e.m for e in parts]),
            np.concatenate([e.x for e in parts], axis=0),
            names,
            label=np.concatenate([e.label for e in parts]) if has == {True} else None,
            weight=np.concatenate([e.weights() for e in parts]) if weighted else None,
        )
