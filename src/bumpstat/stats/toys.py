"""Small-count statistics of the one-bin model: toy-based p-values and CLs limits.

The model is the one of :mod:`bumpstat.stats.cutcount` (pyhf ``shapesys``): the count
``n ~ Poisson(mu + gamma * b)`` and the auxiliary count ``a ~ Poisson(gamma * tau)`` with
``tau = 1 / rel_unc**2`` observed at ``a = tau`` (``rel_unc = 0``, or a negligible one: gamma
fixed to 1). The conditional maximum-likelihood estimate of ``gamma`` at fixed ``mu`` is the
positive root of a quadratic, so every toy is fitted exactly, vectorised.

Toys are thrown **at the conditional MLE of the nuisance** fitted to the observed data under
each hypothesis (the LHC Higgs combination procedure, as pyhf's ``ToyCalculator``):

* discovery (:func:`toy_discovery`): toys at ``mu = 0, gamma_hat(0)``; the test statistic is the
  signed root ``t0 = sign(mu_hat) sqrt(-2 ln lambda(0))`` with an unbounded ``mu_hat``, so
  ``p_value = P(t0 >= t0_obs)`` is one-sided (above 0.5 for a deficit) and
  ``z = Φ^-1(1 - p)`` is signed, ``p_value = Φ(-z)``. ``p_value_q0`` is what pyhf's
  ``ToyCalculator`` returns for ``test_stat="q0"``: ``P(q0 >= q0_obs)`` with ``mu_hat >= 0``,
  equal to ``p_value`` for an excess and 1 for a deficit (0.5 only in the asymptotic formula);
* limits (:func:`toy_limits`): ``qtilde_mu`` toys at ``mu, gamma_hat(mu)`` (CLs+b) and at
  ``0, gamma_hat(0)`` (CLb), ``CLs = CLs+b / CLb``; the expected band is given by the
  2.3/15.9/50/84.1/97.7 percentiles of the CLs of the background-only toys (as pyhf). The
  signal-plus-background toys of every ``mu`` are drawn by inverting the Poisson CDF at the
  same uniforms, so CLs varies smoothly with ``mu`` and its crossing of ``1 - cl`` is found by
  bisection without grid noise.

The frequentist on/off significance Z_Bi is :func:`bumpstat.stats.onebin.z_bi`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from bumpstat.exceptions import InputError
from bumpstat.parallel import seed_sequence
from bumpstat.results import Result
from bumpstat.stats.cutcount import upper_limit as asymptotic_upper_limit
from bumpstat.stats.inputs import counting_inputs, negligible_uncertainty

__all__ = ["ToyDiscovery", "ToyLimits", "toy_discovery", "toy_limits", "LIMIT_CLS_TOYS",
           "BOUND_CL"]

#: ``limit_method`` of the toy-based limits.
LIMIT_CLS_TOYS = "CLs toys (qtilde), nuisance at its conditional MLE"
#: Confidence level of the upper bound on a p-value when no toy is as extreme as the data.
BOUND_CL = 0.95
#: Percentiles of the background-only CLs giving the -2σ … +2σ expected limits (pyhf's).
_BAND = stats.norm.cdf([-2.0, -1.0, 0.0, 1.0, 2.0])
#: Relative tolerance of "as extreme as the data" (toys identical to the data count).
_TIE = 1e-9
#: Toys per chunk of the discovery test (bounded memory for any n_toys).
_CHUNK = 1 << 20
_MAX_TOYS = 10**9


# -------------------- Results --------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class ToyDiscovery(Result):
    """Toy-based discovery test of the one-bin model (events; significances in σ).

    Attributes
    ----------
    n_obs, n_exp, rel_unc : float
        Inputs.
    z, p_value : float
        Signed significance and ``p_value = P(t0 >= t0_obs) = Φ(−z)``.
    p_value_unc : float or None
        Binomial Monte-Carlo uncertainty of ``p_value`` (None for a bound).
    p_value_bound : str or None
        ``"upper"`` when no toy was as extreme as the data: ``p_value`` is then the one-sided
        95% CL upper bound ``1 − 0.05^(1/n_toys)`` (≈ 3/n_toys) and ``z`` a lower bound.
    p_value_q0 : float
        pyhf ``ToyCalculator``'s ``P(q0 >= q0_obs)`` (1 for a deficit).
    n_toys : int
        Background-only toys thrown.
    """

    n_obs: float
    n_exp: float
    rel_unc: float
    z: float
    p_value: float
    p_value_unc: float | None
    p_value_bound: str | None
    p_value_q0: float
    n_toys: int


@dataclass(frozen=True, repr=False)
class ToyLimits(Result):
    """Toy-based CLs upper limit on the number of signal events and its expected band.

    Attributes
    ----------
    upper_limit : float
        Observed limit (events); ``inf`` (null in JSON) when CLs never fell below ``1 − cl``.
    expected_limits : tuple of 5 floats
        −2σ, −1σ, median, +1σ, +2σ expected limits (events).
    cl, limit_method
        Confidence level and :data:`LIMIT_CLS_TOYS`.
    n_toys : int
        Toys per hypothesis and signal value.
    mu_grid, cls_obs : tuple of float
        The bracketing grid (events) and the observed CLs on it.
    valid, reason
        False, with the reason, when a limit could not be bracketed.
    """

    upper_limit: float
    expected_limits: tuple[float, ...]
    cl: float
    limit_method: str
    n_toys: int
    mu_grid: tuple[float, ...]
    cls_obs: tuple[float, ...]
    valid: bool = True
    reason: str | None = None


# -------------------- The model and its test statistics ------------------------------------
class _OneBin:
    """``n ~ Pois(mu + gamma b)``, ``a ~ Pois(gamma tau)``; unconstrained: gamma = 1."""

    def __init__(self, n_obs: float, b: float, rel_unc: float):
        self.n_obs, self.b = n_obs, b
        self.constrained = rel_unc > 0 and not bool(negligible_uncertainty(n_obs, b, rel_unc))
        self.tau = 1.0 / rel_unc**2 if self.constrained else math.inf
        self.a_obs = self.tau if self.constrained else 0.0

    def gamma_hat(self, mu, n, a):
        """Conditional MLE of gamma at fixed mu: the positive root, without cancellation."""
        if not self.constrained:
            return np.ones(np.broadcast(mu, n, a).shape)
        b, tau = self.b, self.tau
        qa = b * (b + tau)
        big = b * (n + a) - mu * (b + tau)
        amu = a * mu
        disc = np.sqrt(big * big + 4.0 * qa * amu)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(big > 0, (big + disc) / (2.0 * qa), 2.0 * amu / (disc - big))
        return np.nan_to_num(g, nan=0.0)  # 0/0 only for n + a = 0 at mu = 0: gamma = 0

    def nll(self, mu, g, n, a):
        """-ln L up to constants (0 ln 0 = 0)."""
        lam = mu + g * self.b
        out = lam - special.xlogy(n, lam)
        if self.constrained:
            out = out + g * self.tau - special.xlogy(a, g * self.tau)
        return out

    def free_fit(self, n, a):
        """Unconditional MLE with mu unbounded: gamma = a / tau, mu = n - gamma b."""
        g = np.asarray(a / self.tau if self.constrained else np.ones_like(n), dtype=np.float64)
        return n - g * self.b, g

    def t0(self, n, a):
        """Signed root of -2 ln lambda(0) (mu_hat unbounded; its square is q0 for an excess)."""
        mu_hat, g_hat = self.free_fit(n, a)
        q = 2.0 * (self.nll(0.0, self.gamma_hat(0.0, n, a), n, a) - self.nll(mu_hat, g_hat, n, a))
        return np.sign(mu_hat) * np.sqrt(np.maximum(q, 0.0))

    def qtilde(self, mu: float, n, a):
        """q~_mu: 0 for mu_hat > mu; mu_hat clipped at 0 in the denominator (pyhf's qmu_tilde)."""
        mu_hat, g_hat = self.free_fit(n, a)
        neg = mu_hat < 0
        g_ref = np.where(neg, self.gamma_hat(0.0, n, a), g_hat)
        q = 2.0 * (self.nll(mu, self.gamma_hat(mu, n, a), n, a)
                   - self.nll(np.maximum(mu_hat, 0.0), g_ref, n, a))
        return np.where(mu_hat > mu, 0.0, np.maximum(q, 0.0))

    def throw(self, u, mu: float):
        """Toys (n, a) at ``mu, gamma_hat(mu)`` of the observed data, from uniforms ``u[0:2]``."""
        g = float(self.gamma_hat(mu, self.n_obs, self.a_obs))
        n = _poisson_quantile(u[0], mu + g * self.b)
        a = _poisson_quantile(u[1], g * self.tau) if self.constrained else np.zeros_like(n)
        return n, a


def _poisson_quantile(u: np.ndarray, lam: float) -> np.ndarray:
    """Poisson(lam) quantiles of the uniforms ``u`` (inverse CDF, exact; increasing in lam)."""
    if lam <= 0:
        return np.zeros(u.shape)
    width = 10.0 * math.sqrt(lam) + 30.0  # P(|N - lam| > width) < 1e-20
    lo, hi = max(0.0, math.floor(lam - width)), math.ceil(lam + width)
    cdf = stats.poisson.cdf(np.arange(lo, hi + 1.0), lam)
    return lo + np.searchsorted(cdf, u, side="right").astype(np.float64)


def _tail(sorted_q: np.ndarray, value):
    """Fraction of ``sorted_q`` at or above ``value`` (ties within :data:`_TIE` included)."""
    value = np.asarray(value, dtype=np.float64)
    idx = np.searchsorted(sorted_q, value - _TIE * (1.0 + np.abs(value)), side="left")
    return 1.0 - idx / sorted_q.size


# -------------------- Discovery ------------------------------------------------------------
def _inputs(n_obs, n_exp, rel_unc, n_toys, minimum: int) -> tuple[float, float, float, int]:
    n, b, s, shape = counting_inputs(n_obs, n_exp, rel_unc)
    if shape != ():
        raise InputError(f"toys take one count at a time (scalars), got shape {shape}")
    if isinstance(n_toys, bool) or not isinstance(n_toys, int | np.integer) \
            or not minimum <= int(n_toys) <= _MAX_TOYS:
        raise InputError(f"n_toys must be an integer in [{minimum}, {_MAX_TOYS:.0e}], "
                         f"got {n_toys!r}")
    return float(n), float(b), float(s), int(n_toys)


def _p_from_count(k: int, n: int) -> tuple[float, float | None, str | None]:
    if k == 0:
        return float(1.0 - (1.0 - BOUND_CL) ** (1.0 / n)), None, "upper"
    p = k / n
    return p, math.sqrt(p * (1.0 - p) / n), None


def toy_discovery(n_obs: float, n_exp: float, rel_unc: float = 0.0, *, n_toys: int = 100_000,
                  seed=0) -> ToyDiscovery:
    """Toy-based discovery p-value and signed significance of the one-bin model.

    Parameters
    ----------
    n_obs, n_exp, rel_unc : float
        Observed events (>= 0), expected background (> 0) and its relative uncertainty (>= 0).
    n_toys : int, keyword-only
        Background-only toys (>= 100), thrown at ``mu = 0`` and the conditional MLE of gamma.
    seed : int or numpy.random.SeedSequence, keyword-only
        Same seed, same numbers.

    Examples
    --------
    >>> r = toy_discovery(6, 1.5, n_toys=200_000, seed=1)  # exact: P(N >= 6 | 1.5) = 0.00446
    >>> abs(r.p_value - 0.004455) < 4 * r.p_value_unc, round(r.p_value, 4) == round(r.p_value_q0, 4)
    (True, True)
    """
    n_obs, b, sigma, n_toys = _inputs(n_obs, n_exp, rel_unc, n_toys, 100)
    model = _OneBin(n_obs, b, sigma)
    rng = np.random.default_rng(seed_sequence(seed))
    t_obs = float(model.t0(np.float64(n_obs), np.float64(model.a_obs)))
    q_obs = max(t_obs, 0.0) ** 2
    k = k_q0 = 0
    for start in range(0, n_toys, _CHUNK):
        n, a = model.throw(rng.random((2, min(_CHUNK, n_toys - start))), 0.0)
        t = model.t0(n, a)
        k += int(np.count_nonzero(t >= t_obs - _TIE * (1.0 + abs(t_obs))))
        k_q0 += int(np.count_nonzero(np.maximum(t, 0.0) ** 2 >= q_obs - _TIE * (1.0 + q_obs)))
    p, unc, bound = _p_from_count(k, n_toys)
    p_q0 = _p_from_count(k_q0, n_toys)[0]
    return ToyDiscovery(n_obs=n_obs, n_exp=b, rel_unc=sigma, z=float(stats.norm.isf(p)),
                        p_value=p, p_value_unc=unc, p_value_bound=bound, p_value_q0=p_q0,
                        n_toys=n_toys)


# -------------------- CLs limits -----------------------------------------------------------
class _CLs:
    """Observed and expected CLs at any mu, from fixed uniforms (common random numbers)."""

    def __init__(self, model: _OneBin, n_toys: int, rng: np.random.Generator):
        self.model = model
        self.u_sb = rng.random((2, n_toys))
        self.n_b, self.a_b = model.throw(rng.random((2, n_toys)), 0.0)
        self.floor = 1.0 / n_toys

    def __call__(self, mu: float, *, band: bool = True) -> np.ndarray:
        """``[CLs_obs, CLs_exp(-2σ), …, CLs_exp(+2σ)]`` at ``mu`` (``[CLs_obs]`` without band)."""
        m = self.model
        n_s, a_s = m.throw(self.u_sb, mu)
        q_s = np.sort(m.qtilde(mu, n_s, a_s))
        q_b = np.sort(m.qtilde(mu, self.n_b, self.a_b))
        q_obs = m.qtilde(mu, np.float64(m.n_obs), np.float64(m.a_obs))
        obs = _tail(q_s, q_obs) / max(_tail(q_b, q_obs), self.floor)
        if not band:
            return np.array([obs])
        # CLs of every background-only toy (in sorted order: the percentiles do not care)
        cls_b = _tail(q_s, q_b) / np.maximum(_tail(q_b, q_b), self.floor)
        return np.concatenate([[obs], np.percentile(cls_b, 100.0 * _BAND)])


def _bisect(f, lo: float, hi: float, alpha: float, rtol: float = 1e-4) -> float:
    """A crossing of ``f(mu) = alpha`` in ``[lo, hi]`` with ``f(lo) >= alpha > f(hi)``."""
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        if f(mid) >= alpha:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def toy_limits(n_obs: float, n_exp: float, rel_unc: float = 0.0, *, cl: float = 0.95,
               n_toys: int = 10_000, n_grid: int = 24, seed=0) -> ToyLimits:
    """Toy-based CLs upper limit (signal events) and its expected band.

    CLs is evaluated on a grid of ``n_grid`` signal values up to twice the largest asymptotic
    limit (at least 6 events; doubled until every curve falls below ``1 − cl``); each crossing
    is then found by bisection to 1e-4 relative.

    Parameters
    ----------
    n_obs, n_exp, rel_unc : float
        As in :func:`toy_discovery`.
    cl : float, keyword-only
        Confidence level (CLs = 1 − cl at the limit).
    n_toys : int, keyword-only
        Toys per hypothesis (>= 100) for the signal-plus-background and the background-only
        distributions.
    n_grid : int, keyword-only
        Points of the bracketing grid (>= 4).
    seed : int or numpy.random.SeedSequence, keyword-only
        Same seed, same numbers.

    Examples
    --------
    >>> r = toy_limits(0, 1.0, n_toys=20_000)  # n = 0: the exact CLs limit is ln 20 = 3.0 events
    >>> abs(r.upper_limit - math.log(20.0)) < 0.1, r.valid
    (True, True)
    """
    n_obs, b, sigma, n_toys = _inputs(n_obs, n_exp, rel_unc, n_toys, 100)
    cl = float(cl)
    if not 0.0 < cl < 1.0:
        raise InputError(f"cl (confidence level) must be in (0, 1), got {cl}")
    if isinstance(n_grid, bool) or not isinstance(n_grid, int | np.integer) or n_grid < 4:
        raise InputError(f"n_grid must be an integer >= 4, got {n_grid!r}")
    alpha = 1.0 - cl
    curves = _CLs(_OneBin(n_obs, b, sigma), n_toys, np.random.default_rng(seed_sequence(seed)))
    asym = asymptotic_upper_limit(n_obs, b, sigma, cl=cl)
    mu_max = 2.0 * max(float(asym.upper_limit), *asym.expected_limits, 3.0)
    for _ in range(8):
        grid = np.linspace(0.0, mu_max, int(n_grid) + 1)
        vals = np.array([np.ones(6)] + [curves(mu) for mu in grid[1:]])
        if (vals[-1] < alpha).all():
            break
        mu_max *= 2.0
    limits = []
    for k in range(6):
        below = np.flatnonzero(vals[:, k] < alpha)
        if below.size == 0:
            limits.append(math.inf)
            continue
        j = int(below[0])
        limits.append(_bisect(lambda mu, k=k: curves(mu, band=k > 0)[k], float(grid[j - 1]),
                              float(grid[j]), alpha))
    ok = all(math.isfinite(x) for x in limits)
    return ToyLimits(upper_limit=limits[0], expected_limits=tuple(limits[1:]), cl=cl,
                     limit_method=LIMIT_CLS_TOYS, n_toys=n_toys,
                     mu_grid=tuple(grid.tolist()), cls_obs=tuple(vals[:, 0].tolist()),
                     valid=ok, reason=None if ok else
                     f"CLs stayed above {alpha:g} up to {mu_max:g} signal events")
