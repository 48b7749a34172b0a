"""The fit-based bump hunt as a scan method (``run_scan(…, method="fit"|"both")``).

Per window, run and working point: the threshold ``R_c`` is the one of the direct method (a
fraction ``eps_b`` of the window's template passes), applied to every data event of the window
in the fit range; the m spectrum of the selected events is fitted in the sidebands and the SR
prediction tested (:func:`bumpstat.fit.bumphunt.bumphunt`). The data of each window in the
score file must therefore cover the fit range, not only the SR.

The upper limit on signal events uses the one-bin Poisson-constrained model with the fit's
relative uncertainty on the SR prediction as ``sigma`` (the same closed form as the direct
method), so both methods' limits are comparable.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from bumpstat.direct.thresholds import template_thresholds
from bumpstat.exceptions import BumpstatError, InputError
from bumpstat.fit.bumphunt import bumphunt
from bumpstat.scores.schema import WindowScores
from bumpstat.stats.cutcount import cut_and_count
from bumpstat.windows import DEFAULT_RANGE, Window

__all__ = ["FitPoint", "fit_window"]

_OPTIONS = {"function", "fit_range", "bins", "edges", "sqrt_s"}


@dataclass(frozen=True)
class FitPoint:
    """Fit-based result for one window and working point over classifier runs.

    Per-run arrays ``(n_runs,)``: ``n_obs`` (SR events passing), ``n_exp`` (fitted SR
    prediction), ``rel_unc`` (its relative uncertainty from the fit covariance), ``z``,
    ``p_value`` (SR excess test including that uncertainty), ``upper_limit`` (95% CL CLs, events),
    ``valid`` (fit converged with an accurate covariance), ``chi2_ndof`` (sidebands).
    Invalid fits keep their numbers but are flagged; the means in :meth:`to_record` use valid
    runs only and ``n_valid`` says how many.
    """

    window: Window
    eps_b: float
    n_sr: float
    function: str
    threshold: np.ndarray
    n_obs: np.ndarray
    n_exp: np.ndarray
    rel_unc: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    upper_limit: np.ndarray
    valid: np.ndarray
    chi2_ndof: np.ndarray
    messages: tuple[str, ...] = ()
    method: str = "fit"

    @property
    def n_runs(self) -> int:
        """Number of classifier runs."""
        return int(self.n_obs.size)

    def to_record(self) -> dict:
        """JSON-ready record in the format of :meth:`DirectPoint.to_record` (method "fit")."""
        ok = self.valid.astype(bool)
        rec: dict = {"method": self.method, "window": self.window.to_dict(), "eps_b": self.eps_b,
                     "n_sr": self.n_sr, "function": self.function, "n_runs": self.n_runs,
                     "n_valid": int(ok.sum()), "valid": bool(ok.all())}
        for name in ("n_obs", "n_exp", "rel_unc", "z", "p_value", "upper_limit", "chi2_ndof",
                     "threshold"):
            v = np.asarray(getattr(self, name), dtype=np.float64)[ok]
            rec[name] = float(v.mean()) if v.size else None
            rec[f"{name}_std"] = float(v.std()) if v.size else None
        rec["runs"] = {name: [None if not np.isfinite(x) else float(x)
                              for x in np.asarray(getattr(self, name), dtype=float)]
                       for name in ("n_obs", "n_exp", "z", "p_value", "upper_limit")}
        rec["runs"]["valid"] = ok.tolist()
        if any(self.messages):
            rec["messages"] = list(self.messages)
        return rec


def fit_window(ws: WindowScores, eps_b: np.ndarray, *, delta_sys=None, sigma_sys=None,
               cl: float = 0.95, options: dict | None = None) -> list[FitPoint]:
    """Fit-based bump hunt of one window at every working point and run (scan method "fit").

    ``delta_sys``/``sigma_sys`` belong to the direct method and are ignored here. ``options``:
    ``function`` (default ``"dijet4"``), ``fit_range`` (TeV, default 2.8–5.2), ``bins`` (30),
    ``edges``, ``sqrt_s``.
    """
    opts = dict(options or {})
    unknown = set(opts) - _OPTIONS
    if unknown:
        raise InputError(f"unknown fit option(s) {sorted(unknown)}; allowed: {sorted(_OPTIONS)}")
    function = opts.pop("function", "dijet4")
    fit_range = tuple(opts.pop("fit_range", DEFAULT_RANGE))
    data, tmpl = ws.data, ws.template
    assert data.m is not None
    thr = template_thresholds(tmpl.scores, eps_b, weights=tmpl.weight,
                              where=f"window {ws.window.name!r} template")
    n_sr = float(data.weights()[ws.window.contains(data.m)].sum())
    n_runs, n_eps = thr.threshold.shape
    cols = {k: np.full((n_runs, n_eps), np.nan) for k in
            ("n_obs", "n_exp", "rel_unc", "z", "p_value", "chi2_ndof")}
    valid = np.zeros((n_runs, n_eps), dtype=bool)
    msgs = [[""] * n_runs for _ in range(n_eps)]
    for r in range(n_runs):
        for j in range(n_eps):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # invalid fits are flagged, not warned per run
                    res = bumphunt(data.m, data.scores[r], window=ws.window,
                                   threshold=float(thr.threshold[r, j]), weights=data.weight,
                                   fit_range=fit_range, function=function, **opts)
            except BumpstatError as err:
                msgs[j][r] = f"{type(err).__name__}: {err}"
                continue
            cols["n_obs"][r, j] = res.n_obs_sr
            cols["n_exp"][r, j] = res.n_pred_sr
            cols["rel_unc"][r, j] = (res.n_pred_sr_unc / res.n_pred_sr if res.n_pred_sr > 0
                                     else np.nan)
            cols["z"][r, j] = res.z
            cols["p_value"][r, j] = res.p_value
            cols["chi2_ndof"][r, j] = res.chi2_ndof
            valid[r, j] = res.valid and np.isfinite(res.z)
            msgs[j][r] = res.message
    limits = np.full((n_runs, n_eps), np.nan)
    ok = valid & (cols["n_exp"] > 0) & np.isfinite(cols["rel_unc"])
    if ok.any():
        limits[ok] = np.asarray(cut_and_count(cols["n_obs"][ok], cols["n_exp"][ok],
                                              cols["rel_unc"][ok], cl=cl).upper_limit)
    fname = function if isinstance(function, str) else getattr(function, "name", "custom")
    return [
        FitPoint(window=ws.window, eps_b=float(eps_b[j]), n_sr=n_sr, function=fname,
                 threshold=thr.threshold[:, j], n_obs=cols["n_obs"][:, j],
                 n_exp=cols["n_exp"][:, j], rel_unc=cols["rel_unc"][:, j], z=cols["z"][:, j],
                 p_value=cols["p_value"][:, j], upper_limit=limits[:, j], valid=valid[:, j],
                 chi2_ndof=cols["chi2_ndof"][:, j], messages=tuple(msgs[j]))
        for j in range(n_eps)
    ]


def _register() -> None:
    from bumpstat.scan import METHODS

    METHODS["fit"] = fit_window


_register()
