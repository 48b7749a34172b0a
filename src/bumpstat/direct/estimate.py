"""Direct background estimation in one window (Das et al. [arXiv:2411.00085] §3, eqs. 3, 8, 9).

For each classifier run and working point ``eps_b``:

- ``R_c`` from the template (:func:`~bumpstat.direct.thresholds.template_thresholds`);
- ``N_obs`` = data events in the SR with ``score > R_c``;
- ``N_exp = eps_b N_SR (1 + delta_sys)`` (eq. 3), with the realised template efficiency as
  ``eps_b``;
- ``sigma_exp = sqrt(sigma_exp_stat^2 + sigma_sys^2)``, ``sigma_exp_stat = 1/sqrt(eps_b N_BT)``
  (eq. 8);
- ``sigma_stat = sqrt(1/N_exp + 1/(eps_b N_BT))`` (eq. 9), reported;
- significance eq. 6 (signed) and eq. 7, and the one-bin Poisson-constrained model's discovery
  p-value and 95% CL CLs upper limit on the signal count (closed form, validated against pyhf).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bumpstat.direct.thresholds import check_eps_b, template_thresholds
from bumpstat.exceptions import InputError, WindowError
from bumpstat.scanpoint import ScanPoint
from bumpstat.scores.schema import WindowScores
from bumpstat.stats.cutcount import LIMIT_CLS, cut_and_count
from bumpstat.stats.significance import gaussian_significance
from bumpstat.windows import Window

__all__ = ["WindowCounts", "window_counts", "direct_estimate"]


@dataclass(frozen=True)
class WindowCounts:
    """Counts of one window for all runs and working points (no statistics yet).

    Arrays have shape ``(n_runs, n_eps)`` unless noted.
    """

    window: Window
    eps_b: np.ndarray  # (n_eps,)
    n_sr: float
    n_template: float
    threshold: np.ndarray
    eps_b_template: np.ndarray
    rel_unc_template: np.ndarray
    n_obs: np.ndarray

    @property
    def delta_sys_observed(self) -> np.ndarray:
        """Eq. 4: ``(N_obs - eps_b N_SR) / (eps_b N_SR)`` per run and working point."""
        b0 = self.eps_b_template * self.n_sr
        return (self.n_obs - b0) / b0


def window_counts(ws: WindowScores, eps_b: float | Sequence[float]) -> WindowCounts:
    """Thresholds from the template and the SR data counts above them, for every run."""
    eps = check_eps_b(eps_b)
    name = ws.window.name
    sr = ws.signal_region()
    if sr.n_events == 0:
        raise WindowError(
            f"window {name!r} [{ws.window.low}, {ws.window.high}) TeV holds no data events"
        )
    thr = template_thresholds(
        ws.template.scores, eps, weights=ws.template.weight, where=f"window {name!r} template"
    )
    w = sr.weights()
    n_sr = float(w.sum())
    if n_sr <= 0:
        raise WindowError(f"window {name!r}: data weights in the SR sum to zero")
    # (n_runs, n_events, n_eps) comparisons done run by run to bound memory
    n_obs = np.stack([w @ (sr.scores[r][:, None] > thr.threshold[r][None, :])
                      for r in range(sr.n_runs)])
    return WindowCounts(
        window=ws.window,
        eps_b=eps,
        n_sr=n_sr,
        n_template=thr.n_template,
        threshold=thr.threshold,
        eps_b_template=thr.eps_b_template,
        rel_unc_template=thr.rel_unc_template,
        n_obs=n_obs,
    )


def _per_eps(value: float | Sequence[float] | np.ndarray, n_eps: int, what: str) -> np.ndarray:
    v = np.asarray(value, dtype=np.float64)
    if v.ndim == 0:
        v = np.full(n_eps, float(v))
    if v.shape != (n_eps,):
        raise InputError(
            f"{what} must be one number or one per eps_b ({n_eps}), got shape {v.shape}"
        )
    if not np.isfinite(v).all():
        raise InputError(f"{what} must be finite, got {v.tolist()}")
    return v


def direct_estimate(
    ws: WindowScores,
    eps_b: float | Sequence[float],
    *,
    delta_sys: float | Sequence[float] = 0.0,
    sigma_sys: float | Sequence[float] | None = None,
    cl: float = 0.95,
    invalid_reason: str | None = None,
) -> list[ScanPoint]:
    """Direct background estimate, significance and limit in one window.

    Parameters
    ----------
    ws : WindowScores
        Data and template scores of the window.
    eps_b : float or sequence
        Working points (template background efficiencies).
    delta_sys : float or sequence
        Relative systematic shift ``delta_sys(eps_b)`` (eq. 3), one value or one per ``eps_b``.
    sigma_sys : float or sequence, optional
        Relative systematic uncertainty; default ``|delta_sys|`` (Das et al.'s choice).
    cl : float
        Confidence level of the CLs upper limit.
    invalid_reason : str, optional
        Marks every point ``valid: false`` with this reason (e.g. no ``delta_sys`` was given).

    Returns
    -------
    list of ScanPoint
        One per working point, in the order of ``eps_b`` (method ``"direct"``); details
        ``z_gauss`` (eq. 7), ``rel_unc_stat`` (eq. 9), ``eps_b_template`` (realised);
        settings ``delta_sys``, ``sigma_sys``, ``n_template``.
    """
    counts = window_counts(ws, eps_b)
    n_eps = counts.eps_b.size
    dsys = _per_eps(delta_sys, n_eps, "delta_sys")
    ssys = np.abs(dsys) if sigma_sys is None else _per_eps(sigma_sys, n_eps, "sigma_sys")
    if (ssys < 0).any():
        raise InputError(f"sigma_sys must be non-negative, got {ssys.tolist()}")
    if (1.0 + dsys <= 0).any():
        raise InputError(f"delta_sys must be > -1 so that N_exp > 0, got {dsys.tolist()}")
    n_exp = counts.eps_b_template * counts.n_sr * (1.0 + dsys)  # eq. 3
    rel_unc = np.sqrt(counts.rel_unc_template**2 + ssys**2)  # eq. 8
    rel_unc_stat = np.sqrt(1.0 / n_exp + counts.rel_unc_template**2)  # eq. 9
    cc = cut_and_count(counts.n_obs, n_exp, rel_unc, cl=cl)
    z_gauss = np.asarray(gaussian_significance(counts.n_obs, n_exp, rel_unc))
    z = np.asarray(cc.z)
    limits = np.asarray(cc.upper_limit)
    exp_lim = np.asarray(cc.expected_limits)  # (n_runs, n_eps, 5)
    n_runs = counts.n_obs.shape[0]
    reason = "" if invalid_reason is None else invalid_reason
    return [
        ScanPoint(
            method="direct",
            window=ws.window,
            eps_b=float(counts.eps_b[j]),
            n_sr=counts.n_sr,
            threshold=counts.threshold[:, j],
            n_obs=counts.n_obs[:, j],
            n_exp=n_exp[:, j],
            n_exp_unc=(rel_unc * n_exp)[:, j],
            z=z[:, j],
            upper_limit=limits[:, j],
            expected_limits=exp_lim[:, j],
            valid=np.full(n_runs, invalid_reason is None),
            reasons=(reason,) * n_runs,
            cl=cl,
            limit_method=LIMIT_CLS,
            details={"z_gauss": z_gauss[:, j], "rel_unc_stat": rel_unc_stat[:, j],
                     "eps_b_template": counts.eps_b_template[:, j]},
            settings={"delta_sys": float(dsys[j]), "sigma_sys": float(ssys[j]),
                      "n_template": counts.n_template},
        )
        for j in range(n_eps)
    ]
