"""Shared figure helpers: the mplhep style, the experiment label, legends that keep off the data,
labelled reference lines, a figure factory and saving.

The experiment label (mplhep's ``exp_label``, drawn above the axes) defaults to a neutral
"Simulation"; change it for every figure with :func:`set_label` (or the environment variable
``BUMPSTAT_PLOT_LABEL``), e.g. ``set_label("Private work", exp="", sqrt_s=13, lumi=139)``.

Reference lines (3σ, 5σ, an SR band) are tagged ``gid="reference"``: they are not data, and
their labels sit outside the right edge of the axes so that no text covers a data point.
:func:`place_legend` puts the legend where it covers no data artist, making headroom or moving
it outside the axes if it must.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mplhep
import numpy as np
from matplotlib.figure import Figure

__all__ = ["PlotLabel", "hep_style", "new_axes", "finish", "set_label", "get_label",
           "experiment_label", "place_legend", "reference_hline", "data_overlaps", "REFERENCE"]

#: ``gid`` of artists that are guides, not data (reference lines and bands).
REFERENCE = "reference"


@dataclass(frozen=True)
class PlotLabel:
    """The experiment label drawn above every figure.

    Attributes
    ----------
    text : str
        Status text, e.g. ``"Simulation"`` (default), ``"Private work"``, ``"Preliminary"``.
    exp : str
        Experiment name in bold before the text (default none).
    sqrt_s : float or None
        Centre-of-mass energy in TeV shown on the right; None hides it. Plots of m_JJ spectra
        use 13 TeV (the dijet functions' default) when this is None.
    lumi : float or None
        Integrated luminosity in fb⁻¹ shown on the right; None hides it.
    """

    text: str = "Simulation"
    exp: str = ""
    sqrt_s: float | None = None
    lumi: float | None = None


_LABEL = PlotLabel(text=os.environ.get("BUMPSTAT_PLOT_LABEL", "Simulation"))


def set_label(text: str | None = None, *, exp: str | None = None, sqrt_s: float | None = None,
              lumi: float | None = None) -> PlotLabel:
    """Set the experiment label of the figures made from now on; return the previous one.

    Arguments left as None keep their current value (``text=""`` hides the status text).
    """
    global _LABEL
    old = _LABEL
    changes: dict[str, Any] = {}
    for k, v in (("text", text), ("exp", exp), ("sqrt_s", sqrt_s), ("lumi", lumi)):
        if v is not None:
            changes[k] = v
    _LABEL = replace(_LABEL, **changes)
    return old


def get_label() -> PlotLabel:
    """The current experiment label."""
    return _LABEL


def experiment_label(ax, *, sqrt_s: float | None = None, label: PlotLabel | None = None) -> None:
    """Draw the experiment label above ``ax`` (status text left, √s and luminosity right).

    ``sqrt_s`` (TeV) is used when the configured label has none.
    """
    lab = label or _LABEL
    com = lab.sqrt_s if lab.sqrt_s is not None else sqrt_s
    rlabel = None
    if com is None and lab.lumi is None:
        rlabel = ""
    with _quiet_fonts():
        mplhep.label.exp_label(exp=lab.exp, text=lab.text, data=True, loc=0, ax=ax,
                               com=None if com is None else f"{com:g}",
                               lumi=None if lab.lumi is None else f"{lab.lumi:g}",
                               rlabel=rlabel, fontsize="medium", scilocator_adjust=False)


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


def reference_hline(ax, y: float, text: str | None = None, **kw: Any) -> None:
    """A horizontal guide at ``y`` (data units), labelled just outside the right edge of ``ax``."""
    style = {"color": "grey", "lw": 1, "ls": ":", **kw}
    ax.axhline(y, gid=REFERENCE, **style)
    if text:
        ax.annotate(text, (1.0, y), xycoords=("axes fraction", "data"), xytext=(4, 0),
                    textcoords="offset points", ha="left", va="center", fontsize="x-small",
                    color=style["color"], annotation_clip=True)


# -- what counts as data, in display coordinates ----------------------------------------------
def _data_paths(ax) -> list[tuple[Any, bool]]:
    """``(path in display coords, filled)`` of every data artist of ``ax`` (not reference)."""
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    out: list[tuple[Any, bool]] = []
    for art in [*ax.lines, *ax.collections, *ax.patches]:
        if art.get_gid() == REFERENCE or not art.get_visible():
            continue
        if isinstance(art, Line2D):
            xy = np.asarray(art.get_xydata(), dtype=float)
            xy = xy[np.isfinite(xy).all(axis=1)] if xy.size else xy.reshape(0, 2)
            if len(xy) == 0:
                continue
            from matplotlib.path import Path as MPath

            disp = art.get_transform().transform(xy)
            has_line = art.get_linestyle() not in ("None", "none", "", " ")
            if has_line and len(disp) > 1:
                out.append((MPath(disp), False))
            else:
                for p in disp:
                    out.append((MPath(np.array([p, p])), False))
        elif isinstance(art, Collection):
            trans = art.get_transform()
            offsets = art.get_offsets()
            paths = art.get_paths()
            if len(offsets) and len(paths) == 1 and len(offsets) > 1:  # markers (scatter)
                from matplotlib.path import Path as MPath

                disp = art.get_offset_transform().transform(np.asarray(offsets))
                out += [(MPath(np.array([p, p])), False) for p in disp if np.isfinite(p).all()]
                continue
            filled = np.asarray(art.get_facecolor()).size > 0 and \
                (np.asarray(art.get_facecolor())[..., -1] > 0).any()
            out += [(trans.transform_path(p), bool(filled)) for p in paths]
        elif isinstance(art, Patch):
            out.append((art.get_transform().transform_path(art.get_path()),
                        bool(art.get_fill())))
    return out


def data_overlaps(ax, bbox) -> bool:
    """Whether the display-coordinate ``bbox`` covers any data artist of ``ax``."""
    for path, filled in _data_paths(ax):
        if len(path.vertices) and path.intersects_bbox(bbox, filled=filled):
            return True
    return False


def _grow_top(ax, frac: float) -> None:
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "log":
        llo, lhi = np.log10(lo), np.log10(hi)
        ax.set_ylim(lo, 10 ** (lhi + frac * (lhi - llo)))
    else:
        ax.set_ylim(lo, hi + frac * (hi - lo))


def place_legend(ax, *, tries: int = 3, **kw: Any):
    """A legend that covers no data artist: ``loc="best"``, else more headroom, else outside.

    Keyword arguments go to :meth:`~matplotlib.axes.Axes.legend`. Returns the legend.
    """
    kw.setdefault("fontsize", "small")
    renderer = ax.figure.canvas.get_renderer()

    def clear(leg) -> bool:
        leg.draw(renderer)  # places a loc="best" legend (the figure is redrawn when saved)
        return not data_overlaps(ax, leg.get_window_extent(renderer))

    leg = ax.legend(loc="best", **kw)
    for _ in range(tries):
        if clear(leg):
            return leg
        _grow_top(ax, 0.35)
        leg = ax.legend(loc="best", **kw)
    if clear(leg):
        return leg
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kw)


def finish(fig: Figure, path: str | Path | None) -> Figure:
    """Save ``fig`` to ``path`` atomically when given; return it."""
    if path is not None:
        from bumpstat.outputs import atomic_path

        with _quiet_fonts(), atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, bbox_inches="tight", dpi=100)
    return fig
