"""The relative systematic shift ``delta_sys`` of a background template (Das et al.
[arXiv:2411.00085] eqs. 4–5).

From a signal-free score file (simulation from a second generator: ``delta_sys^MC``; or sideband
data against a sideband template: ``delta_sys^SB``), per window ``n``, run ``r`` and working point:
``delta_sys,n,r = (N_obs - eps_b N_SR) / (eps_b N_SR)`` (eq. 4); averaged over runs, then over
windows (eq. 5). The statistical scale ``sigma_stat`` (eq. 9) is reported beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from bumpstat.direct.estimate import window_counts
from bumpstat.direct.thresholds import check_eps_b
from bumpstat.exceptions import InputError
from bumpstat.results import Result
from bumpstat.scores.schema import ScoreFile
from bumpstat.serialize import jsonable, loads
from bumpstat.windows import Window

__all__ = ["DeltaSys", "estimate_delta_sys", "combine_quadrature"]


@dataclass(frozen=True, repr=False)
class DeltaSys(Result):
    """``delta_sys`` per working point, window and run.

    Attributes
    ----------
    eps_b : array (n_eps,)
    value : array (n_eps,)
        Eq. 5: mean over windows of the run-averaged per-window values.
    per_window : array (n_windows, n_eps)
        Eq. 4 averaged over runs.
    per_window_std : array (n_windows, n_eps)
        Spread (std, ddof=0) over runs.
    sigma_stat : array (n_eps,)
        Eq. 9 averaged over windows: the statistical scale to compare ``delta_sys`` with.
    windows : tuple of Window
    kind : str
        ``"mc"``, ``"sb"``, ``"mc+sb"`` or free text.
    """

    eps_b: np.ndarray
    value: np.ndarray
    per_window: np.ndarray
    per_window_std: np.ndarray
    sigma_stat: np.ndarray
    windows: tuple[Window, ...]
    kind: str = "mc"

    #: One record per working point (:meth:`~bumpstat.results.Result.records`).
    point_fields: ClassVar[tuple[str, ...]] = ("eps_b", "delta_sys", "sigma_stat")

    def at(self, eps_b: float | Sequence[float]) -> np.ndarray:
        """``delta_sys`` at the requested working points (must be among :attr:`eps_b`)."""
        want = check_eps_b(eps_b)
        idx = []
        for e in want:
            hit = np.flatnonzero(np.isclose(self.eps_b, e, rtol=1e-9, atol=0))
            if hit.size == 0:
                raise InputError(
                    f"delta_sys ({self.kind}) was estimated at eps_b = {self.eps_b.tolist()}, "
                    f"not at {e:g}"
                )
            idx.append(int(hit[0]))
        return self.value[idx]

    def to_dict(self) -> dict:
        """JSON-ready dictionary (see :meth:`from_dict`)."""
        return jsonable({
            "kind": self.kind,
            "eps_b": self.eps_b.tolist(),
            "delta_sys": self.value.tolist(),
            "sigma_stat": self.sigma_stat.tolist(),
            "windows": [w.to_dict() for w in self.windows],
            "per_window": self.per_window.tolist(),
            "per_window_std": self.per_window_std.tolist(),
        })

    @classmethod
    def from_dict(cls, d: dict) -> DeltaSys:
        """Inverse of :meth:`to_dict`."""
        try:
            out = cls(
                eps_b=check_eps_b(d["eps_b"]),
                value=np.asarray(d["delta_sys"], dtype=float),
                per_window=np.asarray(d["per_window"], dtype=float),
                per_window_std=np.asarray(d["per_window_std"], dtype=float),
                sigma_stat=np.asarray(d["sigma_stat"], dtype=float),
                windows=tuple(Window.from_dict(w) for w in d["windows"]),
                kind=str(d.get("kind", "mc")),
            )
        except KeyError as err:
            raise InputError(f"delta_sys JSON lacks the field {err.args[0]!r}") from err
        n_e, n_w = out.eps_b.size, len(out.windows)
        for name, arr, shape in (("delta_sys", out.value, (n_e,)),
                                 ("per_window", out.per_window, (n_w, n_e))):
            if arr.shape != shape:
                raise InputError(f"delta_sys JSON field {name!r} has shape {arr.shape}, "
                                 f"expected {shape}")
            if not np.isfinite(arr).all():
                raise InputError(f"delta_sys JSON field {name!r} holds null or non-finite values")
        return out

    @classmethod
    def read_json(cls, path: str | Path) -> DeltaSys:
        """Read a file written by :meth:`write_json` (strict JSON)."""
        path = Path(path)
        try:
            d = loads(path.read_text())
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"cannot read delta_sys file {str(path)!r}: {err}") from err
        except InputError as err:
            raise InputError(f"delta_sys file {str(path)!r}: {err}") from err
        if not isinstance(d, dict):
            raise InputError(f"delta_sys file {str(path)!r}: expected a JSON object")
        try:
            return cls.from_dict(d)
        except (TypeError, ValueError) as err:
            raise InputError(f"delta_sys file {str(path)!r}: malformed ({err})") from err


def estimate_delta_sys(
    scores: ScoreFile, eps_b: float | Sequence[float], *, kind: str = "mc"
) -> DeltaSys:
    """Estimate ``delta_sys`` (eqs. 4–5) from a signal-free score file.

    Parameters
    ----------
    scores : ScoreFile
        Signal-free "data" (e.g. a second generator's background, or sideband data) and the
        background template built the same way as in the analysis.
    eps_b : float or sequence
        Working points.
    kind : str
        Label stored with the result (``"mc"`` or ``"sb"``).
    """
    eps = check_eps_b(eps_b)
    per_win, per_win_std, sig_stat = [], [], []
    for ws in scores.windows:
        c = window_counts(ws, eps)
        d = c.delta_sys_observed  # (n_runs, n_eps)
        per_win.append(d.mean(axis=0))
        per_win_std.append(d.std(axis=0))
        n_exp = c.eps_b_template * c.n_sr
        sig_stat.append(np.sqrt(1.0 / n_exp + c.rel_unc_template**2).mean(axis=0))
    pw = np.array(per_win)
    return DeltaSys(
        eps_b=eps,
        value=pw.mean(axis=0),
        per_window=pw,
        per_window_std=np.array(per_win_std),
        sigma_stat=np.array(sig_stat).mean(axis=0),
        windows=tuple(ws.window for ws in scores.windows),
        kind=kind,
    )


def combine_quadrature(a: DeltaSys, b: DeltaSys) -> DeltaSys:
    """``delta_sys^{a⊕b} = sqrt(a^2 + b^2)`` per working point and window (Das et al. §3.2)."""
    if a.eps_b.shape != b.eps_b.shape or not np.allclose(a.eps_b, b.eps_b):
        raise InputError(
            f"cannot combine delta_sys at different eps_b: {a.eps_b.tolist()} vs {b.eps_b.tolist()}"
        )
    if a.per_window.shape != b.per_window.shape:
        raise InputError(
            f"cannot combine delta_sys over different windows: {a.per_window.shape[0]} vs "
            f"{b.per_window.shape[0]}"
        )
    return DeltaSys(
        eps_b=a.eps_b,
        value=np.hypot(a.value, b.value),
        per_window=np.hypot(a.per_window, b.per_window),
        # linear error propagation of hypot is singular at 0; the larger spread is conservative
        per_window_std=np.maximum(a.per_window_std, b.per_window_std),
        sigma_stat=np.maximum(a.sigma_stat, b.sigma_stat),
        windows=a.windows,
        kind=f"{a.kind}+{b.kind}",
    )
