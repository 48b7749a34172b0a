"""Background-only pseudo-experiments of a direct-method scan, from its count tables.

One toy: every data pattern's count is drawn from Poisson (scaled Poisson for weighted events)
around the raked null expectation (patterns with a mean below :data:`SPARSE_MEAN`, most of them,
are drawn for a whole batch of toys at once: their total over the batch is Poisson and its
events fall uniformly on the toys, the same law at a fraction of the cost); the template's pass
counts fluctuate around their observed values (Gaussian with the covariance of the shared
patterns when every cell holds at least :data:`GAUSSIAN_MIN` template events, else Poisson per
pattern); with ``systematic="random"`` the template's systematic shift is drawn once per toy,
``delta_sys + sigma_sys g`` with one standard normal ``g`` shared by all cells (a fully
correlated systematic). Each cell's local significance is eq. 6 exactly as in the scan,
averaged over the runs; the toy's statistic is the largest local significance over windows ×
working points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from bumpstat.global_significance.patterns import CountTables, PatternTable
from bumpstat.stats.significance import asimov_significance

__all__ = ["ToyMaxima", "GAUSSIAN_MIN", "SPARSE_MEAN", "toy_maxima", "pattern_sampler",
           "SYSTEMATICS"]

#: Smallest template pass count for which the template fluctuates as a Gaussian.
GAUSSIAN_MIN = 25.0
#: How the template's systematic enters the toys.
SYSTEMATICS = ("random", "fixed")
#: Data patterns with a Poisson mean below this are drawn per batch of toys (see above).
SPARSE_MEAN = 0.1


@dataclass(frozen=True)
class ToyMaxima:
    """Per toy: the largest run-averaged local Z, where it is (flat window × eps index), the
    largest per working point ``(n_toys, n_eps)``, and the local Z of every window and working
    point ``(n_toys, n_windows, n_eps)`` when requested."""

    max_z: np.ndarray
    argmax: np.ndarray
    max_per_eps: np.ndarray
    curves: np.ndarray | None = None


def _sums(m: sparse.csr_matrix, w: np.ndarray, pat: np.ndarray, toy: np.ndarray,
          b: int) -> np.ndarray:
    """Cell sums (n_cells, b) of events of weight ``w`` in pattern ``pat`` of toy ``toy``."""
    counts = sparse.csr_matrix((w, (pat, toy)), shape=(m.shape[1], b))  # duplicates summed
    return (m @ counts).toarray()


def pattern_sampler(table: PatternTable, *, sparse_mean: float = SPARSE_MEAN):
    """``draw(rng, b)``: the cell sums of ``b`` independent draws of the pattern counts
    ``x = scale * Poisson(weight / scale)`` per pattern, as arrays (n_cells, b): ``sum x`` and
    ``sum x * scale`` (the variance estimate of weighted counts; equal for unit weights).

    Patterns with a mean below ``sparse_mean`` are drawn together: over ``b`` toys their count
    is ``Poisson(b * mean)`` events, each falling on a uniformly drawn toy (exactly the law of
    ``b`` independent Poisson draws, without a draw per pattern and toy).
    """
    lam = table.weight / table.scale
    dense = lam >= sparse_mean
    m = table.membership.tocsc()
    m_dense, m_sparse = m[:, dense].tocsr(), m[:, ~dense].tocsr()
    lam_d, lam_s = lam[dense][:, None], lam[~dense]
    scale_d, scale_s = table.scale[dense][:, None], table.scale[~dense]
    unit = bool(np.all(table.scale == 1.0))
    n_sparse = int(lam_s.size)

    def draw(rng: np.random.Generator, b: int) -> tuple[np.ndarray, np.ndarray]:
        k = rng.poisson(lam_d, size=(lam_d.shape[0], b))
        x = k if unit else k * scale_d
        total = np.asarray(m_dense @ x, dtype=np.float64)
        var = total if unit else np.asarray(m_dense @ (x * scale_d), dtype=np.float64)
        if n_sparse:
            n_ev = rng.poisson(lam_s * b)
            pat = np.repeat(np.arange(n_sparse), n_ev)
            toy = rng.integers(0, b, size=pat.size)
            w = scale_s[pat]
            total = total + _sums(m_sparse, w, pat, toy, b)
            var = total if unit else var + _sums(m_sparse, w * w, pat, toy, b)
        return total, var

    return draw


def _template_sampler(tables: CountTables):
    t = tables.template
    cells = t.cell_sums()
    var_cells = t.cell_sums(t.scale * t.weight)
    if cells.min(initial=np.inf) >= GAUSSIAN_MIN:
        m = t.membership
        cov = (m.multiply(t.scale * t.weight) @ m.T).toarray()
        vals, vecs = np.linalg.eigh(cov)
        root = vecs * np.sqrt(np.clip(vals, 0.0, None))

        def draw(rng: np.random.Generator, b: int) -> tuple[np.ndarray, np.ndarray]:
            tt = cells[:, None] + root @ rng.standard_normal((cells.size, b))
            return np.maximum(tt, 0.5), np.broadcast_to(var_cells[:, None], tt.shape)

        return draw

    draw_patterns = pattern_sampler(t)

    def draw(rng: np.random.Generator, b: int) -> tuple[np.ndarray, np.ndarray]:
        tt, vv = draw_patterns(rng, b)
        return np.maximum(tt, 0.5), np.maximum(vv, 0.25)

    return draw


#: Samplers of the last tables seen by this process (a worker runs many chunks of one scan).
_SAMPLERS: dict[str, tuple] = {}


def _samplers(tables: CountTables) -> tuple:
    hit = _SAMPLERS.get(tables.token)
    if hit is None:
        hit = (pattern_sampler(tables.data), _template_sampler(tables))
        _SAMPLERS.clear()
        _SAMPLERS[tables.token] = hit
    return hit


def toy_maxima(tables: CountTables, seed: np.random.SeedSequence, n_toys: int, *,
               systematic: str = "random", keep_curves: bool = False,
               batch: int = 250) -> ToyMaxima:
    """Run ``n_toys`` pseudo-experiments seeded by ``seed``."""
    rng = np.random.default_rng(seed)
    n_w, n_r, n_e = tables.shape
    draw_data, draw_template = _samplers(tables)
    n_sr = np.repeat(tables.n_sr, n_r * n_e)[:, None]
    n_bt = np.repeat(tables.n_template, n_r * n_e)[:, None]
    dsys = np.broadcast_to(tables.delta_sys[:, None, :], (n_w, n_r, n_e)).reshape(-1, 1)
    ssys = np.broadcast_to(tables.sigma_sys[:, None, :], (n_w, n_r, n_e)).reshape(-1, 1)
    max_z, argmax, per_eps, curves = [], [], [], []
    done = 0
    while done < n_toys:
        b = min(batch, n_toys - done)
        n_obs, _ = draw_data(rng, b)
        t_pass, t_var = draw_template(rng, b)
        g = rng.standard_normal(b) if systematic == "random" else np.zeros(b)
        n_exp = t_pass / n_bt * n_sr * (1.0 + dsys) * np.exp(-ssys * g[None, :])
        rel = np.sqrt(t_var / (t_pass * t_pass) + ssys * ssys)
        z = asimov_significance(n_obs, n_exp, rel).reshape(n_w, n_r, n_e, b).mean(axis=1)
        flat = z.reshape(n_w * n_e, b)
        idx = np.argmax(flat, axis=0)
        max_z.append(flat[idx, np.arange(b)])
        argmax.append(idx)
        per_eps.append(z.max(axis=0).T)
        if keep_curves:
            curves.append(np.moveaxis(z, -1, 0))
        done += b
    return ToyMaxima(max_z=np.concatenate(max_z), argmax=np.concatenate(argmax),
                     max_per_eps=np.concatenate(per_eps),
                     curves=np.concatenate(curves) if keep_curves else None)
