"""Scan plots: local significance per window and delta_sys vs eps_b (as in Das et al.,
arXiv:2411.00085, Figs. 1-5), and the fit-based vs direct comparison.

The significance axes say "local" (the look-elsewhere effect is not included); the 3σ and 5σ
lines are labelled outside the right edge of the axes, and legends keep off the data
(:func:`bumpstat.plotting.style.place_legend`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bumpstat.direct.delta_sys import DeltaSys
from bumpstat.plotting.style import (
    REFERENCE,
    experiment_label,
    finish,
    hep_style,
    new_axes,
    place_legend,
    reference_hline,
)

__all__ = ["plot_significance", "plot_delta_sys", "plot_comparison"]


def _column(points, name: str) -> np.ndarray:
    """A record field of each point (``None`` → NaN)."""
    vals = [p.record()[name] for p in points]
    return np.array([np.nan if v is None else v for v in vals], dtype=float)


def _draw(ax, x, y, dy, valid, *, color, marker, ls, label) -> None:
    """Valid points filled and joined; invalid ones hollow (their numbers are not results)."""
    dy = np.asarray(dy, dtype=float)
    has_err = bool(np.any(np.isfinite(dy) & (dy > 0)))  # one run: no spread to draw
    ax.errorbar(np.where(valid, x, np.nan), np.where(valid, y, np.nan),
                yerr=np.nan_to_num(dy) if has_err else None, marker=marker, ls=ls, color=color,
                ecolor=color, capsize=3 if has_err else 0, label=label)
    if (~valid).any():
        ax.plot(x[~valid], y[~valid], marker=marker, ls="none", mfc="none", color=color,
                label=f"{label} (not valid)")


def plot_significance(scan, *, method: str | None = None, ax=None,
                      path: str | Path | None = None) -> Figure:
    """Z (eq. 6) per window centre for each working point, error bars = spread over runs.

    Parameters
    ----------
    scan : ScanResult
        Result of :func:`bumpstat.run_scan`.
    method : str, optional
        Only this method's points (default: every method, drawn with different markers).
    """
    methods = [method] if method else list(scan.methods)
    markers = {"direct": "o", "fit": "s"}
    with hep_style():
        fig, ax = new_axes(ax)
        for mi, meth in enumerate(methods):
            for ei, eps in enumerate(scan.eps_b):
                pts = scan.select(method=meth, eps_b=eps)
                if not pts:
                    continue
                c = np.array([p.window.center for p in pts])
                valid = np.array([p.all_valid for p in pts])
                _draw(ax, c + 0.008 * (ei - 1) + 0.004 * mi, _column(pts, "z"),
                      _column(pts, "z_std"), valid, color=f"C{ei}",
                      marker=markers.get(meth, "^"), ls="-" if meth == "direct" else "--",
                      label=f"{meth}, $\\epsilon_B$ = {eps:g}")
        _sigma_lines(ax)
        heading = _global_levels(ax, scan, methods)
        _centre_axis(ax)
        ax.set_ylabel(r"local significance $Z$ [$\sigma$]")
        experiment_label(ax)
        place_legend(ax, ncols=2 if len(methods) * len(scan.eps_b) > 4 else 1, title=heading,
                     title_fontsize="small")
    return finish(fig, path)


def _sigma_lines(ax) -> None:
    """Zero line, and the 3σ / 5σ lines labelled when they are in (or near) the y range."""
    ax.axhline(0, color="grey", lw=1, gid=REFERENCE)
    lo, hi = ax.get_ylim()
    for k in (3, 5):
        if k <= max(hi, 3.5):
            reference_hline(ax, k, f"{k}$\\sigma$ local")
    if hi < 3.5:
        ax.set_ylim(lo, 3.5)


def _centre_axis(ax) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.set_xlabel(r"signal-region centre $m_{JJ}$ [TeV]")


def _global_levels(ax, scan, methods) -> str | None:
    """Lines at the local Z whose global significance is 1, 2, 3 σ (from the toys); returns
    the legend heading with the global significance of the largest local Z."""
    g = getattr(scan, "global_significance", None)
    if g is None or g.method not in methods:
        return None
    for k, z in g.z_local_for_global.items():
        if z is not None:
            reference_hline(ax, z, f"global {k}$\\sigma$", color="C3", ls="--")
    bound = ">" if g.p_global_bound else "="
    return f"largest local Z = {g.z_local_max:.2f}: global Z {bound} {g.z_global:.2f}"


def plot_delta_sys(*results: DeltaSys, ax=None, path: str | Path | None = None) -> Figure:
    """delta_sys vs eps_b for one or more estimates, with sigma_stat (eq. 9) in a lower panel.

    ``ax`` is a pair of axes (top, bottom); a new figure when None.
    """
    with hep_style():
        if ax is None:
            fig, (ax, axr) = new_axes(None, nrows=2, height_ratios=(3, 1))
        else:
            ax, axr = ax
            fig = ax.figure
        for i, d in enumerate(results):
            err = d.per_window.std(axis=0) if d.per_window.shape[0] > 1 else np.zeros_like(d.value)
            ax.errorbar(d.eps_b, d.value, yerr=err, marker="o", color=f"C{i}", capsize=3,
                        label=fr"$\delta_{{sys}}^{{{d.kind}}}$ (spread over windows)")
            axr.plot(d.eps_b, d.sigma_stat, marker="x", color=f"C{i}",
                     label=fr"$\sigma_{{stat}}$ ({d.kind})")
        ax.axhline(0, color="grey", lw=1, gid=REFERENCE)
        ax.set_xscale("log")
        ax.set_ylabel(r"relative shift $\delta_{sys}$")
        axr.set_xscale("log")
        axr.set_xlabel(r"background efficiency $\epsilon_B$")
        axr.set_ylabel(r"$\sigma_{stat}$")
        axr.yaxis.set_major_locator(MaxNLocator(nbins=3))
        experiment_label(ax)
        place_legend(ax)
        place_legend(axr)
    return finish(fig, path)


def plot_comparison(scan, *, eps_b: float, ax=None, path: str | Path | None = None) -> Figure:
    """Fit-based vs direct at one working point: N_obs and N_exp ± uncertainty per window (top),
    local Z per window (bottom), error bars from the spread over runs.

    ``ax`` is a pair of axes (top, bottom); a new figure when None.
    """
    with hep_style():
        if ax is None:
            fig, (ax, axz) = new_axes(None, nrows=2, height_ratios=(1, 1), figsize=(10, 10))
        else:
            ax, axz = ax
            fig = ax.figure
        for i, meth in enumerate(scan.methods):
            pts = scan.select(method=meth, eps_b=eps_b)
            if not pts:
                continue
            c = np.array([p.window.center for p in pts]) + 0.01 * (i - 0.5)
            valid = np.array([p.all_valid for p in pts])
            _draw(ax, c, _column(pts, "n_exp"), _column(pts, "n_exp_unc"), valid,
                  color=f"C{i}", marker="s", ls="none", label=f"$N_{{exp}}$ {meth}")
            _draw(axz, c, _column(pts, "z"), _column(pts, "z_std"), valid, color=f"C{i}",
                  marker="o", ls="-", label=meth)
        pts = scan.select(eps_b=eps_b)
        cen = sorted({p.window.center for p in pts})
        n_obs = [np.nanmean(_column([p for p in pts if p.window.center == x], "n_obs"))
                 for x in cen]
        ax.plot(cen, n_obs, "k_", ms=20, mew=2, label="$N_{obs}$")
        ax.set_ylabel("events passing")
        _sigma_lines(axz)
        axz.set_ylabel(r"local $Z$ [$\sigma$]")
        _centre_axis(axz)
        experiment_label(ax)
        place_legend(ax, title=f"$\\epsilon_B$ = {eps_b:g}")
        place_legend(axz)
        fig.align_ylabels((ax, axz))
    return finish(fig, path)
