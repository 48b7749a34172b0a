"""The fit-based background estimator: the traditional bump hunt as a scan method.

Per window, run and working point: the threshold ``R_c`` is the direct method's (a fraction
``eps_b`` of the window's template passes), applied to every data event of the window in the
fit range; the m spectrum of the selected events is fitted in the sidebands and the SR
prediction tested (:func:`bumpstat.fit.hunt.bumphunt`). The data of each window in the score
file must therefore cover the fit range, not only the SR (:meth:`SidebandFitEstimator.check`).

The upper limit uses the one-bin Poisson-constrained model with the fit's relative uncertainty
on the SR prediction, so both methods' limits are comparable. A fit that does not converge or
whose sideband goodness of fit fails (deviance p-value below ``min_gof_p``) gives an invalid
point with the reason; its numbers are kept for inspection.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bumpstat.direct.thresholds import template_thresholds
from bumpstat.estimators.base import BackgroundEstimator
from bumpstat.exceptions import BumpstatError, InputError
from bumpstat.fit.binning import check_bins
from bumpstat.fit.functions import SQRT_S, get_function
from bumpstat.fit.gof import GOF_MIN_P
from bumpstat.fit.hunt import bumphunt
from bumpstat.scanpoint import ScanPoint
from bumpstat.scores.schema import ScoreFile, WindowScores
from bumpstat.windows import DEFAULT_RANGE

__all__ = ["SidebandFitEstimator"]

_NUMBERS = ("n_obs", "n_exp", "n_exp_unc", "z", "upper_limit", "chi2_ndof", "gof_p_value")


@dataclass(frozen=True)
class SidebandFitEstimator(BackgroundEstimator):
    """Sideband fit of the selected events' m spectrum, interpolated into the SR.

    Parameters
    ----------
    function : str
        ``"dijet3"``, ``"dijet4"`` (default), ``"dijet5"`` or ``"linear"``.
    fit_range : (float, float)
        Fit range in TeV.
    bins : int
        About this many log-uniform bins with the SR edges aligned.
    edges : tuple of float, optional
        Explicit bin edges in TeV (overrides ``bins`` and ``fit_range``).
    sqrt_s : float
        Centre-of-mass energy in TeV of the dijet functions.
    min_gof_p : float
        Sideband deviance p-value below which a fit is not trusted (``valid: false``).
    """

    name: ClassVar[str] = "fit"
    function: str = "dijet4"
    fit_range: tuple[float, float] = DEFAULT_RANGE
    bins: int = 30
    edges: tuple[float, ...] | None = None
    sqrt_s: float = SQRT_S
    min_gof_p: float = GOF_MIN_P

    def __post_init__(self) -> None:
        if not isinstance(self.function, str):
            raise InputError("the scan's fit estimator takes a function name (dijet3, dijet4, "
                             "dijet5, linear); fit custom functions with bumpstat.fit.bumphunt")
        get_function(self.function)  # an unknown name fails here, not in every window
        try:
            rng = tuple(float(v) for v in self.fit_range)
            edges = None if self.edges is None else tuple(float(v) for v in self.edges)
        except (TypeError, ValueError) as err:
            raise InputError(f"fit estimator: fit_range and edges must be numbers (TeV): {err}"
                             ) from err
        if len(rng) != 2 or not (np.isfinite(rng).all() and 0.0 < rng[0] < rng[1]):
            raise InputError(f"fit estimator: fit_range must be (low, high) in TeV with "
                             f"0 < low < high, got {self.fit_range}")
        object.__setattr__(self, "fit_range", rng)
        object.__setattr__(self, "edges", edges)
        check_bins(self.bins)
        if not 0.0 <= float(self.min_gof_p) < 1.0:
            raise InputError(f"min_gof_p must be in [0, 1), got {self.min_gof_p}")

    def _range(self) -> tuple[float, float]:
        return (self.edges[0], self.edges[-1]) if self.edges else self.fit_range

    def check(self, scores: ScoreFile, eps_b: np.ndarray) -> None:
        """Every window must lie in the fit range and its data must populate both sidebands."""
        lo, hi = self._range()
        src = f"file {scores.source!r}: " if scores.source else ""
        for ws in scores.windows:
            w = ws.window
            if not (lo < w.low and w.high < hi):
                raise InputError(f"{src}window {w.name!r} [{w.low}, {w.high}) TeV is not inside "
                                 f"the fit range [{lo}, {hi}) TeV with a sideband on each side")
            m = ws.data.m
            below = int(((m >= lo) & (m < w.low)).sum())
            above = int(((m >= w.high) & (m < hi)).sum())
            if below == 0 or above == 0:
                raise InputError(
                    f"{src}window {w.name!r}: the data hold {below} event(s) in the lower and "
                    f"{above} in the upper sideband of the fit range [{lo}, {hi}) TeV; the fit "
                    "estimator needs every data event of the fit range scored (e.g. "
                    "train-scores --score-range), not only the signal region")

    def estimate(self, ws: WindowScores, eps_b: np.ndarray, *, cl: float = 0.95
                 ) -> list[ScanPoint]:
        """Sideband fit, SR prediction, significance and limit for every run and working point."""
        data, tmpl = ws.data, ws.template
        thr = template_thresholds(tmpl.scores, eps_b, weights=tmpl.weight,
                                  where=f"window {ws.window.name!r} template")
        n_sr = float(data.weights()[ws.window.contains(data.m)].sum())
        n_runs, n_eps = thr.threshold.shape
        cols = {k: np.full((n_runs, n_eps), np.nan) for k in _NUMBERS}
        lims = np.full((n_runs, n_eps, 5), np.nan)
        valid = np.zeros((n_runs, n_eps), dtype=bool)
        reasons = [[""] * n_runs for _ in range(n_eps)]
        edges = None if self.edges is None else np.asarray(self.edges)
        for r in range(n_runs):
            for j in range(n_eps):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # invalid fits are flagged, not warned
                        res = bumphunt(data.m, data.scores[r], window=ws.window,
                                       threshold=float(thr.threshold[r, j]), weights=data.weight,
                                       fit_range=self.fit_range, bins=self.bins, edges=edges,
                                       function=self.function, sqrt_s=self.sqrt_s, cl=cl,
                                       min_gof_p=self.min_gof_p)
                except BumpstatError as err:
                    reasons[j][r] = f"fit not possible: {err}"
                    continue
                for k in ("n_obs", "n_exp", "n_exp_unc", "z", "upper_limit", "chi2_ndof"):
                    cols[k][r, j] = getattr(res, k)
                cols["gof_p_value"][r, j] = res.deviance_p_value
                lims[r, j] = np.asarray(res.expected_limits, dtype=float)
                valid[r, j] = bool(res.valid and np.isfinite(res.z))
                reasons[j][r] = "" if valid[r, j] else (res.reason or "fit not valid")
        return [
            ScanPoint(
                method=self.name, window=ws.window, eps_b=float(eps_b[j]), n_sr=n_sr,
                threshold=thr.threshold[:, j], n_obs=cols["n_obs"][:, j],
                n_exp=cols["n_exp"][:, j], n_exp_unc=cols["n_exp_unc"][:, j],
                z=cols["z"][:, j], upper_limit=cols["upper_limit"][:, j],
                expected_limits=lims[:, j], valid=valid[:, j], reasons=tuple(reasons[j]),
                cl=cl,
                limit_method="CLs, asymptotic q~mu (one-bin Poisson-constrained model with the "
                             "fit's relative uncertainty on the SR prediction)",
                details={"chi2_ndof": cols["chi2_ndof"][:, j],
                         "gof_p_value": cols["gof_p_value"][:, j]},
                settings={"function": self.function, "fit_range": list(self._range())},
            )
            for j in range(n_eps)
        ]
