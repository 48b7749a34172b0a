"""The global-significance result and the conversion of toy maxima into a global p-value."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from bumpstat.results import Result

__all__ = ["GlobalSignificance", "global_p_value", "sidak_bound", "BOUND_CL"]

#: Confidence level of the upper bound on p_global when no toy reaches the observation.
BOUND_CL = 0.95


def global_p_value(max_z: np.ndarray, z_obs: float) -> tuple[float, float | None, int, bool]:
    """``(p_global, p_global_unc, n_exceed, is_bound)`` from toy maxima.

    ``p = n_exceed / n_toys`` with the binomial uncertainty; when no toy reaches ``z_obs``,
    ``p`` is the one-sided 95% CL upper bound ``1 - 0.05^(1/n)`` (≈ 3/n) and ``is_bound``.
    """
    n = int(max_z.size)
    k = int(np.count_nonzero(max_z >= z_obs))
    if k == 0:
        return float(1.0 - (1.0 - BOUND_CL) ** (1.0 / n)), None, 0, True
    p = k / n
    return p, math.sqrt(p * (1.0 - p) / n), k, False


def sidak_bound(p_local: float, n_trials: int) -> float:
    """Šidák's ``1 - (1 - p_local)^n``: the global p-value if the ``n`` tests were independent
    (an upper bound for positively correlated tests)."""
    return float(-np.expm1(n_trials * np.log1p(-min(p_local, 1.0 - 1e-16))))


@dataclass(frozen=True, repr=False)
class GlobalSignificance(Result):
    """The global significance of a scan's largest local significance.

    Attributes
    ----------
    method : str
        Background estimator whose points were scanned.
    z_local_max, p_local_min : float
        The largest run-averaged local significance and its one-sided p-value.
    window, eps_b : str, float
        Where it is.
    p_global : float
        Fraction of background-only pseudo-experiments whose largest local significance
        reaches ``z_local_max``; a bound (see ``p_global_bound``) when none does.
    p_global_unc : float or None
        Its Monte-Carlo (binomial) uncertainty; None for a bound.
    p_global_bound : str or None
        ``"upper"`` when ``p_global`` is a 95% CL upper bound (then ``z_global`` is a lower
        bound), else None.
    z_global : float
        ``Φ⁻¹(1 − p_global)``.
    n_toys, n_exceed : int
    trials_factor : float
        ``p_global / p_local_min``.
    n_points : int
        Windows × working points searched.
    p_global_sidak : float
        Šidák's bound ``1 − (1 − p_local_min)^n_points`` (independent tests).
    approximation : str
        What the pseudo-experiments model and what they approximate.
    systematic : str
        ``"random"`` (the template's systematic drawn per toy) or ``"fixed"``.
    seed : int or None
    upcrossings : dict
        Per working point, the Gross–Vitells estimate (when computed).
    z_local_for_global : dict
        The local significance whose global significance is 1, 2, 3 σ (keys "1", "2", "3"),
        from the quantiles of the toy maxima; None where too few toys reach it.
    valid, reason
        Whether the number can be trusted and why not.
    """

    method: str
    z_local_max: float
    p_local_min: float
    window: str
    eps_b: float
    p_global: float
    p_global_unc: float | None
    p_global_bound: str | None
    z_global: float
    n_toys: int
    n_exceed: int
    trials_factor: float
    n_points: int
    p_global_sidak: float
    approximation: str
    systematic: str
    seed: int | None
    upcrossings: dict = field(default_factory=dict)
    z_local_for_global: dict = field(default_factory=dict)
    valid: bool = True
    reason: str | None = None

    @property
    def z(self) -> float:
        """The global significance (result-contract name)."""
        return self.z_global

    @property
    def p_value(self) -> float:
        """The global p-value (result-contract name)."""
        return self.p_global

    def to_dict(self) -> dict[str, Any]:
        """All fields plus the contract names ``z`` and ``p_value``."""
        return {**super().to_dict(), "z": self.z_global, "p_value": self.p_global}


def make_result(*, method: str, z_obs: float, window: str, eps_b: float, max_z: np.ndarray,
                n_points: int, approximation: str, systematic: str, seed: int | None,
                upcrossings: dict | None = None, reason: str | None = None
                ) -> GlobalSignificance:
    """Assemble a :class:`GlobalSignificance` from toy maxima."""
    p, unc, k, bound = global_p_value(max_z, z_obs)
    p_loc = float(stats.norm.sf(z_obs))
    finite = np.sort(max_z[np.isfinite(max_z)])
    levels: dict[str, float | None] = {}
    for k_sigma in (1, 2, 3):
        p_k = float(stats.norm.sf(k_sigma))
        enough = finite.size * p_k >= 5
        levels[str(k_sigma)] = float(np.quantile(finite, 1.0 - p_k)) if enough else None
    return GlobalSignificance(
        method=method, z_local_max=float(z_obs), p_local_min=p_loc, window=window,
        eps_b=float(eps_b), p_global=p, p_global_unc=unc,
        p_global_bound="upper" if bound else None, z_global=float(stats.norm.isf(p)),
        n_toys=int(max_z.size), n_exceed=k,
        trials_factor=float(p / p_loc) if p_loc > 0 else float("nan"), n_points=n_points,
        p_global_sidak=sidak_bound(p_loc, n_points), approximation=approximation,
        systematic=systematic, seed=seed, upcrossings=upcrossings or {},
        z_local_for_global=levels, valid=reason is None, reason=reason)
