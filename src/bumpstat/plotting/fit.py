"""Plots of the fit-based bump hunt: spectrum with fit, SR band and pull panel (paper 004
Fig. 6/11), and the sculpting curve (paper 001 Fig. 6).

Both take ``ax=None`` and return the figure; they save only when given a path, atomically
(:func:`bumpstat.plotting.style.finish`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from bumpstat.plotting.style import finish, hep_style

__all__ = ["plot_fit", "plot_sculpting"]


def _fit_arrays(result: Any) -> dict[str, Any]:
    """Edges, counts, expected, SR and labels from a BumpHuntResult or SidebandFit."""
    if hasattr(result, "bins"):  # BumpHuntResult
        return {"edges": np.asarray(result.bins), "counts": np.asarray(result.counts),
                "expected": np.asarray(result.expected), "sr": result.sr,
                "function": result.function, "z": result.z, "chi2_ndof": result.chi2_ndof,
                "valid": result.valid}
    return {"edges": np.asarray(result.edges), "counts": np.asarray(result.counts),
            "expected": np.asarray(result.expected), "sr": result.sr,
            "function": result.function, "z": None, "chi2_ndof": None, "valid": result.valid}


def plot_fit(result: Any, *, ax: Any = None, path: str | Path | None = None,
             title: str | None = None) -> Figure:
    """Spectrum with sideband fit, SR band and pull panel.

    Parameters
    ----------
    result : BumpHuntResult or SidebandFit
        What to draw.
    ax : (Axes, Axes) or Axes, optional
        Main and pull axes; a single Axes draws the spectrum only. New figure if None.
    path : str or Path, optional
        Save the figure there (atomically; the format follows the suffix).
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    d = _fit_arrays(result)
    e, n, mu = d["edges"], d["counts"], d["expected"]
    c = 0.5 * (e[1:] + e[:-1])
    w = np.diff(e)
    with hep_style():
        if ax is None:
            fig, (a0, a1) = plt.subplots(2, 1, figsize=(10, 9), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 1]})
        elif isinstance(ax, tuple | list):
            a0, a1 = ax
            fig = a0.figure
        else:
            a0, a1, fig = ax, None, ax.figure
        sr = d["sr"]
        in_sr = np.zeros(n.size, bool) if sr is None else (c > sr[0]) & (c < sr[1])
        err = np.sqrt(np.maximum(n, 0))
        a0.errorbar(c[~in_sr], (n / w)[~in_sr], yerr=(err / w)[~in_sr], fmt="o", color="C0",
                    label="sidebands")
        if in_sr.any():
            a0.errorbar(c[in_sr], (n / w)[in_sr], yerr=(err / w)[in_sr], fmt="x", color="C0",
                        label="signal region")
        a0.stairs(mu / w, e, baseline=None, color="C3", ls="--", label=f"{d['function']} fit")
        a0.set_yscale("log")
        a0.set_ylabel("Events / TeV")
        if sr is not None:
            for a in (a0, a1):
                if a is not None:
                    a.axvspan(sr[0], sr[1], color="grey", alpha=0.15, lw=0)
        info = []
        if d["z"] is not None and np.isfinite(d["z"]):
            info.append(f"Z = {d['z']:.2f}")
        if d["chi2_ndof"] is not None:
            info.append(f"$\\chi^2$/ndof = {d['chi2_ndof']:.2f}")
        if not d["valid"]:
            info.append("not valid")
        a0.legend(title=", ".join(info) if info else None, fontsize="small")
        if title:
            a0.set_title(title)
        if a1 is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                pull = np.where(mu > 0, (n - mu) / np.sqrt(mu), 0.0)
            a1.bar(c, pull, width=w, color=np.where(in_sr, "C1", "C0"), alpha=0.7)
            a1.axhline(0, color="k", lw=1)
            a1.set_ylabel("Pull")
            a1.set_xlabel("$m_{JJ}$ [TeV]")
        else:
            a0.set_xlabel("$m_{JJ}$ [TeV]")
    return finish(fig, path)


def plot_sculpting(result: Any, *, ax: Any = None, path: str | Path | None = None,
                   label: str = "score selection") -> Figure:
    """chi^2/ndof of eq. 5 vs selection efficiency with the random-selection band.

    Parameters
    ----------
    result : SculptingResult
        From :func:`bumpstat.fit.sculpting_curve`.
    ax : Axes, optional
    path : str or Path, optional
    label : str
        Legend label of the selection curve.
    """
    with hep_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(10, 7))
        else:
            fig = ax.figure
        x = np.asarray(result.eps_sel)
        ax.fill_between(x, result.random_lo, result.random_hi, color="grey", alpha=0.3,
                        label=f"{result.n_random} random selections (68%)")
        ax.plot(x, result.random_median, color="grey", ls=":")
        ax.plot(x, result.chi2_ndof, "o-", color="C0", label=label)
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_yscale("log")
        ax.set_xlabel(r"$\varepsilon_{sel}$")
        ax.set_ylabel(r"$\chi^2/n_{dof}$")
        ax.legend(fontsize="small")
    return finish(fig, path)
