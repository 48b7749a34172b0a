"""The supervised reference: score events with the generator's exact likelihood ratio.

``score = log p_sig(x | m) - log p_bg(x | m)``, the Neyman–Pearson optimal anomaly score of the
synthetic data (BRIEF §4). The template is an independent background sample from the same
generator (``reference``), so ``δ_sys = 0`` in truth. Nothing is trained: the score of every run
is the same and no ``fold`` is stored.

>>> from bumpstat.data import SyntheticLHCO
>>> from bumpstat.windows import Window
>>> gen = SyntheticLHCO()
>>> sf = exact_score_file(gen, gen.sample(n_background=5000, n_signal=20, seed=1),
...                       gen.sample_background(5000, seed=2), [Window(3.3, 3.7)])
>>> sf.method, sf.n_runs
('exact', 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bumpstat.events import Events
from bumpstat.exceptions import InputError, WindowError
from bumpstat.producers.base import ScoreProducer
from bumpstat.scores.schema import EventSet, ScoreFile, WindowScores
from bumpstat.windows import Window

__all__ = ["ExactProducer", "exact_score_file"]


@dataclass(frozen=True)
class ExactProducer(ScoreProducer):
    """Exact likelihood-ratio scores (needs ``reference``, an independent background sample).

    Parameters
    ----------
    generator : SyntheticLHCO
        Provides the exact densities (its ``log_likelihood_ratio(x, m)``).
    """

    name: ClassVar[str] = "exact"
    needs_reference: ClassVar[bool] = True
    trains: ClassVar[bool] = False
    generator: Any = None

    def __post_init__(self) -> None:
        if not callable(getattr(self.generator, "log_likelihood_ratio", None)):
            raise InputError("ExactProducer needs generator=<a generator with exact densities>, "
                             "e.g. bumpstat.data.SyntheticLHCO()")

    def describe(self, data: Events) -> dict[str, Any]:
        return {"features": list(data.feature_names),
                "score": "log p_sig(x|m) - log p_bg(x|m)", "generator": repr(self.generator),
                "template": "independent background sample (reference) in the window",
                "fold": "none: nothing is trained"}

    def score_window(self, data: Events, window: Window, *, runs: int,
                     seed: np.random.SeedSequence, reference: Events | None,
                     score_range: tuple[float, float] | None,
                     progress: bool) -> tuple[WindowScores, dict[str, Any]]:
        assert reference is not None
        keep = window.contains(data.m)
        if score_range is not None:
            keep |= (data.m >= score_range[0]) & (data.m < score_range[1])
        tmask = window.contains(reference.m)
        if not tmask.any():
            raise WindowError(f"window {window.name!r}: the reference sample has no events in it")
        llr = self.generator.log_likelihood_ratio
        d = llr(data.x[keep], data.m[keep])
        t = llr(reference.x[tmask], reference.m[tmask])
        ws = WindowScores(
            window=window,
            data=EventSet(scores=np.repeat(d[None, :], runs, axis=0), m=data.m[keep],
                          weight=None if data.weight is None else data.weight[keep],
                          label=None if data.label is None else data.label[keep],
                          event_id=np.flatnonzero(keep)),
            template=EventSet(scores=np.repeat(t[None, :], runs, axis=0), m=reference.m[tmask],
                              weight=None if reference.weight is None
                              else reference.weight[tmask], event_id=np.flatnonzero(tmask)),
        )
        return ws, {"n_data": int(keep.sum()), "n_template": int(tmask.sum())}


def exact_score_file(generator: Any, data: Events, template: Events, windows: Sequence[Window],
                     *, data_range: tuple[float, float] | None = None) -> ScoreFile:
    """``ExactProducer(generator).produce(data, windows, reference=template,
    score_range=data_range)`` without a progress bar: one run, method ``"exact"``."""
    return ExactProducer(generator).produce(data, windows, reference=template,
                                            score_range=data_range, progress=False)
