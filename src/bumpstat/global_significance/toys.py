"""Background-only pseudo-experiments of a direct-method scan, from its count tables.

One toy: every data pattern's count is drawn from Poisson (scaled Poisson for weighted events)
around the raked null expectation; the template's pass counts fluctuate around their observed
values (Gaussian with the covariance of the shared patterns when every cell holds at least
:data:`GAUSSIAN_MIN` template events, else Poisson per pattern); with ``systematic="random"``
the template's systematic shift is drawn once per toy, ``delta_sys + sigma_sys g`` with one
standard normal ``g`` shared by all cells (a fully correlated systematic). Each cell's local
significance is eq. 6 exactly as in the scan, averaged over the runs; the toy's statistic is the
largest local significance over windows × working points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bumpstat.global_significance.patterns import CountTables
from bumpstat.stats.significance import asimov_significance

__all__ = ["ToyMaxima", "GAUSSIAN_MIN", "toy_maxima", "SYSTEMATICS"]

#: Smallest template pass count for which the template fluctuates as a Gaussian.
GAUSSIAN_MIN = 25.0
#: How the template's systematic enters the toys.
SYSTEMATICS = ("random", "fixed")


@dataclass(frozen=True)
class ToyMaxima:
    """Per toy: the largest run-averaged local Z, where it is (flat window × eps index), the
    largest per working point ``(n_toys, n_eps)``, and the local Z of every window and working
    point ``(n_toys, n_windows, n_eps)`` when requested."""

    max_z: np.ndarray
    argmax: np.ndarray
    max_per_eps: np.ndarray
    curves: np.ndarray | None = None


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

    def draw(rng: np.random.Generator, b: int) -> tuple[np.ndarray, np.ndarray]:
        lam = (t.weight / t.scale)[:, None]
        x = rng.poisson(lam, size=(t.n_patterns, b)) * t.scale[:, None]
        tt = np.asarray(t.membership @ x)
        vv = np.asarray(t.membership @ (x * t.scale[:, None]))
        return np.maximum(tt, 0.5), np.maximum(vv, 0.25)

    return draw


def toy_maxima(tables: CountTables, seed: np.random.SeedSequence, n_toys: int, *,
               systematic: str = "random", keep_curves: bool = False,
               batch: int = 250) -> ToyMaxima:
    """Run ``n_toys`` pseudo-experiments seeded by ``seed``."""
    rng = np.random.default_rng(seed)
    n_w, n_r, n_e = tables.shape
    d = tables.data
    lam = (d.weight / d.scale)[:, None]
    draw_template = _template_sampler(tables)
    n_sr = np.repeat(tables.n_sr, n_r * n_e)[:, None]
    n_bt = np.repeat(tables.n_template, n_r * n_e)[:, None]
    dsys = np.broadcast_to(tables.delta_sys[:, None, :], (n_w, n_r, n_e)).reshape(-1, 1)
    ssys = np.broadcast_to(tables.sigma_sys[:, None, :], (n_w, n_r, n_e)).reshape(-1, 1)
    max_z, argmax, per_eps, curves = [], [], [], []
    done = 0
    while done < n_toys:
        b = min(batch, n_toys - done)
        k = rng.poisson(lam, size=(d.n_patterns, b)) * d.scale[:, None]
        n_obs = np.asarray(d.membership @ k)
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
