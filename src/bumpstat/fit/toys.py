"""Poisson pseudo-experiments of a sideband fit: refits, SR tests and goodness of fit per toy.

Each toy is a Poisson draw of every bin from the fitted (or a given) expectation; it is refitted
with the parametrisation of the nominal fit, starting from its parameters, and optionally tested
in the SR (:func:`bumpstat.fit.srtest.sr_test`). The SR test of a toy runs without the
goodness-of-fit gate, so that calibrations use every toy; each toy's sideband deviance p-value
is kept to apply any gate afterwards. The toys are the same for any number of worker processes.

>>> import numpy as np
>>> from bumpstat.fit import fit_sideband, get_function, make_edges
>>> edges = make_edges((2.8, 5.2), 30, sr=(3.3, 3.7))
>>> mu = get_function("dijet4").bin_integrals(edges, [1.0, 10.0, 5.0, 0.1])
>>> fit = fit_sideband(np.random.default_rng(1).poisson(mu / mu.sum() * 1e5).astype(float),
...                    edges, sr=(3.3, 3.7))
>>> toys = pseudo_experiments(fit, n_toys=5, seed=2)
>>> toys.fraction_valid, toys.z.shape
(1.0, (5,))
"""

from __future__ import annotations

import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from bumpstat.exceptions import FitError, InputError
from bumpstat.fit.base import FitFunction
from bumpstat.fit.functions import get_function
from bumpstat.fit.minimise import FitWarning
from bumpstat.fit.sideband import SidebandFit, fit_sideband
from bumpstat.fit.srtest import sr_test as _sr_test
from bumpstat.results import Result
from bumpstat.serialize import jsonable

__all__ = ["ToyFits", "pseudo_experiments"]

_COLUMNS = ("n_obs", "n_exp", "n_exp_unc", "z", "p_value", "deviance", "deviance_p_value")


@dataclass(frozen=True, repr=False)
class ToyFits(Result):
    """Refits of Poisson pseudo-experiments.

    Attributes
    ----------
    parameters_fit : ndarray (n_toys, k)
        Fitted parameters (fit parametrisation).
    errors_fit : ndarray (n_toys, k)
        Their HESSE errors.
    parameters : ndarray (n_toys, k)
        Conventional parameters.
    valid : ndarray of bool (n_toys,)
        Fit (and SR test, if run) valid; the goodness-of-fit gate is not applied.
    n_obs, n_exp, n_exp_unc, z, p_value : ndarray (n_toys,)
        SR test per toy (events; see :class:`~bumpstat.fit.srtest.SRTest`); NaN when the SR
        test was not run or the toy could not be fitted.
    deviance, deviance_p_value : ndarray (n_toys,)
        Sideband Poisson deviance of each refit and its chi^2(ndof) p-value.
    ndof : int
        Sideband bins minus fitted parameters.
    seconds : float
        Wall time of all refits, s.
    """

    parameters_fit: np.ndarray
    errors_fit: np.ndarray
    parameters: np.ndarray
    valid: np.ndarray
    n_obs: np.ndarray
    n_exp: np.ndarray
    n_exp_unc: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    deviance: np.ndarray
    deviance_p_value: np.ndarray
    ndof: int
    seconds: float

    @property
    def fraction_valid(self) -> float:
        """Fraction of toys whose refit (and SR test) is valid."""
        return float(np.mean(self.valid))

    def fraction_failing_gof(self, min_p: float) -> float:
        """Fraction of toys whose sideband deviance p-value is below ``min_p``."""
        return float(np.mean(self.deviance_p_value < min_p))

    def records(self) -> list[dict[str, Any]]:
        """One row per toy: validity, SR test, deviance and the fit parameters ``q0, q1, …``."""
        rows = []
        for i in range(self.valid.size):
            row: dict[str, Any] = {"toy": i, "valid": bool(self.valid[i])}
            row.update({c: getattr(self, c)[i] for c in _COLUMNS})
            row.update({f"q{j}": v for j, v in enumerate(self.parameters_fit[i])})
            rows.append(row)
        return jsonable(rows)


def _refit_chunk(fit: SidebandFit, toys: np.ndarray, do_test: bool) -> list[tuple]:
    out = []
    par = fit.parametrisation
    start = fit.q
    k = len(start)
    nan_k = np.full(k, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        for counts in toys:
            try:
                f = fit_sideband(counts, fit.edges, sr=fit.sr, function=_function_of(fit),
                                 parametrisation=par, start=start, warn=False)
            except FitError:
                out.append((nan_k, nan_k, nan_k, False) + (np.nan,) * len(_COLUMNS))
                continue
            t = _sr_test(f, min_gof_p=0.0) if do_test and fit.sr is not None else None
            sr_cols = ((np.nan,) * 5 if t is None
                       else (t.n_obs, t.n_exp, t.n_exp_unc, t.z, t.p_value))
            out.append((f.q, np.array(list(f.errors_fit.values())),
                        np.array(list(f.parameters.values())),
                        bool(f.valid and (t is None or t.valid)))
                       + sr_cols + (f.fval, float(stats.chi2.sf(f.fval, f.ndof))))
    return out


def _function_of(fit: SidebandFit) -> FitFunction:
    func = getattr(fit.parametrisation, "func", None)
    if isinstance(func, FitFunction):
        return func
    return get_function(fit.function)


def pseudo_experiments(fit: SidebandFit, *, n_toys: int,
                       seed: int | np.random.Generator | None = 0,
                       expected: np.ndarray | None = None, sr_test: bool = True,
                       workers: int = 1) -> ToyFits:
    """Refit Poisson pseudo-experiments drawn from the fitted (or given) expectation.

    Parameters
    ----------
    fit : SidebandFit
        Nominal fit (binning, SR, function, parametrisation); toys start from its parameters.
    n_toys : int
        Number of pseudo-experiments.
    seed : int or Generator
        Random seed; the toys are the same for any ``workers``.
    expected : array (n_bins,), optional
        Expected counts per bin to draw from, events (default: ``fit.expected``).
    sr_test : bool
        Also run the SR test on every toy (without the goodness-of-fit gate).
    workers : int
        Processes (``concurrent.futures``); 1 runs in this process.

    Returns
    -------
    ToyFits
    """
    rng = np.random.default_rng(seed)
    mu = np.asarray(fit.expected if expected is None else expected, dtype=float)
    if mu.shape != fit.counts.shape or not np.all(np.isfinite(mu)) or np.any(mu < 0):
        raise InputError("expected counts must be finite, >= 0 and match the binning")
    toys = rng.poisson(mu, size=(int(n_toys), mu.size)).astype(float)
    t0 = time.perf_counter()
    if workers > 1 and n_toys > 1:
        chunks = np.array_split(toys, workers)
        with ProcessPoolExecutor(max_workers=workers) as ex:
            parts = list(ex.map(_refit_chunk, [fit] * len(chunks), chunks,
                                [sr_test] * len(chunks)))
        rows = [r for p in parts for r in p]
    else:
        rows = _refit_chunk(fit, toys, sr_test)
    secs = time.perf_counter() - t0
    cols = list(zip(*rows, strict=True))
    floats = {name: np.array(cols[4 + i], dtype=float) for i, name in enumerate(_COLUMNS)}
    return ToyFits(
        parameters_fit=np.array(cols[0]),
        errors_fit=np.array(cols[1]),
        parameters=np.array(cols[2]),
        valid=np.array(cols[3], dtype=bool),
        **floats,
        ndof=int(fit.ndof),
        seconds=secs,
    )
