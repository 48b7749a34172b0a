"""The direct background estimator (Das et al. [arXiv:2411.00085]): a template's efficiency times
the SR count.

``N_exp = eps_b N_SR (1 + delta_sys)`` (eq. 3) with ``sigma_exp`` of eq. 8; the counting test is
the one-bin Poisson-constrained model (:func:`bumpstat.direct.direct_estimate`).

Without a ``delta_sys`` the estimator assumes a perfect template (``delta_sys = sigma_sys = 0``)
and marks every point ``valid: false`` with that reason: give the systematic shift measured on a
signal-free sample (``bumpstat delta-sys``), or ``delta_sys=0`` to accept a perfect template
explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bumpstat.direct.delta_sys import DeltaSys
from bumpstat.direct.estimate import direct_estimate
from bumpstat.estimators.base import BackgroundEstimator
from bumpstat.exceptions import InputError
from bumpstat.scanpoint import ScanPoint
from bumpstat.scores.schema import ScoreFile, WindowScores
from bumpstat.windows import Window

__all__ = ["DirectEstimator", "NO_DELTA_SYS"]

#: Reason given when no delta_sys was configured.
NO_DELTA_SYS = ("no delta_sys given: assumes a perfect background template (delta_sys = "
                "sigma_sys = 0); estimate it on a signal-free sample (bumpstat delta-sys) or "
                "pass delta_sys=0 to accept this explicitly")


def _as_tuple(v):
    if v is None or isinstance(v, DeltaSys):
        return v
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 0:
        return float(arr)
    return tuple(float(x) for x in arr.reshape(-1))


@dataclass(frozen=True)
class DirectEstimator(BackgroundEstimator):
    """Direct estimation from the window's background template.

    Parameters
    ----------
    delta_sys : float, sequence of float (one per eps_b), DeltaSys or None
        Relative systematic shift of the template (eq. 3). A :class:`DeltaSys` is used at the
        scan's working points: its window average (eq. 5), or with ``per_window=True`` the
        value of each window (matched by name). None: not given (see the module docstring).
    sigma_sys : float or sequence of float, optional
        Relative systematic uncertainty; default ``|delta_sys|`` (Das et al.'s choice).
    per_window : bool
        Use the per-window ``delta_sys,n`` of a :class:`DeltaSys`.
    """

    name: ClassVar[str] = "direct"
    delta_sys: float | tuple[float, ...] | DeltaSys | None = None
    sigma_sys: float | tuple[float, ...] | None = None
    per_window: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "delta_sys", _as_tuple(self.delta_sys))
        object.__setattr__(self, "sigma_sys", _as_tuple(self.sigma_sys))
        if self.per_window and not isinstance(self.delta_sys, DeltaSys):
            raise InputError("per_window=True needs a DeltaSys estimate (a delta-sys JSON file)")

    def delta_for(self, window: Window, eps_b: np.ndarray) -> np.ndarray:
        """``delta_sys`` of ``window`` at each working point ``eps_b``, shape (n_eps,)."""
        d = self.delta_sys
        n_e = eps_b.size
        if d is None:
            return np.zeros(n_e)
        if isinstance(d, DeltaSys):
            if not self.per_window:
                return d.at(eps_b)
            names = [w.name for w in d.windows]
            if window.name not in names:
                raise InputError(f"per-window delta_sys ({d.kind}) has no value for window "
                                 f"{window.name!r}; it has {names}")
            row = d.per_window[names.index(window.name)]
            idx = [int(np.flatnonzero(np.isclose(d.eps_b, e, rtol=1e-9, atol=0))[0])
                   if np.isclose(d.eps_b, e, rtol=1e-9, atol=0).any() else -1 for e in eps_b]
            if min(idx) < 0:
                raise InputError(f"delta_sys ({d.kind}) was estimated at eps_b = "
                                 f"{d.eps_b.tolist()}, not at all of {eps_b.tolist()}")
            return row[idx]
        v = np.asarray(d, dtype=np.float64)
        if v.ndim == 0:
            return np.full(n_e, float(v))
        if v.shape != (n_e,):
            raise InputError(f"delta_sys has {v.size} values but the scan has {n_e} working "
                             f"points {eps_b.tolist()}: give one number or one per eps_b")
        return v

    def check(self, scores: ScoreFile, eps_b: np.ndarray) -> None:
        """Every window must have a delta_sys and sigma_sys at every working point."""
        for ws in scores.windows:
            self.delta_for(ws.window, eps_b)
        if isinstance(self.sigma_sys, tuple) and len(self.sigma_sys) != eps_b.size:
            raise InputError(f"sigma_sys has {len(self.sigma_sys)} values but the scan has "
                             f"{eps_b.size} working points: give one number or one per eps_b")

    def estimate(self, ws: WindowScores, eps_b: np.ndarray, *, cl: float = 0.95
                 ) -> list[ScanPoint]:
        """Direct estimate, eq. 6 significance and CLs limit at every working point."""
        sigma: float | Sequence[float] | None = self.sigma_sys
        return direct_estimate(ws, eps_b, delta_sys=self.delta_for(ws.window, eps_b),
                               sigma_sys=sigma, cl=cl,
                               invalid_reason=NO_DELTA_SYS if self.delta_sys is None else None)
