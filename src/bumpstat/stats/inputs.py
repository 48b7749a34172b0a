"""Validation of the counting statistics' inputs, shared by every formula and model.

Numbers are checked before use (finite, in range; :class:`~bumpstat.exceptions.InputError`
naming the argument, how many entries are bad and the first one), and a relative uncertainty too
small to change anything at double precision is recognised (:func:`negligible_uncertainty`),
so that limits stay continuous as it goes to 0.
"""

from __future__ import annotations

import numpy as np

from bumpstat.exceptions import InputError

__all__ = ["NEGLIGIBLE_UNCERTAINTY", "as_float_array", "broadcast_shape", "check_values",
           "counting_inputs", "negligible_uncertainty"]

#: ``b σ²`` below which a relative background uncertainty σ is treated as 0 in the one-bin
#: likelihood and the pyhf models. Its effect on limits is of relative order ``b σ²`` (below
#: 2e-7 here), while the likelihood's ``tau = 1/σ²`` terms cancel catastrophically for smaller σ
#: and made limits jump as σ -> 0 (measured before: n = b = 100, σ = 1e-18 gave an upper limit
#: of 12.0 events instead of 20.9, and pyhf failed to minimise).
NEGLIGIBLE_UNCERTAINTY = 1e-7


def negligible_uncertainty(n_obs, n_exp, rel_unc):
    """Whether ``rel_unc`` is too small to matter: ``n_exp rel_unc² < NEGLIGIBLE_UNCERTAINTY``.

    Used by the one-bin likelihood and pyhf models to treat such an uncertainty as exactly 0,
    which keeps limits and significances continuous as ``rel_unc -> 0``. ``n_obs`` is accepted
    for a uniform signature and broadcast.

    >>> bool(negligible_uncertainty(100, 100, 1e-18)), bool(negligible_uncertainty(100, 100, 1e-3))
    (True, False)
    """
    n, b, s = np.broadcast_arrays(np.asarray(n_obs, float), np.asarray(n_exp, float),
                                  np.asarray(rel_unc, float))
    return b * np.square(s) < NEGLIGIBLE_UNCERTAINTY


def as_float_array(name: str, value) -> np.ndarray:
    """``value`` as a float64 array, or InputError naming ``name``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be numeric, got {value!r}") from err
    return arr


def check_values(name: str, arr: np.ndarray, *, lower: float, strict: bool, what: str) -> None:
    """Raise InputError naming ``name`` and the number of entries that are not finite/in range."""
    if arr.size == 0:
        return
    lo, hi = np.min(arr), np.max(arr)  # NaN propagates through min/max: one cheap pass each
    ok = np.isfinite(lo) and np.isfinite(hi) and (lo > lower if strict else lo >= lower)
    if ok:
        return
    good = np.isfinite(arr) & ((arr > lower) if strict else (arr >= lower))
    nbad = int(arr.size - np.count_nonzero(good))
    first = float(arr.reshape(-1)[np.flatnonzero(~good.reshape(-1))[0]])
    raise InputError(
        f"{name} ({what}) has {nbad} invalid entr{'y' if nbad == 1 else 'ies'} of {arr.size}: "
        f"must be finite and {'>' if strict else '>='} {lower:g} (first bad value: {first:g})"
    )


def broadcast_shape(**arrays: np.ndarray) -> tuple[int, ...]:
    """Common broadcast shape, or InputError naming the arguments and their shapes."""
    try:
        return np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError as err:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
        raise InputError(f"arguments cannot be broadcast together: {shapes}") from err


def counting_inputs(n_obs, n_exp, rel_unc):
    """Validate ``(n_obs >= 0, n_exp > 0, rel_unc >= 0)`` and return them as float arrays
    with their common broadcast shape; :class:`InputError` names the bad argument."""
    n = as_float_array("n_obs", n_obs)
    b = as_float_array("n_exp", n_exp)
    s = as_float_array("rel_unc", rel_unc)
    check_values("n_obs", n, lower=0.0, strict=False, what="observed events")
    check_values("n_exp", b, lower=0.0, strict=True, what="expected background events")
    check_values("rel_unc", s, lower=0.0, strict=False, what="relative uncertainty on n_exp")
    return n, b, s, broadcast_shape(n_obs=n, n_exp=b, rel_unc=s)
