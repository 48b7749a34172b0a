"""Plots of the fit-based bump hunt: spectrum with fit, SR band and pull panel (as in Collins,
Martín-Ramiro, Nachman and Shih, arXiv:2104.02092, Figs. 6 and 11), and the sculpting curve
(as in Hallin et al., arXiv:2210.14924, Fig. 6).

Both take ``ax=None`` and return the figure; they save only when given a path, atomically
(:func:`bumpstat.plotting.style.finish`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from bumpstat.plotting.style import (
    REFERENCE,
    experiment_label,
    finish,
    hep_style,
    place_legend,
    reference_hline,
)

__all__ = ["plot_fit", "plot_sculpting", "background_band"]


def background_band(result: Any, *, sqrt_s: float | None = None) -> np.ndarray | None:
    """±1σ uncertainty (events per bin) of the fitted background, from the fit covariance.

    The fitted function's bin integrals are differentiated numerically in its conventional
    parameters and the covariance is propagated linearly. Returns None when the result has no
    usable covariance or the function cannot be rebuilt (e.g. another √s than ``sqrt_s``).
    """
    from bumpstat.fit.functions import SQRT_S, get_function

    try:
        func = get_function(result.function, sqrt_s=SQRT_S if sqrt_s is None else sqrt_s)
    except Exception:  # custom functions cannot be rebuilt from their name
        return None
    edges = np.asarray(result.bins if hasattr(result, "bins") else result.edges, dtype=float)
    p = np.array(list(result.parameters.values()), dtype=float)
    cov = np.asarray(result.covariance, dtype=float)
    expected = np.asarray(result.expected, dtype=float)
    if cov.shape != (p.size, p.size) or not np.all(np.isfinite(cov)) or p.size == 0:
        return None
    with np.errstate(all="ignore"):
        mu = np.asarray(func.bin_integrals(edges, p), dtype=float)
        if not np.allclose(mu, expected, rtol=1e-5, atol=1e-9):
            return None
        jac = np.empty((mu.size, p.size))
        for j in range(p.size):
            h = 1e-5 * max(abs(p[j]), np.sqrt(abs(cov[j, j])), 1e-12)
            up, dn = p.copy(), p.copy()
            up[j] += h
            dn[j] -= h
            jac[:, j] = (np.asarray(func.bin_integrals(edges, up))
                         - np.asarray(func.bin_integrals(edges, dn))) / (2 * h)
    var = np.einsum("ij,jk,ik->i", jac, cov, jac)
    if not np.all(np.isfinite(var)):
        return None
    return np.sqrt(np.maximum(var, 0.0))


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
             title: str | None = None, sqrt_s: float | None = None) -> Figure:
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
        A heading (e.g. the window's name), shown above the fit's numbers in the legend.
    sqrt_s : float, optional
        Centre-of-mass energy (TeV) the fit used (default 13): shown in the label and needed
        to rebuild the ±1σ band of the fitted background from the fit covariance.

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
        band = background_band(result, sqrt_s=sqrt_s)
        if band is not None:
            a0.stairs((mu + band) / w, e, baseline=(mu - band) / w, fill=True, color="C3",
                      alpha=0.3, lw=0, label=r"fit uncertainty ($\pm 1\sigma$)")
        a0.stairs(mu / w, e, baseline=None, color="C3", ls="--",
                  label=f"{d['function']} sideband fit")
        a0.set_yscale("log")
        a0.set_ylabel("Events / TeV")
        if sr is not None:
            for a in (a0, a1):
                if a is not None:
                    a.axvspan(sr[0], sr[1], color="grey", alpha=0.15, lw=0, gid=REFERENCE,
                              label="_SR")
        info = [title] if title else []
        if d["z"] is not None and np.isfinite(d["z"]):
            info.append(f"Z = {d['z']:.2f}")
        if d["chi2_ndof"] is not None:
            info.append(f"$\\chi^2$/ndof = {d['chi2_ndof']:.2f}")
        if not d["valid"]:
            info.append("not valid")
        experiment_label(a0, sqrt_s=13.0 if sqrt_s is None else sqrt_s)
        if a1 is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                pull = np.where(mu > 0, (n - mu) / np.sqrt(mu), 0.0)
            a1.bar(c, pull, width=w, color=np.where(in_sr, "C1", "C0"), alpha=0.7)
            a1.axhline(0, color="k", lw=1, gid=REFERENCE)
            a1.set_ylabel("(data\u2212fit)/\u221afit", fontsize="x-small")
            a1.set_xlabel("$m_{JJ}$ [TeV]")
        else:
            a0.set_xlabel("$m_{JJ}$ [TeV]")
        place_legend(a0, title="\n".join(info) if info else None, title_fontsize="small")
    return finish(fig, path)


def plot_sculpting(result: Any, *, ax: Any = None, path: str | Path | None = None,
                   label: str = "score selection") -> Figure:
    """Sculpting of the m spectrum vs selection efficiency, with the random-selection band.

    The y axis is the χ²/n_dof between the m histograms before and after the cut (Hallin et
    al., arXiv:2210.14924, eq. 5; 1 = no sculpting beyond statistics).

    Parameters
    ----------
    result : SculptingResult
        From :func:`bumpstat.fit.sculpting_curve`.
    ax : Axes, optional
    path : str or Path, optional
    label : str
        Legend label of the selection curve.

    The x axis runs from loose (left) to tight (right) selections, i.e. decreasing
    ε_sel; the axis label says so. Log axes get at least three labelled ticks, also over less
    than a decade.
    """
    with hep_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(10, 7))
        else:
            fig = ax.figure
        x = np.asarray(result.eps_sel)
        ax.fill_between(x, result.random_lo, result.random_hi, color="grey", alpha=0.3,
                        label=f"{result.n_random} random selections (68%)")
        ax.plot(x, result.random_median, color="grey", ls=":", label="random selections (median)")
        ax.plot(x, result.chi2_ndof, "o-", color="C0", label=label)
        reference_hline(ax, 1.0, r"$\chi^2/n_{dof} = 1$")
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_yscale("log")
        ax.autoscale_view()
        for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            _log_ticks(axis, lim)
        ax.set_xlabel(r"selection efficiency $\varepsilon_{sel}$ (tighter cut $\rightarrow$)")
        ax.set_ylabel(r"$m_{JJ}$ sculpting $\chi^2/n_{dof}$")
        experiment_label(ax)
        place_legend(ax)
    return finish(fig, path)


def _log_ticks(axis, lim: tuple[float, float]) -> None:
    """Labelled major ticks on a log axis: at 1 × 10ⁿ over several decades, at 1, 2, 5 × 10ⁿ
    over one or two, at every 1…9 × 10ⁿ over less than a decade (so that at least three ticks
    are labelled); minor ticks unlabelled."""
    from matplotlib.ticker import LogLocator, NullFormatter

    lo, hi = sorted(abs(float(v)) for v in lim)
    decades = np.log10(hi / lo) if lo > 0 else np.inf
    subs = ((1.0,) if decades > 2.5 else (1.0, 2.0, 5.0) if decades > 0.8
            else tuple(float(k) for k in range(1, 10)))
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())
