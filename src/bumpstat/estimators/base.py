"""The background-estimator interface.

A background estimator carries its own options (a direct estimator its ``delta_sys`` and
``sigma_sys``, a sideband-fit estimator its fit function, range and binning) and turns one
window's scores at the working points into :class:`~bumpstat.scanpoint.ScanPoint` objects.
Estimators are plain frozen dataclasses: they pickle, so they travel to process-pool and Dask
workers as they are, with nothing registered by import.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from bumpstat.scanpoint import ScanPoint
from bumpstat.scores.schema import ScoreFile, WindowScores
from bumpstat.serialize import jsonable

__all__ = ["BackgroundEstimator"]


class BackgroundEstimator(ABC):
    """Estimate the background of one window at several working points and test the excess.

    Subclasses are frozen dataclasses holding their options, set :attr:`name`, implement
    :meth:`estimate` and may override :meth:`check`.
    """

    #: Name of the method in scan records, reports and the CLI registry.
    name: ClassVar[str] = ""

    def check(self, scores: ScoreFile, eps_b: np.ndarray) -> None:
        """Raise :class:`~bumpstat.exceptions.InputError` (naming the file and the problem) if
        ``scores`` cannot serve this estimator; called once before a scan starts. The default
        accepts every score file."""
        return None

    @abstractmethod
    def estimate(self, ws: WindowScores, eps_b: np.ndarray, *, cl: float = 0.95
                 ) -> list[ScanPoint]:
        """One :class:`ScanPoint` per working point of ``eps_b`` (same order), over all runs."""

    def to_dict(self) -> dict[str, Any]:
        """``{"name": …, <options>}``, JSON-ready."""
        opts = ({f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
                if dataclasses.is_dataclass(self) else {})
        return jsonable({"name": self.name, **opts})
