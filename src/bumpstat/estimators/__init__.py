"""Background estimators behind one interface, and the registry that names them.

>>> from bumpstat.estimators import get_estimator
>>> get_estimator("direct", delta_sys=0.1)
DirectEstimator(delta_sys=0.1, sigma_sys=None, per_window=False)
>>> sorted(ESTIMATORS)
['direct', 'fit']
"""

from __future__ import annotations

from typing import Any

from bumpstat.estimators.base import BackgroundEstimator
from bumpstat.estimators.direct import DirectEstimator
from bumpstat.estimators.sideband_fit import SidebandFitEstimator
from bumpstat.exceptions import InputError

__all__ = [
    "ESTIMATORS",
    "BackgroundEstimator",
    "DirectEstimator",
    "SidebandFitEstimator",
    "get_estimator",
]

#: Estimator names (as in scan records and the CLI) mapped to their classes.
ESTIMATORS: dict[str, type[BackgroundEstimator]] = {
    "direct": DirectEstimator,
    "fit": SidebandFitEstimator,
}


def get_estimator(spec: str | BackgroundEstimator, **options: Any) -> BackgroundEstimator:
    """An estimator from its registry name and options, or ``spec`` itself if it is one."""
    if isinstance(spec, BackgroundEstimator):
        if options:
            raise InputError(f"options {sorted(options)} given with an estimator object")
        return spec
    cls = ESTIMATORS.get(spec) if isinstance(spec, str) else None
    if cls is None:
        raise InputError(f"unknown background estimator {spec!r}; choose from "
                         f"{sorted(ESTIMATORS)} or pass a BackgroundEstimator object")
    try:
        return cls(**options)
    except TypeError as err:
        raise InputError(f"estimator {spec!r}: {err}") from err
