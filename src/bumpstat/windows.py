"""Signal-region windows in the resonant variable m (TeV) and their sidebands.

The default is the sliding-window set of Das et al. [arXiv:2411.00085]: 9 overlapping windows of
width 0.4 TeV
centred at ``m_n = 3.5 - 0.1 * (5 - n)`` TeV, n = 1..9.

>>> ws = sliding_windows()
>>> len(ws), ws[4].center, ws[4].low, ws[4].high
(9, 3.5, 3.3, 3.7)
>>> Window(3.3, 3.7).short_sidebands(0.2)
((3.1, 3.3), (3.7, 3.9))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bumpstat.exceptions import InputError, WindowError

__all__ = ["Window", "sliding_windows", "windows_from_edges", "window_edges", "DEFAULT_RANGE",
           "MAX_MASS_TEV", "check_mass_unit"]

#: Default analysis range in m (TeV), used for "full" sidebands.
DEFAULT_RANGE: tuple[float, float] = (2.8, 5.2)

#: Largest plausible mass in TeV (beyond any collider's reach): a mass or window edge above it
#: was almost certainly given in GeV.
MAX_MASS_TEV = 100.0


def check_mass_unit(m: np.ndarray | float, what: str = "m") -> None:
    """Raise :class:`~bumpstat.exceptions.InputError` if masses in TeV look like GeV.

    A median above :data:`MAX_MASS_TEV` TeV is taken as GeV; the message says so and names
    the value that was probably meant.

    >>> check_mass_unit(np.array([3.4, 3.6]))
    >>> check_mass_unit(np.array([3400.0, 3600.0]), "data m")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bumpstat.exceptions.InputError: data m has median 3500 TeV, ... probably in GeV ...
    """
    arr = np.asarray(m, dtype=np.float64)
    if arr.size == 0:
        return
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return
    med = float(np.median(finite))
    if med > MAX_MASS_TEV:
        raise InputError(f"{what} has median {med:g} TeV, above {MAX_MASS_TEV:g} TeV: these "
                         f"masses are probably in GeV ({med:g} GeV = {med / 1000:g} TeV); "
                         "bumpstat expects TeV, divide by 1000")


def _r(x: float) -> float:
    """Round to 1e-9 TeV so that windows built by arithmetic compare and print cleanly."""
    return float(round(x, 9))


@dataclass(frozen=True)
class Window:
    """A signal region ``low <= m < high`` in TeV, with an optional name.

    Parameters
    ----------
    low, high : float
        Edges in TeV, ``low < high``.
    name : str, optional
        Label used in files and plots; defaults to ``"SR_<center>"``. It becomes part of file
        names, so it must match :data:`bumpstat.outputs.SAFE_NAME` (1-64 of
        ``A-Z a-z 0-9 _ . + -``, not starting with ``.`` or ``-``): no ``/``, ``..``, NUL or
        absolute paths.

    Raises
    ------
    WindowError
        Non-finite or reversed edges, edges above :data:`MAX_MASS_TEV` (GeV given for TeV),
        or an unsafe name.
    """

    low: float
    high: float
    name: str = ""

    def __post_init__(self) -> None:
        low, high = float(self.low), float(self.high)
        if not (np.isfinite(low) and np.isfinite(high)):
            raise WindowError(f"window edges must be finite, got ({low}, {high})")
        if not low < high:
            raise WindowError(f"window low edge must be below high edge, got ({low}, {high}) TeV")
        if max(abs(low), abs(high)) > MAX_MASS_TEV:
            raise WindowError(
                f"window ({low:g}, {high:g}) TeV: edges above {MAX_MASS_TEV:g} TeV are probably "
                f"in GeV; bumpstat expects TeV, e.g. Window({low / 1000:g}, {high / 1000:g})")
        object.__setattr__(self, "low", _r(low))
        object.__setattr__(self, "high", _r(high))
        if not isinstance(self.name, str):
            raise WindowError(f"window name must be a string, got {self.name!r}")
        if not self.name:
            object.__setattr__(self, "name", f"SR_{self.center:.3f}")
        from bumpstat.outputs import check_name

        try:
            check_name(self.name, "window name")
        except InputError as err:
            raise WindowError(str(err)) from None

    @property
    def center(self) -> float:
        """Window centre in TeV."""
        return _r(0.5 * (self.low + self.high))

    @property
    def width(self) -> float:
        """Window width in TeV."""
        return _r(self.high - self.low)

    def contains(self, m: np.ndarray) -> np.ndarray:
        """Boolean mask of ``low <= m < high``."""
        m = np.asarray(m)
        return (m >= self.low) & (m < self.high)

    def short_sidebands(
        self, width: float = 0.2
    ) -> tuple[tuple[float, float], tuple[float, float]]:
        """The two short sidebands of ``width`` TeV either side (CWoLa Hunting)."""
        if width <= 0:
            raise WindowError(f"sideband width must be positive, got {width}")
        return ((_r(self.low - width), self.low), (self.high, _r(self.high + width)))

    def full_sidebands(
        self, fit_range: tuple[float, float] = DEFAULT_RANGE
    ) -> tuple[tuple[float, float], tuple[float, float]]:
        """Everything outside the window within ``fit_range`` (TeV)."""
        lo, hi = fit_range
        if not (lo <= self.low and self.high <= hi):
            raise WindowError(
                f"window [{self.low}, {self.high}) TeV is not inside the range [{lo}, {hi}) TeV"
            )
        return ((_r(lo), self.low), (self.high, _r(hi)))

    def sideband_mask(
        self,
        m: np.ndarray,
        *,
        kind: str = "short",
        width: float = 0.2,
        fit_range: tuple[float, float] = DEFAULT_RANGE,
    ) -> np.ndarray:
        """Boolean mask of events in the sidebands, ``kind`` = ``"short"`` or ``"full"``."""
        if kind == "short":
            bands = self.short_sidebands(width)
        elif kind == "full":
            bands = self.full_sidebands(fit_range)
        else:
            raise WindowError(f"sideband kind must be 'short' or 'full', got {kind!r}")
        m = np.asarray(m)
        return np.logical_or.reduce([(m >= a) & (m < b) for a, b in bands])

    def to_dict(self) -> dict[str, float | str]:
        """JSON-ready ``{"name", "low", "high", "center"}`` (TeV)."""
        return {"name": self.name, "low": self.low, "high": self.high, "center": self.center}

    @classmethod
    def from_dict(cls, d: dict) -> Window:
        """Inverse of :meth:`to_dict`."""
        return cls(float(d["low"]), float(d["high"]), str(d.get("name", "")))


def sliding_windows(
    centers: Iterable[float] | None = None, *, width: float = 0.4
) -> tuple[Window, ...]:
    """Sliding windows of ``width`` TeV at ``centers`` (TeV).

    Without ``centers`` these are Das et al.'s nine windows ``3.5 - 0.1 (5 - n)``, n = 1..9,
    named ``SR1`` … ``SR9``.
    """
    if width <= 0:
        raise WindowError(f"window width must be positive, got {width} TeV")
    if centers is None:
        return tuple(
            Window(3.5 - 0.1 * (5 - n) - width / 2, 3.5 - 0.1 * (5 - n) + width / 2, f"SR{n}")
            for n in range(1, 10)
        )
    cs = [float(c) for c in centers]
    if not cs:
        raise WindowError("no window centres given")
    return tuple(Window(c - width / 2, c + width / 2) for c in cs)


def windows_from_edges(edges: Sequence[tuple[float, float]]) -> tuple[Window, ...]:
    """Windows from explicit ``[(low, high), …]`` pairs in TeV."""
    if len(edges) == 0:
        raise WindowError("no window edges given")
    return tuple(Window(float(lo), float(hi)) for lo, hi in edges)


def window_edges(window: Window | Sequence[float]) -> tuple[float, float]:
    """``(low, high)`` in TeV from a :class:`Window` or a ``(low, high)`` pair.

    Raises :class:`WindowError` (an :class:`~bumpstat.exceptions.InputError`) unless the edges
    are finite with ``low < high``.

    >>> window_edges((3.3, 3.7)), window_edges(Window(3.3, 3.7))
    ((3.3, 3.7), (3.3, 3.7))
    """
    if isinstance(window, Window) or (hasattr(window, "low") and hasattr(window, "high")):
        low, high = float(window.low), float(window.high)  # type: ignore[union-attr]
    else:
        try:
            low, high = (float(v) for v in window)
        except (TypeError, ValueError) as err:
            raise WindowError(
                f"window must be a Window or a (low, high) pair in TeV, got {window!r}"
            ) from err
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise WindowError(f"window must have finite low < high, got ({low}, {high}) TeV")
    return low, high
