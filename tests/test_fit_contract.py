"""Fit results follow the shared result contract; the goodness-of-fit gate makes results honest."""

import dataclasses
import math
import warnings

import numpy as np
import pytest
from scipy import stats

from bumpstat.exceptions import InputError
from bumpstat.fit import (
    GOF_MIN_P,
    BumpHuntResult,
    FitWarning,
    FunctionChoice,
    GoodnessOfFit,
    NestedTest,
    SculptingResult,
    SidebandFit,
    SRTest,
    ToyFits,
    bumphunt,
    bumphunt_histogram,
    fit_sideband,
    get_function,
    goodness_of_fit,
    make_edges,
    pseudo_experiments,
    sculpting_curve,
    select_function,
    sr_test,
)
from bumpstat.results import TEST_FIELDS, Result
from bumpstat.scanpoint import LIMIT_CLS
from bumpstat.serialize import dumps, loads
from bumpstat.stats.cutcount import cut_and_count

SR = (3.3, 3.7)
P_TRUE = [1.0, 10.0, 5.0, 0.1]


def draw(rng, n, density):
    """n events of m (TeV) in [2.8, 5.2] from an unnormalised density, by inverse CDF."""
    grid = np.linspace(2.8, 5.2, 4001)
    d = density(grid)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(grid))])
    return np.interp(rng.random(n), cdf / cdf[-1], grid)


def dijet(grid):
    return get_function("dijet4").density(grid, P_TRUE)


@pytest.fixture(scope="module")
def null_events():
    return draw(np.random.default_rng(3), 100_000, dijet)


@pytest.fixture(scope="module")
def results(null_events):
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    mu = get_function("dijet4").bin_integrals(edges, P_TRUE)
    counts = np.random.default_rng(1).poisson(mu / mu.sum() * 1e5).astype(float)
    fit = fit_sideband(counts, edges, sr=SR)
    rng = np.random.default_rng(0)
    return [
        fit,
        sr_test(fit),
        bumphunt(null_events, window=SR),
        pseudo_experiments(fit, n_toys=3, seed=1),
        goodness_of_fit(fit),
        select_function(counts, edges, sr=SR),
        select_function(counts, edges, sr=SR).tests[0],
        sculpting_curve(null_events, rng.random(null_events.size), [0.5, 0.1], n_random=5),
    ]


def test_every_fit_result_is_a_frozen_result_with_strict_json(results):
    classes = {type(r) for r in results}
    assert classes == {SidebandFit, SRTest, BumpHuntResult, ToyFits, GoodnessOfFit,
                       FunctionChoice, NestedTest, SculptingResult}
    for r in results:
        assert isinstance(r, Result)
        assert type(r).__dataclass_params__.frozen
        assert type(r).__repr__ is Result.__repr__  # declared with repr=False
        field = dataclasses.fields(r)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(r, field, None)
        assert loads(dumps(r.to_dict())) == r.to_dict()
        assert len(repr(r)) <= 600 and r.records()


def test_sideband_fit_json_leaves_out_the_parametrisation(results):
    d = results[0].to_dict()
    assert "parametrisation" not in d and d["reason"] is None and d["variances"] is None


def test_test_results_use_the_shared_names(results):
    t, r = results[1], results[2]
    for name in ("n_obs", "n_exp", "n_exp_unc", "rel_unc", "z", "p_value", "valid", "reason"):
        assert hasattr(t, name)
    assert set(TEST_FIELDS) <= set(r.to_dict())
    for old in ("n_obs_sr", "n_pred_sr", "n_pred_sr_unc", "message"):
        assert old not in r.to_dict()
    assert r.to_dict()["method"] == "fit"


def test_bumphunt_numbers_limits_and_p_value(null_events):
    r = bumphunt(null_events, window=SR, cl=0.9)
    assert r.valid and r.reason is None
    assert r.n_obs == float(np.sum((null_events >= 3.3) & (null_events < 3.7)))
    assert r.rel_unc == pytest.approx(r.n_exp_unc / r.n_exp, rel=1e-12)
    assert r.p_value == pytest.approx(stats.norm.sf(r.z), rel=1e-12)
    ref = cut_and_count(r.n_obs, r.n_exp, r.rel_unc, cl=0.9)
    assert r.upper_limit == pytest.approx(float(ref.upper_limit), rel=1e-12)
    np.testing.assert_allclose(r.expected_limits, ref.expected_limits, rtol=1e-12)
    assert len(r.expected_limits) == 5 and np.all(np.diff(r.expected_limits) > 0)
    assert r.cl == 0.9 and r.min_gof_p == GOF_MIN_P
    assert r.limit_method.startswith(LIMIT_CLS[:-1])
    assert "with the fit's relative uncertainty on the SR prediction" in r.limit_method


def test_deficit_gives_negative_z_and_p_above_half(null_events):
    keep = ~((null_events >= 3.3) & (null_events < 3.7)) | (np.arange(null_events.size) % 20 > 0)
    r = bumphunt(null_events[keep], window=SR)
    assert r.valid and r.z < -3 and r.p_value > 0.99


def turn_on_events():
    """Dijet spectrum times a steep trigger-like turn-on at 3.0 TeV, inside the fit range."""
    return draw(np.random.default_rng(0), 100_000,
                lambda m: dijet(m) / (1.0 + np.exp(-(m - 3.0) / 0.05)))


def test_turn_on_in_the_fit_range_fails_the_gof_gate():
    m = turn_on_events()
    r = bumphunt(m, window=SR, fit_range=(2.8, 5.2), bins=30)
    assert r.valid is False
    assert "goodness of fit" in r.reason and f"< {GOF_MIN_P:g}" in r.reason
    assert math.isfinite(r.z) and math.isfinite(r.n_exp) and math.isfinite(r.upper_limit)
    assert r.deviance_p_value < GOF_MIN_P and r.chi2_ndof > 10
    assert loads(dumps(r))["valid"] is False
    # the gate is the only thing wrong: with it off the same numbers are valid
    off = bumphunt(m, window=SR, fit_range=(2.8, 5.2), bins=30, min_gof_p=0.0)
    assert off.valid and off.reason is None and off.z == r.z and off.n_exp == r.n_exp
    # the histogram path has the same gate
    _, t = bumphunt_histogram(np.asarray(r.counts), np.asarray(r.bins), sr=SR)
    assert not t.valid and "goodness of fit" in t.reason and math.isfinite(t.z)


def test_gof_reason_gives_tiny_p_values_as_numbers():
    g = GoodnessOfFit(chi2=1e4, ndof=20, chi2_ndof=500.0, deviance=1.4e4, deviance_p_value=0.0,
                      ks_statistic=0.5, ks_p_value=0.0, pulls=np.zeros(3))
    reason = g.failure()
    assert reason.startswith("sideband goodness of fit fails: deviance p = ")
    mantissa, exponent = reason.split("p = ")[1].split(" <")[0].split("e")
    assert 1 <= float(mantissa) < 10 and int(exponent) < -3000


def test_invalid_fit_is_flagged_with_a_reason(null_events):
    with pytest.warns(FitWarning):
        r = bumphunt(null_events * 1.0, window=SR, function="linear")
    assert r.valid is False and "sideband fit is not valid" in r.reason
    d = loads(dumps(r))
    assert d["valid"] is False and isinstance(d["reason"], str)


@pytest.mark.parametrize("kw", [{"cl": 1.0}, {"cl": 0.0}, {"min_gof_p": 1.0},
                                {"min_gof_p": -0.1}])
def test_bad_cl_or_gate_raise(null_events, kw):
    with pytest.raises(InputError):
        bumphunt(null_events, window=SR, **kw)


@pytest.mark.slow
def test_gof_gate_flags_about_one_in_a_thousand_null_spectra():
    """Background-only spectra drawn from a true dijet4 (1e5 events, 30 bins): the deviance
    p-value is uniform, so the 1e-3 gate flags ~0.1% of them (measured: 21, 16 and 18 of 20,000
    toys at 2e5, 1e5 and 1e4 events)."""
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    mu = get_function("dijet4").bin_integrals(edges, P_TRUE)
    mu = mu / mu.sum() * 1e5
    nominal = fit_sideband(np.random.default_rng(0).poisson(mu).astype(float), edges, sr=SR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        toys = pseudo_experiments(nominal, n_toys=5000, seed=11, expected=mu, sr_test=False)
    assert toys.fraction_valid == 1.0
    n_flagged = int(np.sum(toys.deviance_p_value < GOF_MIN_P))
    assert n_flagged <= 15  # Poisson mean 5: P(> 15) ~ 7e-5
    assert toys.fraction_failing_gof(GOF_MIN_P) == n_flagged / 5000
    assert stats.kstest(toys.deviance_p_value, "uniform").pvalue > 1e-3
