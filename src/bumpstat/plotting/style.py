"""Shared figure helpers: an mplhep style context, a figure factory and saving."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import matplotlib.pyplot as plt
import mplhep
from matplotlib.figure import Figure

__all__ = ["hep_style", "new_axes", "finish"]


@contextlib.contextmanager
def hep_style() -> Iterator[None]:
    """Apply the CMS-like mplhep style for the figures made inside the block.

    The style names font families that most machines lack; matplotlib's fallback notices
    are silenced inside the block only.
    """
    with _quiet_fonts(), plt.style.context(mplhep.style.CMS):
        yield


@contextlib.contextmanager
def _quiet_fonts() -> Iterator[None]:
    fm_logger = logging.getLogger("matplotlib.font_manager")
    level = fm_logger.level
    fm_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        fm_logger.setLevel(level)


def new_axes(ax=None, *, nrows: int = 1, height_ratios=None, figsize=(10, 8)):
    """Return ``(fig, axes)``; reuse ``ax`` when given (single panel only)."""
    if ax is not None:
        return ax.figure, ax
    fig, axes = plt.subplots(
        nrows, 1, figsize=figsize, sharex=nrows > 1,
        gridspec_kw={"height_ratios": height_ratios} if height_ratios else None,
    )
    return fig, axes


def finish(fig: Figure, path: str | Path | None) -> Figure:
    """Save ``fig`` to ``path`` atomically when given; return it."""
    if path is not None:
        from bumpstat.outputs import atomic_path

        with _quiet_fonts(), atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, bbox_inches="tight", dpi=100)
    return fig
