"""The fit-function interface: a density in events per TeV and its fit parametrisation.

A :class:`FitFunction` is a background density ``f(m)`` in events per TeV (m in TeV) in the
*conventional* parameters papers print. For one binning it builds a :class:`Parametrisation`, the
well-conditioned parameters the fitter works in, with the expected counts per bin (integrals of
``f`` over each bin by a fixed 6-point Gauss-Legendre rule, vectorised over bins) and, where
available, their first and second derivatives. Implementations: :mod:`bumpstat.fit.dijet`,
:mod:`bumpstat.fit.linear`, :mod:`bumpstat.fit.custom`; look-up by name in
:mod:`bumpstat.fit.functions`.

>>> import numpy as np
>>> nodes, weights = bin_nodes(np.array([3.0, 3.5, 4.0]))
>>> nodes.shape, float(weights.sum())
((2, 6), 1.0)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bumpstat.exceptions import InputError

__all__ = [
    "SQRT_S",
    "FitFunction",
    "Parametrisation",
    "bin_nodes",
    "check_edges",
    "effective_counts",
]

#: Default centre-of-mass energy in TeV.
SQRT_S: float = 13.0

_GL_ORDER = 6
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_GL_ORDER)


def bin_nodes(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights covering each bin.

    Parameters
    ----------
    edges : ndarray (n_bins + 1,)
        Bin edges in TeV, strictly increasing.

    Returns
    -------
    nodes, weights : ndarray (n_bins, 6)
        Nodes in TeV and weights in TeV: ``sum(f(nodes) * weights, axis=1)`` integrates a
        density f (events per TeV) over each bin.
    """
    lo, hi = edges[:-1, None], edges[1:, None]
    half = 0.5 * (hi - lo)
    return lo + half * (_GL_X[None, :] + 1.0), half * _GL_W[None, :]


def check_edges(edges: np.ndarray) -> np.ndarray:
    """``edges`` as a float array; InputError unless 1-d, >= 2 values, finite and increasing."""
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2:
        raise InputError(
            f"bin edges must be a 1-d array of at least 2 values, got shape {edges.shape}")
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise InputError("bin edges must be finite and strictly increasing")
    return edges


class Parametrisation(ABC):
    """A fit function bound to one binning, in the parameters the fitter uses.

    Attributes
    ----------
    names : tuple of str
        Fit-parameter names (``norm`` first for the built-in functions).
    start : ndarray
        Default starting values.
    errors : ndarray
        Initial step sizes (expected uncertainties).
    limits : list of (low, high)
        Parameter limits, ``None`` for open.
    """

    names: tuple[str, ...]
    start: np.ndarray
    errors: np.ndarray
    limits: list[tuple[float | None, float | None]]

    @abstractmethod
    def bin_integrals(self, q: np.ndarray) -> np.ndarray:
        """Expected counts per bin, shape (n_bins,)."""

    def bin_integrals_grad(self, q: np.ndarray) -> np.ndarray | None:
        """Derivative of the expected counts, shape (n_params, n_bins); None if unavailable."""
        return None

    def bin_integrals_hess(self, q: np.ndarray) -> np.ndarray | None:
        """Second derivatives of the expected counts, shape (n_params, n_params, n_bins)."""
        return None

    @abstractmethod
    def to_conventional(self, q: np.ndarray) -> np.ndarray:
        """Conventional parameters for fit parameters ``q``."""

    @abstractmethod
    def jacobian(self, q: np.ndarray) -> np.ndarray:
        """``d p / d q``, shape (n_conv, n_fit)."""

    @abstractmethod
    def from_conventional(self, p: np.ndarray) -> np.ndarray:
        """Fit parameters for conventional parameters ``p``."""


@dataclass(frozen=True)
class FitFunction(ABC):
    """A background density f(m) in events per TeV (m in TeV).

    Subclasses implement :meth:`density`, :meth:`prefit` and :meth:`parametrise`.
    """

    name: str
    param_names: tuple[str, ...]

    @property
    def n_params(self) -> int:
        """Number of free parameters."""
        return len(self.param_names)

    @abstractmethod
    def density(self, m: np.ndarray, p: Sequence[float]) -> np.ndarray:
        """f(m) in events per TeV for conventional parameters ``p``."""

    def bin_integrals(self, edges: np.ndarray, p: Sequence[float]) -> np.ndarray:
        """Integral of f over each bin (expected counts) for conventional parameters ``p``."""
        edges = check_edges(edges)
        xn, wn = bin_nodes(edges)
        with np.errstate(all="ignore"):
            return np.sum(self.density(xn, p) * wn, axis=1)

    @abstractmethod
    def prefit(self, edges: np.ndarray, counts: np.ndarray, *, mask: np.ndarray | None = None,
               variances: np.ndarray | None = None) -> np.ndarray:
        """Quick starting values (conventional) from the bins where ``mask`` is True."""

    @abstractmethod
    def parametrise(self, edges: np.ndarray, counts: np.ndarray, *,
                    mask: np.ndarray | None = None,
                    variances: np.ndarray | None = None) -> Parametrisation:
        """The well-conditioned fit parametrisation for this binning (uses a pre-fit)."""


def effective_counts(counts: np.ndarray, variances: np.ndarray | None) -> np.ndarray:
    """Effective (Poisson-equivalent) counts ``n^2 / var`` of a weighted histogram.

    ``counts`` are returned unchanged when ``variances`` is None; bins of zero variance get 0.
    """
    counts = np.asarray(counts, dtype=float)
    if variances is None:
        return counts
    var = np.asarray(variances, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, counts**2 / np.where(var > 0, var, 1.0), 0.0)

