"""In-memory form of a score file (schema ``bumpstat-scores``, version 1).

A score file is what an anomaly search hands over, per signal-region window:

- ``data``: the data events scored by that window's classifier(s): ``m`` (TeV), ``scores`` of
  shape ``(n_runs, n_events)`` (larger = more signal-like), optional ``weight``, ``label``
  (1 = signal, 0 = background; truth, for studies), ``fold`` (k-fold index). Data may extend
  beyond the window (e.g. the whole fit range for the bump hunt); the window selects its SR.
- ``template``: the background-template events: ``scores`` ``(n_runs, n_template)``, optional
  ``weight`` and ``m``.

Every constructor validates; the error names the source file, window, field and problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bumpstat.exceptions import BumpstatError, ScoreFileError
from bumpstat.windows import Window

__all__ = ["SCHEMA_NAME", "SCHEMA_VERSION", "EventSet", "WindowScores", "ScoreFile"]

SCHEMA_NAME = "bumpstat-scores"
SCHEMA_VERSION = 1

#: Fields of an event set, in file order.
EVENT_FIELDS = ("scores", "m", "weight", "label", "fold", "event_id")

#: Allowed range of the fold index (-1: not used in training, scored by all folds).
FOLD_RANGE = (-1, 32_767)


def _where(source: str | None, window: str | None, part: str | None, name: str) -> str:
    bits = []
    if source:
        bits.append(f"file {source!r}")
    if window:
        bits.append(f"window {window!r}")
    bits.append(f"field '{part}/{name}'" if part else f"field {name!r}")
    return ", ".join(bits)


def _short(text: str, n: int = 24) -> str:
    """``text`` cut to ``n`` characters (its end kept for paths, with a leading "…")."""
    return text if len(text) <= n else "…" + text[-(n - 1):]


def _check_finite(a: np.ndarray, where: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        first = np.argwhere(bad)[0].tolist()
        raise ScoreFileError(
            f"{where}: {int(bad.sum())} non-finite value(s) (NaN or inf), first at index {first}; "
            "remove or fix these events before writing the score file"
        )


def _frozen(arr: np.ndarray) -> np.ndarray:
    """A read-only view of ``arr`` (no copy): what an EventSet holds cannot be written through."""
    view = arr.view()
    view.flags.writeable = False
    return view


def _real(raw: np.ndarray, where: str) -> np.ndarray:
    """``raw`` as float64 if it holds real numbers (int or float); else ScoreFileError.

    The dtype is checked before any cast, and float64 input is not copied (a copy of a
    4.4M-event x 10-run template doubled the peak memory of building a score file).
    """
    if raw.dtype.kind not in "iuf":
        kind = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes",
                "O": "Python objects"}.get(raw.dtype.kind, f"dtype {raw.dtype}")
        raise ScoreFileError(f"{where}: expected real numbers, found {kind}")
    return raw.astype(np.float64, copy=False)


def _integers(raw: np.ndarray, where: str, lo: int, hi: int, what: str) -> np.ndarray:
    """Integer values in [lo, hi], checked on the values before any cast."""
    if raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw) & (raw == np.round(raw))):
            raise ScoreFileError(f"{where}: expected integers, found non-integer values")
    elif raw.dtype.kind not in "iu":
        raise ScoreFileError(f"{where}: expected integers, found dtype {raw.dtype}")
    if raw.size and (raw.min() < lo or raw.max() > hi):
        bad = raw[(raw < lo) | (raw > hi)]
        raise ScoreFileError(f"{where}: {what}, found {np.unique(bad)[:5].tolist()}")
    return raw.astype(np.int64, copy=False)


def _checked_field(name: str, raw: np.ndarray, where: str) -> np.ndarray:
    """Validate one optional per-event field on its values, then cast to its dtype."""
    if name in ("m", "weight"):
        arr = _real(raw, where)
        _check_finite(arr, where)
        if name == "weight" and (arr < 0).any():
            raise ScoreFileError(f"{where}: {int((arr < 0).sum())} negative weight(s)")
        if name == "m" and (arr <= 0).any():
            raise ScoreFileError(f"{where}: {int((arr <= 0).sum())} non-positive mass(es)")
        return arr
    if name == "label":
        arr = _integers(raw, where, 0, 1, "labels must be 0 (background) or 1 (signal)")
        return arr.astype(np.int8, copy=False)
    if name == "fold":
        rule = f"fold indices must lie in [{FOLD_RANGE[0]}, {FOLD_RANGE[1]}]"
        return _integers(raw, where, *FOLD_RANGE, rule).astype(np.int16, copy=False)
    arr = _integers(raw, where, -(2**63), 2**63 - 1, "event ids must fit in int64")
    if np.unique(arr).size != arr.size:
        raise ScoreFileError(f"{where}: event ids must be unique within the sample, "
                             f"{arr.size - np.unique(arr).size} repeated")
    return arr


@dataclass(frozen=True)
class EventSet:
    """One sample of events in one window.

    Parameters
    ----------
    scores : array, shape (n_runs, n)
        Anomaly score per classifier run and event; a 1-D array is one run.
    m : array, shape (n,), optional
        Resonant mass in TeV (required for data).
    weight : array, shape (n,), optional
        Non-negative event weights (default 1).
    label : array, shape (n,), optional
        Truth label, 1 = signal, 0 = background.
    fold : array, shape (n,), optional
        k-fold index of the classifier that scored the event (-1: not used in training).
    event_id : array, shape (n,), optional
        Integer identifier of the event, unique within this sample. The same id in the data
        (template) of two windows of one file is the same event; data ids and template ids are
        separate spaces. Lets the global significance reproduce the correlations of
        overlapping windows.

    Validation (:meth:`validated`, run by :class:`ScoreFile`) checks the values before any
    cast and holds read-only views: float64 arrays are not copied (int8 labels and int16
    folds are cast), so an array handed over must not be modified afterwards — pass a copy
    if you reuse the buffer.
    """

    scores: np.ndarray
    m: np.ndarray | None = None
    weight: np.ndarray | None = None
    label: np.ndarray | None = None
    fold: np.ndarray | None = None
    event_id: np.ndarray | None = None

    def validated(
        self, *, source: str | None = None, window: str | None = None, part: str = "data"
    ) -> EventSet:
        """Return a copy with canonical dtypes and shapes, or raise :class:`ScoreFileError`."""
        s = _real(np.asarray(self.scores), _where(source, window, part, "scores"))
        if s.ndim == 1:
            s = s[None, :]
        if s.ndim != 2:
            raise ScoreFileError(
                f"{_where(source, window, part, 'scores')}: expected shape (n_runs, n_events), "
                f"got {s.shape}"
            )
        if s.shape[0] == 0:
            raise ScoreFileError(f"{_where(source, window, part, 'scores')}: zero classifier runs")
        if s.shape[1] == 0:
            raise ScoreFileError(f"{_where(source, window, part, 'scores')}: no events")
        _check_finite(s, _where(source, window, part, "scores"))
        n = s.shape[1]
        out: dict[str, np.ndarray | None] = {"scores": s}
        for name in EVENT_FIELDS[1:]:
            v = getattr(self, name)
            if v is None:
                out[name] = None
                continue
            where = _where(source, window, part, name)
            raw = np.asarray(v)
            if raw.shape != (n,):
                raise ScoreFileError(
                    f"{where}: expected shape ({n},) to match {n} events in '{part}/scores', "
                    f"got {raw.shape}"
                )
            out[name] = _checked_field(name, raw, where)
        frozen = {k: None if v is None else _frozen(v) for k, v in out.items()}
        return EventSet(**frozen)  # type: ignore[arg-type]

    @property
    def n_runs(self) -> int:
        """Number of classifier runs (rows of ``scores``)."""
        return int(np.shape(self.scores)[0])

    @property
    def n_events(self) -> int:
        """Number of events (columns of ``scores``)."""
        return int(np.shape(self.scores)[-1])

    def weights(self) -> np.ndarray:
        """Event weights, ones where none are stored."""
        return np.ones(self.n_events) if self.weight is None else self.weight

    def select(self, mask: np.ndarray) -> EventSet:
        """The subset of events where ``mask`` is true (all runs)."""
        return EventSet(
            scores=self.scores[:, mask],
            **{k: (None if getattr(self, k) is None else getattr(self, k)[mask])
               for k in EVENT_FIELDS[1:]},
        )

    def __repr__(self) -> str:
        shape = np.shape(self.scores)
        runs = shape[0] if len(shape) == 2 else 1
        extra = "".join(f", {k}" for k in self.present_fields()[1:])
        return f"EventSet({runs} run(s) x {shape[-1] if shape else 0} events{extra})"

    def present_fields(self) -> tuple[str, ...]:
        """Names of the fields that are stored."""
        return tuple(k for k in EVENT_FIELDS if getattr(self, k) is not None)


@dataclass(frozen=True)
class WindowScores:
    """Data and background-template scores for one signal-region window."""

    window: Window
    data: EventSet
    template: EventSet

    def validated(self, *, source: str | None = None) -> WindowScores:
        """Validate both samples and their consistency; raise :class:`ScoreFileError`."""
        name = self.window.name
        data = self.data.validated(source=source, window=name, part="data")
        template = self.template.validated(source=source, window=name, part="template")
        if data.m is None:
            raise ScoreFileError(
                f"{_where(source, name, 'data', 'm')}: missing; data events need their mass "
                f"(present: {', '.join(data.present_fields())})"
            )
        if data.n_runs != template.n_runs:
            raise ScoreFileError(
                f"{'file ' + repr(source) + ', ' if source else ''}window {name!r}: data has "
                f"{data.n_runs} classifier run(s) but template has {template.n_runs}"
            )
        return WindowScores(self.window, data, template)

    def __repr__(self) -> str:
        w = self.window
        return (f"WindowScores({_short(w.name)!r} [{w.low:g}, {w.high:g}) TeV, "
                f"data={self.data!r}, template={self.template!r})")

    def signal_region(self) -> EventSet:
        """Data events inside the window (``low <= m < high``)."""
        assert self.data.m is not None
        return self.data.select(self.window.contains(self.data.m))


@dataclass(frozen=True)
class ScoreFile:
    """All windows of one anomaly search.

    Parameters
    ----------
    windows : tuple of WindowScores
        One entry per signal-region window, unique names.
    method : str
        Name of the method that produced the scores (``"iad"``, ``"cwola"``, ``"exact"``, …);
        empty or a safe file-name part (:data:`bumpstat.outputs.SAFE_NAME`).
    metadata : mapping
        JSON-serialisable free-form provenance (seed, feature names, generator, …).
    source : str, optional
        Path the file was read from (used in error messages).
    """

    windows: tuple[WindowScores, ...]
    method: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.method:
            from bumpstat.outputs import check_name

            try:
                check_name(self.method, "method name")
            except BumpstatError as err:
                where = f"file {self.source!r}: " if self.source else ""
                raise ScoreFileError(f"{where}{err} (it becomes part of file names)") from None
        if len(self.windows) == 0:
            raise ScoreFileError(
                f"{'file ' + repr(self.source) + ': ' if self.source else ''}no windows"
            )
        checked = tuple(w.validated(source=self.source) for w in self.windows)
        names = [w.window.name for w in checked]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ScoreFileError(
                f"duplicate window name(s) {sorted(dup)} in {self.source or 'score file'}"
            )
        runs = {w.data.n_runs for w in checked}
        if len(runs) > 1:
            raise ScoreFileError(
                f"{self.source or 'score file'}: windows have different numbers of runs "
                f"{sorted(runs)}"
            )
        object.__setattr__(self, "windows", checked)

    @property
    def n_runs(self) -> int:
        """Number of classifier runs (the same in every window)."""
        return self.windows[0].data.n_runs

    @property
    def window_names(self) -> tuple[str, ...]:
        """Names of the windows, in file order."""
        return tuple(w.window.name for w in self.windows)

    def __getitem__(self, name: str) -> WindowScores:
        for w in self.windows:
            if w.window.name == name:
                return w
        raise KeyError(f"no window {name!r}; windows are {list(self.window_names)}")

    def __repr__(self) -> str:
        names = [_short(n) for n in self.window_names]
        listed = ", ".join(names) if len(names) <= 3 else f"{names[0]} … {names[-1]}"

        def count(part: str) -> str:
            n = sorted({getattr(w, part).n_events for w in self.windows})
            return f"{n[0]}" if len(n) == 1 else f"{n[0]}-{n[-1]}"
        src = f", source={_short(self.source, 48)!r}" if self.source else ""
        return (f"ScoreFile(method={_short(self.method)!r}, {len(names)} window(s) [{listed}], "
                f"{self.n_runs} run(s), events per window: data {count('data')}, template "
                f"{count('template')}{src})")

    def with_metadata(self, **extra: Any) -> ScoreFile:
        """A copy with ``extra`` merged into the metadata."""
        return replace(self, metadata={**self.metadata, **extra})
