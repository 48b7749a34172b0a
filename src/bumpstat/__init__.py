"""bumpstat: statistics toolkit for resonant anomaly detection."""

from __future__ import annotations

from bumpstat.exceptions import (
    BumpstatError,
    FitError,
    InputError,
    MissingExtraError,
    ScoreFileError,
    WindowError,
    WorkingPointError,
)
from bumpstat.windows import Window, sliding_windows, windows_from_edges

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "BumpstatError",
    "FitError",
    "InputError",
    "MissingExtraError",
    "ScoreFileError",
    "WindowError",
    "WorkingPointError",
    "Window",
    "sliding_windows",
    "windows_from_edges",
]
