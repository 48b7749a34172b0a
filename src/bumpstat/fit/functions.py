"""Fit functions by name: the explicit registry of the built-in background functions.

``f(m)`` is the expected number of events per TeV with m in TeV:

* ``dijet3``, ``dijet4``, ``dijet5`` -- :class:`~bumpstat.fit.dijet.DijetFunction` (Collins et al.
  [arXiv:2104.02092]
  eq. 4.1), ``sqrt_s`` in TeV;
* ``linear`` -- :class:`~bumpstat.fit.linear.LinearFunction`;
* any :class:`~bumpstat.fit.base.FitFunction`, e.g. a
  :class:`~bumpstat.fit.custom.CustomFunction`, is passed through.

>>> import numpy as np
>>> f = get_function("dijet4")
>>> f.param_names
('p0', 'p1', 'p2', 'p3')
>>> edges = np.geomspace(2.8, 5.2, 31)
>>> p = np.array([1.0, 10.0, 5.0, 0.0])
>>> counts = f.bin_integrals(edges, p) * 1e5 / f.bin_integrals(edges, p).sum()
>>> par = f.parametrise(edges, counts)
>>> par.names
('norm', 'q1', 'q2', 'q3')
"""

from __future__ import annotations

from bumpstat.exceptions import InputError
from bumpstat.fit.base import SQRT_S, FitFunction, Parametrisation
from bumpstat.fit.custom import CustomFunction
from bumpstat.fit.dijet import DijetFunction
from bumpstat.fit.linear import LinearFunction

__all__ = [
    "FitFunction",
    "DijetFunction",
    "LinearFunction",
    "CustomFunction",
    "Parametrisation",
    "get_function",
    "FUNCTIONS",
    "SQRT_S",
]

#: Names accepted by :func:`get_function`.
FUNCTIONS: tuple[str, ...] = ("dijet3", "dijet4", "dijet5", "linear")


def get_function(function: str | FitFunction, *, sqrt_s: float = SQRT_S) -> FitFunction:
    """A fit function by name (``dijet3``, ``dijet4``, ``dijet5``, ``linear``) or pass-through.

    Parameters
    ----------
    function : str or FitFunction
        Name, or an existing function (e.g. from :meth:`CustomFunction.create`).
    sqrt_s : float, keyword-only
        Centre-of-mass energy in TeV for the dijet functions (default 13).
    """
    if isinstance(function, FitFunction):
        return function
    name = str(function).lower()
    if name in ("dijet3", "dijet4", "dijet5"):
        return DijetFunction.create(int(name[-1]), sqrt_s=sqrt_s)
    if name == "linear":
        return LinearFunction(name="linear", param_names=("p0", "p1"))
    raise InputError(f"unknown fit function {function!r}; choose one of {', '.join(FUNCTIONS)}")
