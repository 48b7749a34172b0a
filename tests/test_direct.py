"""Direct background estimation against brute-force counts and closed forms (Das et al.
[arXiv:2411.00085] §3)."""

import numpy as np
import pytest
from scipy import stats

from bumpstat.direct import (
    DeltaSys,
    combine_quadrature,
    direct_estimate,
    estimate_delta_sys,
    template_thresholds,
)
from bumpstat.exceptions import InputError, WindowError, WorkingPointError
from bumpstat.scores import EventSet, ScoreFile, WindowScores
from bumpstat.stats.significance import asimov_significance
from bumpstat.windows import Window

from helpers import toy_score_file


def test_thresholds_pass_exactly_eps_b_n():
    rng = np.random.default_rng(1)
    s = rng.normal(size=(4, 50_000))
    t = template_thresholds(s, [0.1, 0.01, 1e-3, 1e-4])
    brute = (s[:, :, None] > t.threshold[:, None, :]).sum(axis=1)
    np.testing.assert_array_equal(brute, t.n_pass)
    np.testing.assert_array_equal(t.n_pass, np.broadcast_to([5000, 500, 50, 5], (4, 4)))
    np.testing.assert_allclose(t.rel_unc_template, 1 / np.sqrt(t.n_pass))


def test_weighted_thresholds_match_unweighted_duplicates():
    """Weight 2 on an event is the same as that event twice."""
    rng = np.random.default_rng(2)
    s = rng.normal(size=10_000)
    w = rng.integers(1, 3, size=s.size).astype(float)
    tw = template_thresholds(s, [0.05, 0.01], weights=w)
    tu = template_thresholds(np.repeat(s, w.astype(int)), [0.05, 0.01])
    np.testing.assert_allclose(tw.eps_b_template, tu.eps_b_template, atol=2 / w.sum())
    # passing weight computed by brute force
    np.testing.assert_allclose(tw.n_pass[0], [(w * (s > c)).sum() for c in tw.threshold[0]])
    np.testing.assert_allclose(tw.sumw2_pass[0], [(w**2 * (s > c)).sum() for c in tw.threshold[0]])


def test_eps_b_too_small_for_template():
    with pytest.raises(WorkingPointError, match=r"eps_b \* N_BT < 1 for eps_b = \[0.0001\]"):
        template_thresholds(np.arange(5000.0), [1e-2, 1e-4], where="window 'SR5' template")


def test_no_template_event_passes_ties():
    with pytest.raises(WorkingPointError, match="no template events pass"):
        template_thresholds(np.zeros(1000), 0.01)


def test_bad_eps_b():
    for bad in ([0.0], [1.5], [np.nan], []):
        with pytest.raises(InputError):
            template_thresholds(np.arange(10.0), bad)


def test_direct_estimate_equations():
    """N_obs brute force; eq. 3, 8, 9 and eq. 6 recomputed by hand."""
    sf = toy_score_file(n_data=30_000, n_template=60_000, n_runs=2, seed=3, n_signal=200)
    ws = sf["SR5"]
    dsys, ssys = [0.1, 0.2], [0.05, 0.3]
    pts = direct_estimate(ws, [1e-2, 1e-3], delta_sys=dsys, sigma_sys=ssys)
    sr = ws.signal_region()
    for j, p in enumerate(pts):
        n_obs = (sr.scores > p.threshold[:, None]).sum(axis=1)
        np.testing.assert_array_equal(p.n_obs, n_obs)
        eps_t = (ws.template.scores > p.threshold[:, None]).sum(axis=1) / 60_000
        np.testing.assert_allclose(p.n_exp, eps_t * 30_200 * (1 + dsys[j]))
        sig_exp = np.sqrt(1 / (eps_t * 60_000) + ssys[j] ** 2)
        np.testing.assert_allclose(p.rel_unc, sig_exp)
        np.testing.assert_allclose(p.details["rel_unc_stat"],
                                   np.sqrt(1 / p.n_exp + 1 / (eps_t * 60_000)))
        np.testing.assert_allclose(p.z, asimov_significance(n_obs, p.n_exp, sig_exp), rtol=1e-9)
        assert p.expected_limits.shape == (2, 5)
    assert pts[1].z.mean() > 3  # the injected signal is seen despite sigma_sys = 0.3


def test_sigma_sys_defaults_to_abs_delta_sys():
    sf = toy_score_file(n_data=5000, n_template=5000, n_runs=1)
    (p,) = direct_estimate(sf["SR1"], 1e-2, delta_sys=-0.2)
    assert p.settings["sigma_sys"] == pytest.approx(0.2)
    stat = 1 / np.sqrt(p.details["eps_b_template"][0] * 5000)  # eq. 8, template statistics
    assert p.rel_unc[0] == pytest.approx(np.hypot(0.2, stat))


def test_empty_window():
    ws = WindowScores(Window(4.0, 4.2, "far"), EventSet(np.zeros((1, 10)), m=np.full(10, 3.5)),
                      EventSet(np.zeros((1, 1000))))
    with pytest.raises(WindowError, match=r"window 'far' \[4.0, 4.2\) TeV holds no data events"):
        direct_estimate(ScoreFile((ws,)).windows[0], 1e-2)


def test_delta_sys_zero_for_perfect_template():
    sf = toy_score_file(n_data=50_000, n_template=50_000, n_runs=4, seed=5)
    d = estimate_delta_sys(sf, [1e-2, 1e-3])
    # mean over 9 windows x 4 runs: its error is about sigma_stat / 6
    assert np.all(np.abs(d.value) < 3 * d.sigma_stat / 6)
    np.testing.assert_allclose(d.sigma_stat, np.sqrt(2 / (50_000 * np.array([1e-2, 1e-3]))),
                               rtol=1e-6)


def test_delta_sys_recovers_known_mismodelling():
    """Data scores N(0.1, 1) vs template N(0, 1): delta = sf(t - 0.1) / sf(t) - 1."""
    sf = toy_score_file(n_data=100_000, n_template=400_000, n_runs=2, seed=6, shift=0.1)
    eps = np.array([1e-1, 1e-2])
    d = estimate_delta_sys(sf, eps)
    t = stats.norm.isf(eps)
    truth = stats.norm.sf(t - 0.1) / eps - 1
    assert np.all(np.abs(d.value - truth) < 3 * d.sigma_stat / np.sqrt(18))
    assert d.per_window.shape == (9, 2)


def test_delta_sys_json_and_quadrature(tmp_path):
    sf = toy_score_file(n_data=20_000, n_template=20_000, n_runs=1, seed=7)
    a = estimate_delta_sys(sf, [1e-2], kind="mc")
    back = DeltaSys.read_json(a.write_json(tmp_path / "d.json"))
    np.testing.assert_allclose(back.value, a.value)
    assert back.windows == a.windows
    c = combine_quadrature(a, back)
    np.testing.assert_allclose(c.value, np.sqrt(2) * np.abs(a.value))
    assert c.kind == "mc+mc"
    with pytest.raises(InputError, match="not at 0.001"):
        a.at(1e-3)


def test_delta_sys_records_one_row_per_working_point():
    d = estimate_delta_sys(toy_score_file(n_runs=2, seed=5), [1e-1, 1e-2])
    rows = d.records()
    assert [r["eps_b"] for r in rows] == [0.1, 0.01]
    assert [r["delta_sys"] for r in rows] == d.value.tolist()
