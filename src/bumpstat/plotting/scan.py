"""Scan plots: significance per window (paper 003 Fig. 1/3/5) and delta_sys vs eps_b (Fig. 2/4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from bumpstat.direct.delta_sys import DeltaSys
from bumpstat.plotting.style import finish, hep_style, new_axes

__all__ = ["plot_significance", "plot_delta_sys"]


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
                z = np.array([np.mean(p.z) for p in pts])
                dz = np.array([np.std(p.z) for p in pts])
                ax.errorbar(c + 0.008 * (ei - 1) + 0.004 * mi, z, yerr=dz,
                            marker=markers.get(meth, "^"), ls="-" if meth == "direct" else "--",
                            color=f"C{ei}", capsize=3,
                            label=f"{meth}, $\\epsilon_B$ = {eps:g}")
        ax.axhline(0, color="grey", lw=1)
        for k in (3, 5):
            ax.axhline(k, color="grey", lw=1, ls=":")
        ax.set_xlabel(r"signal-region centre $m_{JJ}$ [TeV]")
        ax.set_ylabel(r"significance $\mathcal{S}$ [$\sigma$]")
        ax.legend(fontsize="small")
    return finish(fig, path)


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
