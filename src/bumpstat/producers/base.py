"""The one interface of every score producer, and the helpers they share.

A score producer turns events into a score file (:class:`~bumpstat.scores.schema.ScoreFile`):
per signal-region window it fits on that window's data and its background template (an
independent background sample, the sidebands, samples of a flow …), then scores the window's
data and template events. The contract (BRIEF §3.7):

* **out of fold** — a trained producer scores every data event with a model that was not trained
  on it (k-fold, the fold index stored in ``fold``; ``-1`` = the event was in no training set);
* **seeds explicit** — :meth:`ScoreProducer.produce` takes an integer seed (or a
  :class:`numpy.random.SeedSequence`) and gives each window its own child
  (:func:`bumpstat.parallel.spawn_seeds`): same seed, same scores;
* **options in the object** — a producer is a frozen dataclass of its options (classifier
  configuration, features, sideband width, flow preset …), so it pickles and can be sent to a
  worker process; :meth:`ScoreProducer.options` is its JSON form, stored in the file.

A new producer is one module: a frozen dataclass deriving from :class:`ScoreProducer` with a
``name`` and :meth:`~ScoreProducer.score_window`, plus one line in
:data:`bumpstat.producers.PRODUCERS`.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from bumpstat.events import Events
from bumpstat.exceptions import InputError, WindowError
from bumpstat.parallel import seed_sequence, spawn_seeds
from bumpstat.scores.schema import ScoreFile, WindowScores
from bumpstat.serialize import jsonable
from bumpstat.windows import Window, sliding_windows

__all__ = [
    "ScoreProducer",
    "check_events",
    "check_score_range",
    "parse_mass_range",
    "parse_window_spec",
    "select_features",
]


def select_features(feature_names: Sequence[str],
                    features: Sequence[str | int] | None) -> list[int]:
    """Column indices of ``features`` (names or indices) in ``feature_names``; all if ``None``.

    >>> select_features(("mj1", "delta_mj", "delta_r"), ["mj1", "delta_r"])
    [0, 2]
    """
    names = list(feature_names)
    if features is None:
        return list(range(len(names)))
    cols: list[int] = []
    for f in features:
        if isinstance(f, int | np.integer) and not isinstance(f, bool):
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


def check_score_range(score_range: Any) -> tuple[float, float] | None:
    """``None`` or a ``(low, high)`` TeV pair with finite ``low < high``."""
    if score_range is None:
        return None
    try:
        lo, hi = (float(v) for v in score_range)
    except (TypeError, ValueError) as err:
        raise InputError(f"score_range must be (low, high) in TeV, got {score_range!r}") from err
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise InputError(f"score_range must be (low, high) TeV with low < high, got {score_range}")
    return lo, hi


def check_events(events: Any, what: str = "data") -> Events:
    """``events`` as :class:`Events` (anything with ``m``, ``x``, ``feature_names`` and optional
    ``label``/``weight`` is validated into one)."""
    if isinstance(events, Events):
        return events
    try:
        return Events(events.m, events.x, tuple(events.feature_names),
                      label=getattr(events, "label", None), weight=getattr(events, "weight", None))
    except AttributeError as err:
        raise InputError(f"{what} must be Events (m, x, feature_names), got "
                         f"{type(events).__name__}") from err
    except InputError as err:
        raise InputError(f"{what}: {err}") from err


def parse_window_spec(spec: str, *, width: float = 0.4) -> tuple[Window, ...]:
    """Windows from ``"sliding"`` (Das et al.'s [arXiv:2411.00085] nine windows, named SR1…SR9, of
    ``width`` TeV)
    or comma-separated centres in TeV.

    >>> [w.name for w in parse_window_spec("sliding")][:2], parse_window_spec("3.5")[0].low
    (['SR1', 'SR2'], 3.3)
    """
    text = str(spec).strip()
    if text == "sliding":
        return sliding_windows(width=width) if width != 0.4 else sliding_windows()
    try:
        centres = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise InputError(f"window spec must be 'sliding' or comma-separated centres in TeV, "
                         f"got {spec!r}") from err
    if not centres:
        raise WindowError(f"no window centres in {spec!r}")
    return sliding_windows(centres, width=width)


def parse_mass_range(text: str, what: str = "score range") -> tuple[float, float]:
    """``"lo,hi"`` (TeV) as a checked ``(lo, hi)`` pair.

    >>> parse_mass_range("2.8,5.2")
    (2.8, 5.2)
    """
    try:
        vals = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError as err:
        raise InputError(f"{what}: expected 'low,high' in TeV, got {text!r}") from err
    if len(vals) != 2:
        raise InputError(f"{what}: expected 'low,high' in TeV, got {text!r}")
    out = check_score_range(vals)
    assert out is not None
    return out


class ScoreProducer(ABC):
    """Interface of a score producer (a frozen dataclass of its options).

    Subclasses set :attr:`name` and implement :meth:`score_window`; :meth:`produce` does the
    rest: validation, one child seed per window, the progress bar, the metadata and the
    :class:`ScoreFile`.
    """

    #: Method name written to the score file.
    name: ClassVar[str]
    #: The producer needs ``reference``: an independent background sample (IAD, exact).
    needs_reference: ClassVar[bool] = False
    #: The reference is a *simulated* background (SALAD), not a sample of the data's own
    #: background model: studies hand it the other generator.
    reference_is_simulation: ClassVar[bool] = False
    #: The producer scores data events outside the window when ``score_range`` asks for it.
    supports_score_range: ClassVar[bool] = True
    #: The producer trains models (then every data event in the window has a fold >= 0).
    trains: ClassVar[bool] = True

    def describe(self, data: Events) -> dict[str, Any]:
        """Producer-specific metadata (the features used, what the template is, …)."""
        return {"features": list(data.feature_names)}

    def options(self) -> dict[str, Any]:
        """The producer's options as JSON-ready values (stored in the score file)."""
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            try:
                out[f.name] = jsonable(v)
            except TypeError:
                out[f.name] = repr(v)
        return out

    def produce(self, data: Any, windows: Sequence[Window], *, runs: int = 1, seed: Any = 0,
                reference: Any = None, score_range: Any = None,
                progress: bool = True) -> ScoreFile:
        """Score ``data`` (and the template of each window) in every window.

        Parameters
        ----------
        data : Events
            The data events (``m`` in TeV); labels are carried along when present.
        windows : sequence of Window
            Signal regions.
        runs : int
            Independent trainings (rows of the score arrays).
        seed : int >= 0 or numpy.random.SeedSequence
            Master seed; window ``i`` gets the ``i``-th child (:func:`spawn_seeds`).
        reference : Events, optional
            An independent background sample (required when :attr:`needs_reference`).
        score_range : (float, float), optional
            Also score the data events in ``[low, high)`` TeV outside the window.
        progress : bool
            Show progress bars.

        Returns
        -------
        ScoreFile
            Method :attr:`name`; metadata with the options, seed, runs and per-window details.
        """
        data = check_events(data, "data")
        windows = tuple(windows)
        if not windows or not all(isinstance(w, Window) for w in windows):
            raise WindowError("windows must be a non-empty sequence of Window")
        if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 1:
            raise InputError(f"runs must be an integer >= 1, got {runs!r}")
        rng_range = check_score_range(score_range)
        if rng_range is not None and not self.supports_score_range:
            raise InputError(f"{self.name}: score_range is not supported (the score is defined "
                             "inside the window only)")
        if self.needs_reference and reference is None:
            raise InputError(f"{self.name} needs reference=Events: an independent background "
                             "sample (e.g. simulation) with the data's features")
        if not self.needs_reference and reference is not None:
            raise InputError(f"{self.name} builds its own template and takes no reference sample")
        if reference is not None:
            reference = check_events(reference, "reference")
            if reference.feature_names != data.feature_names:
                raise InputError(f"reference features {reference.feature_names} differ from "
                                 f"data features {data.feature_names}")
        master = seed_sequence(seed)
        children = spawn_seeds(master, len(windows))
        from tqdm.auto import tqdm

        out, per_window = [], {}
        for w, ss in tqdm(list(zip(windows, children, strict=True)), desc=self.name,
                          unit="window", disable=not progress, leave=False):
            ws, info = self.score_window(data, w, runs=int(runs), seed=ss, reference=reference,
                                         score_range=rng_range, progress=progress)
            out.append(ws)
            per_window[w.name] = info
        meta = {
            "producer": self.name,
            "options": self.options(),
            "runs": int(runs),
            "seed": master.entropy,
            "seed_spawn_key": list(master.spawn_key),
            "score_range": None if rng_range is None else list(rng_range),
            "n_data": len(data),
            "n_reference": None if reference is None else len(reference),
            "labels": data.has_labels,
            "weights": "data/reference weights are stored in the file; training is unweighted"
                       if data.weight is not None or getattr(reference, "weight", None)
                       is not None else None,
            **self.describe(data),
            "windows": per_window,
        }
        return ScoreFile(tuple(out), method=self.name, metadata=jsonable(meta))

    @abstractmethod
    def score_window(self, data: Events, window: Window, *, runs: int,
                     seed: np.random.SeedSequence, reference: Events | None,
                     score_range: tuple[float, float] | None,
                     progress: bool) -> tuple[WindowScores, dict[str, Any]]:
        """Fit and score one window; return its :class:`WindowScores` and a JSON-ready dict of
        per-window details (sizes, timings) for the metadata."""
