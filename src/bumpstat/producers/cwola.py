"""CWoLa Hunting: SR data vs the data in the short sidebands (Collins, Howe, Nachman,
arXiv:1805.02664; Das et al. [arXiv:2411.00085] §2.2.2).

The template of a window is the data in the two short sidebands of ``sideband_width`` TeV
(0.2 TeV in Das et al.) either side of it, so its ``m`` lies *outside* the window. A BDT ensemble
is trained SR vs SB with stratified k-fold (balanced classes), so every SR event and every
sideband event gets an out-of-fold score. Features correlated with m (e.g. ΔR_JJ) are learned as
a difference between SR and SB and bias the template: the ``δ_sys`` of Das et al. (≈ 1 for CWoLa
with ΔR). With ``score_range``, sideband events are stored with their out-of-fold template
scores, the other events in the range by the ensemble of one fold drawn at random
(``fold = -1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from bumpstat.events import Events
from bumpstat.exceptions import WindowError
from bumpstat.producers.weak import WeakProducer
from bumpstat.windows import Window

__all__ = ["CWoLaProducer"]


@dataclass(frozen=True)
class CWoLaProducer(WeakProducer):
    """CWoLa Hunting scores (no reference: the template is the sideband data).

    Parameters
    ----------
    config, features
        As for :class:`~bumpstat.producers.iad.IADProducer`.
    sideband_width : float
        Width in TeV of each short sideband.
    """

    name: ClassVar[str] = "cwola"
    sideband_width: float = 0.2

    def __post_init__(self) -> None:
        super().__post_init__()
        if not float(self.sideband_width) > 0:
            raise WindowError(f"sideband_width must be positive, got {self.sideband_width} TeV")

    def template(self, data: Events, window: Window,
                 reference: Events | None) -> tuple[Events, np.ndarray]:
        return data, np.flatnonzero(window.sideband_mask(data.m, kind="short",
                                                         width=self.sideband_width))

    def describe(self, data: Events) -> dict[str, Any]:
        return {**super().describe(data),
                "template": f"data in the short sidebands of {self.sideband_width:g} TeV",
                "sideband_width": float(self.sideband_width)}
