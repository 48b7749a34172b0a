"""CWoLa Hunting: SR data vs the data in the short sidebands (paper 003 §2.2.2).

For every window the template is the data in the two short sidebands of ``sideband_width`` TeV
(0.2 TeV in paper 003) either side of the window, so the template's ``m`` lies *outside* the
window. A BDT ensemble is trained SR-vs-SB with stratified k-fold (balanced classes), so every
SR event and every sideband event gets an out-of-fold score. If the features are correlated
with m (e.g. ΔR_JJ), the classifier learns that correlation and the template is biased: this is
the ``delta_sys`` of paper 003 (≈ 1 for CWoLa with ΔR).

With ``score_range``, the data events in that range are stored too: sideband events with their
out-of-fold template scores, the rest with the mean of the k fold ensembles (``fold = -1``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bumpstat.classifiers.bdt import BDTConfig
from bumpstat.exceptions import WindowError
from bumpstat.methods.iad import weak_score_file
from bumpstat.scores.schema import ScoreFile
from bumpstat.windows import Window

__all__ = ["cwola_score_file"]


def cwola_score_file(
    data: Any,
    windows: Sequence[Window],
    *,
    runs: int = 1,
    config: BDTConfig | None = None,
    seed: int | np.random.Generator | None = 0,
    sideband_width: float = 0.2,
    features: Sequence[str | int] | None = None,
    score_range: tuple[float, float] | None = None,
    progress: bool = True,
) -> ScoreFile:
    """CWoLa scores: SR data (class 1) vs short-sideband data (class 0, the template).

    Parameters
    ----------
    data : Events
        Data events, ``m`` in TeV.
    windows : sequence of Window
    runs, config, seed, features, score_range, progress
        As for :func:`bumpstat.methods.iad.iad_score_file`.
    sideband_width : float
        Width in TeV of each short sideband.

    Returns
    -------
    ScoreFile
        Method ``"cwola"``; ``template`` = the sideband data events (``m`` outside the window).

    Raises
    ------
    WindowError
        Too few events in a window or its sidebands, or overlapping sidebands.
    """
    if not sideband_width > 0:
        raise WindowError(f"sideband_width must be positive, got {sideband_width} TeV")
    m = np.asarray(data.m, dtype=np.float64)
    x = np.asarray(data.x, dtype=np.float64)

    def make_template(w: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = np.flatnonzero(w.sideband_mask(m, kind="short", width=sideband_width))
        return x[idx], m[idx], idx

    return weak_score_file(
        "cwola", data, windows, make_template, runs=runs, config=config, seed=seed,
        features=features, score_range=score_range, progress=progress,
        metadata={"template": f"data in the short sidebands of {sideband_width} TeV",
                  "sideband_width": float(sideband_width)},
    )
