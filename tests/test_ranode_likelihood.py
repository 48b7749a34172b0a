"""Validation of the R-ANODE mixture-likelihood stats core against exact densities.

Pseudo-datasets are drawn from known densities (background: exponential × Gaussian in 2-D;
signal: a narrow 2-D Gaussian) so the exact ``log p_sig``/``log p_bg`` are available: the fit
must be unbiased, its intervals must cover, and the background-only q0 must follow
``½δ(0) + ½χ²₁``.
"""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest
from click.testing import CliRunner
from iminuit import Minuit
from scipy import stats

from bumpstat.cli import main
from bumpstat.data.densities import read_density_file, write_density_file
from bumpstat.exceptions import InputError, ScoreFileError
from bumpstat.serialize import loads
from bumpstat.stats import MixtureFitResult
from bumpstat.stats.mixture import (
    DELTA_2NLL_68,
    DELTA_2NLL_95,
    Q_UPPER_95,
    MixtureNLL,
    ensemble_log_density,
    fit_signal_fraction,
    profile_likelihood,
    upper_limit_threshold,
)

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
SIG_MU, SIG_SD = np.array([2.5, 1.0]), np.array([0.25, 0.3])


def _log_p_bg(x):
    # x0 ~ Exp(1) on x0 > 0, x1 ~ N(0, 1)
    with np.errstate(divide="ignore"):
        lp0 = np.where(x[:, 0] >= 0, -x[:, 0], -np.inf)
    return lp0 - 0.5 * x[:, 1] ** 2 - LOG_SQRT_2PI


def _log_p_sig(x):
    z = (x - SIG_MU) / SIG_SD
    return -0.5 * (z**2).sum(1) - np.log(SIG_SD).sum() - 2 * LOG_SQRT_2PI


def _dataset(rng, n_bg, w):
    """``n_bg / (1 - w)`` events on average, each signal with probability w (exact mixture)."""
    n = int(round(n_bg / (1.0 - w)))
    is_sig = rng.random(n) < w
    x = np.empty((n, 2))
    nb = int((~is_sig).sum())
    x[~is_sig, 0] = rng.exponential(1.0, nb)
    x[~is_sig, 1] = rng.normal(0.0, 1.0, nb)
    x[is_sig] = rng.normal(SIG_MU, SIG_SD, (n - nb, 2))
    return _log_p_sig(x), _log_p_bg(x)


def _ensemble(n_sets, n_bg, w, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_sets):
        res = fit_signal_fraction(*_dataset(rng, n_bg, w))
        assert res.converged
        rows.append(
            (res.w_hat, res.sigma_w, *res.w_interval_68, *res.w_interval_95, res.upper_limit_w,
             res.q0)
        )
    return np.array(rows)


def _check_coverage(rows, w, tol68):
    w_hat, sig, lo68, hi68, lo95, hi95, ul, _ = rows.T
    pull = (w_hat - w) / sig
    n = len(rows)
    assert abs(pull.mean()) < 4.0 / math.sqrt(n)
    assert abs(pull.std() - 1.0) < 0.1
    cov68 = np.mean((lo68 <= w) & (w <= hi68))
    cov95 = np.mean((lo95 <= w) & (w <= hi95))
    cov_ul = np.mean(w <= ul)
    assert abs(cov68 - 0.6827) < tol68, cov68
    assert abs(cov95 - 0.95) < 0.03, cov95
    assert abs(cov_ul - 0.95) < 0.03, cov_ul


def _check_q0_half_chi2(q0, seed):
    n = q0.size
    frac0 = np.mean(q0 == 0)
    assert abs(frac0 - 0.5) < 3 * math.sqrt(0.25 / n), frac0
    # randomised probability-integral transform of the mixture ½δ(0) + ½χ²₁ -> uniform
    rng = np.random.default_rng(seed)
    u = np.where(q0 > 0, 0.5 * stats.chi2.sf(q0, 1), 0.5 + 0.5 * rng.random(n))
    assert stats.kstest(u, "uniform").pvalue > 0.01
    # and the continuous part alone against χ²₁
    assert stats.kstest(q0[q0 > 0], stats.chi2(1).cdf).pvalue > 0.01


# -- pseudo-experiment validation ----------------------------------------------------------


def test_pull_and_coverage_reduced():
    rows = _ensemble(300, 20_000, 0.005, seed=11)
    _check_coverage(rows, 0.005, tol68=0.06)


def test_background_only_q0_is_half_chi2_reduced():
    rows = _ensemble(400, 20_000, 0.0, seed=12)
    _check_q0_half_chi2(rows[:, -1], seed=13)


@pytest.mark.slow
def test_pull_and_coverage_full():
    rows = _ensemble(1000, 120_000, 0.005, seed=21)
    _check_coverage(rows, 0.005, tol68=0.04)


@pytest.mark.slow
def test_background_only_q0_is_half_chi2_full():
    rows = _ensemble(1000, 120_000, 0.0, seed=22)
    _check_q0_half_chi2(rows[:, -1], seed=23)


# -- numerics against independent references ------------------------------------------------


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(5)
    return _dataset(rng, 50_000, 0.01)


def test_nll_matches_logaddexp_reference(toy):
    ls, lb = toy
    nll = MixtureNLL(ls, lb)
    for w in (1e-6, 0.003, 0.2, 0.7, 0.99):
        ref = -np.sum(np.logaddexp(np.log(w) + ls, np.log1p(-w) + lb))
        assert nll(w) == pytest.approx(ref, rel=1e-12, abs=1e-7)
    assert nll(0.0) == pytest.approx(-lb.sum(), rel=1e-12)


def test_gradient_and_hessian_match_finite_differences(toy):
    nll = MixtureNLL(*toy)
    w, h = 0.02, 1e-6
    _, g, hess = nll.value_grad_hess(w)
    assert g == pytest.approx((nll.rel(w + h) - nll.rel(w - h)) / (2 * h), rel=1e-5)
    g_p, g_m = nll.value_grad_hess(w + h)[1], nll.value_grad_hess(w - h)[1]
    assert hess == pytest.approx((g_p - g_m) / (2 * h), rel=1e-5)


def test_mle_and_interval_match_iminuit_minos(toy):
    ls, lb = toy
    res = fit_signal_fraction(ls, lb)
    m = Minuit(MixtureNLL(ls, lb), w=0.05)
    m.limits["w"] = (0, 1)
    m.migrad()
    m.minos()
    nll = MixtureNLL(ls, lb)
    tol = 0.01 * res.sigma_w  # MIGRAD's EDM tolerance, not ours, limits the agreement
    assert res.w_hat == pytest.approx(m.values["w"], abs=tol)
    assert nll(res.w_hat) <= nll(m.values["w"])
    assert abs(nll.grad(res.w_hat)[0]) < 1e-6 * nll.value_grad_hess(res.w_hat)[2] * res.sigma_w
    assert res.w_interval_68[0] == pytest.approx(m.values["w"] + m.merrors["w"].lower, abs=tol)
    assert res.w_interval_68[1] == pytest.approx(m.values["w"] + m.merrors["w"].upper, abs=tol)


def test_interval_end_points_are_likelihood_crossings(toy):
    ls, lb = toy
    res = fit_signal_fraction(ls, lb)
    nll = MixtureNLL(ls, lb)
    d2 = lambda w: 2 * (nll.rel(w) - nll.rel(res.w_hat))  # noqa: E731
    for end in res.w_interval_68:
        assert d2(end) == pytest.approx(DELTA_2NLL_68, abs=1e-6)
    for end in res.w_interval_95:
        assert d2(end) == pytest.approx(DELTA_2NLL_95, abs=1e-6)
    assert d2(res.upper_limit_w) == pytest.approx(Q_UPPER_95, abs=1e-6)
    assert res.w_interval_68[1] < res.upper_limit_w < res.w_interval_95[1]
    assert res.upper_limit == pytest.approx(res.upper_limit_w * len(ls))
    assert res.cl == 0.95 and "not CLs" in res.limit_method
    assert res.q0 == pytest.approx(2 * (nll(0.0) - nll(res.w_hat)), rel=1e-9)
    assert res.z == pytest.approx(math.sqrt(res.q0))
    assert res.p_value == pytest.approx(0.5 * stats.chi2.sf(res.q0, 1), rel=1e-9)
    assert res.n_sig_hat == pytest.approx(res.w_hat * len(ls))


def test_boundary_at_zero():
    rng = np.random.default_rng(3)
    # a background-only sample whose derivative at w = 0 is positive -> w_hat = 0
    for _ in range(20):
        ls, lb = _dataset(rng, 5_000, 0.0)
        g0 = MixtureNLL(ls, lb).value_grad_hess(0.0)[1]
        if g0 > 0:
            break
    res = fit_signal_fraction(ls, lb)
    assert res.w_hat == 0.0 and res.at_lower_bound
    # q0 stays one-sided; z is signed: a deficit, w_neg < 0 minimises the NLL below 0
    assert res.q0 == 0.0 and res.p_value_q0 == 0.5
    assert res.z < 0 and res.p_value > 0.5 and res.w_neg < 0
    nll = MixtureNLL(ls, lb)
    assert res.z == pytest.approx(-math.sqrt(2 * (nll.rel(0.0) - nll.rel(res.w_neg))))
    assert abs(nll.grad(res.w_neg)[0]) < 1e-6 * nll.value_grad_hess(res.w_neg)[2]
    assert nll.w_min() < res.w_neg and res.valid and res.reason is None
    assert res.w_interval_68[0] == 0.0 and res.w_interval_68[1] > 0
    assert res.upper_limit_w > 0


def test_w_bounds_restrict_fit(toy):
    ls, lb = toy
    free = fit_signal_fraction(ls, lb)
    capped = fit_signal_fraction(ls, lb, w_bounds=(0.0, free.w_hat / 2))
    assert capped.w_hat == pytest.approx(free.w_hat / 2) and capped.at_upper_bound
    assert capped.w_interval_68[1] == capped.w_bounds[1]


def test_one_sided_zero_densities_are_valid():
    res = fit_signal_fraction([0.0, -np.inf, 1.0], [0.0, 0.0, -np.inf])
    assert 0 < res.w_hat < 1 and res.converged
    assert math.isinf(res.q0) and math.isinf(res.z) and res.p_value == 0.0
    assert res.w_interval_68[0] > 0  # NLL(0) = inf
    # infinite q0/z: not "valid", the reason says why, and the JSON is strict (null)
    assert not res.valid and "zero background density" in res.reason
    text = res.to_json()
    assert "Infinity" not in text and "NaN" not in text
    d = loads(text)
    assert d["q0"] is None and d["z"] is None and d["nll_zero"] is None and d["p_value"] == 0.0
    assert fit_signal_fraction([0.0, -np.inf], [0.0, 0.0]).w_hat == 0.0


def test_deficit_without_signal_like_events_is_minus_infinity():
    res = fit_signal_fraction([-1.0, -2.0], [0.0, 0.0])  # p_sig < p_bg for every event
    assert res.w_hat == 0.0 and res.z == -math.inf and res.p_value == 1.0
    assert not res.valid and "p_sig > p_bg" in res.reason and loads(res.to_json())["z"] is None


def test_signed_z_is_continuous_through_zero():
    rng = np.random.default_rng(8)
    zs = []
    for _ in range(40):
        ls, lb = _dataset(rng, 3_000, 0.0)
        r = fit_signal_fraction(ls, lb)
        assert (r.z > 0) == (r.w_hat > 0) and r.p_value == pytest.approx(stats.norm.sf(r.z))
        zs.append(r.z)
    zs = np.array(zs)
    assert (zs < 0).any() and (zs > 0).any()
    assert np.all(np.abs(zs) < 5)


def test_confidence_level_of_the_limit(toy):
    ls, lb = toy
    r95, r90 = fit_signal_fraction(ls, lb), fit_signal_fraction(ls, lb, cl=0.9)
    assert r90.cl == 0.9 and r90.upper_limit_w < r95.upper_limit_w
    nll = MixtureNLL(ls, lb)
    d2 = 2 * (nll.rel(r90.upper_limit_w) - nll.rel(r90.w_hat))
    assert d2 == pytest.approx(stats.norm.ppf(0.9) ** 2, abs=1e-6)
    assert upper_limit_threshold(0.95) == Q_UPPER_95
    with pytest.raises(InputError, match="cl"):
        fit_signal_fraction(ls, lb, cl=0.4)


def test_integer_weights_equal_repeated_events(toy):
    ls, lb = toy[0][:3000], toy[1][:3000]
    k = np.random.default_rng(0).integers(0, 4, ls.size)
    a = fit_signal_fraction(ls, lb, weights=k)
    b = fit_signal_fraction(np.repeat(ls, k), np.repeat(lb, k))
    assert a.w_hat == pytest.approx(b.w_hat, abs=1e-10)
    assert a.w_interval_68 == pytest.approx(b.w_interval_68, abs=1e-9)
    assert a.n_sig_hat == pytest.approx(a.w_hat * k.sum())


def test_profile_curve(toy):
    ls, lb = toy
    res = fit_signal_fraction(ls, lb)
    curve = profile_likelihood(ls, lb, n_points=51)
    assert curve.w_hat == res.w_hat
    assert curve.delta_2nll.min() >= 0 and len(curve.to_dict()["w"]) == 51
    at = profile_likelihood(ls, lb, list(res.w_interval_68))
    assert at.delta_2nll == pytest.approx([DELTA_2NLL_68] * 2, abs=1e-6)


def test_ensemble_log_density():
    lp = np.array([[0.0, np.log(2.0)], [np.log(3.0), -np.inf]])
    assert ensemble_log_density(lp) == pytest.approx(np.log([2.0, 1.0]))


def test_to_dict_is_json():
    res = fit_signal_fraction([0.0, -1.0, -2.0], [-1.0, -1.0, -1.0])
    assert isinstance(res, MixtureFitResult)
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert len(d["w_interval_68"]) == 2 and isinstance(d["w_hat"], float) and d["valid"]
    assert d["reason"] is None and {"upper_limit", "upper_limit_w", "cl", "limit_method",
                                    "p_value", "z"} <= set(d)
    assert "w_upper_95" not in d and "n_sig_upper_95" not in d
    assert len(res.records()) == 1 and "MixtureFitResult(" in repr(res)


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ls", "lb", "kw", "match"),
    [
        ([0.0, np.nan], [0.0, 0.0], {}, "log_p_sig has 1 NaN"),
        ([0.0, 0.0], [np.nan, 0.0], {}, "log_p_bg has 1 NaN"),
        ([0.0, np.inf], [0.0, 0.0], {}, r"\+inf"),
        ([0.0, -np.inf], [0.0, -np.inf], {}, "zero density under both"),
        ([0.0, 0.0, 0.0], [0.0, 0.0], {}, "same length"),
        ([], [], {}, "empty"),
        ([[0.0]], [[0.0]], {}, "one-dimensional"),
        ([0.0], [0.0], {"w_bounds": (0.5, 0.1)}, "inverted"),
        ([0.0], [0.0], {"w_bounds": (0.0, 2.0)}, r"inside \[0, 1\]"),
        ([0.0], [0.0], {"weights": [-1.0]}, "non-negative"),
        ([0.0, 0.0], [0.0, 0.0], {"weights": [1.0]}, "one entry per event"),
        ([0.0], [0.0], {"weights": [np.nan]}, "NaN or inf"),
    ],
)
def test_bad_input_raises(ls, lb, kw, match):
    with pytest.raises(InputError, match=match):
        fit_signal_fraction(ls, lb, **kw)


# -- CLI ----------------------------------------------------------------------------------


def test_cli_fit_npz_json(tmp_path, toy):
    ls, lb = toy
    f = write_density_file(tmp_path / "d.npz", ls, lb)
    out = tmp_path / "fit.json"
    r = CliRunner().invoke(main, ["ranode", "fit", str(f), "--json", "-o", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    ref = fit_signal_fraction(ls, lb)
    assert d["w_hat"] == pytest.approx(ref.w_hat)
    assert d["w_interval_68"] == pytest.approx(list(ref.w_interval_68))
    assert d["upper_limit_w"] == pytest.approx(ref.upper_limit_w)
    assert d["upper_limit"] == pytest.approx(ref.upper_limit)
    assert d["z"] == pytest.approx(ref.z) and d["n_events"] == len(ls)
    assert json.loads(out.read_text())["w_hat"] == d["w_hat"]
    r = CliRunner().invoke(main, ["ranode", "fit", str(f), "--cl", "0.9", "--json"])
    assert json.loads(r.output)["cl"] == 0.9
    r = CliRunner().invoke(main, ["ranode", "fit", str(f), "-o", str(f)])
    assert r.exit_code == 2 and "input" in r.output


def test_cli_infinite_z_is_strict_json(tmp_path):
    f = write_density_file(tmp_path / "inf.npz", [0.0, -np.inf, 1.0], [0.0, 0.0, -np.inf])
    r = CliRunner().invoke(main, ["ranode", "fit", str(f), "--json"])
    assert r.exit_code == 0 and "Infinity" not in r.output
    d = loads(r.output)
    assert d["z"] is None and d["valid"] is False and "zero background" in d["reason"]
    r = CliRunner().invoke(main, ["ranode", "fit", str(f)])
    assert r.exit_code == 0 and "NOT VALID" in r.output


def test_cli_fit_hdf5_with_weights(tmp_path):
    f = tmp_path / "d.h5"
    with h5py.File(f, "w") as h:
        h["log_p_sig"] = [0.0, -1.0, -2.0, 1.0]
        h["log_p_bg"] = [-1.0] * 4
        h["weights"] = [1.0, 2.0, 1.0, 1.0]
    r = CliRunner().invoke(main, ["ranode", "fit", str(f), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["sum_weights"] == 5.0
    r = CliRunner().invoke(main, ["ranode", "fit", str(f)])
    assert r.exit_code == 0 and "w_hat" in r.output
    # --group works for HDF5, names a missing group, and is refused for NPZ (never ignored)
    g = write_density_file(tmp_path / "g.h5", [0.0, 1.0], [-1.0, -1.0], group="sr5")
    r = CliRunner().invoke(main, ["ranode", "fit", str(g), "--group", "sr5", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["n_events"] == 2
    r = CliRunner().invoke(main, ["ranode", "fit", str(g), "--group", "sr4"])
    assert r.exit_code == 2 and "no group 'sr4'" in r.output and "sr5" in r.output
    n = write_density_file(tmp_path / "n.npz", [0.0], [0.0])
    r = CliRunner().invoke(main, ["ranode", "fit", str(n), "--group", "sr5"])
    assert r.exit_code == 2 and "HDF5 files only" in r.output


def test_cli_missing_field_lists_contents(tmp_path):
    f = tmp_path / "bad.npz"
    np.savez(f, log_p_sig=np.zeros(3), score=np.zeros(3))
    r = CliRunner().invoke(main, ["ranode", "fit", str(f), "--json"])
    assert r.exit_code != 0
    assert "bad.npz" in r.output and "'log_p_bg'" in r.output and "score" in r.output


def test_cli_bad_values_and_bounds(tmp_path):
    f = write_density_file(tmp_path / "d.npz", [0.0, np.nan], [0.0, 0.0])
    r = CliRunner().invoke(main, ["ranode", "fit", str(f)])
    assert r.exit_code != 0 and "NaN" in r.output
    g = write_density_file(tmp_path / "g.npz", [0.0], [0.0])
    r = CliRunner().invoke(main, ["ranode", "fit", str(g), "--w-min", "0.5", "--w-max", "0.1"])
    assert r.exit_code != 0 and "inverted" in r.output


def test_read_errors(tmp_path):
    with pytest.raises(ScoreFileError, match="does not exist"):
        read_density_file(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ScoreFileError, match="junk.npz.*cannot be read as NPZ"):
        read_density_file(tmp_path / "junk.npz")
    np.savez(tmp_path / "pickled.npz", log_p_sig=np.zeros(2),
             log_p_bg=np.array([0.0, {"x": 1}], dtype=object))
    with pytest.raises(ScoreFileError, match="Python objects"):
        read_density_file(tmp_path / "pickled.npz")
    np.savez(tmp_path / "len.npz", log_p_sig=np.zeros(2), log_p_bg=np.zeros(3))
    with pytest.raises(ScoreFileError, match="different lengths"):
        read_density_file(tmp_path / "len.npz")
    with pytest.raises(InputError, match=".npz, .h5"):
        write_density_file(tmp_path / "d.txt", [0.0], [0.0])
    assert not (tmp_path / "d.txt").exists() and not (tmp_path / "d.txt.npz").exists()
