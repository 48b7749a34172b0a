"""Working points: score thresholds ``R_c`` at which a fraction ``eps_b`` of the template passes.

A template event passes when its score is strictly above ``R_c``. Without weights the threshold
sits midway between the ``k``-th and ``(k+1)``-th largest template score, ``k = round(eps_b N_BT)``,
so exactly ``k`` events pass (absent ties); with weights, ``k`` is the smallest number of top
events whose cumulative weight reaches ``eps_b`` of the total. The realised efficiency of the
template (which can differ from ``eps_b`` by rounding or ties) is returned too and is what the
background expectation uses.

>>> import numpy as np
>>> t = template_thresholds(np.arange(1000.0)[None, :], [0.01, 0.1])
>>> t.threshold.tolist(), t.n_pass.tolist()
([[989.5, 899.5]], [[10.0, 100.0]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bumpstat.exceptions import InputError, WorkingPointError

__all__ = ["Thresholds", "template_thresholds", "check_eps_b"]


def check_eps_b(eps_b: float | Sequence[float]) -> np.ndarray:
    """``eps_b`` as a 1-D float array in (0, 1], or :class:`InputError`."""
    e = np.atleast_1d(np.asarray(eps_b, dtype=np.float64))
    if e.ndim != 1 or e.size == 0:
        raise InputError(f"eps_b must be a number or a 1-D list of numbers, got {eps_b!r}")
    bad = ~np.isfinite(e) | (e <= 0) | (e > 1)
    if bad.any():
        raise InputError(f"eps_b must lie in (0, 1], got {e[bad].tolist()}")
    return e


@dataclass(frozen=True)
class Thresholds:
    """Thresholds per classifier run and working point.

    Attributes
    ----------
    eps_b : array (n_eps,)
        Requested background efficiencies.
    threshold : array (n_runs, n_eps)
        ``R_c``: an event passes when ``score > R_c``.
    n_pass : array (n_runs, n_eps)
        Template weight passing (event count without weights).
    sumw2_pass : array (n_runs, n_eps)
        Sum of squared weights of the passing template events.
    n_template : float
        Total template weight ``N_BT``.
    """

    eps_b: np.ndarray
    threshold: np.ndarray
    n_pass: np.ndarray
    sumw2_pass: np.ndarray
    n_template: float

    @property
    def eps_b_template(self) -> np.ndarray:
        """Realised template efficiency ``n_pass / N_BT``, shape (n_runs, n_eps)."""
        return self.n_pass / self.n_template

    @property
    def rel_unc_template(self) -> np.ndarray:
        """Relative statistical uncertainty of the template efficiency, ``1/sqrt(eps_b N_BT)``
        without weights (``sqrt(sum w^2) / sum w`` of passing events with weights)."""
        return np.sqrt(self.sumw2_pass) / self.n_pass


def template_thresholds(
    scores: np.ndarray,
    eps_b: float | Sequence[float],
    *,
    weights: np.ndarray | None = None,
    where: str = "template",
) -> Thresholds:
    """Thresholds at which a fraction ``eps_b`` of the (weighted) template passes, per run.

    Parameters
    ----------
    scores : array (n_runs, n_template)
        Template anomaly scores; 1-D is one run.
    eps_b : float or sequence of float
        Background efficiencies in (0, 1].
    weights : array (n_template,), optional
        Non-negative template weights.
    where : str
        Label (e.g. ``"window 'SR5' template"``) used in error messages.

    Raises
    ------
    WorkingPointError
        If ``eps_b * N_BT < 1`` (less than one template event would pass) or no template weight
        passes.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 1:
        s = s[None, :]
    eps = check_eps_b(eps_b)
    n_runs, n = s.shape
    if n == 0:
        raise WorkingPointError(f"{where}: no template events")
    if not np.isfinite(s).all():
        raise InputError(f"{where}: {int((~np.isfinite(s)).sum())} non-finite template score(s)")
    thr = np.empty((n_runs, eps.size))
    npass = np.empty_like(thr)
    sumw2 = np.empty_like(thr)

    if weights is None:
        too_small = eps * n < 1
        if too_small.any():
            raise WorkingPointError(
                f"{where}: eps_b * N_BT < 1 for eps_b = {eps[too_small].tolist()} with "
                f"N_BT = {n} template events; use a larger template or a larger eps_b"
            )
        k = np.clip(np.rint(eps * n).astype(np.int64), 1, n)
        lo_idx, hi_idx = n - k - 1, n - k  # ascending positions of the (k+1)-th and k-th largest
        kth = np.unique(np.concatenate([hi_idx, lo_idx[lo_idx >= 0]]))
        for r in range(n_runs):
            part = np.partition(s[r], kth)
            upper = part[hi_idx]
            lower = np.where(lo_idx >= 0, part[np.maximum(lo_idx, 0)], upper - 1.0)
            t = 0.5 * (lower + upper)
            # ties at the boundary: count what really passes
            thr[r] = t
            npass[r] = (s[r][:, None] > t[None, :]).sum(axis=0)
        sumw2[:] = npass
        total = float(n)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise InputError(f"{where}: weights have shape {w.shape}, scores have {n} events")
        if not np.isfinite(w).all() or (w < 0).any():
            raise InputError(f"{where}: weights must be finite and non-negative")
        total = float(w.sum())
        if total <= 0:
            raise WorkingPointError(f"{where}: template weights sum to zero")
        if (eps * n < 1).any():
            raise WorkingPointError(
                f"{where}: eps_b * N_BT < 1 for eps_b = {eps[eps * n < 1].tolist()} with "
                f"N_BT = {n} template events"
            )
        for r in range(n_runs):
            order = np.argsort(-s[r], kind="stable")
            ss, cw = s[r][order], np.cumsum(w[order])
            k = np.minimum(np.searchsorted(cw, eps * total, side="left") + 1, n)
            upper = ss[k - 1]
            lower = np.where(k < n, ss[np.minimum(k, n - 1)], upper - 1.0)
            t = 0.5 * (lower + upper)
            thr[r] = t
            passing = s[r][:, None] > t[None, :]
            npass[r] = w @ passing
            sumw2[r] = (w * w) @ passing
    if (npass <= 0).any():
        bad = eps[(npass <= 0).any(axis=0)]
        raise WorkingPointError(
            f"{where}: no template events pass the threshold for eps_b = {bad.tolist()} "
            "(ties in the template scores?)"
        )
    return Thresholds(eps_b=eps, threshold=thr, n_pass=npass, sumw2_pass=sumw2, n_template=total)
