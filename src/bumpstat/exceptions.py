"""Exception hierarchy of bumpstat.

Every error raised on purpose by bumpstat derives from :class:`BumpstatError`, so a caller can
catch all of them with one ``except``. The subclasses say which kind of input was wrong; the
message names the file, window, field and problem where they are known.
"""

from __future__ import annotations

__all__ = [
    "BumpstatError",
    "InputError",
    "ScoreFileError",
    "WindowError",
    "WorkingPointError",
    "FitError",
    "MissingExtraError",
]


class BumpstatError(Exception):
    """Base class of all errors raised by bumpstat."""


class InputError(BumpstatError, ValueError):
    """An array or argument is invalid: NaN/inf, wrong shape, mismatched lengths, bad range."""


class ScoreFileError(BumpstatError):
    """A score file cannot be read or does not follow the schema.

    The message names the file, and where known the window and field, and lists what the
    file does contain.
    """


class WindowError(InputError):
    """A signal-region window is malformed or holds no events."""


class WorkingPointError(InputError):
    """A working point cannot be realised, e.g. ``eps_b * N_BT < 1`` or no template event passes."""


class FitError(BumpstatError):
    """A fit cannot be set up (too few bins, empty sidebands, all events cut away)."""


class MissingExtraError(BumpstatError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""
