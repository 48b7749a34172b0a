"""Scan plots: significance per window (paper 003 Fig. 1/3/5) and delta_sys vs eps_b (Fig. 2/4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from bumpstat.direct.delta_sys import DeltaSys
from bumpstat.plotting.style import finish, hep_style, new_axes

__all__ = ["plot_significance", "plot_delta_sys", "plot_comparison"]


def _column(points, name: str) -> np.ndarray:
    """A record field of each point (``None`` → NaN)."""
    vals = [p.record()[name] for p in points]
    return np.array([np.nan if v is None else v for v in vals], dtype=float)


def _draw(ax, x, y, dy, valid, *, color, marker, ls, label) -> None:
    """Valid points filled and joined; invalid ones hollow (their numbers are not results)."""
    ax.errorbar(np.where(valid, x, np.nan), np.where(valid, y, np.nan), yerr=dy, marker=marker,
                ls=ls, color=color, capsize=3, label=label)
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
        ax.axhline(0, color="grey", lw=1)
        for k in (3, 5):
            ax.axhline(k, color="grey", lw=1, ls=":")
        _global_levels(ax, scan, methods)
        ax.set_xlabel(r"signal-region centre $m_{JJ}$ [TeV]")
        ax.set_ylabel(r"significance $\mathcal{S}$ [$\sigma$]")
        ax.legend(fontsize="small")
    return finish(fig, path)


def _global_levels(ax, scan, methods) -> None:
    """Lines at the local Z whose global significance is 1, 2, 3 σ (from the toys)."""
    g = getattr(scan, "global_significance", None)
    if g is None or g.method not in methods:
        return
    for k, z in g.z_local_for_global.items():
        if z is not None:
            ax.axhline(z, color="C3", lw=1, ls="--", alpha=0.7)
            ax.annotate(f"global {k}$\\sigma$", (1.0, z), xycoords=("axes fraction", "data"),
                        ha="right", va="bottom", fontsize="x-small", color="C3")
    bound = ">" if g.p_global_bound else "="
    ax.set_title(f"largest local Z = {g.z_local_max:.2f}: global Z {bound} {g.z_global:.2f}",
                 fontsize="small", loc="right")


def plot_delta_sys(*results: DeltaSys, path: str | Path | None = None) -> Figure:
    """delta_sys vs eps_b for one or more estimates, with sigma_stat (eq. 9) in a lower panel."""
    with hep_style():
        fig, (ax, axr) = new_axes(None, nrows=2, height_ratios=(3, 1))
        for i, d in enumerate(results):
            err = d.per_window.std(axis=0) if d.per_window.shape[0] > 1 else np.zeros_like(d.value)
            ax.errorbar(d.eps_b, d.value, yerr=err, marker="o", color=f"C{i}", capsize=3,
                        label=fr"$\delta_{{sys}}^{{{d.kind}}}$ (spread over windows)")
            axr.plot(d.eps_b, d.sigma_stat, marker="x", color=f"C{i}",
                     label=fr"$\sigma_{{stat}}$ ({d.kind})")
        ax.axhline(0, color="grey", lw=1)
        ax.set_xscale("log")
        ax.set_ylabel(r"$\delta_{sys}$")
        ax.legend(fontsize="small")
        axr.set_xscale("log")
        axr.set_xlabel(r"background efficiency $\epsilon_B$")
        axr.set_ylabel(r"$\sigma_{stat}$")
    return finish(fig, path)


def plot_comparison(scan, *, eps_b: float, path: str | Path | None = None) -> Figure:
    """Fit-based vs direct at one working point: N_obs and N_exp ± uncertainty per window (top),
    Z per window (bottom), error bars from the spread over runs (BRIEF §3.4)."""
    with hep_style():
        fig, (ax, axz) = new_axes(None, nrows=2, height_ratios=(1, 1), figsize=(10, 10))
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
        ax.legend(fontsize="small", title=f"$\\epsilon_B$ = {eps_b:g}")
        axz.axhline(0, color="grey", lw=1)
        axz.set_ylabel(r"significance [$\sigma$]")
        axz.set_xlabel(r"signal-region centre $m_{JJ}$ [TeV]")
        axz.legend(fontsize="small")
        fig.align_ylabels((ax, axz))
    return finish(fig, path)
