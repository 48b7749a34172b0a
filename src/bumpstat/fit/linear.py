"""The linear background ``f(m) = p0 + p1 m`` events per TeV (m in TeV).

Paper 004 uses it after autoencoder cuts. It is fitted as ``norm`` (the expected total count in
the fit range) and ``slope`` in (-1, 1), the relative change of f from the centre to the edge of
the fit range, which keeps f >= 0 over the range.

>>> import numpy as np
>>> f = LinearFunction(name="linear", param_names=("p0", "p1"))
>>> edges = np.linspace(3.0, 5.0, 5)
>>> par = f.parametrise(edges, f.bin_integrals(edges, [100.0, -10.0]))
>>> np.round(par.to_conventional(par.from_conventional([100.0, -10.0])), 6).tolist()
[100.0, -10.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bumpstat.exceptions import FitError
from bumpstat.fit.base import FitFunction, Parametrisation, check_edges

__all__ = ["LinearFunction"]


@dataclass(frozen=True)
class LinearFunction(FitFunction):
    """``f(m) = p0 + p1 m`` events per TeV (p0 in 1/TeV, p1 in 1/TeV^2), as Collins et al.
    [arXiv:2104.02092] uses after
    autoencoder cuts. Fitted as ``norm`` (total count) and ``slope`` in (-1, 1), the relative
    change from the centre to the edge of the fit range, which keeps f >= 0 over the range."""

    def density(self, m, p):
        p = np.asarray(p, dtype=float)
        return p[0] + p[1] * np.asarray(m, dtype=float)

    def prefit(self, edges, counts, *, mask=None, variances=None):
        edges = check_edges(edges)
        counts = np.asarray(counts, dtype=float)
        mask = np.ones(counts.size, bool) if mask is None else np.asarray(mask, bool)
        if mask.sum() < 2:
            raise FitError(f"linear: only {int(mask.sum())} sideband bins for 2 parameters")
        centres = 0.5 * (edges[:-1] + edges[1:])
        dens = counts / np.diff(edges)
        w = 1.0 / np.maximum(counts, 1.0)
        coef = np.polyfit(centres[mask], dens[mask], 1, w=np.sqrt(w[mask]) * np.diff(edges)[mask])
        return np.array([coef[1], coef[0]])

    def parametrise(self, edges, counts, *, mask=None, variances=None):
        edges = check_edges(edges)
        p = self.prefit(edges, counts, mask=mask, variances=variances)
        return _LinearParametrisation(edges, p)


class _LinearParametrisation(Parametrisation):
    def __init__(self, edges: np.ndarray, p_start: np.ndarray) -> None:
        self.edges = edges
        self.lo, self.hi = float(edges[0]), float(edges[-1])
        self.width = self.hi - self.lo
        self.mc = 0.5 * (self.lo + self.hi)
        self.half = 0.5 * self.width
        a, b = edges[:-1] - self.mc, edges[1:] - self.mc
        self.dm = b - a
        self.quad = 0.5 * (b**2 - a**2) / self.half
        self.names = ("norm", "slope")
        q = self.from_conventional(p_start)
        q[0] = max(q[0], 1.0)
        q[1] = float(np.clip(q[1], -0.95, 0.95))
        self.start = q
        self.errors = np.array([math.sqrt(q[0]), 0.1])
        self.limits = [(0.0, None), (-1.0, 1.0)]

    def bin_integrals(self, q):
        return (q[0] / self.width) * (self.dm + q[1] * self.quad)

    def bin_integrals_grad(self, q):
        return np.vstack([(self.dm + q[1] * self.quad) / self.width, q[0] / self.width * self.quad])

    def bin_integrals_hess(self, q):
        h = np.zeros((2, 2, len(self.dm)))
        h[0, 1] = h[1, 0] = self.quad / self.width
        return h

    def to_conventional(self, q):
        p1 = q[0] * q[1] / (self.width * self.half)
        return np.array([q[0] / self.width - p1 * self.mc, p1])

    def jacobian(self, q):
        d = self.width * self.half
        dp1 = np.array([q[1] / d, q[0] / d])
        dp0 = np.array([1.0 / self.width, 0.0]) - self.mc * dp1
        return np.vstack([dp0, dp1])

    def from_conventional(self, p):
        norm = p[0] * self.width + p[1] * self.width * self.mc
        slope = p[1] * self.width * self.half / norm if norm != 0 else 0.0
        return np.array([norm, slope])
