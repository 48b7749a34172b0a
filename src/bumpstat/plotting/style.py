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
           "experiment_label", "place_legend", "reference_hline", "data_overlaps", "REFERENCE",
           "REFERENCE_LABEL"]

#: ``gid`` of artists that are guides, not data (reference lines and bands).
REFERENCE = "reference"
#: ``gid`` of the labels of reference lines (drawn outside the right edge of the axes).
REFERENCE_LABEL = "reference-label"


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
    style = dict(mplhep.style.CMS)
    # Concrete font names (not the generic "sans-serif"): a text keeps its font when the
    # figure is drawn later, outside this block (a notebook, a savefig by the caller).
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    style["font.family"] = [f for f in style.get("font.sans-serif", []) if f in have] + [
        "DejaVu Sans"]
    with _quiet_fonts(), plt.style.context(style):
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
                    color=style["color"], annotation_clip=True, gid=REFERENCE_LABEL)


def _spread_reference_labels(ax) -> None:
    """Move the labels of close reference lines apart vertically so that none overlaps another
    (each stays next to its line, connected by its position order)."""
    labels = [t for t in ax.texts if t.get_gid() == REFERENCE_LABEL and t.get_visible()]
    if len(labels) < 2:
        return
    fig = ax.figure
    to_pts = 72.0 / fig.dpi
    lo, hi = ax.get_window_extent().y0, ax.get_window_extent().y1
    rows = []
    for t in labels:
        y = ax.transData.transform((0.0, t.xy[1]))[1]
        if lo - 1 <= y <= hi + 1:
            rows.append((y * to_pts, t))
    rows.sort(key=lambda r: r[0])
    gap = max(t.get_fontsize() for _, t in rows) * 1.15
    for (y, t), p in zip(rows, _spread([y for y, _ in rows], gap), strict=True):
        t.xyann = (4, p - y)


def _spread(ys: list[float], gap: float) -> list[float]:
    """Positions at least ``gap`` apart, each group of crowded labels centred on its lines.

    >>> _spread([0.0, 1.0, 10.0], 2.0)
    [-0.5, 1.5, 10.0]
    """
    groups: list[list[float]] = [[y] for y in sorted(ys)]

    def start(g: list[float]) -> float:
        return sum(g) / len(g) - (len(g) - 1) * gap / 2

    merged = True
    while merged:
        merged = False
        for i in range(len(groups) - 1):
            if start(groups[i]) + len(groups[i]) * gap > start(groups[i + 1]):
                groups[i:i + 2] = [groups[i] + groups[i + 1]]
                merged = True
                break
    return [start(g) + k * gap for g in groups for k in range(len(g))]


# -- what counts as data, in display coordinates ----------------------------------------------
def _data_paths(ax, *, reference: bool = False) -> list[tuple[Any, bool]]:
    """``(path in display coords, filled)`` of every data artist of ``ax`` (with
    ``reference``: of the reference guides instead)."""
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.path import Path as MPath

    out: list[tuple[Any, bool]] = []
    for art in [*ax.lines, *ax.collections, *ax.patches]:
        if (art.get_gid() == REFERENCE) != reference or not art.get_visible():
            continue
        if isinstance(art, Line2D):
            xy = np.asarray(art.get_xydata(), dtype=float)
            xy = xy[np.isfinite(xy).all(axis=1)] if xy.size else xy.reshape(0, 2)
            if len(xy) == 0:
                continue
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


def data_overlaps(ax, bbox, *, reference: bool = False) -> bool:
    """Whether the display-coordinate ``bbox`` covers any data artist of ``ax`` (with
    ``reference``: any data artist or reference guide)."""
    kinds = (False, True) if reference else (False,)
    for kind in kinds:
        for path, filled in _data_paths(ax, reference=kind):
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


_LOCS = ("best", "upper right", "upper left", "lower right", "lower left", "center right",
         "center left", "upper center", "lower center")


def place_legend(ax, *, tries: int = 3, **kw: Any):
    """A legend that covers no data artist.

    Tried in this order: a place inside the axes clear of data and of reference guides (3σ
    lines, bands), else one clear of data only; else the same with more headroom (up to
    ``tries`` times); else outside the right edge of the axes, beyond the labels of reference
    lines. Keyword arguments go to :meth:`~matplotlib.axes.Axes.legend`. Returns the legend.
    """
    kw.setdefault("fontsize", "small")
    if "handles" not in kw and "labels" not in kw:  # entries of points not valid go last
        pairs = sorted(zip(*ax.get_legend_handles_labels(), strict=True),
                       key=lambda hl: "not valid" in hl[1])
        kw["handles"], kw["labels"] = [h for h, _ in pairs], [lb for _, lb in pairs]
    renderer = ax.figure.canvas.get_renderer()

    def check(leg, paths) -> tuple[bool, bool]:
        """(covers no data, covers no data and no reference guide) for a legend."""
        box = leg.get_window_extent(renderer)  # places it (loc="best" included), no drawing
        inside = ax.get_window_extent(renderer)
        if not (inside.x0 - 1 <= box.x0 and box.x1 <= inside.x1 + 1
                and inside.y0 - 1 <= box.y0 and box.y1 <= inside.y1 + 1):
            return False, False

        def hits(kind: bool) -> bool:
            return any(len(pa.vertices) and pa.intersects_bbox(box, filled=f)
                       for pa, f in paths[kind])

        no_data = not hits(False)
        return no_data, no_data and not hits(True)

    ylim = ax.get_ylim()
    for attempt in range(tries + 1):
        if attempt:
            _grow_top(ax, 0.35)
        paths = {k: _data_paths(ax, reference=k) for k in (False, True)}
        data_only = None
        leg = ax.legend(**kw)
        for loc in _LOCS:
            leg.set_loc(loc)
            no_data, no_guide = check(leg, paths)
            if no_guide:
                return leg
            if no_data and data_only is None:
                data_only = loc
        if data_only is not None:
            leg.set_loc(data_only)
            return leg
    ax.set_ylim(ylim)  # the headroom did not help: outside, with the original range
    labels = [t for t in ax.texts if t.get_gid() == REFERENCE_LABEL and t.get_visible()]
    right = max([t.get_window_extent(renderer).x1 for t in labels], default=0.0)
    box = ax.get_window_extent(renderer)
    x = max(1.02, (right - box.x0) / box.width + 0.02) if labels else 1.02
    return ax.legend(loc="upper left", bbox_to_anchor=(x, 1.0), borderaxespad=0.0, **kw)


def finish(fig: Figure, path: str | Path | None) -> Figure:
    """Save ``fig`` to ``path`` atomically when given; return it."""
    for ax in fig.axes:
        _spread_reference_labels(ax)
    if path is not None:
        from bumpstat.outputs import atomic_path

        with hep_style(), atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, bbox_inches="tight", dpi=100)
    return fig
