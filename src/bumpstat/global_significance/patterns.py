"""Count tables for pseudo-experiments of a sliding-window cut-and-count scan.

Every statistic of the direct method is a count of events passing a threshold in a *cell*
(window ``w``, classifier run ``r``, working point ``j``). An event's *pattern* is the set of
cells it passes: its "level" in each (window, run) — how many of the nested thresholds it
passes. Events are recognised across windows by ``event_id`` (data and template separately);
without ids every window's events are taken as distinct (windows then look independent, which
overstates the number of independent trials: conservative). Events passing nothing anywhere
never enter a count and are dropped, so a table holds a few thousand to a few ten thousand
distinct patterns however large the files are.

The data table is *raked* (iterative proportional fitting) so that its expected count in every
cell equals the background expectation ``N_exp`` of the null hypothesis while keeping the
observed events' overlap structure: the pseudo-experiments then have the data's correlations
between overlapping windows, nested working points and runs, without any signal that the data
may hold. Template patterns with a small weight are added before raking so that a cell the data
leave empty can still be filled.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from bumpstat.exceptions import InputError
from bumpstat.scores.schema import ScoreFile

__all__ = ["PatternTable", "CountTables", "build_tables", "rake", "unique_rows"]

#: Weight of the template patterns mixed into the data table before raking.
TEMPLATE_SUPPORT = 1e-3


@dataclass(frozen=True)
class PatternTable:
    """Distinct patterns with their (weighted) multiplicity.

    Attributes
    ----------
    membership : scipy.sparse.csr_matrix (n_cells, n_patterns)
        1 where the pattern passes the cell.
    weight : array (n_patterns,)
        Sum of event weights of each pattern (event count when unweighted).
    scale : array (n_patterns,)
        ``sum w^2 / sum w`` per pattern (1 when unweighted): the pattern count fluctuates as
        ``scale * Poisson(weight / scale)``.
    """

    membership: sparse.csr_matrix
    weight: np.ndarray
    scale: np.ndarray

    @property
    def n_patterns(self) -> int:
        """Number of distinct patterns."""
        return int(self.weight.size)

    def cell_sums(self, per_pattern: np.ndarray | None = None) -> np.ndarray:
        """``sum`` of ``per_pattern`` (default: the weights) over each cell's patterns."""
        v = self.weight if per_pattern is None else per_pattern
        return np.asarray(self.membership @ v)


@dataclass(frozen=True)
class CountTables:
    """Everything a pseudo-experiment needs, for cells ordered (window, run, working point).

    Attributes
    ----------
    data : PatternTable
        Raked to the null expectation (``weight`` is the Poisson mean per pattern).
    template : PatternTable
        The template's passing patterns (``weight`` = observed pass weight).
    shape : (n_windows, n_runs, n_eps)
    n_sr, n_template : array (n_windows,)
        Data SR weight and template total weight per window (fixed in the toys).
    delta_sys, sigma_sys : array (n_windows, n_eps)
    data_ids, template_ids : bool
        Whether events were matched across windows by ``event_id``.
    raking_max_rel_error : float
        Largest relative deviation of a data cell sum from its null expectation after raking.
    token : str
        Identifies these tables (the toy samplers built from them are cached per process).
    """

    data: PatternTable
    template: PatternTable
    shape: tuple[int, int, int]
    n_sr: np.ndarray
    n_template: np.ndarray
    delta_sys: np.ndarray
    sigma_sys: np.ndarray
    data_ids: bool
    template_ids: bool
    raking_max_rel_error: float = field(default=0.0)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def expected_template(self) -> np.ndarray:
        """Observed template pass weight per cell, shape (n_windows, n_runs, n_eps)."""
        return self.template.cell_sums().reshape(self.shape)


def _levels(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per run and event: how many thresholds (sorted ascending per run) the score exceeds."""
    out = np.empty(scores.shape, dtype=np.int8)
    for r in range(scores.shape[0]):
        out[r] = np.searchsorted(thresholds[r], scores[r], side="left")
    return out


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(a, axis=0, return_inverse=True)`` for a 2-D array of non-negative small
    integers (same rows, same order, same inverse), by a lexicographic sort of the columns:
    many times faster than numpy's sort of structured rows for many events × cells."""
    n = a.shape[0]
    if n == 0 or a.shape[1] == 0:
        rows, inv = np.unique(a, axis=0, return_inverse=True)
        return rows, inv.reshape(-1)
    order = np.lexsort(a.T[::-1])  # first column the primary key
    s = a[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.any(s[1:] != s[:-1], axis=1, out=new[1:])
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.cumsum(new) - 1
    return s[new], inv


def _patterns(per_window: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_windows: int,
              n_runs: int, order: np.ndarray) -> PatternTable:
    """Build a pattern table from, per window, (ids, levels (n_runs, n), weights)."""
    n_eps = order.size
    ids_all = np.concatenate([ids for ids, _, _ in per_window]) if per_window else np.empty(0)
    uniq, inv = np.unique(ids_all, return_inverse=True)
    n_ev = uniq.size
    lv = np.zeros((n_ev, n_windows * n_runs), dtype=np.int8)
    w_ev = np.zeros(n_ev)
    w2_ev = np.zeros(n_ev)
    start = 0
    for wi, (ids, levels, weights) in enumerate(per_window):
        sl = inv[start:start + ids.size]
        start += ids.size
        lv[sl, wi * n_runs:(wi + 1) * n_runs] = levels.T
        w_ev[sl] = weights  # the same event has the same weight in every window
        w2_ev[sl] = weights * weights
    rows, pinv = unique_rows(lv)
    weight = np.bincount(pinv, weights=w_ev, minlength=rows.shape[0])
    w2 = np.bincount(pinv, weights=w2_ev, minlength=rows.shape[0])
    keep = rows.max(axis=1) > 0
    rows, weight, w2 = rows[keep], weight[keep], w2[keep]
    # cell (w, r, j) <- pattern p when level[p, (w, r)] > rank of j
    cells_r, cells_c = [], []
    for j in range(n_eps):
        rank = int(order[j])
        p_idx, col = np.nonzero(rows > rank)
        cells_r.append(col * n_eps + j)
        cells_c.append(p_idx)
    r_idx = np.concatenate(cells_r) if cells_r else np.empty(0, dtype=np.int64)
    c_idx = np.concatenate(cells_c) if cells_c else np.empty(0, dtype=np.int64)
    membership = sparse.csr_matrix((np.ones(r_idx.size), (r_idx, c_idx)),
                                   shape=(n_windows * n_runs * n_eps, rows.shape[0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(weight > 0, w2 / weight, 1.0)
    return PatternTable(membership=membership, weight=weight, scale=scale)


def rake(table: PatternTable, targets: np.ndarray, *, max_sweeps: int = 500,
         tol: float = 1e-8) -> tuple[PatternTable, float]:
    """Scale pattern weights so that every cell sum equals ``targets`` (iterative
    proportional fitting over the cells); returns the raked table and the largest relative
    deviation left."""
    m = table.membership
    mu = table.weight.astype(np.float64).copy()
    cells = [m.indices[m.indptr[c]:m.indptr[c + 1]] for c in range(m.shape[0])]
    targets = np.asarray(targets, dtype=np.float64)
    err = np.inf
    for _ in range(max_sweeps):
        for c, idx in enumerate(cells):
            s = mu[idx].sum()
            if s > 0 and targets[c] > 0:
                mu[idx] *= targets[c] / s
        sums = m @ mu
        ok = targets > 0
        err = float(np.max(np.abs(sums[ok] / targets[ok] - 1.0))) if ok.any() else 0.0
        if err < tol:
            break
    return PatternTable(membership=m, weight=mu, scale=table.scale), err


def build_tables(scores: ScoreFile, points: list, *, eps_b: tuple[float, ...],
                 windows: Sequence[str] | None = None) -> CountTables:
    """Count tables of the direct-method scan ``points`` (one ScanPoint per window × eps).

    ``windows`` names the windows of ``scores`` to use, in this order (default: all);
    ``points`` must cover each of them at every working point of ``eps_b``.
    """
    eps = np.asarray(eps_b, dtype=np.float64)
    selected = [scores[n] for n in windows] if windows is not None else list(scores.windows)
    windows = [ws.window.name for ws in selected]
    by_key = {(p.window.name, float(p.eps_b)): p for p in points}
    n_w, n_r, n_e = len(windows), scores.n_runs, eps.size
    # thresholds (n_w, n_r, n_e); working points sorted by threshold (loosest first)
    thr = np.empty((n_w, n_r, n_e))
    n_sr = np.empty(n_w)
    dsys = np.empty((n_w, n_e))
    ssys = np.empty((n_w, n_e))
    for wi, name in enumerate(windows):
        for j, e in enumerate(eps):
            p = by_key.get((name, float(e)))
            if p is None:
                raise InputError(f"the scan has no direct-method point for window {name!r} at "
                                 f"eps_b = {e:g}")
            thr[wi, :, j] = p.threshold
            n_sr[wi] = p.n_sr
            dsys[wi, j] = float(p.settings.get("delta_sys", 0.0))
            ssys[wi, j] = float(p.settings.get("sigma_sys", 0.0))
    order = np.argsort(-eps, kind="stable")  # loosest working point first
    rank = np.empty(n_e, dtype=np.int64)
    rank[order] = np.arange(n_e)
    data_ids = all(ws.data.event_id is not None for ws in selected)
    tmpl_ids = all(ws.template.event_id is not None for ws in selected)
    d_rows, t_rows, t_local, n_bt = [], [], [], np.empty(n_w)
    offset_d = offset_t = offset_local = 0
    for wi, ws in enumerate(selected):
        sr = ws.signal_region()
        t_sorted = np.sort(thr[wi][:, order], axis=1)
        lv = _levels(sr.scores, t_sorted)
        keep = lv.max(axis=0) > 0
        ids = sr.event_id if data_ids else np.arange(sr.n_events) + offset_d
        offset_d += sr.n_events
        d_rows.append((np.asarray(ids)[keep], lv[:, keep], sr.weights()[keep]))
        tm = ws.template
        n_bt[wi] = float(tm.weights().sum())
        tl = _levels(tm.scores, t_sorted)
        tkeep = tl.max(axis=0) > 0
        tids = tm.event_id if tmpl_ids else np.arange(tm.n_events) + offset_t
        offset_t += tm.n_events
        t_rows.append((np.asarray(tids)[tkeep], tl[:, tkeep], tm.weights()[tkeep]))
        n_keep = int(tkeep.sum())
        t_local.append((np.arange(n_keep) + offset_local, tl[:, tkeep], tm.weights()[tkeep]))
        offset_local += n_keep
    template = _patterns(t_rows, n_w, n_r, rank)
    data = _patterns(d_rows, n_w, n_r, rank)
    # support from the template for cells the data leave empty: window-local patterns scaled
    # to the data size
    support = _patterns(t_local, n_w, n_r, rank)
    t_cells = template.cell_sums().reshape(n_w, n_r, n_e)
    sup_w = support.weight * TEMPLATE_SUPPORT * float(np.mean(n_sr / n_bt))
    mixed = PatternTable(
        membership=sparse.hstack([data.membership, support.membership]).tocsr(),
        weight=np.concatenate([data.weight, sup_w]),
        scale=np.concatenate([data.scale, np.ones(support.weight.size)]),
    )
    targets = (t_cells / n_bt[:, None, None] * n_sr[:, None, None]
               * (1.0 + dsys[:, None, :])).reshape(-1)
    raked, err = rake(mixed, targets)
    return CountTables(data=raked, template=template, shape=(n_w, n_r, n_e), n_sr=n_sr,
                       n_template=n_bt, delta_sys=dsys, sigma_sys=ssys, data_ids=data_ids,
                       template_ids=tmpl_ids, raking_max_rel_error=err)
