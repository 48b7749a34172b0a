"""Scan plots: significance per window (paper 003 Fig. 1/3/5) and delta_sys vs eps_b (Fig. 2/4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from bumpstat.direct.delta_sys import DeltaSys
from bumpstat.plotting.style import finish, hep_style, new_axes

__all__ = ["plot_significance", "plot_delta_sys", "plot_comparison"]


def _nan_stat(f, v) -> float:
    """``f`` over the finite entries of ``v`` (NaN when there are none, e.g. all fits failed)."""
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    return float(f(v)) if v.size else float("nan")


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
                z = np.array([_nan_stat(np.nanmean, p.z) for p in pts])
                dz = np.array([_nan_stat(np.nanstd, p.z) for p in pts])
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
            n_exp = np.array([_nan_stat(np.nanmean, p.n_exp) for p in pts])
            unc = n_exp * np.array([_nan_stat(np.nanmean, p.rel_unc) for p in pts])
            ax.errorbar(c, n_exp, yerr=unc, marker="s", ls="none", color=f"C{i}", capsize=3,
                        label=f"$N_{{exp}}$ {meth}")
            z = np.array([_nan_stat(np.nanmean, p.z) for p in pts])
            dz = np.array([_nan_stat(np.nanstd, p.z) for p in pts])
            axz.errorbar(c, z, yerr=dz, marker="o", color=f"C{i}", capsize=3, label=meth)
        pts = scan.select(eps_b=eps_b)
        cen = sorted({p.window.center for p in pts})
        n_obs = [np.mean([_nan_stat(np.nanmean, p.n_obs) for p in pts if p.window.center == x])
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
