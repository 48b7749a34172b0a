"""One counting experiment, every number at once: the API behind ``bumpstat significance``.

:func:`one_bin_test` reports eq. 6 (signed) and eq. 7 of Das et al. (arXiv:2411.00085), the
one-sided p-value, the CLs upper limit with its expected band (closed form of the one-bin
Poisson-constrained model) and, as an independent reference, pyhf's ``shapesys`` model. For
small counts, ``method="toys"`` replaces the asymptotic p-value and limits by pseudo-experiments
(:mod:`bumpstat.stats.toys`), and an off count (``n_off``, the template events passing the cut)
adds the on/off significance Z_Bi of Cousins, Linnemann & Tucker (NIM A 595 (2008) 480,
arXiv:physics/0702156): the template's passing count is the "off" measurement and
``tau = N_BT / N_SR`` (more generally ``n_off / N_exp``).

>>> r = one_bin_test(384, 120, 0.0913, pyhf=False)   # Das et al. App. C.1: Z = 12, Z_G = 17
>>> round(r.z, 2), round(r.z_gaussian, 2), r.method, r.valid
(12.06, 17.04, 'asymptotic', True)
>>> r = one_bin_test(5, n_off=40, tau=20, method="toys", n_toys=2000, pyhf=False)
>>> r.n_exp, round(r.rel_unc, 4), round(r.z_bi, 2), r.limit_method == LIMIT_CLS_TOYS
(2.0, 0.1581, 1.54, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from bumpstat.exceptions import InputError
from bumpstat.parallel import seed_sequence
from bumpstat.results import Result
from bumpstat.stats.cutcount import cut_and_count
from bumpstat.stats.significance import gaussian_significance
from bumpstat.stats.toys import LIMIT_CLS_TOYS, toy_discovery, toy_limits

__all__ = ["OneBinTest", "ZBi", "one_bin_test", "z_bi", "METHODS"]

#: Values of ``one_bin_test(method=...)``.
METHODS = ("asymptotic", "toys")


@dataclass(frozen=True, repr=False)
class OneBinTest(Result):
    """Result of :func:`one_bin_test` (events, relative uncertainty, significances in σ).

    Attributes
    ----------
    n_obs, n_exp, n_exp_unc, rel_unc : float
        Inputs; ``n_exp_unc = rel_unc * n_exp``.
    z, p_value : float
        Signed significance and ``Φ(−z)``: eq. 6 (``method="asymptotic"``) or from toys.
    p_value_q0 : float
        pyhf's convention: 0.5 for a deficit asymptotically, 1 with toys (pyhf's
        ``ToyCalculator``).
    z_gaussian : float
        Eq. 7.
    upper_limit, expected_limits, cl, limit_method
        CLs upper limit on signal events and the −2σ…+2σ expected band, and how they were
        obtained (asymptotic closed form or toys).
    z_pyhf, p_value_pyhf : float or None
        pyhf's signed significance and one-sided p-value (None when not computed).
    method : str
        What ``z``, ``p_value`` and the limits come from: ``"asymptotic"`` or ``"toys"``.
    n_toys, seed : int or None
        Toys per hypothesis and the seed (``method="toys"``).
    p_value_unc : float or None
        Monte-Carlo uncertainty of a toy p-value.
    p_value_bound : str or None
        ``"upper"`` when no toy was as extreme as the data (``p_value`` is then a 95% CL upper
        bound and ``z`` a lower bound).
    z_asymptotic, upper_limit_asymptotic : float
        Eq. 6 and the asymptotic CLs limit, whatever the method (for comparison).
    n_off, tau : float or None
        Off (template) count and off/on background ratio, when an off count was given.
    z_bi, p_value_bi : float or None
        Z_Bi and its p-value (Cousins, Linnemann & Tucker 2008), when ``n_off`` was given.
    valid, reason
        Whether the numbers can be trusted.
    """

    n_obs: float
    n_exp: float
    n_exp_unc: float
    rel_unc: float
    z: float
    p_value: float
    p_value_q0: float
    z_gaussian: float
    upper_limit: float
    expected_limits: tuple[float, ...]
    cl: float
    limit_method: str
    z_pyhf: float | None = None
    p_value_pyhf: float | None = None
    method: str = "asymptotic"
    n_toys: int | None = None
    seed: int | None = None
    p_value_unc: float | None = None
    p_value_bound: str | None = None
    z_asymptotic: float | None = None
    upper_limit_asymptotic: float | None = None
    n_off: float | None = None
    tau: float | None = None
    z_bi: float | None = None
    p_value_bi: float | None = None
    valid: bool = True
    reason: str | None = None


@dataclass(frozen=True, repr=False)
class ZBi(Result):
    """Z_Bi of an on/off measurement (Cousins, Linnemann & Tucker 2008).

    Attributes
    ----------
    n_obs, n_off, tau : float
        On count, off count and ``tau`` (off/on background ratio).
    n_exp, n_exp_unc, rel_unc : float
        ``n_off / tau``, ``sqrt(n_off) / tau`` and ``1 / sqrt(n_off)``.
    z, p_value : float
        ``p = P(X >= n_on | n_on + n_off, 1/(1+tau))`` (1 for ``n_on = 0``), ``z = Φ^-1(1 − p)``.
    """

    n_obs: float
    n_off: float
    tau: float
    n_exp: float
    n_exp_unc: float
    rel_unc: float
    z: float
    p_value: float


def z_bi(n_on: float, n_off: float, tau: float) -> ZBi:
    """Z_Bi of Cousins, Linnemann & Tucker (2008) for an on/off problem.

    ``n_on`` events observed in the signal region, ``n_off`` in the off (template) measurement
    whose expectation is ``tau`` times the on-region background: ``N_exp = n_off / tau``.
    ``p = I_{1/(1+tau)}(n_on, n_off + 1)`` (regularised incomplete beta), the binomial tail
    ``P(X >= n_on | n_on + n_off, 1/(1+tau))`` for integer counts: one-sided, 1 for
    ``n_on = 0``; ``z = Φ^-1(1 − p)`` (negative for a deficit; ``inf``, null in JSON, once
    ``p`` underflows below 1e-308).

    Parameters
    ----------
    n_on, n_off : float
        On and off counts (>= 0; exact for integers, the continuous extension otherwise).
    tau : float
        Ratio of the off to the on background expectation (> 0), ``N_BT / N_SR`` for a
        template of ``N_BT`` events against ``N_SR`` data events.

    Examples
    --------
    >>> r = z_bi(140, 100, 1.0)   # = the binomial test P(X >= 140 | 240, 1/2)
    >>> round(r.z, 3), r.n_exp
    (2.522, 100.0)
    """
    vals = []
    for name, v in (("n_on", n_on), ("n_off", n_off), ("tau", tau)):
        try:
            x = float(v)
        except (TypeError, ValueError) as err:
            raise InputError(f"{name} must be a number, got {v!r}") from err
        if not math.isfinite(x) or x < 0 or (name == "tau" and x == 0):
            raise InputError(f"{name} must be finite and {'> 0' if name == 'tau' else '>= 0'}, "
                             f"got {x!r}")
        vals.append(x)
    n_on, n_off, tau = vals
    p = 1.0 if n_on == 0 else float(special.betainc(n_on, n_off + 1.0, 1.0 / (1.0 + tau)))
    root = math.sqrt(n_off)
    return ZBi(n_obs=n_on, n_off=n_off, tau=tau, n_exp=n_off / tau, n_exp_unc=root / tau,
               rel_unc=1.0 / root if n_off > 0 else math.inf, z=float(stats.norm.isf(p)),
               p_value=p)


def _number(name: str, value, *, positive: bool) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a number, got {value!r}") from err
    if not math.isfinite(x) or x < 0 or (positive and x == 0):
        raise InputError(f"{name} must be finite and {'> 0' if positive else '>= 0'}, got {x!r}")
    return x


def _on_off(n_exp, rel_unc, n_off, tau):
    """Resolve ``(n_exp, rel_unc, n_off, tau)`` from what was given."""
    if n_off is None:
        if tau is not None:
            raise InputError("tau needs n_off (the off count it relates to n_exp)")
        if n_exp is None:
            raise InputError("n_exp is required (or n_off and tau)")
        return n_exp, 0.0 if rel_unc is None else rel_unc, None, None
    n_off = _number("n_off", n_off, positive=True)
    if n_exp is None:
        if tau is None:
            raise InputError("n_exp is required (or n_off and tau)")
        tau = _number("tau", tau, positive=True)
        n_exp = n_off / tau
    elif tau is None:
        tau = n_off / _number("n_exp", n_exp, positive=True)
    else:
        tau = _number("tau", tau, positive=True)
        n_exp = _number("n_exp", n_exp, positive=True)
        if abs(n_off / tau - n_exp) > 1e-6 * n_exp:
            raise InputError(f"n_exp = {n_exp:g} differs from n_off / tau = "
                             f"{n_off / tau:g}; give n_exp or tau, not both")
    return n_exp, 1.0 / math.sqrt(n_off) if rel_unc is None else rel_unc, n_off, tau


def one_bin_test(n_obs: float, n_exp: float | None = None, rel_unc: float | None = None, *,
                 cl: float = 0.95, pyhf: bool = True, method: str = "asymptotic",
                 n_toys: int = 10_000, seed=0, n_off: float | None = None,
                 tau: float | None = None) -> OneBinTest:
    """Significances, p-value and CLs limit of one cut-and-count experiment.

    Parameters
    ----------
    n_obs, n_exp : float
        Observed events (>= 0) and expected background (> 0). ``n_exp`` may be omitted when
        ``n_off`` and ``tau`` are given (``n_exp = n_off / tau``).
    rel_unc : float or None
        Relative uncertainty on ``n_exp`` (>= 0). None: 0, or ``1/sqrt(n_off)`` (the template's
        statistical uncertainty, the model Z_Bi assumes) when ``n_off`` is given.
    cl : float, keyword-only
        Confidence level of the limit.
    pyhf : bool, keyword-only
        Also run pyhf's ``shapesys`` model as a reference (slower; asymptotic).
    method : {"asymptotic", "toys"}, keyword-only
        Asymptotic formulas (eq. 6, asymptotic CLs) or pseudo-experiments thrown at the
        conditional MLE of the nuisance (:func:`~bumpstat.stats.toys.toy_discovery`,
        :func:`~bumpstat.stats.toys.toy_limits`).
    n_toys : int, keyword-only
        Toys per hypothesis for ``method="toys"`` (>= 100).
    seed : int, keyword-only
        Seed of the toys (same seed, same numbers).
    n_off : float or None, keyword-only
        The off measurement: template events passing the cut (> 0). Adds Z_Bi.
    tau : float or None, keyword-only
        Off/on background ratio, ``N_BT / N_SR`` for the template; None: ``n_off / n_exp``.
        With both ``n_exp`` and ``tau`` given, ``n_exp`` must equal ``n_off / tau``.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    n_exp, rel_unc, n_off, tau = _on_off(n_exp, rel_unc, n_off, tau)
    cc = cut_and_count(n_obs, n_exp, rel_unc, cl=cl)
    z_pyhf = p_pyhf = None
    if pyhf:
        from bumpstat.stats.pyhf_models import pyhf_discovery

        ref = pyhf_discovery(n_obs, n_exp, rel_unc)
        z_pyhf, p_pyhf = float(ref.z), float(ref.p_value)
    fields = dict(z=float(cc.z), p_value=float(cc.p_value), p_value_q0=float(cc.p_value_q0),
                  upper_limit=float(cc.upper_limit), expected_limits=tuple(cc.expected_limits),
                  limit_method=cc.limit_method)
    valid, reason = True, None
    if method == "toys":
        disc = toy_discovery(n_obs, n_exp, rel_unc, n_toys=n_toys, seed=seed)
        # the limit toys get their own stream: a child of the same seed
        lim = toy_limits(n_obs, n_exp, rel_unc, cl=cl, n_toys=n_toys,
                         seed=_child(seed))
        fields = dict(z=disc.z, p_value=disc.p_value, p_value_q0=disc.p_value_q0,
                      p_value_unc=disc.p_value_unc, p_value_bound=disc.p_value_bound,
                      upper_limit=lim.upper_limit, expected_limits=lim.expected_limits,
                      limit_method=LIMIT_CLS_TOYS, n_toys=disc.n_toys,
                      seed=int(seed) if isinstance(seed, int) else None)
        valid, reason = lim.valid, lim.reason
    bi = z_bi(n_obs, n_off, tau) if n_off is not None else None
    return OneBinTest(
        n_obs=float(cc.n_obs), n_exp=float(cc.n_exp), n_exp_unc=float(cc.n_exp_unc),
        rel_unc=float(cc.rel_unc), z_gaussian=float(gaussian_significance(n_obs, n_exp, rel_unc)),
        cl=cc.cl, z_pyhf=z_pyhf, p_value_pyhf=p_pyhf, method=method,
        z_asymptotic=float(cc.z), upper_limit_asymptotic=float(cc.upper_limit),
        n_off=n_off, tau=tau, z_bi=None if bi is None else bi.z,
        p_value_bi=None if bi is None else bi.p_value, valid=valid, reason=reason, **fields,
    )


def _child(seed) -> np.random.SeedSequence:
    """The child of ``seed`` used by the limit toys (the seed itself is left unchanged)."""
    ss = seed_sequence(seed)
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, 0),
                                  pool_size=ss.pool_size)
