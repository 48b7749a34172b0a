"""Closed-form one-bin model: against eq. 6, direct numerical likelihood fits, closed forms."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from scipy import optimize, stats

from bumpstat.exceptions import InputError
from bumpstat.stats import (
    CutCountResult,
    asimov_significance,
    cut_and_count,
    discovery,
    upper_limit,
)
from bumpstat.stats.onebin_model import OneBinModel


def _nll(mu, gamma, n, a, b, tau):
    """Poisson NLL of the one-bin shapesys model, up to constants."""
    lam = mu + gamma * b
    return lam - n * math.log(lam) + gamma * tau - a * math.log(gamma)


@pytest.mark.parametrize(
    ("n", "a_scale", "b", "sigma", "mu"),
    [
        (130.0, 1.0, 100.0, 0.1, 0.0),
        (130.0, 1.0, 100.0, 0.1, 55.0),
        (0.0, 1.0, 3.0, 0.5, 2.0),
        (5.0, 0.7, 3.2, 0.3, 10.0),
        (1e5, 1.2, 9e4, 0.02, 1e4),
        (50.0, 1.0, 10.0, 1.0, 300.0),
    ],
)
def test_conditional_gamma_is_the_likelihood_minimum(n, a_scale, b, sigma, mu):
    tau = 1.0 / sigma**2
    a = a_scale * tau
    model = OneBinModel(n, b, sigma)
    g = float(model.gamma_hat_hat(np.asarray(mu), np.asarray(n), np.asarray(a)))
    res = optimize.minimize_scalar(
        lambda lg: _nll(mu, math.exp(lg), n, a, b, tau),
        bounds=(-20, 5),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert g == pytest.approx(math.exp(res.x), rel=1e-5)
    assert _nll(mu, g, n, a, b, tau) <= res.fun + 1e-9 * abs(res.fun)


def test_q0_equals_eq6_squared_for_excesses():
    # the analytic statement of the module docstring: sqrt(q0) of the shapesys model == eq. 6
    rng = np.random.default_rng(3)
    b = 10 ** rng.uniform(-1, 6, 2000)
    n = b * (1 + 10 ** rng.uniform(-3, 1, b.size))
    s = np.where(rng.random(b.size) < 0.2, 0.0, 10 ** rng.uniform(-3, 0, b.size))
    res = discovery(n, b, s)
    np.testing.assert_allclose(res.q0, asimov_significance(n, b, s) ** 2, rtol=1e-9)
    np.testing.assert_allclose(res.z**2, res.q0, rtol=1e-9)
    np.testing.assert_allclose(res.p_value, stats.norm.sf(res.z), rtol=1e-9)


def test_deficit_one_sided_q0_signed_z():
    res = cut_and_count([0.0, 50.0, 100.0], 100.0, 0.1)
    np.testing.assert_array_equal(res.q0, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(res.p_value_q0, [0.5, 0.5, 0.5])  # pyhf's convention
    assert res.z[0] < res.z[1] < 0 and res.z[2] == 0
    np.testing.assert_allclose(res.p_value, stats.norm.sf(res.z), rtol=1e-12)  # Phi(-z)
    np.testing.assert_allclose(res.z, asimov_significance([0.0, 50.0, 100.0], 100.0, 0.1))


def test_sigma_zero_discovery_closed_form():
    for n, b in [(8.0, 2.0), (150.0, 100.0), (1e6 + 3e3, 1e6)]:
        q0 = 2 * (n * math.log(n / b) - (n - b))
        assert discovery(n, b, 0.0).q0 == pytest.approx(q0, rel=1e-9)


def _ref_limits_sigma0(n, b, cl=0.95):
    """Independent asymptotic CLs limits for a plain Poisson count (no nuisance parameter).

    q~(mu) and q_A(mu) in closed form (Cowan et al. 2011 eqs. 16, 27), CLs as pyhf computes it.
    """
    alpha = 1 - cl
    mu_hat = max(n - b, 0.0)

    def two_nll(mu, nn):
        return 2 * ((mu + b) - (nn * math.log(mu + b) if nn > 0 else 0.0))

    def q_obs(mu):
        return 0.0 if mu_hat > mu else max(two_nll(mu, n) - two_nll(mu_hat, n), 0.0)

    def q_asimov(mu):
        return 2 * (mu - b * math.log1p(mu / b))

    def cls(mu):
        q, qa = q_obs(mu), q_asimov(mu)
        sq, sqa = math.sqrt(q), math.sqrt(qa)
        t = sq - sqa if sq <= sqa else (q - qa) / (2 * sqa)
        return stats.norm.sf(t + sqa) / stats.norm.sf(t)

    hi = 10 * (n + b + 10)
    obs = optimize.brentq(lambda m: cls(m) - alpha, 1e-9, hi, xtol=1e-13, rtol=1e-13)
    exp = []
    for k in (2, 1, 0, -1, -2):

        def f(m, k=k):
            return stats.norm.sf(k + math.sqrt(q_asimov(m))) / stats.norm.sf(k) - alpha

        exp.append(optimize.brentq(f, 1e-9, hi, xtol=1e-13, rtol=1e-13))
    return obs, exp


@pytest.mark.parametrize(
    ("n", "b"), [(0.0, 3.0), (2.0, 3.0), (8.0, 2.0), (90.0, 100.0), (140.0, 100.0), (1e4, 1.05e4)]
)
def test_sigma_zero_limits_vs_independent_closed_form(n, b):
    obs, exp = _ref_limits_sigma0(n, b)
    res = upper_limit(n, b, 0.0)
    assert res.upper_limit == pytest.approx(obs, rel=1e-9)
    np.testing.assert_allclose(res.expected_limits, exp, rtol=1e-9)


def test_limit_no_background_analytic():
    # b -> 0, n = 0: q~ = q_A = 2 mu, CLs = 2 Phi(-sqrt(2 mu)) -> mu = isf(alpha/2)^2 / 2
    ref = stats.norm.isf(0.025) ** 2 / 2
    assert upper_limit(0.0, 1e-9).upper_limit == pytest.approx(ref, rel=1e-6)
    ref90 = stats.norm.isf(0.05) ** 2 / 2
    assert upper_limit(0.0, 1e-9, cl=0.90).upper_limit == pytest.approx(ref90, rel=1e-6)


def test_limits_behave():
    n = np.array([80.0, 100.0, 120.0, 160.0])
    res = cut_and_count(n, 100.0, 0.1)
    assert np.all(np.diff(res.upper_limit) > 0)  # more events seen -> weaker limit
    assert np.all(np.diff(res.expected_limits, axis=-1) > 0)  # -2σ < ... < +2σ
    # a larger uncertainty weakens observed and expected limits
    ul = upper_limit(100.0, 100.0, [0.0, 0.05, 0.2, 0.5])
    assert np.all(np.diff(ul.upper_limit) > 0)
    assert np.all(np.diff(ul.expected_limits[:, 2]) > 0)
    # n = b: the observed limit sits at the median expected one (Asimov data = observed data)
    assert ul.upper_limit[2] == pytest.approx(ul.expected_limits[2, 2], rel=1e-9)
    # large b: median expected ~ 1.96 sqrt(b + (sigma b)^2) up to the CLs/Poisson corrections
    big = upper_limit(1e6, 1e6, 0.001)
    assert big.expected_limits[2] == pytest.approx(1.96 * math.sqrt(1e6 + 1e6), rel=0.02)


def test_sigma_to_zero_is_continuous():
    a = cut_and_count(5.0, 3.2, 0.0)
    c = cut_and_count(5.0, 3.2, 1e-7)
    assert c.upper_limit == pytest.approx(a.upper_limit, rel=1e-9)
    np.testing.assert_allclose(c.expected_limits, a.expected_limits, rtol=1e-9)
    assert c.q0 == pytest.approx(a.q0, rel=1e-9)


def test_result_shapes_types_and_json():
    r = cut_and_count(12.0, 10.0, 0.2)
    assert isinstance(r, CutCountResult)
    assert isinstance(r.z, float) and isinstance(r.upper_limit, float)
    assert isinstance(r.expected_limits, tuple) and len(r.expected_limits) == 5
    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert set(d) == {
        "n_obs",
        "n_exp",
        "rel_unc",
        "q0",
        "p_value",
        "p_value_q0",
        "n_exp_unc",
        "z",
        "upper_limit",
        "expected_limits",
        "cl",
        "limit_method",
    }
    with pytest.raises(AttributeError):
        r.z = 1.0  # frozen

    arr = cut_and_count(np.array([[12.0, 3.0]]), 10.0, [0.2, 0.0])
    assert arr.z.shape == (1, 2) and arr.expected_limits.shape == (1, 2, 5)
    assert arr.upper_limit[0, 0] == r.upper_limit and arr.z[0, 0] == r.z
    with pytest.raises(ValueError):
        arr.z[0, 0] = 3.0  # read-only
    assert json.loads(json.dumps(arr.to_dict()))["expected_limits"][0][0] == list(r.expected_limits)


def test_scan_of_270_limits_is_fast():
    # 9 windows x 3 working points x 10 runs
    rng = np.random.default_rng(11)
    b = np.repeat([1200.0, 120.0, 12.0], 90) * rng.uniform(0.8, 1.2, 270)
    n = rng.poisson(b).astype(float)
    s = np.repeat([0.08, 0.15, 0.4], 90)
    cut_and_count(n[:3], b[:3], s[:3])  # warm-up
    t0 = time.perf_counter()
    res = cut_and_count(n, b, s)
    assert time.perf_counter() - t0 < 0.5
    assert np.all(np.isfinite(res.upper_limit)) and np.all(np.isfinite(res.expected_limits))
    # elementwise identical to one-by-one evaluation
    one = cut_and_count(n[17], b[17], s[17])
    assert res.upper_limit[17] == pytest.approx(one.upper_limit, rel=1e-10)


def test_bad_input():
    with pytest.raises(InputError, match="n_obs .* 1 invalid entry"):
        cut_and_count([1.0, -1.0], 1.0, 0.1)
    with pytest.raises(InputError, match="n_exp"):
        cut_and_count(1.0, 0.0, 0.1)
    with pytest.raises(InputError, match="rel_unc .* 2 invalid entries"):
        cut_and_count(1.0, 1.0, [np.nan, np.inf, 0.1])
    with pytest.raises(InputError, match="cl"):
        cut_and_count(1.0, 1.0, 0.1, cl=1.5)
    with pytest.raises(InputError, match=r"broadcast.*n_obs \(2,\), n_exp \(3,\)"):
        cut_and_count([1.0, 2.0], [1.0, 2.0, 3.0], 0.1)


def test_records_one_row_per_model():
    r = cut_and_count(np.array([[12.0, 3.0], [5.0, 6.0]]), 10.0, [0.2, 0.0])
    rows = r.records()
    assert [row["index"] for row in rows] == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert rows[1]["z"] == r.z[0, 1] and rows[1]["n_exp_unc"] == 0.0
    assert rows[2]["expected_limit_median"] == r.expected_limits[1, 0, 2]
    assert json.loads(json.dumps(rows)) == rows
