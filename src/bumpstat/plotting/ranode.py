"""R-ANODE plots: the w profile-likelihood curve and learned vs true feature distributions
(as in Das, Kasieczka and Shih, arXiv:2312.11629); the limit on w per window is
:func:`bumpstat.plotting.limits.plot_w_limits`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.plotting.style import (
    REFERENCE,
    experiment_label,
    finish,
    hep_style,
    new_axes,
    place_legend,
    reference_hline,
)
from bumpstat.stats.mixture import DELTA_2NLL_68, DELTA_2NLL_95, upper_limit_threshold

__all__ = ["plot_w_profile", "plot_learned_signal", "feature_label", "FEATURE_LABELS"]

#: Axis labels (with units) of the LHC Olympics / synthetic features.
FEATURE_LABELS: dict[str, str] = {
    "mj1": r"lighter jet mass $m_{J_1}$ [TeV]",
    "mj2": r"heavier jet mass $m_{J_2}$ [TeV]",
    "delta_mj": r"jet mass difference $\Delta m_J$ [TeV]",
    "tau21_j1": r"$\tau_{21}$ of the lighter jet",
    "tau21_j2": r"$\tau_{21}$ of the heavier jet",
    "tau32_j1": r"$\tau_{32}$ of the lighter jet",
    "tau32_j2": r"$\tau_{32}$ of the heavier jet",
    "m": r"$m_{JJ}$ [TeV]",
    "mjj": r"$m_{JJ}$ [TeV]",
}


def feature_label(name: str) -> str:
    """A readable axis label with units for a feature name (the name itself if unknown)."""
    return FEATURE_LABELS.get(name, name.replace("_", " "))


def plot_w_profile(curve: Any, fit: Any = None, *, ax=None, path: str | Path | None = None):
    """Plot ``Δ(2NLL)(w)`` of a :class:`~bumpstat.stats.mixture.ProfileCurve`.

    With ``fit`` (a ``MixtureFitResult``) the 68 %/95 % levels, the interval and the upper limit
    are marked. Returns the figure; saves it only when ``path`` is given.
    """
    with hep_style():
        fig, ax = new_axes(ax)
        ax.plot(curve.w, curve.delta_2nll, color="k", label="profile likelihood")
        ax.set_ylim(0, max(5.0, float(np.nanmin([np.nanmax(curve.delta_2nll), 10.0]))))
        for lvl, ls, txt in ((DELTA_2NLL_68, ":", "68%"), (DELTA_2NLL_95, "--", "95%")):
            reference_hline(ax, lvl, txt, ls=ls)
        if fit is not None:
            ax.axvspan(*fit.w_interval_68, color="tab:blue", alpha=0.2, gid=REFERENCE,
                       label="68% interval")
            ax.axvline(fit.upper_limit_w, color="tab:red", ls="-.", gid=REFERENCE,
                       label=f"{100 * fit.cl:g}% CL upper limit "
                             f"($q = {upper_limit_threshold(fit.cl):.2f}$)")
            ax.axvline(fit.w_hat, color="tab:blue", lw=1, gid=REFERENCE, label=r"$\hat{w}$")
        ax.set_xlabel("signal fraction $w$ in the SR")
        ax.set_ylabel(r"$-2\Delta\ln L$")
        experiment_label(ax)
        place_legend(ax)
        return finish(fig, path)


def plot_learned_signal(
    learned_x: Any,
    true_x: Any = None,
    background_x: Any = None,
    *,
    names: Sequence[str] | None = None,
    bins: int = 40,
    ax=None,
    path: str | Path | None = None,
):
    """One panel per feature: samples of the learned signal density vs the true signal and
    background (normalised histograms), as in Das, Kasieczka and Shih (arXiv:2312.11629),
    Fig. 5. Feature names become labels with units (:data:`FEATURE_LABELS`).

    ``ax`` is a sequence of one Axes per feature (a new figure when None). Returns the figure;
    saves it only when ``path`` is given.
    """
    import matplotlib.pyplot as plt

    lx = np.asarray(learned_x, dtype=np.float64)
    if lx.ndim == 1:
        lx = lx[:, None]
    d = lx.shape[1]
    names = list(names) if names is not None else [f"feature {j}" for j in range(d)]
    with hep_style():
        if ax is None:
            ncol = min(d, 2)
            nrow = -(-d // ncol)
            fig, grid = plt.subplots(nrow, ncol, figsize=(10 * ncol, 8 * nrow), squeeze=False)
            axes_list = list(grid.ravel())
            for extra in axes_list[d:]:
                extra.set_visible(False)
        else:
            axes_list = list(np.atleast_1d(ax).ravel())
            if len(axes_list) < d:
                raise ValueError(f"need {d} axes (one per feature), got {len(axes_list)}")
            fig = axes_list[0].figure
        for j, ax in enumerate(axes_list[:d]):
            ref = [a for a in (true_x, background_x) if a is not None]
            allv = np.concatenate([lx[:, j]] + [np.asarray(a)[:, j] for a in ref])
            edges = np.linspace(*np.quantile(allv, [0.001, 0.999]), bins + 1)
            if background_x is not None:
                ax.hist(np.asarray(background_x)[:, j], edges, density=True, alpha=0.4,
                        color="tab:orange", label="true background")
            if true_x is not None:
                ax.hist(np.asarray(true_x)[:, j], edges, density=True, alpha=0.4,
                        color="tab:blue", label="true signal")
            ax.hist(lx[:, j], edges, density=True, histtype="step", color="k", lw=1.5,
                    label="learned signal")
            xlabel = feature_label(names[j]) if j < len(names) else f"feature {j}"
            ax.set_xlabel(xlabel)
            ax.set_ylabel("normalised density" + (" [1/TeV]" if "[TeV]" in xlabel else ""))
            experiment_label(ax)
            place_legend(ax)
        fig.tight_layout()
        return finish(fig, path)
