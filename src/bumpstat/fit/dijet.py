"""The dijet function family (Collins et al. [arXiv:2104.02092] eq. 4.1) and its well-conditioned
parametrisation.

``f(m) = p0 (1 - x)^p1 / x^(p2 + p3 ln x + p4 ln^2 x)`` events per TeV, ``x = m / sqrt(s)``
(m and sqrt(s) in TeV, sqrt(s) = 13 TeV by default), with 3, 4 or 5 parameters. ``p0`` is in
events per TeV, the others are dimensionless.

Fitting ``p0..p4`` directly is badly conditioned (correlations of 0.9998, ~40% invalid toy
refits). For a given binning the fitter therefore works in

* ``norm`` -- the expected total count in the fit range;
* ``q1..q_{P-1}`` -- the shape ``ln f = const + sum_j q_j psi_j(m)``, where the ``psi_j`` are the
  log-basis functions ``ln(1-x), -t, -t^2, -t^3`` (``t = ln x - ln x0``, x0 the geometric
  centre of the fit range), centred and orthonormalised with the Poisson weights of a quick
  least-squares pre-fit, so that the Fisher matrix of ``q`` is close to the identity
  (``sigma(q_j) ~ 1``, correlations ~ 0).

The map ``q -> p`` is linear for the shape parameters and analytic for ``p0``, so the covariance
is transformed exactly with the Jacobian. The bin contents and their first and second
derivatives in ``q`` are analytic (MIGRAD gets the gradient, HESSE the exact Hessian).

>>> import numpy as np
>>> f = DijetFunction.create(4)
>>> f.param_names
('p0', 'p1', 'p2', 'p3')
>>> edges = np.geomspace(2.8, 5.2, 31)
>>> p = np.array([1.0, 10.0, 5.0, 0.0])
>>> counts = f.bin_integrals(edges, p) * 1e5 / f.bin_integrals(edges, p).sum()
>>> par = f.parametrise(edges, counts)
>>> par.names
('norm', 'q1', 'q2', 'q3')
>>> q = par.from_conventional(p)
>>> mu = par.bin_integrals(q)
>>> bool(np.allclose(par.to_conventional(q), p)), bool(np.allclose(mu, f.bin_integrals(edges, p)))
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bumpstat.exceptions import FitError, InputError
from bumpstat.fit.base import (
    SQRT_S,
    FitFunction,
    Parametrisation,
    bin_nodes,
    check_edges,
    effective_counts,
)

__all__ = ["DijetFunction"]


@dataclass(frozen=True)
class DijetFunction(FitFunction):
    """Dijet function with 3, 4 or 5 parameters (Collins et al. eq. 4.1).

    ``f(m) = p0 (1-x)^p1 / x^(p2 + p3 ln x + p4 ln^2 x)`` events per TeV, ``x = m / sqrt_s``.
    ``p0`` is in events per TeV, the others are dimensionless.
    """

    sqrt_s: float = SQRT_S

    @classmethod
    def create(cls, n_params: int, *, sqrt_s: float = SQRT_S) -> DijetFunction:
        """The ``n_params``-parameter dijet function (3, 4 or 5)."""
        if n_params not in (3, 4, 5):
            raise InputError(f"dijet functions have 3, 4 or 5 parameters, got {n_params}")
        if not (np.isfinite(sqrt_s) and sqrt_s > 0):
            raise InputError(f"sqrt_s must be a positive number of TeV, got {sqrt_s}")
        names = tuple(f"p{i}" for i in range(n_params))
        return cls(name=f"dijet{n_params}", param_names=names, sqrt_s=float(sqrt_s))

    def _basis(self, m: np.ndarray) -> np.ndarray:
        """Conventional log-basis phi_k(m), k = 1..P-1, shape (P-1, *m.shape)."""
        x = np.asarray(m, dtype=float) / self.sqrt_s
        lx = np.log(x)
        cols = [np.log1p(-x), -lx, -lx**2, -lx**3]
        return np.stack(cols[: self.n_params - 1])

    def density(self, m: np.ndarray, p: Sequence[float]) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        with np.errstate(all="ignore"):
            phi = self._basis(m)
            return p[0] * np.exp(np.tensordot(p[1:], phi, axes=1))

    def _check_range(self, edges: np.ndarray) -> None:
        if edges[0] <= 0 or edges[-1] >= self.sqrt_s:
            raise InputError(
                f"{self.name}: fit range ({edges[0]}, {edges[-1]}) TeV must lie inside "
                f"(0, sqrt_s = {self.sqrt_s}) TeV"
            )

    def _centred_design(self, m: np.ndarray, lx0: float) -> np.ndarray:
        """Columns ln(1-x), -t, -t^2, -t^3 (t = ln x - lx0) at m, shape (P-1, *m.shape)."""
        x = np.asarray(m, dtype=float) / self.sqrt_s
        t = np.log(x) - lx0
        cols = [np.log1p(-x), -t, -(t**2), -(t**3)]
        return np.stack(cols[: self.n_params - 1])

    def _c_to_p(self, lx0: float) -> np.ndarray:
        """Linear map M with p[1:] = M @ c, c the coefficients of the centred design."""
        k = self.n_params - 1
        # p1 = c0; p4 = c3; p3 = c2 - 3 L0 p4; p2 = c1 - 2 L0 p3 - 3 L0^2 p4
        mat = np.zeros((4, 4))
        mat[0, 0] = 1.0
        mat[3, 3] = 1.0
        mat[2, 2] = 1.0
        mat[2, 3] = -3.0 * lx0
        mat[1, 1] = 1.0
        mat[1, 2] = -2.0 * lx0
        mat[1, 3] = -2.0 * lx0 * (-3.0 * lx0) - 3.0 * lx0**2
        return mat[:k, :k]

    def _prefit_centred(self, edges, counts, mask, variances):
        """Weighted least squares of log(counts / width) on the centred design: (lx0, c)."""
        edges = check_edges(edges)
        self._check_range(edges)
        n_eff = effective_counts(counts, variances)
        counts = np.asarray(counts, dtype=float)
        mask = np.ones(counts.size, bool) if mask is None else np.asarray(mask, bool)
        use = mask & (counts > 0) & (n_eff > 0)
        k = self.n_params
        if use.sum() < k:
            raise FitError(
                f"{self.name}: only {int(use.sum())} non-empty sideband bins for {k} parameters"
            )
        lx0 = 0.5 * (math.log(edges[0] / self.sqrt_s) + math.log(edges[-1] / self.sqrt_s))
        centres = 0.5 * (edges[:-1] + edges[1:])
        widths = np.diff(edges)
        design = np.vstack([np.ones(counts.size), self._centred_design(centres, lx0)]).T
        y = np.log(counts[use] / widths[use])
        w = np.sqrt(n_eff[use])
        coef, *_ = np.linalg.lstsq(design[use] * w[:, None], y * w, rcond=None)
        return lx0, coef[1:]

    def prefit(self, edges, counts, *, mask=None, variances=None):
        edges = check_edges(edges)
        lx0, c = self._prefit_centred(edges, counts, mask, variances)
        p_shape = self._c_to_p(lx0) @ c
        mask = np.ones(len(edges) - 1, bool) if mask is None else np.asarray(mask, bool)
        # p0 from the sideband total, in log space
        xn, wn = bin_nodes(edges)
        g = np.tensordot(p_shape, self._basis(xn), axes=1)
        gmax = g[mask].max()
        integ = np.sum(np.exp(g - gmax) * wn, axis=1)
        total = float(np.sum(np.asarray(counts, dtype=float)[mask]))
        with np.errstate(over="ignore"):
            p0 = total / float(np.sum(integ[mask])) * math.exp(min(-gmax, 700.0))
        if not (np.isfinite(p0) and p0 > 0):
            raise FitError(f"{self.name}: pre-fit gives a normalisation p0 out of range")
        return np.concatenate([[p0], p_shape])

    def parametrise(self, edges, counts, *, mask=None, variances=None):
        edges = check_edges(edges)
        _, c = self._prefit_centred(edges, counts, mask, variances)
        mask = np.ones(len(edges) - 1, bool) if mask is None else np.asarray(mask, bool)
        return _DijetParametrisation(self, edges, c, mask, np.asarray(counts, dtype=float))


class _DijetParametrisation(Parametrisation):
    """Dijet function in (norm, q1..q_{P-1}) with orthonormalised log-basis (see module doc)."""

    def __init__(self, func: DijetFunction, edges: np.ndarray, c_start: np.ndarray,
                 mask: np.ndarray, counts: np.ndarray) -> None:
        self.func = func
        self.edges = edges
        k = func.n_params - 1
        self.lx0 = 0.5 * (math.log(edges[0] / func.sqrt_s) + math.log(edges[-1] / func.sqrt_s))
        self.c_to_p = func._c_to_p(self.lx0)
        self.p_to_c = np.linalg.inv(self.c_to_p)
        xn, wn = bin_nodes(edges)
        self.wn = wn
        self.basis_nodes = func._basis(xn)
        design_nodes = func._centred_design(xn, self.lx0)  # (k, nb, K)
        # whitening weights: pre-fit expected counts in the bins that inform the fit
        centres = 0.5 * (edges[:-1] + edges[1:])
        dc = func._centred_design(centres, self.lx0).T  # (nb, k)
        g0 = dc @ c_start
        g0 = np.where(mask, g0, -np.inf)
        w = np.exp(g0 - g0.max()) * np.diff(edges)
        n_sb = max(float(np.sum(counts[mask])), 1.0)
        w = w / w.sum() * n_sb
        mean = (w @ dc) / w.sum()
        a = (dc - mean) * np.sqrt(w)[:, None]
        scale = np.sqrt(np.sum(a**2, axis=0))
        scale[scale == 0] = 1.0
        _, r = np.linalg.qr(a / scale)
        # q = R S c  <=>  c = S^-1 R^-1 q
        self.q_to_c = np.linalg.solve(r, np.eye(k)) / scale[:, None]
        self.c_to_q = r * scale[None, :]
        self.mean = mean
        psi = np.tensordot(self.q_to_c.T, design_nodes - mean[:, None, None], axes=1)
        self.psi = psi
        self.shape = psi.shape[1:]
        self.psi_flat = psi.reshape(k, -1)
        self.wn_flat = wn.ravel()
        self.q_to_p = self.c_to_p @ self.q_to_c
        self.names = ("norm",) + tuple(f"q{i}" for i in range(1, k + 1))
        q_start = np.concatenate([[1.0], self.c_to_q @ c_start])
        frac = self.bin_integrals(q_start)
        q_start[0] = n_sb / max(float(np.sum(frac[mask])), 1e-300)
        self.start = q_start
        self.errors = np.concatenate([[math.sqrt(max(self.start[0], 1.0))], np.ones(k)])
        self.limits = [(0.0, None)] + [(None, None)] * k

    def _parts(self, q):
        g = q[1:] @ self.psi_flat
        g -= g.max()
        e = np.exp(g)
        e *= self.wn_flat
        e = e.reshape(self.shape)
        integ = e.sum(axis=1)
        return e, integ, integ.sum()

    def bin_integrals(self, q):
        q = np.asarray(q, dtype=float)
        _, integ, tot = self._parts(q)
        return q[0] * integ / tot

    def bin_integrals_grad(self, q):
        q = np.asarray(q, dtype=float)
        e, integ, tot = self._parts(q)
        frac = integ / tot
        jint = np.einsum("jbk,bk->jb", self.psi, e)  # d integ_b / d q_j
        dfrac = jint / tot - frac[None, :] * (jint.sum(axis=1) / tot)[:, None]
        return np.vstack([frac[None, :], q[0] * dfrac])

    def bin_integrals_hess(self, q):
        q = np.asarray(q, dtype=float)
        e, integ, tot = self._parts(q)
        k = len(q)
        jint = np.einsum("jbk,bk->jb", self.psi, e)
        kint = np.einsum("jbk,lbk,bk->jlb", self.psi, self.psi, e)
        jt = jint.sum(axis=1)
        kt = kint.sum(axis=2)
        frac = integ / tot
        dfrac = jint / tot - frac[None, :] * (jt / tot)[:, None]
        d2 = (kint / tot
              - (jint[:, None, :] * jt[None, :, None]
                 + jint[None, :, :] * jt[:, None, None]) / tot**2
              - frac[None, None, :] * (kt / tot)[:, :, None]
              + 2.0 * frac[None, None, :] * (jt[:, None] * jt[None, :] / tot**2)[:, :, None])
        h = np.zeros((k, k, len(integ)))
        h[0, 1:] = dfrac
        h[1:, 0] = dfrac
        h[1:, 1:] = q[0] * d2
        return h

    def _log_p0(self, p_shape):
        g = np.tensordot(p_shape, self.basis_nodes, axes=1)
        gmax = g.max()
        e = np.exp(g - gmax) * self.wn
        tot = e.sum()
        phi_mean = np.tensordot(self.basis_nodes, e, axes=2) / tot
        return -(gmax + math.log(tot)), phi_mean

    def _conv(self, q):
        q = np.asarray(q, dtype=float)
        p_shape = self.q_to_p @ q[1:]
        lp0, phi_mean = self._log_p0(p_shape)
        p0 = q[0] * math.exp(min(lp0, 700.0))
        return np.concatenate([[p0], p_shape]), phi_mean

    def to_conventional(self, q):
        return self._conv(q)[0]

    def jacobian(self, q):
        q = np.asarray(q, dtype=float)
        p, phi_mean = self._conv(q)
        k = len(q)
        jac = np.zeros((k, k))
        jac[1:, 1:] = self.q_to_p
        # ln p0 = ln norm - ln int exp(sum p_k phi_k): d ln p0 / d p_k = -<phi_k>
        jac[0, 0] = p[0] / q[0] if q[0] != 0 else 0.0
        jac[0, 1:] = -p[0] * (phi_mean @ self.q_to_p)
        return jac

    def from_conventional(self, p):
        p = np.asarray(p, dtype=float)
        norm = float(np.sum(self.func.bin_integrals(self.edges, p)))
        c = self.p_to_c @ p[1:]
        return np.concatenate([[norm], self.c_to_q @ c])
