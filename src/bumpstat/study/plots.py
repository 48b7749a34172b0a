"""Figures of a signal-injection study (mplhep style through :mod:`bumpstat.plotting.style`).

- :func:`plot_significance_vs_injection`: median local Z of the true window, largest local Z
  and global Z against N_sig (or S/√B), with the 16–84% band over seeds, one line per producer
  and method (Das et al. [arXiv:2411.00085] Figs. 3/5, Collins et al.'s [arXiv:2104.02092] p-value
  curves);
- :func:`plot_sic_vs_injection`: SIC at ε_B = 1e-3 in the true window against N_sig
  (Das, Kasieczka & Shih [arXiv:2312.11629] Fig. 3);
- :func:`plot_w_hat`: ŵ against w_true with the diagonal (Das, Kasieczka & Shih Fig. 4).

Each takes a :class:`~bumpstat.study.result.StudyResult`, ``ax=None`` and ``path=None``,
returns the figure and saves it only when ``path`` is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.plotting.style import finish, hep_style, new_axes, place_legend

__all__ = ["plot_significance_vs_injection", "plot_sic_vs_injection", "plot_w_hat",
           "study_figures"]

_LINESTYLES = {"direct": "-", "fit": "--"}
_QUANTITY_LABELS = {"z_true_window": "local Z (true window)", "z_local_max": "largest local Z",
                    "z_global": "global Z"}


def _series(result: Any, quantity: str, x: str) -> Iterator[tuple[str, str, np.ndarray,
                                                                    np.ndarray, np.ndarray]]:
    combos = list(dict.fromkeys((r["score_method"], r["method"]) for r in result.summary))
    for s, m in combos:
        rows = [r for r in result.summary_of(score_method=s, method=m)
                if r.get(f"{quantity}_median") is not None]
        if not rows:
            continue
        xs = np.array([r["n_signal"] if x == "n_signal" else r["s_over_sqrt_b_median"]
                       for r in rows], dtype=float)
        med = np.array([r[f"{quantity}_median"] for r in rows], dtype=float)
        band = np.array([r[f"{quantity}_band"] for r in rows], dtype=float)
        yield s, m, xs, med, band


def _lower_bound_mask(result: Any, score: str, method: str, x: str,
                      xs: np.ndarray) -> np.ndarray:
    """Levels whose median global Z is a lower bound (at least half the seeds had no toy at
    or above the observed Z)."""
    rows = [r for r in result.summary_of(score_method=score, method=method)
            if r.get("z_global_median") is not None]
    flags = {(r["n_signal"] if x == "n_signal" else r["s_over_sqrt_b_median"]):
             2 * r.get("z_global_n_lower_bound", 0) >= max(r.get("z_global_n", 1), 1)
             and r.get("z_global_n_lower_bound", 0) > 0 for r in rows}
    return np.array([flags.get(v, False) for v in xs], dtype=bool)


def _lower_bound_arrows(ax: Any, arrows: list[tuple[float, float, str]]) -> None:
    """Upward arrows on medians that are lower bounds, and one legend entry for them."""
    if not arrows:
        return
    from matplotlib.lines import Line2D

    lo, hi = ax.get_ylim()
    length = 0.08 * (hi - lo)
    for xv, yv, color in arrows:
        ax.annotate("", xy=(xv, yv + length), xytext=(xv, yv),
                    arrowprops={"arrowstyle": "->", "color": color, "lw": 1.5})
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="grey", marker=r"$\uparrow$", ls="none",
                          markersize=12))
    labels.append("global Z: lower bound (no toy reached it)")
    place_legend(ax, handles=handles, labels=labels, fontsize="x-small")


def _xlabel(x: str) -> str:
    return r"$N_{\mathrm{sig}}$ injected" if x == "n_signal" else \
        "S/\u221aB in the 3.3-3.7 TeV window"


def plot_significance_vs_injection(result: Any, *, quantities: tuple[str, ...] = (
        "z_true_window", "z_global"), x: str = "n_signal", ax=None,
        path: str | Path | None = None):
    """Median significance against the injection with the 16–84% band over seeds."""
    if x not in ("n_signal", "s_over_sqrt_b"):
        from bumpstat.exceptions import InputError

        raise InputError(f"x must be 'n_signal' or 's_over_sqrt_b', got {x!r}")
    with hep_style():
        fig, ax = new_axes(ax)
        k = 0
        arrows: list[tuple[float, float, str]] = []
        for q_i, q in enumerate(quantities):
            for s, m, xs, med, band in _series(result, q, x):
                color = f"C{k % 10}"
                k += 1
                ax.plot(xs, med, color=color, ls=_LINESTYLES.get(m, ":"),
                        marker="os^"[q_i % 3], label=f"{s} / {m}: {_QUANTITY_LABELS.get(q, q)}")
                ax.fill_between(xs, band[:, 0], band[:, 1], color=color, alpha=0.2, lw=0)
                if q == "z_global":
                    low = _lower_bound_mask(result, s, m, x, xs)
                    arrows += [(xv, yv, color) for xv, yv in zip(xs[low], med[low],
                                                                strict=True)]
        _lower_bound_arrows(ax, arrows)
        for lvl in (3, 5):
            ax.axhline(lvl, color="grey", ls=":", lw=1)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xlabel(_xlabel(x))
        ax.set_ylabel(r"median $Z$ ($16$-$84\%$ band over seeds)")
        if not arrows:
            ax.legend(fontsize="x-small")
        return finish(fig, path)


def plot_sic_vs_injection(result: Any, *, ax=None, path: str | Path | None = None):
    """Median SIC at ε_B = 1e-3 in the true window against N_sig (band over seeds)."""
    with hep_style():
        fig, ax = new_axes(ax)
        seen = set()
        for k, (s, _m, xs, med, band) in enumerate(_series(result, "sic_at_1e-3", "n_signal")):
            if s in seen:  # the SIC does not depend on the background method
                continue
            seen.add(s)
            ax.plot(xs, med, marker="o", color=f"C{k % 10}", label=s)
            ax.fill_between(xs, band[:, 0], band[:, 1], color=f"C{k % 10}", alpha=0.2, lw=0)
        ax.axhline(1, color="grey", ls=":", lw=1)
        ax.set_xlabel(_xlabel("n_signal"))
        ax.set_ylabel(r"SIC at $\epsilon_B = 10^{-3}$ (true window)")
        if seen:
            ax.set_yscale("log")
            ax.legend(fontsize="small")
        return finish(fig, path)


def plot_w_hat(result: Any, *, ax=None, path: str | Path | None = None):
    """ŵ against w_true for every point that has them, with the diagonal."""
    with hep_style():
        fig, ax = new_axes(ax)
        by_score: dict[str, list[tuple[float, float]]] = {}
        for p in result.points:
            if p.get("w_hat") is not None and p.get("w_true") is not None:
                by_score.setdefault(p["score_method"], []).append((p["w_true"], p["w_hat"]))
        hi = 1e-3
        for k, (s, pairs) in enumerate(sorted(by_score.items())):
            arr = np.unique(np.array(pairs), axis=0)
            ax.scatter(arr[:, 0], arr[:, 1], color=f"C{k % 10}", label=s)
            hi = max(hi, float(arr.max()))
        ax.plot([0, 1.1 * hi], [0, 1.1 * hi], color="k", ls="--", lw=1, label=r"$\hat w = w$")
        ax.set_xlabel(r"$w_{\mathrm{true}}$ (signal fraction in the true window)")
        ax.set_ylabel(r"$\hat w$")
        ax.legend(fontsize="small")
        return finish(fig, path)


def study_figures(result: Any) -> Iterator[tuple[str, Any]]:
    """``(file name, figure)`` of every figure that the result has data for."""
    yield "significance_vs_nsig.png", plot_significance_vs_injection(result)
    yield "significance_vs_s_over_sqrt_b.png", plot_significance_vs_injection(
        result, x="s_over_sqrt_b")
    if any(p.get("sic_at_1e-3") is not None for p in result.points):
        yield "sic_vs_nsig.png", plot_sic_vs_injection(result)
    if any(p.get("w_hat") is not None for p in result.points):
        yield "w_hat_vs_w_true.png", plot_w_hat(result)
