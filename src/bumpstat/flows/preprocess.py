"""Feature preprocessing for the density flows (Das, Kasieczka & Shih [arXiv:2312.11629], App. A),
with its Jacobian.

Each column is shifted and scaled into (0, 1) with bounds ``lo``/``hi``, logit-transformed and
standardised: ``z = (logit((x - lo)/(hi - lo)) - mean)/std``. The parameters are fitted on the
sidebands (SB) and reused in the signal region, as in the paper. Because the map is a
per-column bijection, densities convert exactly between the two spaces,
``log p_x(x) = log p_z(z(x)) + log|dz/dx|``, with

.. math:: \\log\\left|\\frac{dz}{dx}\\right| = \\sum_j \\Big[-\\log(hi_j - lo_j) - \\log u_j
          - \\log(1 - u_j) - \\log \\mathrm{std}_j\\Big],\\quad u = (x - lo)/(hi - lo),

so every density bumpstat reports is in physical units (``TeV^-1`` for masses). numpy only.

By default ``lo``/``hi`` are the SB minimum/maximum widened by ``margin`` (5 %) of the range
on either side, so SR events slightly outside the SB range stay inside the support; events
outside ``(lo, hi)`` are an :class:`~bumpstat.exceptions.InputError` (never clipped silently).

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(1000, 2))
>>> pp = Preprocessor.fit(x)
>>> z, logdet = pp.transform(x)
>>> bool(np.allclose(pp.inverse(z), x)), z.shape, logdet.shape
(True, (1000, 2), (1000,))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from bumpstat.exceptions import InputError

__all__ = ["Preprocessor"]


def _as_2d(x: Any, name: str = "x") -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InputError(f"{name} must have shape (n_events, n_features), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or inf")
    return arr


@dataclass(frozen=True)
class Preprocessor:
    """Min-max → logit → standardise, per column, with the log-Jacobian.

    Attributes
    ----------
    lo, hi : tuple of float
        Support of each column (physical units); ``x`` must satisfy ``lo < x < hi``.
    mean, std : tuple of float
        Mean and standard deviation of ``logit(u)`` on the fitting sample.
    names : tuple of str
        Optional column names, used in error messages.
    """

    lo: tuple[float, ...]
    hi: tuple[float, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    names: tuple[str, ...] = ()

    @classmethod
    def fit(
        cls,
        x: Any,
        *,
        margin: float = 0.05,
        bounds: Any = None,
        support: Any = None,
        names: tuple[str, ...] = (),
    ) -> Preprocessor:
        """Fit the parameters on ``x`` (the SB sample), shape ``(n, d)`` or ``(n,)``.

        Parameters
        ----------
        margin : float
            Fraction of each column's range added below its minimum and above its maximum.
        bounds : sequence of (lo, hi), optional
            Fixed supports per column instead of the widened min/max (e.g. the SR window
            edges for m). ``None`` entries fall back to min/max with ``margin``.
        support : array (n2, d), optional
            Further events whose range widens the min/max (e.g. the SR events, so that the
            SB-fitted map covers them); the mean/std still come from ``x`` alone.
        names : tuple of str
            Column names for messages.
        """
        arr = _as_2d(x)
        if arr.shape[0] < 2:
            raise InputError("need at least two events to fit the preprocessing")
        rng_arr = arr if support is None else np.vstack([arr, _as_2d(support, "support")])
        mn, mx = rng_arr.min(0), rng_arr.max(0)
        span = np.where(mx > mn, mx - mn, 1.0)
        lo = mn - margin * span
        hi = mx + margin * span
        if bounds is not None:
            for j, b in enumerate(bounds):
                if b is not None:
                    lo[j], hi[j] = float(b[0]), float(b[1])
        proto = cls(tuple(lo), tuple(hi), (0.0,) * arr.shape[1], (1.0,) * arr.shape[1], names)
        u = proto._unit(arr)
        lg = special.logit(u)
        sd = lg.std(0)
        sd = np.where(sd > 0, sd, 1.0)
        return cls(tuple(map(float, lo)), tuple(map(float, hi)), tuple(map(float, lg.mean(0))),
                   tuple(map(float, sd)), tuple(names))

    @property
    def n_features(self) -> int:
        """Number of columns."""
        return len(self.lo)

    def _unit(self, arr: np.ndarray) -> np.ndarray:
        if arr.shape[1] != self.n_features:
            raise InputError(
                f"expected {self.n_features} feature column(s), got {arr.shape[1]}"
            )
        lo, hi = np.asarray(self.lo), np.asarray(self.hi)
        u = (arr - lo) / (hi - lo)
        bad = (u <= 0) | (u >= 1)
        if bad.any():
            j = int(np.argmax(bad.any(0)))
            name = self.names[j] if j < len(self.names) else f"column {j}"
            raise InputError(
                f"{int(bad.any(1).sum())} event(s) lie outside the preprocessing support of "
                f"{name}: ({self.lo[j]:.6g}, {self.hi[j]:.6g}), e.g. value "
                f"{arr[bad[:, j], j][0]:.6g}; refit with a larger margin or check the inputs"
            )
        return u

    def transform(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(z, log|dz/dx|)``: preprocessed features ``(n, d)`` and log-Jacobian ``(n,)``."""
        arr = _as_2d(x)
        u = self._unit(arr)
        mean, std = np.asarray(self.mean), np.asarray(self.std)
        z = (special.logit(u) - mean) / std
        width = np.asarray(self.hi) - np.asarray(self.lo)
        logdet = -(np.log(u) + np.log1p(-u)).sum(1) - np.log(width).sum() - np.log(std).sum()
        return z, logdet

    def inverse(self, z: Any) -> np.ndarray:
        """Physical features from preprocessed ``z`` (always inside ``(lo, hi)``)."""
        arr = np.asarray(z, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        u = special.expit(arr * np.asarray(self.std) + np.asarray(self.mean))
        return np.asarray(self.lo) + u * (np.asarray(self.hi) - np.asarray(self.lo))

    def log_abs_det(self, x: Any) -> np.ndarray:
        """``log|dz/dx|`` per event."""
        return self.transform(x)[1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return {"lo": list(self.lo), "hi": list(self.hi), "mean": list(self.mean),
                "std": list(self.std), "names": list(self.names)}
