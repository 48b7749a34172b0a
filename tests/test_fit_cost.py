"""The analytic Hessian is the Hessian of the cost iminuit minimises, weighted histograms included.

For a weighted histogram iminuit's ExtendedBinnedNLL uses the Bohm-Zech scale ``s = n / var``
and gives bins of zero variance the median of ``s`` over the bins it *uses* (after the mask).
The checks below put empty bins in the sidebands and in the SR, with a scale that varies from
bin to bin, so that the median over all bins and over the used bins differ, and compare the
analytic Hessian with a finite-difference Hessian of ``cost(*q)`` itself.
"""

import numpy as np
import pytest

from bumpstat.fit import fit_sideband, get_function, make_edges, sr_mask
from bumpstat.fit.cost import bohm_zech_scale, cost_and_hessian, make_cost, make_hessian
from bumpstat.fit.srtest import merge_sr

SR = (3.3, 3.7)


@pytest.fixture(scope="module")
def weighted_fit():
    """A weighted dijet4 spectrum (mean weight rising with m) with three empty bins: two in
    the sidebands, one in the SR."""
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    mu = get_function("dijet4").bin_integrals(edges, [1.0, 10.0, 5.0, 0.1])
    mu = mu / mu.sum() * 2e4
    centres = 0.5 * (edges[1:] + edges[:-1])
    n = np.random.default_rng(1).poisson(mu).astype(float)
    w = 0.5 + 0.8 * (centres - 2.8)
    counts, var = n * w, n * w**2 * 1.2
    srb = sr_mask(edges, SR)
    empty = [3, int(np.argmax(srb)) + 1, 27]
    counts[empty] = 0.0
    var[empty] = 0.0
    fit = fit_sideband(counts, edges, sr=SR, variances=var)
    assert fit.valid
    return fit, empty


def numerical_hessian(f, q, rel_step=1e-3):
    """Central second differences of the scalar function f(*q)."""
    k = len(q)
    h = rel_step * np.maximum(np.abs(q), 1.0)
    out = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            di, dj = np.zeros(k), np.zeros(k)
            di[i], dj[j] = h[i], h[j]
            out[i, j] = (f(*(q + di + dj)) - f(*(q + di - dj)) - f(*(q - di + dj))
                         + f(*(q - di - dj))) / (4 * h[i] * h[j])
    return out


def cases(fit):
    index, counts, var = merge_sr(fit)
    merged_mask = np.ones(counts.size, bool)
    merged_mask[2] = False
    return {
        "sidebands (SR masked)": (fit.counts, fit.variances, fit.sideband_bins, None),
        "SR merged into one bin": (counts, var, None, index),
        "SR merged, one bin masked": (counts, var, merged_mask, index),
    }


@pytest.mark.parametrize("case", ["sidebands (SR masked)", "SR merged into one bin",
                                  "SR merged, one bin masked"])
def test_analytic_hessian_is_the_hessian_of_the_weighted_cost(weighted_fit, case):
    fit, _ = weighted_fit
    counts, var, mask, index = cases(fit)[case]
    cost = make_cost(fit.parametrisation, counts, fit.edges, var, mask, index)
    hess = make_hessian(fit.parametrisation, counts, var, mask, index)
    q = fit.q
    num = numerical_hessian(cost, q)
    ana = hess(*q)
    assert np.max(np.abs(ana - num)) < 1e-5 * np.max(np.abs(num))
    np.testing.assert_allclose(np.diag(ana), np.diag(num), rtol=1e-5)


@pytest.mark.parametrize("case", ["sidebands (SR masked)", "SR merged into one bin",
                                  "SR merged, one bin masked"])
def test_scale_is_the_one_iminuit_uses(weighted_fit, case):
    fit, _ = weighted_fit
    counts, var, mask, index = cases(fit)[case]
    cost, _ = cost_and_hessian(fit.parametrisation, counts, fit.edges, var, mask, index)
    used = np.ones(counts.size, bool) if mask is None else mask
    iminuit_scale = getattr(cost, "_bohm_zech_s", None)
    if iminuit_scale is None:
        pytest.skip("this iminuit keeps the Bohm-Zech scale elsewhere")
    np.testing.assert_array_equal(bohm_zech_scale(counts, var, mask)[used], iminuit_scale)


def test_setup_distinguishes_the_median_over_used_bins(weighted_fit):
    """Guard: in this set-up the median over all bins differs from the one over the sidebands,
    so the Hessian test would fail with the scale taken over all bins."""
    fit, empty = weighted_fit
    all_bins = bohm_zech_scale(fit.counts, fit.variances)
    sidebands = bohm_zech_scale(fit.counts, fit.variances, fit.sideband_bins)
    assert abs(all_bins[empty[0]] / sidebands[empty[0]] - 1) > 1e-3


def test_fit_hesse_matches_inverse_of_cost_hessian(weighted_fit):
    """The covariance the fit reports is 2 H^-1 of the cost it minimised (errordef 1)."""
    fit, _ = weighted_fit
    cost = make_cost(fit.parametrisation, fit.counts, fit.edges, fit.variances,
                     fit.sideband_bins)
    cov = 2 * np.linalg.inv(numerical_hessian(cost, fit.q))
    np.testing.assert_allclose(fit.covariance_fit, cov, rtol=1e-4,
                               atol=1e-4 * np.max(np.abs(np.diag(cov))))


def test_unweighted_scale_is_one_and_no_used_bin_gives_nan():
    n = np.array([0.0, 5.0, 7.0])
    np.testing.assert_array_equal(bohm_zech_scale(n, None), 1.0)
    s = bohm_zech_scale(n, np.array([0.0, 0.0, 14.0]), np.array([True, True, False]))
    assert np.isnan(s[0]) and s[2] == 0.5
