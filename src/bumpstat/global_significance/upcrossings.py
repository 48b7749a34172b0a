"""Gross–Vitells upcrossings estimate of the trials factor of a 1-D mass scan.

For a local significance ``z(m)`` scanned over the window centres at one working point, Gross
and Vitells (Eur. Phys. J. C 70 (2010) 525, arXiv:1005.1891) bound the global p-value of the
largest local significance ``u`` by

    p_global(u) ≈ Φ(−u) + ⟨N(u0)⟩ exp(−(u² − u0²)/2),

where ``⟨N(u0)⟩`` is the mean number of upcrossings of a low level ``u0`` by the background-only
curves, estimated from a few pseudo-experiments. Crossings are counted between neighbouring
windows in centre order. The formula holds for a field of unit variance; run-averaged local
significances are narrower than N(0, 1), so the curves are first standardised with the mean and
standard deviation of the same few pseudo-experiments (``u0`` is a level of the standardised
curves).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["mean_upcrossings", "upcrossings_p_value", "upcrossings_by_eps"]


def mean_upcrossings(curves: np.ndarray, u0: float) -> float:
    """Mean number of upcrossings of ``u0`` per curve; ``curves`` is (n_toys, n_points)."""
    c = np.asarray(curves, dtype=float)
    return float(((c[:, :-1] < u0) & (c[:, 1:] >= u0)).sum(axis=1).mean())


def upcrossings_p_value(u: float, n_u0: float, u0: float) -> float:
    """Gross–Vitells ``Φ(−u) + ⟨N(u0)⟩ exp(−(u² − u0²)/2)``, capped at 1.

    >>> round(upcrossings_p_value(3.0, 1.0, 1.0), 5)
    0.01967
    """
    return float(min(1.0, stats.norm.sf(u) + n_u0 * np.exp(-(u * u - u0 * u0) / 2.0)))


def upcrossings_by_eps(curves: np.ndarray, centers: np.ndarray, eps_b: tuple[float, ...],
                       z_obs: np.ndarray, *, u0: float = 1.0,
                       full_toys: np.ndarray | None = None) -> dict[str, dict]:
    """Per working point: ⟨N(u0)⟩, the estimated global p-value and trials factor of that
    working point's largest local significance ``z_obs[j]``; beside it the full-toy global
    p-value of the same working point when ``full_toys`` (n_toys, n_eps) maxima are given.

    ``curves`` is (n_toys, n_windows, n_eps) with windows in the order of ``centers``.
    """
    order = np.argsort(centers)
    out: dict[str, dict] = {}
    for j, e in enumerate(eps_b):
        c = curves[:, order, j]
        mu, sd = float(np.mean(c)), float(np.std(c))
        n_up = mean_upcrossings((c - mu) / sd, u0)
        u = float(z_obs[j])
        p = upcrossings_p_value((u - mu) / sd, n_up, u0)
        p_loc = float(stats.norm.sf(u))
        rec = {"u0": u0, "n_toys": int(curves.shape[0]), "mean_upcrossings": n_up,
               "toy_mean": mu, "toy_std": sd,
               "z_local_max": u, "p_global": p, "z_global": float(stats.norm.isf(p)),
               "trials_factor": p / p_loc if p_loc > 0 else None}
        if full_toys is not None:
            k = int(np.count_nonzero(full_toys[:, j] >= u))
            rec["p_global_toys"] = k / full_toys.shape[0] if k else None
            rec["n_toys_full"] = int(full_toys.shape[0])
        out[f"{e:g}"] = rec
    return out
