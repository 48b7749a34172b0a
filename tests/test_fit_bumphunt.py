"""Pseudo-experiment validation of the sideband fit and the SR test, and the score-cut bump hunt.

Tolerances follow from the toy statistics: for N toys the mean of unit-width pulls has standard
error 1/sqrt(N) and their standard deviation ~1/sqrt(2N); we allow 4 of those.
"""

import math

import numpy as np
import pytest
from scipy import stats

from bumpstat.fit import (
    bumphunt,
    fit_sideband,
    get_function,
    make_edges,
    pseudo_experiments,
    score_threshold,
    sr_test,
)

SR = (3.3, 3.7)
P_TRUE = [1.0, 10.0, 5.0, 0.1]


def truth(edges, total):
    mu = get_function("dijet4").bin_integrals(edges, P_TRUE)
    return mu / mu.sum() * total


def check_toys(n_toys, seed, total=2e5):
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    mu = truth(edges, total)
    nominal = fit_sideband(np.random.default_rng(seed).poisson(mu).astype(float), edges, sr=SR)
    toys = pseudo_experiments(nominal, n_toys=n_toys, seed=seed + 1, expected=mu)
    assert toys.fraction_valid == 1.0
    # true parameters in the (fixed) fit parametrisation of these toys
    p_true = np.array(P_TRUE, float)
    p_true[0] *= total / get_function("dijet4").bin_integrals(edges, P_TRUE).sum()
    q_true = nominal.parametrisation.from_conventional(p_true)
    pulls = (toys.parameters_fit - q_true) / toys.errors_fit
    tol_mean, tol_std = 4 / math.sqrt(n_toys), 4 / math.sqrt(2 * n_toys)
    np.testing.assert_array_less(np.abs(pulls.mean(axis=0)), tol_mean)
    np.testing.assert_array_less(np.abs(pulls.std(axis=0) - 1), tol_std)
    # SR prediction unbiased, and its uncertainty equals the toy spread
    b_sr = mu[nominal.sr_bins].sum()
    pred = toys.n_exp
    assert abs(pred.mean() - b_sr) < 4 * pred.std() / math.sqrt(n_toys)
    assert abs(np.median(toys.n_exp_unc) / pred.std() - 1) < tol_std
    # background only: p-values uniform, Z ~ N(0, 1)
    assert stats.kstest(toys.p_value, "uniform").pvalue > 1e-3
    assert abs(toys.z.mean()) < tol_mean and abs(toys.z.std() - 1) < tol_std
    return toys


def test_pulls_sr_bias_and_pvalues_reduced():
    check_toys(100, seed=10)


@pytest.mark.slow
def test_pulls_sr_bias_and_pvalues_full():
    toys = check_toys(400, seed=20)
    assert toys.fraction_valid == 1.0


def test_profile_likelihood_z_close_to_eq6_with_fit_uncertainty():
    """For a Gaussian-like nuisance the profile-likelihood Z agrees with eq. 6 (cross-check)."""
    sig = pytest.importorskip("bumpstat.stats.significance")
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    mu = truth(edges, 2e5)
    n = np.random.default_rng(1).poisson(mu).astype(float)
    fit = fit_sideband(n, edges, sr=SR)
    n_sr = fit.counts[fit.sr_bins].sum()
    for extra in (0.0, 600.0, 1200.0):
        counts = fit.counts.copy()
        counts[fit.sr_bins] += extra * mu[fit.sr_bins] / mu[fit.sr_bins].sum()
        f2 = fit_sideband(counts, edges, sr=SR)
        t = sr_test(f2)
        z6 = sig.asimov_significance(n_sr + extra, t.n_exp, t.n_exp_unc / t.n_exp)
        assert abs(t.z - float(z6)) < 0.05 + 0.02 * abs(t.z)


def draw_events(rng, n_bkg, n_sig, edges):
    """Background from the dijet function (inverse CDF on a fine grid), Gaussian signal at 3.5
    TeV; a score that is U(0, 1) for background and Beta(50, 1) for signal."""
    fine = np.linspace(edges[0], edges[-1], 4001)
    cdf = np.concatenate([[0], np.cumsum(get_function("dijet4").bin_integrals(fine, P_TRUE))])
    m_b = np.interp(rng.random(n_bkg), cdf / cdf[-1], fine)
    m_s = rng.normal(3.5, 0.07, n_sig)
    m = np.concatenate([m_b, m_s])
    score = np.concatenate([rng.random(n_bkg), rng.beta(50, 1, n_sig)])
    return m, score


def test_significance_grows_with_tighter_cut():
    rng = np.random.default_rng(7)
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    m, score = draw_events(rng, 300_000, 600, edges)
    zs = []
    for eps in (1.0, 0.1, 0.02):
        r = bumphunt(m, score, window=SR, eps_b=eps, edges=edges)
        assert r.valid and r.threshold_source == "sr_data"
        zs.append(r.z)
    assert zs[0] < zs[1] < zs[2]
    assert zs[2] > 5.0
    d = r.to_dict()
    assert d["method"] == "fit" and d["eps_b"] == 0.02


def test_template_threshold_and_explicit_threshold_agree():
    rng = np.random.default_rng(8)
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    m, score = draw_events(rng, 100_000, 0, edges)
    template = rng.random(50_000)
    r1 = bumphunt(m, score, window=SR, eps_b=0.1, template_scores=template, edges=edges)
    thr = score_threshold(template, 0.1)
    r2 = bumphunt(m, score, window=SR, threshold=thr, edges=edges)
    assert r1.threshold_source == "template" and r1.threshold == pytest.approx(thr)
    assert r1.n_obs == r2.n_obs and r1.z == pytest.approx(r2.z)
    # about 10% of all events in the fit range pass
    assert abs(r1.n_selected / np.sum((m >= 2.8) & (m < 5.2)) - 0.1) < 0.01


def test_toys_identical_across_workers():
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    mu = truth(edges, 5e4)
    fit = fit_sideband(np.random.default_rng(0).poisson(mu).astype(float), edges, sr=SR)
    a = pseudo_experiments(fit, n_toys=8, seed=3, workers=1)
    b = pseudo_experiments(fit, n_toys=8, seed=3, workers=2)
    np.testing.assert_allclose(a.z, b.z, rtol=1e-10)
