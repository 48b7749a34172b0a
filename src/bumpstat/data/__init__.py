"""Event data: the :class:`~bumpstat.events.Events` container (re-exported), the synthetic
LHCO-like generator with exact densities, the LHCO R&D loader, events files and density files.

>>> from bumpstat.data import SyntheticLHCO
>>> ev = SyntheticLHCO().sample(n_background=100, n_signal=5, seed=0)
>>> ev.n_signal, ev.x.shape
(5, (105, 4))
"""

from __future__ import annotations

from bumpstat.data.densities import read_density_file, write_density_file
from bumpstat.data.files import read_events, write_events
from bumpstat.data.lhco import LHCO_COLUMNS, derive_features, load_lhco_rnd
from bumpstat.data.synthetic import (
    BASELINE_FEATURES,
    DELTA_R_FEATURE,
    M_HI,
    M_LO,
    SQRT_S,
    SyntheticLHCO,
)
from bumpstat.events import Events

__all__ = [
    "Events",
    "SyntheticLHCO",
    "load_lhco_rnd",
    "derive_features",
    "read_events",
    "write_events",
    "read_density_file",
    "write_density_file",
    "LHCO_COLUMNS",
    "BASELINE_FEATURES",
    "DELTA_R_FEATURE",
    "M_LO",
    "M_HI",
    "SQRT_S",
]
