"""Closed-form one-bin cut-and-count model: discovery q0 and CLs upper limits.

The model is exactly what pyhf builds for one bin with a free signal ``normfactor`` and a
background ``shapesys`` of data ``b`` and uncertainty ``sigma*b``
(:func:`bumpstat.stats.pyhf_models.build_workspace`):

.. math::

    L(\\mu, \\gamma) = \\mathrm{Pois}(n \\mid \\mu + \\gamma b)\\;
                      \\mathrm{Pois}(a \\mid \\gamma \\tau), \\qquad
    \\tau = (b/\\delta b)^2 = 1/\\sigma^2,\\quad a_{\\rm obs} = \\tau,

with ``mu`` the number of signal events (a signal sample of one event). ``sigma = 0`` means
no constraint term: gamma = 1 is fixed and the model is a plain Poisson count.

Conditional MLE of gamma at fixed mu (for data n, a): the positive root of

.. math::

    b(b+\\tau)\\gamma^2 + [(b+\\tau)\\mu - b(n+a)]\\gamma - a\\mu = 0,

so that, e.g., ``gamma(0) = (n + a)/(b + tau)``. The unconditional MLE is ``gamma = a/tau``,
``mu = n - b a/tau`` (clipped at mu >= 0 as pyhf's bounds do).

**Discovery.** ``q0 = -2 ln[L(0, gamma(0)) / L(mu_hat, gamma_hat)]`` for mu_hat > 0, else 0
(one-sided, as pyhf ``test_stat="q0"``). Inserting the MLEs with a = tau gives

.. math::

    q_0 = 2\\left[n\\ln\\frac{n(b+\\tau)}{b(n+\\tau)} - \\tau\\ln\\frac{n+\\tau}{b+\\tau}\\right],

and with tau = 1/sigma^2 this is the square of Das et al. [arXiv:2411.00085] eq. 6: **sqrt(q0) =
eq. 6 exactly for
n > b**. ``z`` is kept *signed* (eq. 6, negative for a deficit) and ``p_value = Phi(-z)``, the
convention of every bumpstat test; pyhf's ``Phi(-sqrt(q0))`` (0.5 for a deficit) is ``p_value_q0``.

**Limits.** The 95% CL CLs limit on mu uses the asymptotic formulae for
:math:`\\tilde q_\\mu` (Cowan et al. 2011) exactly as ``pyhf.infer.hypotest(...,
test_stat="qtilde", calctype="asymptotics")``: the Asimov data set is generated from the
mu = 0 conditional fit to the observed data *including the auxiliary measurement*
(``n_A = gamma(0) b``, ``a_A = gamma(0) tau``), and with
``t = sqrt(q) - sqrt(q_A)`` if ``q <= q_A`` else ``(q - q_A)/(2 sqrt(q_A))``,
``CLs = Phi(-(t + sqrt(q_A))) / Phi(-t)``. The expected band at ``k`` sigma
(k = 2, 1, 0, -1, -2 ↔ the -2σ … +2σ limits) solves ``Phi(-(k + sqrt(q_A))) / Phi(-k) = 1 - cl``.
Roots are found for all models at once by a vectorised, bracketed Illinois iteration.

>>> res = cut_and_count(140.0, 100.0, 0.1)
>>> round(res.z, 4), round(res.p_value, 5)
(2.588, 0.00483)
>>> round(res.upper_limit, 3)
65.745
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from bumpstat.exceptions import InputError
from bumpstat.results import Result
from bumpstat.serialize import jsonable
from bumpstat.stats.onebin_model import OneBinModel, cls_limits
from bumpstat.stats.significance import asimov_significance

__all__ = [
    "LIMIT_CLS",
    "CutCountResult",
    "DiscoveryResult",
    "UpperLimitResult",
    "cut_and_count",
    "discovery",
    "upper_limit",
]

#: How the counting tests' upper limits are obtained.
LIMIT_CLS = "CLs, asymptotic q~mu (one-bin Poisson-constrained model)"

#: Names of the expected-limit band -2σ, -1σ, median, +1σ, +2σ in records and tables.
BAND_LABELS: tuple[str, ...] = ("-2sigma", "-1sigma", "median", "+1sigma", "+2sigma")


def _freeze(value):
    """Return a float for 0-d values, else a read-only array."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return float(arr)
    arr = arr.copy()
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, repr=False)
class DiscoveryResult(Result):
    """Discovery test (mu = 0) of a one-bin model.

    Attributes
    ----------
    q0 : float or numpy.ndarray
        One-sided discovery test statistic (0 when mu_hat <= 0).
    z : float or numpy.ndarray
        Signed significance: ``sign(n - b) sqrt(-2 ln lambda(0))``, negative for a deficit
        (closed form: eq. 6; ``z**2 == q0`` for an excess).
    p_value : float or numpy.ndarray
        One-sided ``Phi(-z)``, the convention of every bumpstat test (above 0.5 for a deficit).
    p_value_q0 : float or numpy.ndarray
        pyhf's convention ``Phi(-sqrt(q0))``: 0.5 for any deficit.
    """

    q0: float | np.ndarray
    z: float | np.ndarray
    p_value: float | np.ndarray
    p_value_q0: float | np.ndarray


@dataclass(frozen=True, repr=False)
class UpperLimitResult(Result):
    """CLs upper limit on the number of signal events.

    Attributes
    ----------
    upper_limit : float or numpy.ndarray
        Observed upper limit on mu * s (events).
    expected_limits : tuple of 5 floats or numpy.ndarray
        Expected limits (events) at -2σ, -1σ, median, +1σ, +2σ; last axis of length 5 for
        array input.
    cl : float
        Confidence level (0.95 by default).
    limit_method : str
        How the limit was obtained.
    """

    upper_limit: float | np.ndarray
    expected_limits: tuple[float, ...] | np.ndarray
    cl: float
    limit_method: str = LIMIT_CLS


@dataclass(frozen=True, repr=False)
class CutCountResult(Result):
    """Discovery test and CLs limits of one (or an array of) one-bin cut-and-count model(s).

    Attributes
    ----------
    n_obs, n_exp : float or numpy.ndarray
        Observed events and expected background events.
    rel_unc : float or numpy.ndarray
        Relative uncertainty sigma on n_exp (0: none).
    q0 : float or numpy.ndarray
        One-sided discovery test statistic; ``q0 = z**2`` for n_obs > n_exp.
    z : float or numpy.ndarray
        Signed significance, eq. 6: negative for a deficit.
    p_value : float or numpy.ndarray
        One-sided ``Phi(-z)`` (above 0.5 for a deficit).
    p_value_q0 : float or numpy.ndarray
        pyhf's convention ``Phi(-sqrt(q0))``: 0.5 for any deficit.
    upper_limit : float or numpy.ndarray
        Observed CLs upper limit on the number of signal events at confidence ``cl``.
    expected_limits : tuple of 5 floats or numpy.ndarray
        Expected limits (events) at -2σ, -1σ, median, +1σ, +2σ (last axis for arrays).
    cl : float
        Confidence level of the limits.
    limit_method : str
        How the limits were obtained.
    """

    n_obs: float | np.ndarray
    n_exp: float | np.ndarray
    rel_unc: float | np.ndarray
    q0: float | np.ndarray
    z: float | np.ndarray
    p_value: float | np.ndarray
    p_value_q0: float | np.ndarray
    upper_limit: float | np.ndarray
    expected_limits: tuple[float, ...] | np.ndarray
    cl: float
    limit_method: str = LIMIT_CLS

    @property
    def n_exp_unc(self) -> float | np.ndarray:
        """Absolute uncertainty on ``n_exp`` (events)."""
        return _freeze(np.asarray(self.n_exp) * np.asarray(self.rel_unc))

    def to_dict(self) -> dict:
        """The fields plus ``n_exp_unc`` (result-contract name), strict-JSON ready."""
        d = super().to_dict()
        return {**d, "n_exp_unc": jsonable(self.n_exp_unc)}

    def records(self) -> list[dict]:
        """One flat row per model; for arrays ``index`` is the model's position."""
        if np.ndim(self.z) == 0:
            return super().records()
        shape = np.shape(self.z)
        cols = {k: np.broadcast_to(np.asarray(getattr(self, k), dtype=np.float64), shape)
                for k in ("n_obs", "n_exp", "n_exp_unc", "rel_unc", "q0", "z", "p_value",
                          "p_value_q0", "upper_limit")}
        lim = np.asarray(self.expected_limits, dtype=np.float64).reshape(*shape, 5)
        rows = []
        for idx in np.ndindex(shape):
            row: dict = {"index": list(idx), **{k: v[idx] for k, v in cols.items()}}
            row.update({f"expected_limit_{b}": lim[idx][i] for i, b in enumerate(BAND_LABELS)})
            rows.append(jsonable({**row, "cl": self.cl, "limit_method": self.limit_method}))
        return rows


def _check_cl(cl: float) -> float:
    cl = float(cl)
    if not 0.0 < cl < 1.0:
        raise InputError(f"cl (confidence level) must be in (0, 1), got {cl}")
    return cl


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------
def _discovery(model: OneBinModel):
    q0 = model.q0()
    z = np.asarray(asimov_significance(model.n, model.b, model.sigma))
    return q0, z, stats.norm.sf(z), stats.norm.sf(np.sqrt(q0))


def discovery(n_obs, n_exp, rel_unc=0.0) -> DiscoveryResult:
    """One-sided discovery test of the one-bin model, vectorised.

    Parameters
    ----------
    n_obs : array_like
        Observed events (>= 0).
    n_exp : array_like
        Expected background events (> 0).
    rel_unc : array_like, optional
        Relative uncertainty sigma on ``n_exp`` (>= 0; 0 = no constraint term).

    Returns
    -------
    DiscoveryResult
        ``q0`` from the profile likelihood, the signed significance ``z`` of eq. 6
        (``z**2 == q0`` for n > b), ``p_value = Phi(-z)`` and pyhf's ``p_value_q0``.

    Examples
    --------
    >>> r = discovery(150.0, 100.0, 0.1)
    >>> round(r.q0, 4), round(r.z ** 2, 4)
    (10.0678, 10.0678)
    """
    q0, z, p, p_q0 = _discovery(OneBinModel(n_obs, n_exp, rel_unc))
    return DiscoveryResult(q0=_freeze(q0), z=_freeze(z), p_value=_freeze(p),
                           p_value_q0=_freeze(p_q0))


def upper_limit(n_obs, n_exp, rel_unc=0.0, *, cl: float = 0.95) -> UpperLimitResult:
    """CLs upper limits (observed and expected band) on the number of signal events.

    Asymptotic q-tilde formulae, as ``pyhf.infer.intervals.upper_limits.upper_limit`` with
    ``test_stat="qtilde"``; vectorised over arrays of models.

    Parameters
    ----------
    n_obs, n_exp, rel_unc : array_like
        As in :func:`discovery`.
    cl : float, keyword-only
        Confidence level (CLs = 1 - cl at the limit).

    Returns
    -------
    UpperLimitResult

    Examples
    --------
    >>> r = upper_limit(0.0, 1e-6)  # b -> 0, n = 0: asymptotic CLs = 2 Phi(-sqrt(2 mu)) = 0.05
    >>> round(r.upper_limit, 3)  # (the exact Poisson CLs limit would be 3.0 events)
    1.921
    """
    cl = _check_cl(cl)
    model = OneBinModel(n_obs, n_exp, rel_unc)
    obs, exp = cls_limits(model, cl)
    return UpperLimitResult(upper_limit=_freeze(obs), expected_limits=_band(exp), cl=cl)


def _band(exp: np.ndarray):
    if exp.ndim == 1:
        return tuple(float(v) for v in exp)
    return _freeze(exp)


def cut_and_count(n_obs, n_exp, rel_unc=0.0, *, cl: float = 0.95) -> CutCountResult:
    """Discovery significance and CLs limits of one-bin cut-and-count models.

    Parameters
    ----------
    n_obs : array_like
        Observed events N_obs >= 0 (Das et al.: data passing the working point in the SR).
    n_exp : array_like
        Expected background N_exp > 0 (eq. 3).
    rel_unc : array_like, optional
        Relative uncertainty sigma_exp on n_exp (eq. 8), >= 0; 0 means a plain Poisson count.
    cl : float, keyword-only
        Confidence level of the upper limits.

    Returns
    -------
    CutCountResult
        Scalar fields for scalar input; arrays of the broadcast shape otherwise
        (``expected_limits`` with a trailing axis of 5).

    Raises
    ------
    InputError
        For NaN/inf or out-of-range inputs, naming the argument and the count of bad entries.

    Examples
    --------
    >>> r = cut_and_count([90.0, 130.0], 100.0, 0.05)
    >>> r.z.round(3), r.p_value.round(4), r.p_value_q0.round(4)
    (array([-0.913,  2.54 ]), array([0.8194, 0.0055]), array([0.5   , 0.0055]))
    >>> r.expected_limits.shape
    (2, 5)
    """
    cl = _check_cl(cl)
    model = OneBinModel(n_obs, n_exp, rel_unc)
    q0, z, p, p_q0 = _discovery(model)
    obs, exp = cls_limits(model, cl)
    return CutCountResult(
        n_obs=_freeze(model.n),
        n_exp=_freeze(model.b),
        rel_unc=_freeze(model.sigma),
        q0=_freeze(q0),
        z=_freeze(z),
        p_value=_freeze(p),
        p_value_q0=_freeze(p_q0),
        upper_limit=_freeze(obs),
        expected_limits=_band(exp),
        cl=cl,
    )
