"""R-ANODE plots: the w profile-likelihood curve and learned vs true feature distributions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.plotting.style import finish, hep_style, new_axes
from bumpstat.stats.mixture import DELTA_2NLL_68, DELTA_2NLL_95, upper_limit_threshold

__all__ = ["plot_w_profile", "plot_learned_signal"]


def plot_w_profile(curve: Any, fit: Any = None, *, ax=None, path: str | Path | None = None):
    """Plot ``Δ(2NLL)(w)`` of a :class:`~bumpstat.stats.mixture.ProfileCurve`.

    With ``fit`` (a ``MixtureFitResult``) the 68 %/95 % levels, the interval and the upper limit
    are marked. Returns the figure; saves it only when ``path`` is given.
    """
    with hep_style():
        fig, ax = new_axes(ax)
        ax.plot(curve.w, curve.delta_2nll, color="k", label="profile likelihood")
        for lvl, ls in ((DELTA_2NLL_68, ":"), (DELTA_2NLL_95, "--")):
            ax.axhline(lvl, color="grey", ls=ls, lw=1)
        if fit is not None:
            ax.axvspan(*fit.w_interval_68, color="tab:blue", alpha=0.2, label="68% interval")
            ax.axvline(fit.upper_limit_w, color="tab:red", ls="-.",
                       label=f"{100 * fit.cl:g}% UL (q={upper_limit_threshold(fit.cl):.2f})")
            ax.axvline(fit.w_hat, color="tab:blue", lw=1)
        ax.set_xlabel("signal fraction w")
        ax.set_ylabel(r"$-2\Delta\ln L$")
        ax.set_ylim(0, max(5.0, float(np.nanmin([np.nanmax(curve.delta_2nll), 10.0]))))
        ax.legend()
        return finish(fig, path)


def plot_learned_signal(
    learned_x: Any,
    true_x: Any = None,
    background_x: Any = None,
    *,
    names: Sequence[str] | None = None,
    bins: int = 40,
    path: str | Path | None = None,
):
    """One panel per feature: samples of the learned signal density vs the true signal and
    background (normalised histograms), as in paper 002 Fig. 5. Returns the figure."""
    import matplotlib.pyplot as plt

    lx = np.asarray(learned_x, dtype=np.float64)
    if lx.ndim == 1:
        lx = lx[:, None]
    d = lx.shape[1]
    names = list(names) if names is not None else [f"feature {j}" for j in range(d)]
    with hep_style():
        fig, axes = plt.subplots(1, d, figsize=(5 * d, 4.5), squeeze=False)
        for j, ax in enumerate(axes[0]):
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
            ax.set_xlabel(names[j] if j < len(names) else f"feature {j}")
        axes[0][0].legend(fontsize="small")
        fig.tight_layout()
        return finish(fig, path)
