"""Plots of classifier metrics: SIC curves with the 68% band over runs, top-p overlaps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bumpstat.exceptions import InputError
from bumpstat.metrics.overlap import OverlapResult
from bumpstat.metrics.report import no_labels_message
from bumpstat.metrics.roc import MAX_REL_ERROR, SicCurve, roc_curve
from bumpstat.plotting.style import (
    REFERENCE,
    experiment_label,
    finish,
    hep_style,
    new_axes,
    place_legend,
)
from bumpstat.scores.schema import ScoreFile, WindowScores

__all__ = ["sic_band", "plot_sic", "plot_overlap", "write_sic_plots"]


def sic_band(curves: Sequence[SicCurve], *, x: str = "eps_s",
             grid: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Median and 16/84% SIC over runs on a common grid of ``eps_s`` or ``eps_b``.

    Each run is interpolated on its kept (20%-cut) part only; grid points that no run covers
    are dropped, and the band at a point uses the runs that cover it.

    Returns
    -------
    dict with ``x``, ``median``, ``low``, ``high``, ``n_runs`` (runs covering each point).
    """
    if x not in ("eps_s", "eps_b"):
        raise InputError(f"x must be 'eps_s' or 'eps_b', got {x!r}")
    if not curves:
        raise InputError("no SIC curves given")
    if grid is None:
        grid = np.linspace(0.01, 1.0, 100) if x == "eps_s" else np.logspace(-5, 0, 101)
    rows = np.full((len(curves), grid.size), np.nan)
    for i, c in enumerate(curves):
        v = c.kept
        if v.sum() < 2:
            continue
        xs, ys = getattr(c, x)[v], c.sic[v]
        xs, idx = np.unique(xs, return_index=True)  # increasing, first of each tie
        ys = ys[idx]
        inside = (grid >= xs[0]) & (grid <= xs[-1])
        rows[i, inside] = np.interp(grid[inside], xs, ys)
    covered = np.isfinite(rows).sum(axis=0)
    keep = covered > 0
    med, lo, hi = (np.full(grid.size, np.nan) for _ in range(3))
    for j in np.flatnonzero(keep):
        col = rows[np.isfinite(rows[:, j]), j]
        lo[j], med[j], hi[j] = np.percentile(col, [16, 50, 84])
    return {"x": grid[keep], "median": med[keep], "low": lo[keep], "high": hi[keep],
            "n_runs": covered[keep]}


def plot_sic(
    curves: Sequence[SicCurve] | WindowScores,
    *,
    x: str = "eps_s",
    label: str | None = None,
    color: str | None = None,
    max_rel_error: float = MAX_REL_ERROR,
    ax=None,
    path: str | Path | None = None,
) -> Figure:
    """SIC vs ``eps_s`` (or ``eps_b``, log scale): median over runs with the 68% band.

    Parameters
    ----------
    curves : sequence of SicCurve, or WindowScores
        One curve per run; a ``WindowScores`` is turned into curves from its labelled SR data.
    x : {"eps_s", "eps_b"}
    label, color : str, optional
    max_rel_error : float
        The SIC-curve cut when ``curves`` is a ``WindowScores``.
    ax : matplotlib Axes, optional
    path : path, optional
        Save the figure there.
    """
    if isinstance(curves, WindowScores):
        sr = curves.signal_region()
        if sr.label is None:
            raise InputError(no_labels_message(None, curves.window.name))
        curves = [roc_curve(sr.scores[r], sr.label, weights=sr.weights())
                  .sic(max_rel_error=max_rel_error) for r in range(sr.n_runs)]
    band = sic_band(list(curves), x=x)
    with hep_style():
        fig, ax = new_axes(ax)
        (line,) = ax.plot(band["x"], band["median"], color=color,
                          label=f"{label or 'SIC'} (median of {len(curves)} runs)")
        ax.fill_between(band["x"], band["low"], band["high"], color=line.get_color(), alpha=0.3,
                        lw=0)
        ax.axhline(1.0, color="grey", ls=":", lw=1, gid=REFERENCE)
        if x == "eps_b":
            ax.set_xscale("log")
            ax.set_xlabel(r"background efficiency $\epsilon_B$")
        else:
            ax.set_xlabel(r"signal efficiency $\epsilon_S$")
        ax.set_ylabel(r"SIC $= \epsilon_S/\epsilon_B^{1/2}$")
        if not ax.texts:  # one experiment label per axes, also when several curves share it
            experiment_label(ax)
        place_legend(ax)
    return finish(fig, path)


def plot_overlap(result: OverlapResult, *, excess: bool = True, ax=None,
                 path: str | Path | None = None) -> Figure:
    """Top-p overlap per pair of methods and of all methods vs p (as in Golling et al.,
    arXiv:2307.11157, Fig. 7).

    With ``excess`` the random baseline is subtracted (0 = chance agreement).
    """
    with hep_style():
        fig, ax = new_axes(ax)
        pairs = result.excess_pairs if excess else result.pairs
        for (a, b), v in pairs.items():
            ax.plot(result.p, v, marker="o", label=f"{a} & {b}")
        if len(result.names) > 2:
            v = result.excess_all if excess else result.all
            ax.plot(result.p, v, marker="s", color="k", label="all methods")
        if excess:
            ax.axhline(0.0, color="grey", lw=1, gid=REFERENCE)
        else:
            ax.plot(result.p, result.baseline_pair, color="grey", ls="--", label="random (pairs)")
        ax.set_xscale("log")
        ax.set_xlabel("top fraction $p$")
        ax.set_ylabel("overlap $-$ random baseline" if excess else "overlap fraction")
        experiment_label(ax)
        place_legend(ax)
    return finish(fig, path)


def write_sic_plots(sf: ScoreFile, out: Any, *,
                    max_rel_error: float = MAX_REL_ERROR) -> list[Path]:
    """``sic_<method>_<window>.png`` for every window of ``sf`` with signal and background
    labels, written through ``out`` (a :class:`bumpstat.outputs.OutputDir`); returns the paths.
    Windows without labels or without one of the classes get no plot."""
    import matplotlib.pyplot as plt

    paths = []
    for ws in sf.windows:
        sr = ws.signal_region()
        if sr.label is None or not (sr.label == 1).any() or not (sr.label == 0).any():
            continue
        path = out.file(f"sic_{sf.method or 'scores'}_{ws.window.name}.png")
        plt.close(plot_sic(ws, label=f"{sf.method} {ws.window.name}",
                           max_rel_error=max_rel_error, path=path))
        paths.append(path)
    return paths
