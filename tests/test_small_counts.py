"""Small counts (issue 10, point 4): toy-based p-values and CLs limits of the one-bin model and
Z_Bi, against independent references.

* the test statistics against the closed form (eq. 6, the pyhf-validated q~) and pyhf's own
  ``q0`` / ``qmu_tilde`` on toy-like data; the toy-generation point against pyhf's
  ``fixed_poi_fit``;
* the toy p-values against exact sums: the Poisson tail (σ = 0) and the sum over the (n, a)
  lattice of the model (σ > 0);
* the σ = 0 CLs limits and their band against the exact Poisson CLs
  ``P(N <= n | mu + b) / P(N <= n | b)``;
* pyhf's ``ToyCalculator`` end to end (a small run by default, a grid under ``-m slow``);
* Z_Bi against the binomial tail summed in exact rational arithmetic;
* toys vs asymptotics at large counts, reproducibility, bad input, the CLI.
"""

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import optimize, stats

from bumpstat.cli import main
from bumpstat.exceptions import InputError
from bumpstat.stats.cutcount import cut_and_count
from bumpstat.stats.onebin import one_bin_test, z_bi
from bumpstat.stats.onebin_model import OneBinModel
from bumpstat.stats.significance import asimov_significance
from bumpstat.stats.toys import (
    LIMIT_CLS_TOYS,
    _OneBin,
    toy_discovery,
    toy_limits,
)

from helpers import strict_json

BAND = stats.norm.cdf([-2.0, -1.0, 0.0, 1.0, 2.0])


# --------------------------------------------------------------------------- references
def exact_toy_p(n_obs, b, sigma):
    """P(t0 >= t0_obs) summed over the (n, a) lattice at mu = 0, gamma_hat(0): what infinitely
    many toys give."""
    m = _OneBin(n_obs, b, sigma)
    g0 = float(m.gamma_hat(0.0, n_obs, m.a_obs))
    lam_n, lam_a = g0 * b, g0 * m.tau
    n = np.arange(0, int(lam_n + 12 * math.sqrt(lam_n) + 40))
    a = np.arange(max(0, int(lam_a - 12 * math.sqrt(lam_a) - 40)),
                  int(lam_a + 12 * math.sqrt(lam_a) + 40))
    nn, aa = np.meshgrid(n.astype(float), a.astype(float), indexing="ij")
    w = stats.poisson.pmf(nn, lam_n) * stats.poisson.pmf(aa, lam_a)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    t_obs = float(m.t0(np.float64(n_obs), np.float64(m.a_obs)))
    return float(w[m.t0(nn, aa) >= t_obs - 1e-9 * (1 + abs(t_obs))].sum())


def exact_cls(n, b, mu):
    """CLs of a Poisson count without uncertainty (q~ is decreasing in n)."""
    return stats.poisson.cdf(n, mu + b) / stats.poisson.cdf(n, b)


def exact_limit(n, b, cl=0.95):
    return optimize.brentq(lambda mu: exact_cls(n, b, mu) - (1 - cl), 1e-9, 200.0, xtol=1e-12)


def limit_mc_sd(n, b, mu, n_toys):
    """Monte-Carlo standard deviation of a toy CLs limit at mu (delta method)."""
    p_sb, p_b = stats.poisson.cdf(n, mu + b), stats.poisson.cdf(n, b)
    sd_log = math.sqrt((1 - p_sb) / (n_toys * p_sb) + (1 - p_b) / (n_toys * p_b))
    h = 1e-5 * max(mu, 1.0)
    slope = (math.log(exact_cls(n, b, mu + h)) - math.log(exact_cls(n, b, mu - h))) / (2 * h)
    return sd_log / abs(slope)


def binom_tail_exact(k, n, p):
    """P(X >= k | n, p) in exact rational arithmetic."""
    return float(sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1)))


@pytest.fixture
def numpy_global_seed():
    """pyhf's numpy backend samples toys through numpy's global state: seed it, then restore."""
    state = np.random.get_state()  # noqa: NPY002 - pyhf samples from the global state
    np.random.seed(12345)  # noqa: NPY002
    yield
    np.random.set_state(state)  # noqa: NPY002


def pyhf_toys(n, b, sigma, mu, test_stat, n_toys):
    """pyhf ToyCalculator: (CLsb, CLb, CLs) of the data at mu, and the expected CLs band.

    The band is ``ToyCalculator.expected_pvalues`` recomputed here: pyhf 0.7.6 calls
    ``np.percentile(..., interpolation=...)``, which numpy 2 removed, so ``hypotest(...,
    calctype="toybased")`` itself cannot run.
    """
    from bumpstat.stats.pyhf_models import _numpy_backend, build_workspace

    ws = build_workspace(n, b, sigma, signal_events=1.0)
    with _numpy_backend() as pyhf:
        workspace = pyhf.Workspace(ws)
        model = workspace.model()
        data = workspace.data(model)
        calc = pyhf.infer.calculators.ToyCalculator(data, model, ntoys=n_toys,
                                                    test_stat=test_stat, track_progress=False)
        obs = calc.teststatistic(mu)
        sb, bo = calc.distributions(mu)
        clsb, clb, cls = (float(x) for x in calc.pvalues(obs, sb, bo))
        per_toy = [float(calc.pvalues(t, sb, bo)[2]) for t in bo.samples]
    return clsb, clb, cls, np.percentile(per_toy, 100 * BAND)


# --------------------------------------------------------------------------- test statistics
MODELS = [(0.0, 2.0, 0.0), (1.0, 3.0, 0.2), (4.0, 1.5, 0.3), (7.0, 2.0, 1.0), (30.0, 20.0, 0.1),
          (3.0, 3.0, 0.0), (12.0, 4.0, 0.05), (0.0, 5.0, 0.5)]


@pytest.mark.parametrize("n,b,s", MODELS)
def test_statistics_on_the_data_equal_the_closed_form(n, b, s):
    m = _OneBin(n, b, s)
    t_obs = float(m.t0(np.float64(n), np.float64(m.a_obs)))
    assert t_obs == pytest.approx(asimov_significance(n, b, s), rel=1e-8, abs=1e-8)  # eq. 6
    ref = OneBinModel(n, b, s)
    for mu in (0.3, 2.0, 6.0, 15.0):
        assert float(m.qtilde(mu, np.float64(n), np.float64(m.a_obs))) == pytest.approx(
            float(ref.qtilde(mu)), rel=1e-8, abs=1e-9)
        assert float(m.gamma_hat(mu, n, m.a_obs)) == pytest.approx(
            float(ref.gamma_hat_hat(mu, n, m.a_obs)) if s else 1.0, rel=1e-10)


def test_statistics_on_toy_data_equal_pyhf():
    from bumpstat.stats.pyhf_models import _numpy_backend, build_workspace

    n_obs, b, s = 4.0, 1.5, 0.3
    m = _OneBin(n_obs, b, s)
    with _numpy_backend() as pyhf:
        ws = pyhf.Workspace(build_workspace(n_obs, b, s, signal_events=1.0))
        model = ws.model()
        data = ws.data(model)
        init, bounds, fixed = (model.config.suggested_init(), model.config.suggested_bounds(),
                               model.config.suggested_fixed())
        assert model.config.auxdata == pytest.approx([m.tau])
        # the toys are thrown at pyhf's conditional fit to the observed data
        for mu in (0.0, 2.0, 7.0):
            pars = pyhf.infer.mle.fixed_poi_fit(mu, data, model, init, bounds, fixed)
            assert float(pars[1]) == pytest.approx(float(m.gamma_hat(mu, n_obs, m.a_obs)),
                                                   rel=1e-3)
        # toy-like data (n, a), including n = 0 and a = 0
        for n, a in [(0, 0), (0, 11), (1, 5), (3, 14), (7, 9), (2, 0), (12, 20)]:
            toy = np.array([n, a], dtype=float)
            q0 = float(pyhf.infer.test_statistics.q0(0.0, toy, model, init, bounds, fixed))
            t0 = float(m.t0(np.float64(n), np.float64(a)))
            assert max(t0, 0.0) ** 2 == pytest.approx(q0, rel=1e-5, abs=1e-5)
            for mu in (1.0, 5.0):
                q = float(pyhf.infer.test_statistics.qmu_tilde(mu, toy, model, init, bounds,
                                                               fixed))
                assert float(m.qtilde(mu, np.float64(n), np.float64(a))) == pytest.approx(
                    q, rel=1e-5, abs=1e-5)


# --------------------------------------------------------------------------- p-values
@pytest.mark.parametrize("n,b", [(3, 1.0), (6, 1.5), (10, 4.0), (1, 3.0), (0, 0.5)])
def test_discovery_without_uncertainty_is_the_poisson_tail(n, b):
    r = toy_discovery(n, b, 0.0, n_toys=100_000, seed=1)
    exact = stats.poisson.sf(n - 1, b)  # P(N >= n)
    if exact == 1.0:  # n = 0: every toy is as extreme; Z = -inf, null in JSON
        assert r.p_value == 1.0 and r.z == -math.inf and strict_json(r.to_json())["z"] is None
        return
    assert abs(r.p_value - exact) < 4 * math.sqrt(exact * (1 - exact) / r.n_toys)
    assert r.p_value_unc == pytest.approx(math.sqrt(r.p_value * (1 - r.p_value) / r.n_toys))
    assert stats.norm.sf(r.z) == pytest.approx(r.p_value, rel=1e-12)  # p = Phi(-z)
    # pyhf's q0 convention: the same tail for an excess, 1 for a deficit
    assert r.p_value_q0 == (r.p_value if n > b else 1.0)


@pytest.mark.parametrize("n,b,s", [(5, 2.0, 0.3), (8, 3.0, 0.5), (1, 3.0, 0.2), (4, 1.0, 1.0),
                                   (9, 4.0, 0.1)])
def test_discovery_with_uncertainty_matches_the_exact_sum(n, b, s):
    r = toy_discovery(n, b, s, n_toys=100_000, seed=2)
    exact = exact_toy_p(n, b, s)
    assert abs(r.p_value - exact) < 4 * math.sqrt(exact * (1 - exact) / r.n_toys)
    # thrown at the conditional MLE, not at the nominal gamma = 1: that would differ here
    g0 = float(_OneBin(n, b, s).gamma_hat(0.0, n, 1 / s**2))
    assert abs(g0 - 1.0) > 0.01


def test_no_toy_as_extreme_is_a_bound():
    r = toy_discovery(25, 2.0, 0.1, n_toys=1000, seed=0)
    assert r.p_value_bound == "upper" and r.p_value_unc is None
    assert r.p_value == pytest.approx(1 - 0.05 ** (1 / 1000))
    assert r.z < asimov_significance(25, 2.0, 0.1)  # a lower bound only


# --------------------------------------------------------------------------- limits
@pytest.mark.parametrize("n,b", [(0, 0.5), (2, 3.0)])
def test_limits_without_uncertainty_are_the_exact_poisson_cls(n, b):
    n_toys = 20_000
    r = toy_limits(n, b, 0.0, n_toys=n_toys, seed=3)
    ref = exact_limit(n, b)
    assert abs(r.upper_limit - ref) < 4 * limit_mc_sd(n, b, ref, n_toys) + 1e-3 * ref
    # the band: the exact limit at the Poisson quantiles of the background-only count
    for k, p in enumerate(BAND):
        n_k = int(stats.poisson.ppf(p, b))
        # the quantile is clear of the neighbouring CDF steps by > 5 MC standard deviations
        mc = 5 * math.sqrt(p * (1 - p) / n_toys)
        assert stats.poisson.cdf(n_k, b) - p > mc and p - stats.poisson.cdf(n_k - 1, b) > mc
        ref_k = exact_limit(n_k, b)
        assert abs(r.expected_limits[k] - ref_k) < 4 * limit_mc_sd(n_k, b, ref_k, n_toys) \
            + 1e-3 * ref_k, (k, r.expected_limits[k], ref_k)
    assert r.valid and r.limit_method == LIMIT_CLS_TOYS and r.cl == 0.95


@pytest.mark.slow
@pytest.mark.parametrize("n,b", [(0, 0.5), (1, 1.0), (3, 2.0), (5, 3.0), (8, 6.0), (12, 10.0)])
def test_limits_without_uncertainty_exact_grid(n, b):
    n_toys = 50_000
    r = toy_limits(n, b, 0.0, n_toys=n_toys, seed=4)
    ref = exact_limit(n, b)
    assert abs(r.upper_limit - ref) < 4 * limit_mc_sd(n, b, ref, n_toys) + 1e-3 * ref


# --------------------------------------------------------------------------- pyhf ToyCalculator
def _pyhf_discovery_agrees(n, b, s, n_toys_pyhf):
    """pyhf's q0 p-value (CLs+b of the q0 calculator) for an excess. For a deficit pyhf's q0 of
    the data is its fit tolerance (~1e-7) rather than 0, and its toy p-value counts the toys
    whose q0 is above that noise (measured 0.52 for n = 2, b = 4, sigma = 0.2), where ours is 1."""
    assert n > b
    ours = toy_discovery(n, b, s, n_toys=200_000, seed=5)
    clsb = pyhf_toys(n, b, s, 0.0, "q0", n_toys_pyhf)[0]
    p = ours.p_value_q0
    assert abs(clsb - p) < 4 * math.sqrt(p * (1 - p) / n_toys_pyhf) + 1e-3, (clsb, p)


def _pyhf_cls_at_our_limits(n, b, s, n_toys_pyhf, *, band=True):
    """pyhf's toy CLs at our observed (and median expected) limit is 1 - cl = 0.05 within
    pyhf's Monte-Carlo error (CLs+b ~ 0.05 CLb, binomial errors of both)."""
    lim = toy_limits(n, b, s, n_toys=20_000, seed=6)
    _, clb, cls, _ = pyhf_toys(n, b, s, lim.upper_limit, "qtilde", n_toys_pyhf)
    sd = 0.05 * math.sqrt(1 / (0.05 * clb * n_toys_pyhf) + 1 / (clb * n_toys_pyhf))
    assert abs(cls - 0.05) < 4 * sd + 0.005, (cls, clb)
    if band:
        median = pyhf_toys(n, b, s, lim.expected_limits[2], "qtilde", n_toys_pyhf)[3][2]
        assert abs(median - 0.05) < 4 * sd + 0.01, median


def test_toys_agree_with_pyhf_toycalculator(numpy_global_seed):
    # reduced: pyhf fits every toy (~10 ms each); the grid below runs 1000 toys per model
    _pyhf_cls_at_our_limits(4.0, 1.5, 0.3, 80, band=False)


@pytest.mark.slow
@pytest.mark.parametrize("n,b,s", [(3.0, 1.0, 0.0), (6.0, 2.0, 0.2), (4.0, 1.0, 0.5),
                                   (9.0, 4.0, 0.0), (10.0, 4.0, 0.3), (2.0, 4.0, 0.2)])
def test_toys_agree_with_pyhf_toycalculator_grid(numpy_global_seed, n, b, s):
    if n > b:
        _pyhf_discovery_agrees(n, b, s, 1000)
    _pyhf_cls_at_our_limits(n, b, s, 1000)


# --------------------------------------------------------------------------- large counts
def test_toys_approach_the_asymptotic_formulas_at_large_counts():
    n, b, s = 460.0, 400.0, 0.05
    d = toy_discovery(n, b, s, n_toys=200_000, seed=7)
    assert d.z == pytest.approx(asimov_significance(n, b, s), abs=0.05)
    lim = toy_limits(n, b, s, n_toys=5000, seed=8)
    cc = cut_and_count(n, b, s)
    assert lim.upper_limit == pytest.approx(cc.upper_limit, rel=0.03)
    assert lim.expected_limits[2] == pytest.approx(cc.expected_limits[2], rel=0.03)


# --------------------------------------------------------------------------- Z_Bi
@pytest.mark.parametrize("n_on,n_off,tau", [(140, 100, 1), (5, 40, 20), (10, 2, 3), (3, 0, 5),
                                            (0, 7, 2), (2, 30, 4), (25, 110, 10)])
def test_z_bi_is_the_exact_binomial_tail(n_on, n_off, tau):
    r = z_bi(n_on, n_off, tau)
    ref = binom_tail_exact(n_on, n_on + n_off, Fraction(1, 1 + tau))
    assert r.p_value == pytest.approx(ref, rel=1e-12)
    assert stats.norm.sf(r.z) == pytest.approx(r.p_value, rel=1e-12)
    assert r.n_exp == n_off / tau and r.n_obs == n_on


def test_z_bi_limits():
    # a non-integer tau, an off measurement so precise that the on count is a Poisson count
    assert z_bi(7, 13, 2.5).p_value == pytest.approx(
        binom_tail_exact(7, 20, Fraction(1) / (1 + Fraction(2.5))), rel=1e-12)
    assert z_bi(6, 1.5e7, 1e7).p_value == pytest.approx(stats.poisson.sf(5, 1.5), rel=1e-5)
    assert z_bi(140, 100, 1.0).z == pytest.approx(2.522, abs=5e-4)  # the module's example


# --------------------------------------------------------------------------- one_bin_test, API
def test_one_bin_test_with_toys_follows_the_contract():
    r = one_bin_test(6, 1.5, 0.2, method="toys", n_toys=20_000, seed=9, pyhf=False)
    d = strict_json(r.to_json())
    assert d["method"] == "toys" and d["limit_method"] == LIMIT_CLS_TOYS
    assert d["n_toys"] == 20_000 and d["seed"] == 9
    assert stats.norm.sf(d["z"]) == pytest.approx(d["p_value"], rel=1e-12)
    assert d["z_asymptotic"] == pytest.approx(asimov_significance(6, 1.5, 0.2))
    assert d["upper_limit_asymptotic"] == pytest.approx(cut_and_count(6, 1.5, 0.2).upper_limit)
    assert d["p_value"] == pytest.approx(exact_toy_p(6, 1.5, 0.2),
                                         abs=4 * d["p_value_unc"])
    assert d["z_bi"] is None and d["valid"] and len(d["expected_limits"]) == 5
    a = one_bin_test(6, 1.5, 0.2, pyhf=False)
    assert a.method == "asymptotic" and a.n_toys is None and a.z == a.z_asymptotic


def test_one_bin_test_on_off():
    r = one_bin_test(5, n_off=40, tau=20, pyhf=False)  # n_exp = 2, rel_unc = 1/sqrt(40)
    assert r.n_exp == 2.0 and r.rel_unc == pytest.approx(1 / math.sqrt(40))
    assert r.z_bi == z_bi(5, 40, 20).z and r.tau == 20
    # tau from n_off / n_exp; rel_unc as given
    r2 = one_bin_test(5, 2.0, 0.25, n_off=40, pyhf=False)
    assert r2.tau == 20 and r2.rel_unc == 0.25 and r2.z_bi == r.z_bi
    # with rel_unc = 1/sqrt(n_off) the one-bin model is the on/off problem: eq. 6 is its
    # profile-likelihood Z, close to Z_Bi
    assert r.z == pytest.approx(r.z_bi, abs=0.25)


def test_same_seed_same_numbers():
    a = one_bin_test(4, 1.2, 0.3, method="toys", n_toys=500, seed=11, pyhf=False)
    b = one_bin_test(4, 1.2, 0.3, method="toys", n_toys=500, seed=11, pyhf=False)
    c = one_bin_test(4, 1.2, 0.3, method="toys", n_toys=500, seed=12, pyhf=False)
    assert a.to_dict() == b.to_dict()
    assert (a.p_value, a.upper_limit) != (c.p_value, c.upper_limit)
    ss = np.random.SeedSequence(11)
    assert toy_limits(4, 1.2, 0.3, n_toys=300, seed=ss) == toy_limits(4, 1.2, 0.3, n_toys=300,
                                                                         seed=ss)


@pytest.mark.parametrize("call,frag", [
    (lambda: toy_discovery(3, 1, n_toys=50), "n_toys"),
    (lambda: toy_discovery(3, 1, n_toys=True), "n_toys"),
    (lambda: toy_discovery(3, 1, n_toys=1e4), "n_toys"),
    (lambda: toy_discovery([3, 4], 1), "scalars"),
    (lambda: toy_discovery(-1, 1), "n_obs"),
    (lambda: toy_discovery(3, 0), "n_exp"),
    (lambda: toy_discovery(3, 1, float("nan")), "rel_unc"),
    (lambda: toy_discovery(3, 1, seed=-1), "seed"),
    (lambda: toy_limits(3, 1, cl=1.0), "cl"),
    (lambda: toy_limits(3, 1, n_grid=2), "n_grid"),
    (lambda: z_bi(3, -1, 1), "n_off"),
    (lambda: z_bi(3, 1, 0), "tau"),
    (lambda: z_bi(float("inf"), 1, 1), "n_on"),
    (lambda: z_bi("x", 1, 1), "n_on"),
    (lambda: one_bin_test(3, 1, method="exact", pyhf=False), "method"),
    (lambda: one_bin_test(3, 1, tau=2, pyhf=False), "tau needs n_off"),
    (lambda: one_bin_test(3, n_off=4, pyhf=False), "n_exp is required"),
    (lambda: one_bin_test(3, 1, n_off=4, tau=2, pyhf=False), "differs"),
    (lambda: one_bin_test(3, 1, n_off=0, pyhf=False), "n_off"),
])
def test_bad_input_is_an_input_error(call, frag):
    with pytest.raises(InputError, match=frag):
        call()


# --------------------------------------------------------------------------- CLI
def _run(*args):
    return CliRunner().invoke(main, ["significance", *(str(a) for a in args)],
                              catch_exceptions=False)


def test_cli_toys_and_z_bi():
    res = _run("--n-obs", 5, "--n-off", 40, "--tau", 20, "--toys", 300, "--seed", 4,
               "--no-pyhf", "--json")
    assert res.exit_code == 0, res.output
    d = strict_json(res.output)
    ref = one_bin_test(5, n_off=40, tau=20, method="toys", n_toys=300, seed=4, pyhf=False)
    assert d == json.loads(ref.to_json())
    assert d["method"] == "toys" and d["z_bi"] == pytest.approx(1.5400514, abs=1e-6)
    text = _run("--n-obs", 5, "--n-exp", 2, "--toys", 300, "--n-off", 40, "--no-pyhf")
    assert text.exit_code == 0 and "Z (toys, signed)" in text.output and "Z_Bi" in text.output
    assert "CLs toys" in text.output
    plain = _run("--n-obs", 5, "--n-exp", 2, "--no-pyhf", "--json")
    assert strict_json(plain.output)["method"] == "asymptotic"


@pytest.mark.parametrize("args,frag", [
    (["--n-obs", 3, "--n-exp", 1, "--toys", 10], "--toys"),
    (["--n-obs", 3, "--n-off", 4], "--n-exp"),
    (["--n-obs", 3, "--n-exp", 1, "--n-off", 4, "--tau", 2], "differs"),
    (["--n-obs", 3, "--n-exp", 1, "--toys", 200, "--seed", -1], "--seed"),
])
def test_cli_bad_options(args, frag):
    res = _run(*args, "--no-pyhf")
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert lines[-1].startswith("Error:") and frag in lines[-1] and "Traceback" not in res.output
