"""Global significance: pattern pseudo-experiments against brute force, calibration,
reproducibility across executors, bounds, upcrossings and whole-chain pseudo-experiments."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from scipy import stats

from bumpstat.estimators import DirectEstimator
from bumpstat.global_significance import global_significance, with_global_significance
from bumpstat.global_significance.patterns import build_tables
from bumpstat.global_significance.pseudo_experiments import (
    merge_pseudo_experiments,
    run_pseudo_experiments,
)
from bumpstat.global_significance.toys import toy_maxima
from bumpstat.global_significance.upcrossings import upcrossings_by_eps, upcrossings_p_value
from bumpstat.scan import run_scan
from bumpstat.serialize import loads

from helpers import OverlapNull, overlapping_score_file, toy_score_file

EST = [DirectEstimator(delta_sys=0.0)]
EPS = [1e-2, 1e-3]


def _scan(sf, eps=EPS):
    return run_scan(sf, estimators=EST, eps_b=eps, progress=False)


def _brute_max(n, **kw):
    return np.array([max(p.mean("z") for p in _scan(overlapping_score_file(seed=900 + s, **kw))
                         .points) for s in range(n)])


def _pattern_max(ids, n_toys=4000, **kw):
    sf = overlapping_score_file(seed=1, ids=ids, **kw)
    scan = _scan(sf)
    tables = build_tables(sf, scan.select(method="direct"), eps_b=scan.eps_b)
    assert tables.raking_max_rel_error < 1e-6
    return toy_maxima(tables, np.random.SeedSequence(3), n_toys).max_z


@pytest.mark.parametrize("n_brute", [pytest.param(120), pytest.param(600, marks=pytest.mark.slow)])
def test_pattern_toys_match_brute_force_and_ids_matter(n_brute):
    """Regenerating data and template from scratch (brute force) and the count
    pseudo-experiments of one data set give the same null distribution of the largest local Z
    when events are matched across overlapping windows; without ids the toys treat windows as
    independent and are conservative (more large maxima)."""
    kw = {"n_data": 20_000, "n_template": 80_000}
    brute = _brute_max(n_brute, **kw)
    with_ids, without = _pattern_max(True, **kw), _pattern_max(False, **kw)
    for c in (1.5, 2.0):
        pb, pt = np.mean(brute >= c), np.mean(with_ids >= c)
        err = np.sqrt(pb * (1 - pb) / brute.size + pt * (1 - pt) / with_ids.size)
        assert abs(pb - pt) < 3.5 * err + 1e-3, (c, pb, pt)
    assert np.mean(without >= 1.5) > np.mean(with_ids >= 1.5)


def _null_global_p(n_sets, n_toys, seed0=2000):
    ps = []
    for s in range(n_sets):
        sf = toy_score_file(n_data=5000, n_template=20_000, n_runs=1, seed=seed0 + s)
        g = global_significance(sf, _scan(sf), n_toys=n_toys, seed=s, progress=False,
                                upcrossing_toys=0)
        ps.append(g.p_global)
    return np.array(ps)


def test_global_p_values_are_uniform_under_the_null():
    ps = _null_global_p(80, 400)
    assert stats.kstest(ps, "uniform").pvalue > 0.01
    assert np.mean(ps < 0.05) < 0.15


@pytest.mark.slow
def test_global_p_values_are_uniform_under_the_null_full():
    ps = _null_global_p(600, 1000, seed0=5000)
    assert stats.kstest(ps, "uniform").pvalue > 0.01
    assert abs(np.mean(ps < 0.05) - 0.05) < 0.015


@pytest.fixture(scope="module")
def observed():
    sf = overlapping_score_file(n_data=20_000, n_template=80_000, n_runs=2, seed=7)
    return sf, _scan(sf)


def test_same_seed_same_global_result_on_every_executor(observed):
    distributed = pytest.importorskip("distributed")
    sf, scan = observed
    kw = {"n_toys": 1200, "seed": 11, "progress": False, "upcrossing_toys": 50}
    serial = global_significance(sf, scan, **kw).to_dict()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        spawned = global_significance(sf, scan, executor=pool, **kw).to_dict()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = global_significance(sf, scan, executor=client, **kw).to_dict()
    assert serial == spawned == dask
    assert global_significance(sf, scan, **{**kw, "seed": 12}).to_dict() != serial


def test_result_contract_and_bound():
    sf = overlapping_score_file(n_data=20_000, n_template=80_000, n_signal=150, seed=8)
    scan = _scan(sf)
    g = global_significance(sf, scan, n_toys=500, seed=1, progress=False)
    d = loads(g.to_json())
    assert d["window"] in ("SR4", "SR5", "SR6") and d["z_local_max"] > 6
    assert d["n_exceed"] == 0 and d["p_global_bound"] == "upper" and d["p_global_unc"] is None
    assert d["p_global"] == pytest.approx(1 - 0.05 ** (1 / 500))
    assert d["z"] == d["z_global"] and d["p_value"] == d["p_global"]
    assert d["trials_factor"] == pytest.approx(d["p_global"] / d["p_local_min"])
    assert "event_id" in d["approximation"] and d["valid"] is True
    assert len(repr(g)) < 1000
    scan2 = with_global_significance(scan, g)
    assert loads(scan2.to_json())["global"]["n_toys"] == 500


def test_no_delta_sys_makes_the_global_result_not_valid(observed):
    sf, _ = observed
    scan = run_scan(sf, eps_b=EPS, progress=False)
    g = global_significance(sf, scan, n_toys=100, seed=1, progress=False, upcrossing_toys=0)
    assert not g.valid and "no delta_sys" in g.reason


def test_upcrossings_estimate_is_close_to_toys(observed):
    """Gross-Vitells from 300 pseudo-experiments against 6000 full ones, per working point:
    the same order (the estimate is an approximation from above at these levels)."""
    sf, scan = observed
    tables = build_tables(sf, scan.select(method="direct"), eps_b=scan.eps_b)
    full = toy_maxima(tables, np.random.SeedSequence(5), 6000)
    few = toy_maxima(tables, np.random.SeedSequence(9), 300, keep_curves=True)
    centers = np.array([w.center for w in scan.windows])
    for u in (2.0, 2.5):
        est = upcrossings_by_eps(few.curves, centers, scan.eps_b, np.array([u, u]), u0=0.5,
                                 full_toys=full.max_per_eps)
        for rec in est.values():
            assert 0.8 < rec["p_global"] / rec["p_global_toys"] < 2.0, (u, rec)
    assert upcrossings_p_value(3.0, 1.0, 1.0) == pytest.approx(
        stats.norm.sf(3.0) + np.exp(-4.0))


def test_bad_arguments(observed):
    from bumpstat.exceptions import InputError

    sf, scan = observed
    with pytest.raises(InputError, match="direct method"):
        global_significance(sf, scan, method="fit")
    with pytest.raises(InputError, match="n_toys"):
        global_significance(sf, scan, n_toys=0)
    with pytest.raises(InputError, match="systematic"):
        global_significance(sf, scan, systematic="maybe")


def test_whole_chain_pseudo_experiments_resume_and_merge(tmp_path):
    null = OverlapNull(n_data=5000, n_template=20_000)
    kw = {"seed": 4, "estimators": EST, "eps_b": EPS, "chunk": 2, "progress": False}
    fresh = run_pseudo_experiments(null, n_toys=6, **kw)
    part = run_pseudo_experiments(null, n_toys=4, out=tmp_path / "a", **kw)
    resumed = run_pseudo_experiments(null, n_toys=6, out=tmp_path / "a", **kw)
    assert np.array_equal(resumed.max_z["direct"], fresh.max_z["direct"])
    assert np.array_equal(part.max_z["direct"], fresh.max_z["direct"][:4])
    assert len(list((tmp_path / "a").glob("chunk_*.json"))) == 3
    run_pseudo_experiments(null, n_toys=4, first_toy=6, out=tmp_path / "b", **kw)
    merged = merge_pseudo_experiments(tmp_path / "a", tmp_path / "b")
    assert merged.n_toys == 10 and merged.toy_index.tolist() == list(range(10))
    g = merged.global_significance(2.0, method="direct")
    assert 0 <= g.p_global <= 1 and g.n_toys == 10


def test_unique_rows_is_numpy_unique_by_rows():
    from bumpstat.global_significance.patterns import unique_rows

    rng = np.random.default_rng(3)
    a = (rng.random((5000, 12)) < 0.2).astype(np.int8) * rng.integers(1, 4, (5000, 12),
                                                                       dtype=np.int8)
    rows, inv = unique_rows(a)
    ref_rows, ref_inv = np.unique(a, axis=0, return_inverse=True)
    assert np.array_equal(rows, ref_rows) and np.array_equal(inv, ref_inv.reshape(-1))
    assert np.array_equal(rows[inv], a)
    empty_rows, empty_inv = unique_rows(np.zeros((0, 3), dtype=np.int8))
    assert empty_rows.shape == (0, 3) and empty_inv.size == 0


@pytest.mark.parametrize("sparse_mean", [0.0, 0.1, np.inf])
def test_pattern_sampler_draws_the_pattern_poisson_law(sparse_mean):
    """Cell sums of pattern counts x_p = s_p Poisson(w_p / s_p): mean sum w_p, covariance
    sum w_p s_p over the shared patterns, whether the patterns are drawn one by one or as a
    batch total spread over the toys; a cell of unit-weight patterns is Poisson (chi2)."""
    from scipy import sparse

    from bumpstat.global_significance.patterns import PatternTable
    from bumpstat.global_significance.toys import pattern_sampler

    rng = np.random.default_rng(5)
    n_p = 400
    weight = np.r_[rng.exponential(0.02, n_p - 20), rng.uniform(0.5, 5.0, 20)]
    scale = np.where(np.arange(n_p) % 3 == 0, 1.0, rng.uniform(0.5, 2.0, n_p))
    scale[:100] = 1.0
    member = np.zeros((3, n_p))
    member[0, :100] = 1.0                      # unit weights only: a Poisson count
    member[1, rng.random(n_p) < 0.5] = 1.0
    member[2, rng.random(n_p) < 0.5] = 1.0
    table = PatternTable(sparse.csr_matrix(member), weight * scale, scale)
    draw = pattern_sampler(table, sparse_mean=sparse_mean)
    gen = np.random.default_rng(7)
    tot, var = zip(*(draw(gen, 250) for _ in range(80)), strict=True)
    tot, var = np.hstack(tot), np.hstack(var)
    n = tot.shape[1]
    w = weight * scale
    mean_ref = member @ w
    cov_ref = (member * (w * scale)) @ member.T
    assert np.allclose(tot.mean(axis=1), mean_ref, atol=4 * np.sqrt(np.diag(cov_ref) / n))
    cov = np.cov(tot)
    assert np.allclose(cov, cov_ref, atol=5 * np.sqrt((cov_ref.diagonal()[:, None]
                                                     * cov_ref.diagonal()[None, :]
                                                     + cov_ref**2) / n))
    assert np.allclose(var.mean(axis=1), member @ (w * scale), rtol=0.05)
    k = tot[0].astype(int)
    kmax = 6
    obs = np.r_[np.bincount(np.minimum(k, kmax), minlength=kmax + 1)]
    lam = mean_ref[0]
    exp = np.r_[stats.poisson.pmf(np.arange(kmax), lam), stats.poisson.sf(kmax - 1, lam)] * n
    assert stats.chisquare(obs, exp).pvalue > 1e-3


def test_global_significance_does_not_copy_the_score_file(observed, monkeypatch):
    """The score file is used as given: no second validation (a full copy of every array and
    a uniqueness check of every event id, 95% of the time on an R&D-sized file)."""
    from bumpstat.scores.schema import ScoreFile

    sf, scan = observed
    calls = []
    original = ScoreFile.__post_init__
    monkeypatch.setattr(ScoreFile, "__post_init__",
                        lambda self: calls.append(1) or original(self))
    g = global_significance(sf, scan, n_toys=250, seed=2, progress=False, upcrossing_toys=0)
    assert calls == [] and g.n_toys == 250
