"""The one-bin Poisson-constrained likelihood, its test statistics and CLs limits, vectorised.

The model of :mod:`bumpstat.stats.cutcount` (pyhf's one-bin ``normfactor`` + ``shapesys``):
``n ~ Pois(mu + gamma b)``, ``a ~ Pois(gamma tau)`` with ``tau = 1/sigma^2`` and ``a_obs = tau``;
``sigma = 0`` (or an uncertainty negligible at double precision) fixes ``gamma = 1``. The
conditional MLE of gamma is the positive root of a quadratic, so every fit is closed-form and
broadcast over arrays of models. :func:`cls_limits` finds the observed and expected CLs limits
(asymptotic q~_mu, as pyhf) for all models at once by a bracketed Illinois iteration.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from bumpstat.exceptions import InputError
from bumpstat.stats.inputs import counting_inputs, negligible_uncertainty

__all__ = ["BAND_NSIGMA", "OneBinModel", "cls_limits", "solve_decreasing"]

#: Order of the expected-limit band: -2σ, -1σ, median, +1σ, +2σ (pyhf's order).
BAND_NSIGMA = (-2, -1, 0, 1, 2)


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------
class OneBinModel:
    """Broadcast arrays of one-bin models with their observed-data MLEs."""

    def __init__(self, n_obs, n_exp, rel_unc):
        n, b, s, shape = counting_inputs(n_obs, n_exp, rel_unc)
        n, b, s = (np.broadcast_to(x, shape) for x in (n, b, s))
        self.n, self.b, self.sigma = (np.array(x, dtype=np.float64) for x in (n, b, s))
        # a constraint that changes nothing at double precision is switched off, so that the
        # limits are continuous as sigma -> 0 (tau = 1/sigma^2 would cancel catastrophically)
        self.constrained = ~negligible_uncertainty(self.n, self.b, self.sigma)
        # tau = 0 and a = 0 switch the auxiliary term off for sigma = 0 (gamma fixed to 1)
        self.tau = np.divide(1.0, np.square(self.sigma), out=np.zeros_like(self.sigma),
                             where=self.constrained)
        self.a_obs = self.tau
        # free fit to the observed data, mu >= 0
        self.mu_hat, self.g_hat = self.free_fit(self.n, self.a_obs)
        # Asimov data of pyhf: mu = 0 conditional fit to observed data, auxdata included
        self.g0 = self.gamma_hat_hat(np.zeros_like(self.n), self.n, self.a_obs)
        self.n_asimov = self.g0 * self.b
        self.a_asimov = self.g0 * self.tau

    def gamma_hat_hat(self, mu, n, a):
        """Conditional MLE of gamma at fixed mu (positive root of the quadratic)."""
        b, tau = self.b, self.tau
        qa = b * (b + tau)
        qb = (b + tau) * mu - b * (n + a)
        amu = a * mu
        disc = np.sqrt(qb * qb + 4.0 * qa * amu)
        with np.errstate(divide="ignore", invalid="ignore"):
            # no cancellation: pick the form without subtraction of nearly equal numbers
            g = np.where(qb < 0, (disc - qb) / (2.0 * qa), 2.0 * amu / (qb + disc))
        return np.where(self.constrained, g, 1.0)

    def free_fit(self, n, a):
        """Unconditional MLE (mu_hat >= 0, gamma_hat) for data (n, a)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            g_free = np.where(self.constrained, a / np.where(self.constrained, self.tau, 1.0), 1.0)
        mu_free = n - g_free * self.b
        neg = mu_free < 0
        g_at_0 = self.gamma_hat_hat(np.zeros_like(n), n, a)
        return np.where(neg, 0.0, mu_free), np.where(neg, g_at_0, g_free)

    def two_dnll(self, mu1, g1, mu2, g2, n, a):
        """``2 [NLL(mu1, g1) - NLL(mu2, g2)]`` for data (n, a), written without cancellation."""
        b, tau = self.b, self.tau
        lam2 = mu2 + g2 * b
        dlam = (mu1 - mu2) + (g1 - g2) * b
        ratio = dlam / lam2
        with np.errstate(divide="ignore", invalid="ignore"):
            # log1p near 0 (no cancellation); log of the ratio when lam1 << lam2, where
            # 1 + ratio rounds to 0 (e.g. n_exp = 1e-300)
            log_ratio = np.where(ratio > -0.5, np.log1p(np.maximum(ratio, -0.5)),
                                 np.log((mu1 + g1 * b) / lam2))
            main = dlam - np.where(n == 0, 0.0, n * log_ratio)
        aux = tau * (g1 - g2) - special.xlogy(a, g1 / g2)
        return np.maximum(2.0 * (main + aux), 0.0)

    # -- test statistics ----------------------------------------------------------------------
    def q0(self):
        g0 = self.g0
        q = self.two_dnll(np.zeros_like(self.n), g0, self.mu_hat, self.g_hat, self.n, self.a_obs)
        return np.where(self.mu_hat > 0, q, 0.0)

    def qtilde(self, mu):
        g = self.gamma_hat_hat(mu, self.n, self.a_obs)
        q = self.two_dnll(mu, g, self.mu_hat, self.g_hat, self.n, self.a_obs)
        return np.where(self.mu_hat > mu, 0.0, q)

    def qtilde_asimov(self, mu):
        g = self.gamma_hat_hat(mu, self.n_asimov, self.a_asimov)
        return self.two_dnll(mu, g, np.zeros_like(mu), self.g0, self.n_asimov, self.a_asimov)

    def log_cls(self, mu):
        """ln CLs(mu) of the observed data (pyhf's asymptotic q-tilde calculator)."""
        q = self.qtilde(mu)
        qa = self.qtilde_asimov(mu)
        sq, sqa = np.sqrt(q), np.sqrt(qa)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(sq <= sqa, sq - sqa, (q - qa) / (2.0 * sqa))
        return special.log_ndtr(-(t + sqa)) - special.log_ndtr(-t)


# --------------------------------------------------------------------------------------------
# Vectorised root finding
# --------------------------------------------------------------------------------------------
def solve_decreasing(func, x_hi0, *, rtol=1e-12, maxiter=200):
    """Roots of decreasing functions ``func(x) = 0`` with ``func(0) > 0``, elementwise.

    Brackets by doubling ``x_hi0``, then runs the Illinois variant of regula falsi on the
    whole array, freezing converged entries. ``func`` maps an array of x (shape of the
    models) to an array of values.
    """
    lo = np.zeros_like(x_hi0)
    f_lo = func(lo)
    hi = x_hi0.copy()
    f_hi = func(hi)
    for _ in range(200):
        need = f_hi > 0
        if not need.any():
            break
        lo = np.where(need, hi, lo)
        f_lo = np.where(need, f_hi, f_lo)
        hi = np.where(need, 2.0 * hi, hi)
        f_hi = np.where(need, func(hi), f_hi)
    else:  # pragma: no cover - CLs always drops below 1 - cl eventually
        raise InputError("could not bracket the CLs = 1 - cl crossing")
    side = np.zeros(lo.shape, dtype=np.int8)
    x = hi.copy()
    for _ in range(maxiter):
        done = (hi - lo) <= rtol * hi
        if done.all():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            x_new = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        # fall back to bisection where regula falsi leaves the bracket or stalls
        bad = ~np.isfinite(x_new) | (x_new <= lo) | (x_new >= hi)
        x_new = np.where(bad, 0.5 * (lo + hi), x_new)
        x = np.where(done, x, x_new)
        f = func(x)
        pos = (f > 0) & ~done
        neg = (f <= 0) & ~done
        # Illinois: halve the retained end-point value when the same side is kept twice
        f_hi = np.where(pos & (side == 1), 0.5 * f_hi, f_hi)
        f_lo = np.where(neg & (side == -1), 0.5 * f_lo, f_lo)
        lo = np.where(pos, x, lo)
        f_lo = np.where(pos, f, f_lo)
        hi = np.where(neg, x, hi)
        f_hi = np.where(neg, f, f_hi)
        side = np.where(pos, 1, np.where(neg, -1, side)).astype(np.int8)
        exact = f == 0
        lo = np.where(exact, x, lo)
        hi = np.where(exact, x, hi)
    return 0.5 * (lo + hi)


def cls_limits(model: OneBinModel, cl: float):
    """Observed and expected (shape (..., 5)) CLs upper limits in events."""
    alpha = 1.0 - cl
    n, b, sigma = model.n, model.b, model.sigma
    scale = np.sqrt(n + b + np.square(b * sigma)) + 1.0
    x0 = np.maximum(n - b, 0.0) + 4.0 * scale
    log_alpha = np.log(alpha)
    obs = solve_decreasing(lambda mu: model.log_cls(mu) - log_alpha, x0)
    # expected: Phi(-(k + sqrt(qA))) / Phi(-k) = alpha  <=>  sqrt(qA) = isf(alpha sf(k)) - k
    # pyhf's band order is k = 2, 1, 0, -1, -2 (t = k in -mu_hat/sigma space) -> -2σ..+2σ
    ks = -np.asarray(BAND_NSIGMA, dtype=np.float64)
    targets = stats.norm.isf(alpha * stats.norm.sf(ks)) - ks
    exp = np.empty(n.shape + (len(ks),))
    for i, target in enumerate(targets):
        exp[..., i] = solve_decreasing(
            lambda mu, tg=target: tg - np.sqrt(model.qtilde_asimov(mu)), x0
        )
    return obs, exp
