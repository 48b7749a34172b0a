"""Goodness of fit of a sideband fit and the choice between nested dijet functions.

Definitions (sideband bins only, the SR is blinded):

* ``chi2`` -- Pearson chi^2 with the *model* variance, ``sum (n - mu)^2 / (mu / s)``, where
  ``s = n / var`` is the scaled-Poisson factor of a weighted histogram (s = 1 unweighted). The
  model (not the observed) variance keeps empty bins finite and is unbiased for Poisson data.
  ``chi2_ndof = chi2 / ndof``, ``ndof = n_sideband_bins - n_params``.
* ``deviance`` -- the Poisson deviance ``2 sum s (mu - n + n ln(n / mu))`` (the minimised cost)
  and its p-value from the chi^2(ndof) distribution (Wilks).
* ``ks_p_value`` -- Kolmogorov-Smirnov test of the normalised residuals (pulls)
  ``(n - mu) / sqrt(mu / s)`` against a standard normal.

Gate (:data:`GOF_MIN_P`): a sideband fit whose deviance p-value is below ``min_gof_p`` (default
``1e-3``) does not describe the sidebands, so its interpolation into the signal region is not
trusted -- :func:`bumpstat.fit.hunt.bumphunt` then returns ``valid: False`` with the reason
(:meth:`GoodnessOfFit.failure`), keeping the numbers for inspection. For background-only spectra
drawn from the fit function the deviance p-value is uniform, so about 0.1% of them are flagged.

Function choice (:func:`select_function`): fit the candidates from simplest to most complex and
move to the next one only while it improves the fit significantly (p < ``alpha``) by Wilks'
theorem (``Delta deviance ~ chi^2(Delta k)``) or the F-test
``F = (Delta deviance / Delta k) / (deviance_complex / ndof_complex)``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from bumpstat.exceptions import InputError
from bumpstat.fit.base import SQRT_S, FitFunction
from bumpstat.fit.cost import bohm_zech_scale
from bumpstat.fit.minimise import FitWarning
from bumpstat.fit.sideband import SidebandFit, fit_sideband
from bumpstat.results import Result
from bumpstat.serialize import jsonable

__all__ = [
    "GOF_MIN_P",
    "FunctionChoice",
    "GoodnessOfFit",
    "NestedTest",
    "compare_nested",
    "goodness_of_fit",
    "pulls",
    "select_function",
]

#: Smallest sideband deviance p-value of a trusted fit (``min_gof_p`` of
#: :func:`bumpstat.fit.hunt.bumphunt`): below it the fit function does not describe the
#: sidebands and the result is ``valid: False``. Background-only spectra drawn from the fit
#: function are flagged at this rate (0.1%).
GOF_MIN_P: float = 1e-3


@dataclass(frozen=True, repr=False)
class GoodnessOfFit(Result):
    """Goodness-of-fit numbers of a sideband fit (sideband bins only).

    Attributes
    ----------
    chi2 : float
        Pearson chi^2 with model variance.
    ndof : int
        Sideband bins minus fitted parameters.
    chi2_ndof : float
        ``chi2 / ndof``.
    deviance : float
        Poisson deviance at the minimum.
    deviance_p_value : float
        ``P(chi^2_ndof > deviance)``.
    ks_statistic, ks_p_value : float
        KS test of the pulls against N(0, 1).
    pulls : ndarray
        ``(n - mu) / sqrt(mu / s)`` for every bin (SR bins included, for plots).
    """

    chi2: float
    ndof: int
    chi2_ndof: float
    deviance: float
    deviance_p_value: float
    ks_statistic: float
    ks_p_value: float
    pulls: np.ndarray

    def failure(self, min_p: float = GOF_MIN_P) -> str | None:
        """Why the fit fails the gate ``deviance_p_value >= min_p``, or None if it passes.

        >>> g = GoodnessOfFit(46.8 * 20, 20, 46.8, 1100.0, 2e-212, 0.5, 1e-9, np.zeros(30))
        >>> g.failure()
        'sideband goodness of fit fails: deviance p = 2e-212 < 0.001 (chi2/ndof = 46.8)'
        >>> g.failure(0.0) is None
        True
        """
        p = float(self.deviance_p_value)
        if not p < float(min_p):
            return None
        text = f"{p:.2g}"
        if p == 0.0:  # below the smallest float: mantissa and exponent from log10 p
            log10_p = _log10_chi2_sf(float(self.deviance), int(self.ndof))
            exp10 = math.floor(log10_p)
            text = f"{10.0 ** (log10_p - exp10):.2g}e{exp10}"
        return (f"sideband goodness of fit fails: deviance p = {text} < {float(min_p):g} "
                f"(chi2/ndof = {float(self.chi2_ndof):.3g})")


def _log10_chi2_sf(x: float, k: int) -> float:
    """log10 of the chi^2(k) survival function at x, also where it underflows.

    Uses ``Gamma(a, y) ~ y^(a-1) e^-y sum_n (a-1)...(a-n) / y^n`` (``a = k/2``, ``y = x/2``),
    accurate to ~1e-12 relative when the p-value is below 1e-300 (``y > 690 >> a``).
    """
    with np.errstate(all="ignore"):
        log_sf = float(stats.chi2.logsf(x, k))
    if math.isfinite(log_sf) and log_sf > -690.0:
        return log_sf / math.log(10.0)
    a, y = 0.5 * k, 0.5 * x
    term, series = 1.0, 1.0
    for n in range(1, 30):
        term *= (a - n) / y
        series += term
        if abs(term) < 1e-16:
            break
    log_sf = (a - 1.0) * math.log(y) - y - math.lgamma(a) + math.log(series)
    return log_sf / math.log(10.0)


def pulls(fit: SidebandFit) -> np.ndarray:
    """Normalised residuals ``(n - mu) / sqrt(mu / s)`` for all bins (0 where mu = 0).

    ``s`` is the Bohm-Zech scale of the cost (:func:`bumpstat.fit.cost.bohm_zech_scale` with
    the sideband mask), 1 for an unweighted histogram.
    """
    s = bohm_zech_scale(fit.counts, fit.variances, ~fit.sr_bins)
    mu = np.asarray(fit.expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (fit.counts - mu) / np.sqrt(mu / s)
    return np.where(mu > 0, r, 0.0)


def goodness_of_fit(fit: SidebandFit) -> GoodnessOfFit:
    """Chi^2/ndof, deviance p-value and KS test of the pulls for a sideband fit.

    >>> import numpy as np
    >>> from bumpstat.fit import make_edges, fit_sideband, get_function
    >>> edges = make_edges((2.8, 5.2), 30, sr=(3.3, 3.7))
    >>> mu = get_function("dijet4").bin_integrals(edges, [1.0, 10.0, 5.0, 0.1])
    >>> counts = np.random.default_rng(2).poisson(mu / mu.sum() * 1e5).astype(float)
    >>> g = goodness_of_fit(fit_sideband(counts, edges, sr=(3.3, 3.7)))
    >>> g.ndof, 0.3 < g.chi2_ndof < 2.0
    (20, True)
    """
    sb = ~fit.sr_bins
    r = pulls(fit)
    chi2 = float(np.sum(r[sb] ** 2))
    ndof = int(fit.ndof)
    dev = float(fit.fval)
    ks = stats.kstest(r[sb], "norm")
    return GoodnessOfFit(
        chi2=chi2,
        ndof=ndof,
        chi2_ndof=chi2 / ndof,
        deviance=dev,
        deviance_p_value=float(stats.chi2.sf(dev, ndof)),
        ks_statistic=float(ks.statistic),
        ks_p_value=float(ks.pvalue),
        pulls=r,
    )


@dataclass(frozen=True, repr=False)
class NestedTest(Result):
    """Comparison of a simpler function with the next more complex one.

    Attributes
    ----------
    simple, complex : str
        The two function names.
    statistic : float
        Deviance difference (Wilks) or F statistic.
    p_value : float
        Probability of an improvement at least this large if the simpler function is right.
    test : str
        ``"wilks"`` or ``"ftest"``.
    """

    simple: str
    complex: str
    statistic: float
    p_value: float
    test: str


@dataclass(frozen=True, repr=False)
class FunctionChoice(Result):
    """Result of :func:`select_function`.

    Attributes
    ----------
    chosen : str
        Name of the simplest adequate function.
    fits : dict
        Function name -> :class:`SidebandFit` for every candidate.
    gof : dict
        Function name -> :class:`GoodnessOfFit`.
    tests : tuple of NestedTest
        The consecutive nested comparisons that were made.
    alpha : float
        Threshold p-value for accepting a more complex function.
    """

    chosen: str
    fits: dict[str, SidebandFit]
    gof: dict[str, GoodnessOfFit]
    tests: tuple[NestedTest, ...]
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        """A summary per candidate (validity and goodness of fit, not every fit), and the tests."""
        return jsonable({
            "chosen": self.chosen,
            "alpha": float(self.alpha),
            "functions": {
                k: {"valid": bool(f.valid), "n_params": len(f.parameters),
                    **{kk: vv for kk, vv in self.gof[k].to_dict().items() if kk != "pulls"}}
                for k, f in self.fits.items()
            },
            "tests": [t.to_dict() for t in self.tests],
        })


def _nested_p(simple: SidebandFit, complex_: SidebandFit, test: str) -> tuple[float, float]:
    dk = len(complex_.parameters) - len(simple.parameters)
    delta = max(simple.fval - complex_.fval, 0.0)
    if test == "wilks":
        return delta, float(stats.chi2.sf(delta, dk))
    f = (delta / dk) / max(complex_.fval / complex_.ndof, 1e-300)
    return f, float(stats.f.sf(f, dk, complex_.ndof))


def compare_nested(fits: Sequence[SidebandFit], *, test: str = "wilks",
                   alpha: float = 0.05) -> tuple[int, tuple[NestedTest, ...]]:
    """Index of the simplest adequate fit among ``fits`` ordered by complexity, and the tests.

    Invalid fits are never chosen (a complex function whose fit fails is skipped).
    """
    if test not in ("wilks", "ftest"):
        raise InputError(f"nested test must be 'wilks' or 'ftest', got {test!r}")
    valid = [i for i, f in enumerate(fits) if f.valid]
    if not valid:
        return 0, ()
    cur = valid[0]
    tests = []
    for nxt in valid[1:]:
        stat, p = _nested_p(fits[cur], fits[nxt], test)
        tests.append(NestedTest(fits[cur].function, fits[nxt].function, stat, p, test))
        if p < alpha:
            cur = nxt
        else:
            break
    return cur, tuple(tests)


def select_function(counts: Any, edges: np.ndarray | None = None, *,
                    sr: tuple[float, float] | None,
                    candidates: Sequence[str | FitFunction] = ("dijet3", "dijet4", "dijet5"),
                    test: str = "wilks", alpha: float = 0.05,
                    variances: np.ndarray | None = None,
                    sqrt_s: float = SQRT_S) -> FunctionChoice:
    """Fit nested candidate functions and pick the simplest adequate one.

    Parameters
    ----------
    counts, edges, sr, variances, sqrt_s
        As for :func:`~bumpstat.fit.sideband.fit_sideband` (``counts`` may be a histogram).
    candidates : sequence
        Functions ordered from simplest to most complex (nested).
    test : {"wilks", "ftest"}
        Likelihood-ratio test with Wilks' theorem, or the F-test.
    alpha : float
        A more complex function is accepted when its improvement has p < alpha.
    """
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        for c in candidates:
            fits.append(fit_sideband(counts, edges, sr=sr, function=c, variances=variances,
                                     sqrt_s=sqrt_s))
    idx, tests = compare_nested(fits, test=test, alpha=alpha)
    if not fits[idx].valid:
        warnings.warn("no candidate function gave a valid fit", FitWarning, stacklevel=2)
    names = [f.function for f in fits]
    return FunctionChoice(
        chosen=names[idx],
        fits=dict(zip(names, fits, strict=True)),
        gof={f.function: goodness_of_fit(f) for f in fits},
        tests=tests,
        alpha=float(alpha),
    )
