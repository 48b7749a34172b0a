"""The signal-region prediction of a sideband fit and the test of the observed excess.

Prediction: ``n_exp`` is the fitted function integrated over the SR bins (events); its
uncertainty is ``n_exp_unc = sqrt(g C g^T)`` with ``g = d n_exp / d theta`` (analytic; numerical
for custom functions) and C the HESSE covariance of the fit parameters.

Significance: profile likelihood with the fit parameters as nuisance parameters. The SR is one
counting bin on top of the fitted background. With a free signal count ``s`` in the SR (any
sign), the likelihood is ``L(s, theta) = L_SB(theta) * Pois(n_SR | b_SR(theta) + s)``. The test
statistic for ``s = 0`` is

    q0 = -2 ln [ max_theta L(0, theta) / max_{s,theta} L(s, theta) ]
       = D_joint(theta_hat_0) - D_SB(theta_hat),

the deviance of a background-only fit to the sidebands *plus the summed SR bin* minus the
deviance of the sideband-only fit (the SR bin is saturated when ``s`` is free). The significance
is signed, ``z = sign(n_obs - n_exp) sqrt(q0)``, and ``p_value = Phi(-z)`` (one-sided; a deficit
gives z < 0, p > 0.5). This profiles the full fit covariance (all correlations, no Gaussian
approximation of the prediction) and reduces to the Poisson-Gamma result (eq. 6 with the fit's
relative uncertainty) when the nuisance constraint is Gaussian. Background-only
pseudo-experiments give uniform p-values (tests/test_fit_bumphunt.py).

The test is ``valid`` only if the sideband fit is valid, its goodness of fit passes the gate
(deviance p-value >= ``min_gof_p``, :data:`bumpstat.fit.gof.GOF_MIN_P`), the fit including the
SR converges and the prediction has a finite, positive uncertainty; ``reason`` says which failed.

>>> import numpy as np
>>> from bumpstat.fit import fit_sideband, get_function, make_edges
>>> edges = make_edges((2.8, 5.2), 30, sr=(3.3, 3.7))
>>> mu = get_function("dijet4").bin_integrals(edges, [1.0, 10.0, 5.0, 0.1])
>>> counts = np.random.default_rng(1).poisson(mu / mu.sum() * 1e5).astype(float)
>>> t = sr_test(fit_sideband(counts, edges, sr=(3.3, 3.7)))
>>> t.valid, t.reason, bool(abs(t.z) < 4), bool(0.001 < t.rel_unc < 0.02)
(True, None, True, True)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from bumpstat.exceptions import FitError, WindowError
from bumpstat.fit.cost import cost_and_hessian
from bumpstat.fit.gof import GOF_MIN_P, goodness_of_fit
from bumpstat.fit.minimise import FitWarning, describe_failure, minimise
from bumpstat.fit.sideband import SidebandFit
from bumpstat.results import Result, p_value_of_z

__all__ = ["SRTest", "merge_sr", "sr_prediction", "sr_test"]

_NAN = float("nan")


@dataclass(frozen=True, repr=False)
class SRTest(Result):
    """SR prediction from the sideband fit and the test of the excess.

    Attributes
    ----------
    n_obs : float
        Observed (weighted) events in the SR bins.
    n_exp : float
        Fitted background integrated over the SR bins, events.
    n_exp_unc : float
        Its absolute uncertainty from the fit covariance, events.
    rel_unc : float
        ``n_exp_unc / n_exp`` (NaN when undefined).
    q0 : float
        Profile-likelihood test statistic (see module docstring).
    z : float
        Signed significance, negative for a deficit.
    p_value : float
        One-sided ``Phi(-z)``.
    valid : bool
        The numbers can be trusted (see module docstring).
    reason : str or None
        None when valid, otherwise why not.
    """

    n_obs: float
    n_exp: float
    n_exp_unc: float
    rel_unc: float
    q0: float
    z: float
    p_value: float
    valid: bool
    reason: str | None = None


def sr_prediction(fit: SidebandFit) -> tuple[float, float]:
    """Fitted background in the SR bins and its uncertainty from the fit covariance (events).

    The uncertainty is NaN when ``g C g^T`` is not finite and positive.
    """
    par = fit.parametrisation
    if par is None:
        raise FitError("the fit carries no parametrisation to propagate its covariance")
    q = fit.q
    srb = fit.sr_bins
    pred = float(np.sum(fit.expected[srb]))
    g = par.bin_integrals_grad(q)
    if g is None:  # numerical Jacobian for custom functions
        g = np.empty((len(q), len(srb)))
        for j in range(len(q)):
            h = 1e-5 * max(abs(q[j]), 1e-3)
            d = np.zeros(len(q))
            d[j] = h
            with np.errstate(all="ignore"):
                g[j] = (par.bin_integrals(q + d) - par.bin_integrals(q - d)) / (2 * h)
    gs = g[:, srb].sum(axis=1)
    with np.errstate(all="ignore"):
        var = float(gs @ fit.covariance_fit @ gs)
    return pred, math.sqrt(var) if var > 0 and math.isfinite(var) else _NAN


def merge_sr(fit: SidebandFit) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The histogram with the SR bins summed into one bin.

    Returns
    -------
    index : ndarray of int
        Indices into ``fit.edges`` of the merged edges.
    counts : ndarray
        Sideband counts with the SR total in place of the SR bins.
    variances : ndarray or None
        The same for the sums of squared weights.
    """
    srb = fit.sr_bins
    first, last = int(np.argmax(srb)), int(len(srb) - np.argmax(srb[::-1]))
    index = np.concatenate([np.arange(first + 1), np.arange(last, len(fit.edges))])
    counts = np.concatenate([fit.counts[:first], [float(np.sum(fit.counts[srb]))],
                             fit.counts[last:]])
    var = None
    if fit.variances is not None:
        v = fit.variances
        var = np.concatenate([v[:first], [float(np.sum(v[srb]))], v[last:]])
    return index, counts, var


def sr_test(fit: SidebandFit, *, min_gof_p: float = GOF_MIN_P) -> SRTest:
    """Predict the SR count from a sideband fit and test the observed excess.

    Parameters
    ----------
    fit : SidebandFit
        A fit with an SR (``fit.sr_bins`` not empty).
    min_gof_p : float, keyword-only
        The result is not valid if the sideband deviance p-value is below this
        (:data:`bumpstat.fit.gof.GOF_MIN_P`); 0 switches the gate off.

    Returns
    -------
    SRTest
        Numbers are kept when the test is not valid; ``q0``, ``z`` and ``p_value`` are NaN only
        when the fits needed for them failed.
    """
    srb = fit.sr_bins
    if not srb.any():
        raise WindowError("the fit has no signal-region bins to test")
    par = fit.parametrisation
    if par is None:
        raise FitError("the fit carries no parametrisation to refit with the SR")
    n_obs = float(np.sum(fit.counts[srb]))
    n_exp, unc = sr_prediction(fit)
    rel = unc / n_exp if n_exp > 0 and math.isfinite(unc) else _NAN
    reasons = []
    if not fit.valid:
        reasons.append(f"sideband fit is not valid: {fit.reason}")
    elif min_gof_p > 0:
        gof_reason = goodness_of_fit(fit).failure(min_gof_p)
        if gof_reason:
            reasons.append(gof_reason)
    q0 = z = _NAN
    if fit.valid:
        index, counts, var = merge_sr(fit)
        cost, hess = cost_and_hessian(par, counts, fit.edges, var, None, index)
        m, _, _ = minimise(cost, par, fit.q, hessian=hess, hesse=False)
        if m.fmin is not None and m.fmin.is_valid and math.isfinite(m.fval):
            q0 = max(float(m.fval) - float(fit.fval), 0.0)
            z = math.copysign(math.sqrt(q0), n_obs - n_exp)
        else:
            warnings.warn("background-only fit including the SR did not converge; z is not "
                          "valid", FitWarning, stacklevel=2)
            reasons.append("background-only fit including the SR did not converge: "
                           + describe_failure(m))
        if not math.isfinite(rel):
            reasons.append(f"the uncertainty of the SR prediction is not finite and positive "
                           f"(n_exp = {n_exp:.6g}, n_exp_unc = {unc:.6g})")
    return SRTest(n_obs=n_obs, n_exp=n_exp, n_exp_unc=unc, rel_unc=rel, q0=q0, z=z,
                  p_value=p_value_of_z(z), valid=not reasons,
                  reason="; ".join(reasons) if reasons else None)
