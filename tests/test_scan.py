"""Scans: background-only calibration, signal discovery, estimators, executors, JSON."""

import json
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from bumpstat.estimators import (
    ESTIMATORS,
    DirectEstimator,
    SidebandFitEstimator,
    get_estimator,
)
from bumpstat.exceptions import InputError
from bumpstat.scan import run_scan
from bumpstat.serialize import loads

from helpers import toy_range_score_file, toy_score_file


def _null_z(n_seeds: int) -> np.ndarray:
    zs = []
    for seed in range(n_seeds):
        sf = toy_score_file(n_data=20_000, n_template=20_000, n_runs=1, seed=100 + seed)
        res = run_scan(sf, estimators=[DirectEstimator(delta_sys=0.0)], eps_b=[1e-2],
                       progress=False)
        zs.extend(float(p.z[0]) for p in res.points)
    return np.array(zs)


def test_background_only_z_is_standard_normal():
    """Z across 9 windows x 40 seeds looks like N(0, 1) (eq. 6 with sigma_exp,stat)."""
    z = _null_z(40)
    assert z.size == 360
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    assert 0.85 < z.std() < 1.15
    assert np.mean(np.abs(z) > 2) < 0.1  # ~4.6% expected


@pytest.mark.slow
def test_background_only_z_is_standard_normal_full():
    z = _null_z(300)
    from scipy import stats

    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.std() - 1) < 0.05


def test_record_is_self_consistent_over_runs():
    """p is Phi(-z) of the run-averaged z (never the mean of per-run p-values)."""
    from scipy import stats

    sf = toy_score_file(n_data=3000, n_template=3000, n_runs=5, seed=3)
    res = run_scan(sf, estimators=[DirectEstimator(delta_sys=0.02)], eps_b=[1e-2],
                   progress=False)
    for p in res.points:
        r = p.record()
        assert r["z"] == pytest.approx(np.mean(p.z), rel=1e-12)
        assert r["p_value"] == pytest.approx(stats.norm.sf(r["z"]), rel=1e-12)
        assert r["rel_unc"] == pytest.approx(r["n_exp_unc"] / r["n_exp"], rel=1e-12)
        assert np.all((p.z < 0) == (p.p_value > 0.5))  # signed z, one-sided p, per run


def test_missing_delta_sys_marks_points_not_valid():
    sf = toy_score_file(n_data=3000, n_template=3000, n_runs=1, seed=4)
    res = run_scan(sf, eps_b=[1e-2], progress=False)  # "direct" with no delta_sys
    recs = [p.record() for p in res.points]
    assert not any(r["valid"] for r in recs)
    assert all("no delta_sys given" in r["reason"] for r in recs)
    with pytest.raises(InputError, match="no valid point"):
        res.max_local()
    assert res.max_local(valid_only=False).method == "direct"
    ok = run_scan(sf, estimators=[DirectEstimator(delta_sys=0.0)], eps_b=[1e-2], progress=False)
    assert all(p.record()["valid"] and p.record()["reason"] is None for p in ok.points)


def test_signal_stands_out():
    sf = toy_score_file(n_data=20_000, n_template=20_000, n_runs=2, seed=5, n_signal=150)
    res = run_scan(sf, estimators=[DirectEstimator(delta_sys=0.0)], eps_b=[1e-2, 1e-3],
                   progress=False)
    best = res.max_local()
    assert best.window.name == "SR5" and best.record()["z"] > 5


def test_registry_and_estimator_objects():
    assert set(ESTIMATORS) == {"direct", "fit"}
    assert isinstance(get_estimator("fit", function="dijet5"), SidebandFitEstimator)
    est = DirectEstimator(delta_sys=[0.1, 0.2], sigma_sys=0.3)
    assert pickle.loads(pickle.dumps(est)) == est
    with pytest.raises(InputError, match="unknown background estimator"):
        get_estimator("magic")
    with pytest.raises(InputError, match="estimator 'fit'"):
        get_estimator("fit", colour=1)


def test_bad_options_fail_before_any_work():
    sf = toy_score_file(n_data=1000, n_template=1000, n_runs=1)
    with pytest.raises(InputError, match="unknown background estimator"):
        run_scan(sf, estimators=["magic"], progress=False)
    with pytest.raises(InputError, match="executor must be"):
        run_scan(sf, executor="cluster", progress=False)
    with pytest.raises(InputError, match="delta_sys has 2 values"):
        run_scan(sf, estimators=[DirectEstimator(delta_sys=[0.1, 0.2])], eps_b=[1e-2],
                 progress=False)
    with pytest.raises(InputError, match="distinct names"):
        run_scan(sf, estimators=["direct", DirectEstimator(delta_sys=0.1)], progress=False)
    with pytest.raises(InputError, match="max_workers"):
        run_scan(sf, executor="process", max_workers=-1, progress=False)
    with pytest.raises(InputError, match="no window"):
        run_scan(sf, windows=["SR42"], progress=False)
    # the fit estimator's options are checked when it is built, not in every window
    for options, needle in [({"bins": 10**20}, "number of bins"), ({"bins": "abc"}, "bins"),
                            ({"function": "dijet9"}, "unknown fit function"),
                            ({"fit_range": (5.0, 3.0)}, "0 < low < high"),
                            ({"fit_range": ("a", 3.0)}, "must be numbers")]:
        with pytest.raises(InputError, match=needle):
            SidebandFitEstimator(**options)


def test_fit_estimator_refuses_sr_only_data_up_front():
    sf = toy_score_file(n_data=2000, n_template=2000, n_runs=1)
    with pytest.raises(InputError, match="only the signal region"):
        run_scan(sf, estimators=["fit"], eps_b=[1e-2], progress=False)


def test_scan_json_schema_is_strict(tmp_path):
    sf = toy_score_file(n_data=5000, n_template=5000, n_runs=3, seed=10)
    res = run_scan(sf, estimators=[DirectEstimator(delta_sys=0.05)], eps_b=[1e-2],
                   progress=False)
    d = loads(res.write_json(tmp_path / "scan.json").read_text())
    assert d["schema"] == "bumpstat-scan" and d["version"] == 2 and len(d["results"]) == 9
    r = d["results"][0]
    for key in ("n_sr", "n_obs", "n_exp", "n_exp_unc", "rel_unc", "z", "p_value",
                "upper_limit", "cl"):
        assert isinstance(r[key], float)
    for key in ("n_obs", "n_exp", "z", "upper_limit"):
        assert f"{key}_std" in r
    assert len(r["expected_limits"]) == 5 and r["limit_method"].startswith("CLs")
    assert set(r["window"]) >= {"low", "high", "center"}
    assert r["method"] == "direct" and r["eps_b"] == 0.01 and len(r["runs"]["z"]) == 3
    assert r["valid"] is True and r["reason"] is None
    assert len(res.records()) == 9 and "window.name" in res.records()[0]
    assert len(repr(res)) < 1000


def _both():
    return [DirectEstimator(delta_sys=0.05), SidebandFitEstimator(bins=24)]


@pytest.fixture(scope="module")
def range_file():
    return toy_range_score_file(n_data=40_000, n_template=20_000, n_runs=2, seed=7)


def test_executors_give_identical_records(range_file):
    serial = run_scan(range_file, estimators=_both(), eps_b=[1e-1, 1e-2], progress=False)
    assert {p.method for p in serial.points} == {"direct", "fit"}
    with ThreadPoolExecutor(2) as pool:
        threaded = run_scan(range_file, estimators=_both(), eps_b=[1e-1, 1e-2], executor=pool,
                            progress=False)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        spawned = run_scan(range_file, estimators=_both(), eps_b=[1e-1, 1e-2], executor=pool,
                           progress=False)
    builtin = run_scan(range_file, estimators=["direct", "fit"], eps_b=[1e-1, 1e-2],
                       executor="process", max_workers=2, progress=False)
    assert serial.to_dict()["results"] == threaded.to_dict()["results"] \
        == spawned.to_dict()["results"]
    default = run_scan(range_file, estimators=["direct", "fit"], eps_b=[1e-1, 1e-2],
                       progress=False)
    assert builtin.to_dict()["results"] == default.to_dict()["results"]


def test_dask_local_cluster_gives_identical_records(range_file):
    distributed = pytest.importorskip("distributed")
    serial = run_scan(range_file, estimators=_both(), eps_b=[1e-1, 1e-2], progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = run_scan(range_file, estimators=_both(), eps_b=[1e-1, 1e-2], executor=client,
                          progress=False)
        by_address = run_scan(range_file, estimators=_both(), eps_b=[1e-1],
                              executor=cluster.scheduler_address, progress=False)
    assert serial.to_dict()["results"] == remote.to_dict()["results"]
    assert len(by_address.points) == 6


def test_exported_workspaces_reproduce_scan_with_pyhf_alone(tmp_path):
    import pyhf

    sf = toy_score_file(n_data=8000, n_template=8000, n_runs=2, seed=12, n_signal=40)
    res = run_scan(sf, estimators=[DirectEstimator(delta_sys=0.1)], eps_b=[1e-2],
                   windows=["SR4", "SR5"], progress=False)
    files = res.export_workspaces(tmp_path)
    assert len(files) == 4
    pt = res.select(eps_b=1e-2, window="SR5")[0]
    ws = pyhf.Workspace(json.loads((tmp_path / "SR5_eps0.01_run1.json").read_text()))
    model, data = ws.model(), ws.data(ws.model())
    p0 = pyhf.infer.hypotest(0.0, data, model, test_stat="q0")
    assert float(p0) == pytest.approx(pt.p_value[1], rel=1e-3)
