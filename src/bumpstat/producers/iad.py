"""Idealised anomaly detector (IAD): SR data vs an independent background sample in the SR.

The template of each window is the events of ``reference`` (an independent background sample:
simulation, a second generator) inside the window; a BDT ensemble is trained SR data vs that
template with stratified k-fold (:mod:`bumpstat.producers.weak`). The name is from CATHODE
(Hallin et al., arXiv:2109.00546); Das et al. (arXiv:2411.00085) uses it as the
reference of its direct background estimates.

>>> from bumpstat.data import SyntheticLHCO
>>> from bumpstat.windows import Window
>>> gen = SyntheticLHCO()
>>> data, ref = gen.sample(n_background=20_000, seed=1), gen.sample_background(20_000, seed=2)
>>> sf = IADProducer(config="fast").produce(data, [Window(3.3, 3.7)], reference=ref,
...                                         progress=False)
>>> sf.method, sf.n_runs, sorted(set(sf.windows[0].data.fold.tolist()))
('iad', 1, [0, 1, 2, 3, 4])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bumpstat.events import Events
from bumpstat.producers.weak import WeakProducer
from bumpstat.windows import Window

__all__ = ["IADProducer"]


@dataclass(frozen=True)
class IADProducer(WeakProducer):
    """IAD scores (needs ``reference``, the independent background sample).

    Parameters
    ----------
    config : BDTConfig or str
        BDT ensemble and k-fold (``"fast"``: 2 BDTs per fold, ``"default"``: 10, ``"paper"``:
        50, Das et al. App. A.1).
    features : sequence of str or int, optional
        Feature subset (all by default).
    """

    name: ClassVar[str] = "iad"
    needs_reference: ClassVar[bool] = True

    def template(self, data: Events, window: Window,
                 reference: Events | None) -> tuple[Events, np.ndarray]:
        assert reference is not None
        return reference, np.flatnonzero(window.contains(reference.m))

    def describe(self, data: Events) -> dict[str, Any]:
        return {**super().describe(data),
                "template": "independent background sample (reference) in the window"}
