"""A user-supplied background density ``func(m, *params)`` in events per TeV (m in TeV).

It is fitted in the user's own parameters (no reparametrisation), with bin integrals by the same
Gauss-Legendre rule as the built-in functions and a numerical gradient in MIGRAD.

>>> import numpy as np
>>> expo = CustomFunction.create(lambda m, a, b: a * np.exp(-b * m), ["a", "b"], [1e5, 1.0])
>>> expo.n_params, expo.bin_integrals(np.array([3.0, 4.0]), [1.0, 0.0]).round(6).tolist()
(2, [1.0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bumpstat.exceptions import InputError
from bumpstat.fit.base import FitFunction, Parametrisation, bin_nodes, check_edges

__all__ = ["CustomFunction"]


@dataclass(frozen=True)
class CustomFunction(FitFunction):
    """Any user density ``func(m, *params)`` in events per TeV.

    Fitted in the user's own parameters (no reparametrisation), bin integrals by Gauss-Legendre.
    ``start`` is required; ``limits`` optional (one ``(low, high)`` per parameter, None = open).
    """

    func: Callable[..., np.ndarray] | None = field(default=None, compare=False)
    start: tuple[float, ...] = ()
    limits: tuple[tuple[float | None, float | None], ...] | None = None

    @classmethod
    def create(cls, func: Callable[..., np.ndarray], names: Sequence[str], start: Sequence[float],
               *, limits: Sequence[tuple[float | None, float | None]] | None = None,
               name: str = "custom") -> CustomFunction:
        """Wrap ``func(m, *params)`` with parameter ``names`` and ``start`` values."""
        names = tuple(str(n) for n in names)
        start = tuple(float(s) for s in start)
        if not callable(func):
            raise InputError("custom fit function must be callable as func(m, *params)")
        if len(names) == 0 or len(names) != len(start):
            raise InputError(f"custom function needs one start per parameter, got {names}, {start}")
        if limits is not None and len(limits) != len(names):
            raise InputError("custom function limits must have one (low, high) per parameter")
        lim = None if limits is None else tuple((lo, hi) for lo, hi in limits)
        return cls(name=name, param_names=names, func=func, start=start, limits=lim)

    def density(self, m, p):
        assert self.func is not None
        return np.asarray(self.func(m, *p), dtype=float)

    def prefit(self, edges, counts, *, mask=None, variances=None):
        return np.asarray(self.start, dtype=float)

    def parametrise(self, edges, counts, *, mask=None, variances=None):
        edges = check_edges(edges)
        return _CustomParametrisation(self, edges)


class _CustomParametrisation(Parametrisation):
    def __init__(self, func: CustomFunction, edges: np.ndarray) -> None:
        self.func = func
        self.xn, self.wn = bin_nodes(edges)
        self.names = func.param_names
        self.start = np.asarray(func.start, dtype=float)
        self.errors = np.maximum(0.1 * np.abs(self.start), 0.01)
        self.limits = list(func.limits) if func.limits else [(None, None)] * len(self.names)

    def bin_integrals(self, q):
        with np.errstate(all="ignore"):
            d = np.asarray(self.func.func(self.xn, *q), dtype=float)  # type: ignore[misc]
            return np.sum(np.broadcast_to(d, self.xn.shape) * self.wn, axis=1)

    def to_conventional(self, q):
        return np.asarray(q, dtype=float)

    def jacobian(self, q):
        return np.eye(len(q))

    def from_conventional(self, p):
        return np.asarray(p, dtype=float)
