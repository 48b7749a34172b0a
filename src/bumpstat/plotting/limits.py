"""Limit ("Brazil") plots: observed and expected upper limits per window with ±1σ/±2σ bands.

:func:`plot_limits` draws, for one background method and working point of a scan, the observed
CLs upper limit at the scan's confidence level (95 % by default) and the expected limit
(median, ±1σ green, ±2σ yellow) for every window, in one of three units (``quantity``):

``"events"``
    Signal events passing the selection (the number the counting test constrains).
``"fraction"``
    Those events as a fraction of all data events in the signal region before the cut,
    ``UL / N_SR``; with ``efficiency`` (the signal efficiency of the selection, ε_S) the fraction
    of signal in the SR before the cut, ``UL / (ε_S N_SR)``.
``"xsec"``
    Signal cross-section times efficiency: ``σ·ε < UL / L`` in fb for ``luminosity`` L in fb⁻¹;
    with ``efficiency`` ε (selection × acceptance) the cross-section itself, ``UL / (ε L)``.
    Without a luminosity the number is in events (``UL / ε``).

:func:`plot_w_limits` draws R-ANODE's upper limit on the signal fraction w per window.
Every function takes ``ax=None``, returns the figure and saves only when given ``path``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from bumpstat.exceptions import InputError
from bumpstat.plotting.style import experiment_label, finish, hep_style, new_axes, place_legend

__all__ = ["limit_table", "plot_limits", "plot_w_limits", "QUANTITIES"]

#: Units of :func:`plot_limits`.
QUANTITIES = ("events", "fraction", "xsec")

_GREEN, _YELLOW = "#00cc00", "#ffcc00"


def limit_table(scan, *, method: str, eps_b: float, quantity: str = "events",
                efficiency: float | None = None,
                luminosity: float | None = None) -> dict[str, np.ndarray]:
    """Observed and expected limits per window of one method and working point.

    Returns
    -------
    dict
        ``center``, ``low``, ``high`` (TeV), ``observed``, ``expected`` (n_windows, 5: −2σ, −1σ,
        median, +1σ, +2σ), ``valid`` (bool) and ``unit`` (an axis label: signal events;
        ``N_sig^cut / N_SR``, the signal events passing the cut per SR data event;
        ``N_sig / N_SR``, the signal fraction of the SR before the cut; ``σ × ε`` or ``σ``), in
        the requested ``quantity`` (see the module docstring).
    """
    if quantity not in QUANTITIES:
        raise InputError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
    if efficiency is not None and not 0 < float(efficiency) <= 1:
        raise InputError(f"efficiency must be in (0, 1], got {efficiency}")
    if luminosity is not None and not float(luminosity) > 0:
        raise InputError(f"luminosity must be > 0 (fb^-1), got {luminosity}")
    pts = sorted(scan.select(method=method, eps_b=eps_b), key=lambda p: p.window.center)
    if not pts:
        raise InputError(f"the scan has no {method!r} points at eps_b = {eps_b:g}; methods "
                         f"{list(scan.methods)}, eps_b {list(scan.eps_b)}")
    recs = [p.record() for p in pts]

    def num(v: Any) -> float:
        return float("nan") if v is None else float(v)

    obs = np.array([num(r["upper_limit"]) for r in recs])
    exp = np.array([[num(v) for v in r["expected_limits"]] for r in recs])
    eff = 1.0 if efficiency is None else float(efficiency)
    if quantity == "events":
        scale = np.full(len(pts), 1.0)
        unit = "signal events"
    elif quantity == "fraction":
        n_sr = np.array([p.n_sr for p in pts], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(n_sr > 0, 1.0 / (eff * n_sr), np.nan)
        unit = (r"$N_{sig} / N_{SR}$" if efficiency is not None
                else r"$N_{sig}^{cut} / N_{SR}$")
    else:
        lumi = 1.0 if luminosity is None else float(luminosity)
        scale = np.full(len(pts), 1.0 / (eff * lumi))
        what = r"$\sigma$" if efficiency is not None else r"$\sigma \times \epsilon$"
        unit = f"{what} [fb]" if luminosity is not None else f"{what} [events]"
    return {"center": np.array([p.window.center for p in pts]),
            "low": np.array([p.window.low for p in pts]),
            "high": np.array([p.window.high for p in pts]),
            "observed": obs * scale, "expected": exp * scale[:, None],
            "valid": np.array([bool(r["valid"]) for r in recs]), "unit": unit}  # type: ignore[dict-item]


def _x_axis(ax, centers: np.ndarray) -> None:
    """Window-centre axis with a margin and a readable number of ticks."""
    from matplotlib.ticker import MaxNLocator

    lo, hi = float(np.min(centers)), float(np.max(centers))
    pad = 0.06 * (hi - lo) if hi > lo else 0.1
    ax.set_xlim(lo - pad, hi + pad)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.set_xlabel(r"signal-region centre $m_{JJ}$ [TeV]")


def _brazil(ax, x, obs, exp, valid, *, cl: float, what: str) -> None:
    ax.fill_between(x, exp[:, 0], exp[:, 4], color=_YELLOW, lw=0, step=None,
                    label=r"expected $\pm 2\sigma$")
    ax.fill_between(x, exp[:, 1], exp[:, 3], color=_GREEN, lw=0, label=r"expected $\pm 1\sigma$")
    ax.plot(x, exp[:, 2], color="k", ls="--", lw=1.5, label="expected (median)")
    ax.plot(x, np.where(valid, obs, np.nan), color="k", marker="o", ls="-", lw=1.5,
            label=f"observed {100 * cl:g}% CL {what}")
    if (~valid).any():
        ax.plot(x[~valid], obs[~valid], color="k", marker="o", mfc="none", ls="none",
                label="observed (not valid)")


def plot_limits(scan, *, method: str | None = None, eps_b: float | None = None,
                quantity: str = "events", efficiency: float | None = None,
                luminosity: float | None = None, ax=None,
                path: str | Path | None = None) -> Figure:
    """Observed and expected upper limits per window centre with ±1σ/±2σ bands.

    Parameters
    ----------
    scan : ScanResult
        Result of :func:`bumpstat.run_scan` (each point carries ``upper_limit`` and the expected
        band ``expected_limits``).
    method : str, optional
        Background method (default: the scan's first).
    eps_b : float, optional
        Working point (default: the scan's first).
    quantity : {"events", "fraction", "xsec"}
        Unit of the limit (module docstring).
    efficiency : float, optional
        Signal efficiency for ``"fraction"`` (ε_S of the cut) or ``"xsec"`` (ε of the whole
        selection).
    luminosity : float, optional
        Integrated luminosity in fb⁻¹ for ``"xsec"`` (limit in fb); without it the
        ``"xsec"`` limit is in events.
    ax : Axes, optional
    path : str or Path, optional
        Save the figure there.

    Returns
    -------
    matplotlib.figure.Figure
    """
    method = method or scan.methods[0]
    eps = float(scan.eps_b[0] if eps_b is None else eps_b)
    t = limit_table(scan, method=method, eps_b=eps, quantity=quantity, efficiency=efficiency,
                    luminosity=luminosity)
    cl = float(scan.select(method=method, eps_b=eps)[0].cl)
    with hep_style():
        fig, ax = new_axes(ax)
        _brazil(ax, t["center"], t["observed"], t["expected"], t["valid"], cl=cl,
                what="upper limit")
        vals = np.concatenate([t["observed"], t["expected"].ravel()])
        vals = vals[np.isfinite(vals) & (vals > 0)]
        if vals.size and vals.max() / vals.min() > 30:
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, None)
        _x_axis(ax, t["center"])
        ax.set_ylabel(f"{100 * cl:g}% CL upper limit on {t['unit']}")
        experiment_label(ax)
        place_legend(ax, title=f"{method}, $\\epsilon_B$ = {eps:g}")
    return finish(fig, path)


def plot_w_limits(results: Sequence[Any], windows: Sequence[Any], *,
                  expected: Sequence[Sequence[float]] | None = None, ax=None,
                  path: str | Path | None = None) -> Figure:
    """R-ANODE's upper limit on the signal fraction w per window.

    Parameters
    ----------
    results : sequence of MixtureFitResult
        One w fit per window (:func:`bumpstat.stats.mixture.fit_signal_fraction`).
    windows : sequence of Window or (low, high)
        The windows, TeV.
    expected : sequence of 5 floats per window, optional
        Expected limits on w (−2σ…+2σ, e.g. from background-only pseudo-experiments) drawn as
        the band; without it only the observed limit and the 68 % interval of ŵ are drawn.
    ax, path
        As in :func:`plot_limits`.
    """
    if len(results) != len(windows) or not results:
        raise InputError(f"give one result per window: {len(results)} results, "
                         f"{len(windows)} windows")
    cen = np.array([0.5 * (w.low + w.high) if hasattr(w, "low") else 0.5 * (w[0] + w[1])
                    for w in windows])
    order = np.argsort(cen)
    cen = cen[order]
    res = [results[i] for i in order]
    obs = np.array([r.upper_limit_w for r in res], dtype=float)
    valid = np.array([bool(r.valid) for r in res])
    cl = float(res[0].cl)
    with hep_style():
        fig, ax = new_axes(ax)
        if expected is not None:
            exp = np.asarray(expected, dtype=float)[order]
            if exp.shape != (len(res), 5):
                raise InputError(f"expected must have shape ({len(res)}, 5), got {exp.shape}")
            _brazil(ax, cen, obs, exp, valid, cl=cl, what="upper limit on w")
        else:
            lo = np.array([r.w_interval_68[0] for r in res])
            hi = np.array([r.w_interval_68[1] for r in res])
            w_hat = np.array([r.w_hat for r in res])
            ax.errorbar(cen, w_hat, yerr=[w_hat - lo, hi - w_hat], fmt="s", color="C0",
                        capsize=3, label=r"$\hat{w}$ (68% interval)")
            ax.plot(cen, np.where(valid, obs, np.nan), color="k", marker="o",
                    label=f"observed {100 * cl:g}% CL upper limit on w")
            if (~valid).any():
                ax.plot(cen[~valid], obs[~valid], color="k", marker="o", mfc="none", ls="none",
                        label="not valid")
        ax.set_ylim(0, None)
        _x_axis(ax, cen)
        ax.set_ylabel("signal fraction $w$ in the SR")
        experiment_label(ax)
        place_legend(ax)
    return finish(fig, path)
