"""One scan point: a window × working point × background method, over classifier runs.

Every background estimator (:mod:`bumpstat.estimators`) returns :class:`ScanPoint` objects, and
the scan, the report, the plots and the global significance read only these. The per-run arrays
follow the result contract of :mod:`bumpstat.results` (``n_obs``, ``n_exp``, ``n_exp_unc``,
signed ``z``, ``upper_limit`` at ``cl``, ``valid`` with a reason); method-specific per-run
numbers live in ``details`` and method settings in ``settings``.

Averaging over runs (:meth:`ScanPoint.record`): the record holds the **mean over the valid
runs** of ``n_obs``, ``n_exp``, ``n_exp_unc``, ``z``, ``upper_limit``, the expected limits and
each detail, with the spread (std, ddof=0) as ``*_std``; ``rel_unc = n_exp_unc / n_exp`` and
``p_value = Φ(−z)`` are computed *from those means*, so the record is self-consistent
(``p_value`` is never the mean of per-run p-values). If no run is valid, the means are over all
runs and the record is ``valid: false``. Per-run values are under ``runs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bumpstat.results import Result, p_value_of_z
from bumpstat.serialize import jsonable
from bumpstat.stats.cutcount import BAND_LABELS, LIMIT_CLS
from bumpstat.windows import Window

__all__ = ["ScanPoint", "LIMIT_CLS", "BAND_LABELS"]

_AVERAGED = ("n_obs", "n_exp", "n_exp_unc", "z", "upper_limit", "threshold")


def _f64(a: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64).reshape(-1)
    if arr.shape != (n,):
        raise ValueError(f"ScanPoint.{name} must have one value per run ({n}), got {arr.shape}")
    return arr


@dataclass(frozen=True, repr=False)
class ScanPoint(Result):
    """Result of one background estimate and counting test, per classifier run.

    Attributes
    ----------
    method : str
        Background estimator name (``"direct"``, ``"fit"``, …).
    window : Window
        The signal region (TeV).
    eps_b : float
        Working point: template background efficiency.
    n_sr : float
        (Weighted) data events in the SR before the cut.
    threshold : array (n_runs,)
        Score threshold ``R_c`` of each run (events with score > R_c pass).
    n_obs, n_exp, n_exp_unc : array (n_runs,)
        Observed events passing, expected background, its absolute uncertainty (events).
    z : array (n_runs,)
        Signed significance (negative for a deficit).
    upper_limit : array (n_runs,)
        Observed upper limit on signal events at ``cl``.
    expected_limits : array (n_runs, 5)
        Expected limits at −2σ, −1σ, median, +1σ, +2σ (events).
    valid : array of bool (n_runs,)
        Whether each run's numbers can be trusted.
    reasons : tuple of str (n_runs,)
        Why a run is not valid ("" when it is).
    cl : float
        Confidence level of the limits.
    limit_method : str
        How the limits were obtained.
    details : mapping of str to array (n_runs,)
        Method-specific per-run numbers (e.g. ``z_gauss``, ``chi2_ndof``).
    settings : mapping
        Method settings of this point (e.g. ``delta_sys``, ``function``).
    """

    method: str
    window: Window
    eps_b: float
    n_sr: float
    threshold: np.ndarray
    n_obs: np.ndarray
    n_exp: np.ndarray
    n_exp_unc: np.ndarray
    z: np.ndarray
    upper_limit: np.ndarray
    expected_limits: np.ndarray
    valid: np.ndarray
    reasons: tuple[str, ...]
    cl: float = 0.95
    limit_method: str = LIMIT_CLS
    details: Mapping[str, np.ndarray] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = int(np.asarray(self.n_obs).size)
        for name in _AVERAGED:
            object.__setattr__(self, name, _f64(getattr(self, name), n, name))
        lim = np.asarray(self.expected_limits, dtype=np.float64).reshape(n, len(BAND_LABELS))
        object.__setattr__(self, "expected_limits", lim)
        object.__setattr__(self, "valid", np.asarray(self.valid, dtype=bool).reshape(n))
        reasons = tuple(str(r) for r in self.reasons)
        if len(reasons) != n:
            raise ValueError(f"ScanPoint.reasons must have one entry per run ({n})")
        object.__setattr__(self, "reasons", reasons)
        object.__setattr__(self, "details",
                           {k: _f64(v, n, f"details[{k!r}]") for k, v in self.details.items()})
        object.__setattr__(self, "eps_b", float(self.eps_b))
        object.__setattr__(self, "n_sr", float(self.n_sr))

    # -- per-run derived quantities ------------------------------------------------------------
    @property
    def n_runs(self) -> int:
        """Number of classifier runs."""
        return int(self.n_obs.size)

    @property
    def rel_unc(self) -> np.ndarray:
        """Relative uncertainty ``n_exp_unc / n_exp`` per run."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.n_exp_unc / self.n_exp

    @property
    def p_value(self) -> np.ndarray:
        """One-sided ``Φ(−z)`` per run."""
        return np.asarray(p_value_of_z(self.z))

    @property
    def all_valid(self) -> bool:
        """Every run is valid."""
        return bool(self.valid.all())

    @property
    def reason(self) -> str | None:
        """Why the point is not valid (distinct run reasons joined), None if it is."""
        if self.all_valid:
            return None
        bad = [r or "invalid" for r, ok in zip(self.reasons, self.valid, strict=True) if not ok]
        distinct = list(dict.fromkeys(bad))
        head = f"{len(bad)} of {self.n_runs} run(s) not valid: " if self.n_runs > 1 else ""
        return head + "; ".join(distinct)

    # -- the aggregated record -----------------------------------------------------------------
    def _use(self) -> np.ndarray:
        return self.valid if self.valid.any() else np.ones(self.n_runs, dtype=bool)

    def mean(self, name: str) -> float:
        """Mean over the valid runs (all runs if none is valid) of a per-run array or detail."""
        arr = self.details[name] if name in self.details else getattr(self, name)
        v = np.asarray(arr, dtype=np.float64)[self._use()]
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else float("nan")

    def record(self) -> dict[str, Any]:
        """The JSON-ready record of this point (see the module docstring)."""
        use = self._use()
        rec: dict[str, Any] = {
            "method": self.method,
            "window": self.window.to_dict(),
            "eps_b": self.eps_b,
            "n_sr": self.n_sr,
            "n_runs": self.n_runs,
            "n_valid": int(self.valid.sum()),
            "valid": self.all_valid,
            "reason": self.reason,
        }
        for name in _AVERAGED:
            rec[name] = self.mean(name)
        n_exp, unc, z = rec["n_exp"], rec["n_exp_unc"], rec["z"]
        rec["rel_unc"] = unc / n_exp if np.isfinite(n_exp) and n_exp > 0 else float("nan")
        rec["p_value"] = p_value_of_z(z) if np.isfinite(z) else float("nan")
        for name in ("n_obs", "n_exp", "z", "upper_limit"):
            v = getattr(self, name)[use]
            v = v[np.isfinite(v)]
            rec[f"{name}_std"] = float(v.std()) if v.size else float("nan")
        lim = self.expected_limits[use]
        rec["expected_limits"] = [float(np.nanmean(c)) if np.isfinite(c).any() else float("nan")
                                  for c in lim.T]
        rec["cl"] = self.cl
        rec["limit_method"] = self.limit_method
        for name in self.details:
            rec[name] = self.mean(name)
        rec.update(dict(self.settings))
        rec["runs"] = {
            **{name: getattr(self, name) for name in _AVERAGED},
            "p_value": self.p_value,
            "valid": self.valid,
            "reason": [r or None for r in self.reasons],
        }
        return jsonable(rec)

    def to_dict(self) -> dict[str, Any]:
        """Same as :meth:`record`."""
        return self.record()

    def records(self) -> list[dict[str, Any]]:
        """One flat row (the record without the per-run lists)."""
        from bumpstat.results import flatten

        rec = self.record()
        rec.pop("runs")
        lim = rec.pop("expected_limits")
        rec.update({f"expected_limit_{b}": v for b, v in zip(BAND_LABELS, lim, strict=True)})
        return [flatten(rec)]
