"""Scans: background-only calibration over many seeds, signal discovery, executors, JSON."""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bumpstat.data import SyntheticLHCO
from bumpstat.exceptions import InputError
from bumpstat.methods.exact import exact_score_file
from bumpstat.scan import run_scan
from bumpstat.windows import sliding_windows

from helpers import toy_score_file


def _null_z(n_seeds: int) -> np.ndarray:
    zs = []
    for seed in range(n_seeds):
        sf = toy_score_file(n_data=20_000, n_template=20_000, n_runs=1, seed=100 + seed)
        res = run_scan(sf, eps_b=[1e-2], progress=False)
        zs.extend(float(p.z[0]) for p in res.points)
    return np.array(zs)


def test_background_only_z_is_standard_normal():
    """|Z| across 9 windows x 40 seeds looks like N(0, 1) (eq. 6 with sigma_exp,stat)."""
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


def test_signal_stands_out_with_exact_score():
    """1000 injected signal events: the 3.5 TeV window has Z > 5 at eps_b = 1e-3."""
    gen = SyntheticLHCO()
    data = gen.sample(n_background=1_000_000, n_signal=1000, seed=11)
    tmpl = gen.sample_background(1_000_000, seed=12)
    windows = sliding_windows()
    sf = exact_score_file(gen, data, tmpl, windows)
    res = run_scan(sf, eps_b=[1e-2, 1e-3], progress=False)
    z = {(p.window.name, p.eps_b): float(p.z[0]) for p in res.points}
    assert z[("SR5", 1e-3)] > 5
    assert res.max_local().window.center == pytest.approx(3.5, abs=0.11)
    # the signal's tails (sigma ~ 0.17 TeV) reach the outer windows, but less of it
    assert z[("SR5", 1e-3)] > max(z[("SR1", 1e-3)], z[("SR9", 1e-3)])


def test_executors_give_identical_results():
    sf = toy_score_file(n_data=5000, n_template=5000, n_runs=2, seed=9, n_signal=50)
    serial = run_scan(sf, eps_b=[1e-2, 1e-3], progress=False)
    with ThreadPoolExecutor(2) as pool:
        threaded = run_scan(sf, eps_b=[1e-2, 1e-3], executor=pool, progress=False)
    procs = run_scan(sf, eps_b=[1e-2, 1e-3], executor="process", max_workers=2, progress=False)
    assert serial.records() == threaded.records() == procs.records()


def test_scan_json_schema(tmp_path):
    sf = toy_score_file(n_data=5000, n_template=5000, n_runs=3, seed=10)
    res = run_scan(sf, eps_b=[1e-2], delta_sys=0.05, progress=False)
    d = json.loads(res.write_json(tmp_path / "scan.json").read_text())
    assert len(d["results"]) == 9
    r = d["results"][0]
    for key in ("n_sr", "n_obs", "n_exp", "rel_unc", "z", "p_value", "upper_limit"):
        assert isinstance(r[key], float)
    for key in ("n_obs", "n_exp", "rel_unc", "z", "p_value", "upper_limit"):
        assert f"{key}_std" in r
    assert set(r["window"]) >= {"low", "high", "center"}
    assert r["method"] == "direct" and r["eps_b"] == 0.01 and len(r["runs"]["z"]) == 3


def test_scan_bad_options():
    sf = toy_score_file(n_data=1000, n_template=1000, n_runs=1)
    with pytest.raises(InputError, match="unknown method"):
        run_scan(sf, method="magic", progress=False)
    with pytest.raises(InputError, match="executor must be"):
        run_scan(sf, executor="cluster", progress=False)
    with pytest.raises(InputError, match="delta_sys must be"):
        run_scan(sf, eps_b=[1e-2], delta_sys=[0.1, 0.2], progress=False)


def test_exported_workspaces_reproduce_scan_with_pyhf_alone(tmp_path):
    import pyhf

    sf = toy_score_file(n_data=8000, n_template=8000, n_runs=2, seed=12, n_signal=40)
    res = run_scan(sf, eps_b=[1e-2], delta_sys=0.1, windows=["SR4", "SR5"], progress=False)
    files = res.export_workspaces(tmp_path)
    assert len(files) == 4
    pt = res.select(eps_b=1e-2)[1]  # SR5
    ws = pyhf.Workspace(json.loads((tmp_path / "SR5_eps0.01_run1.json").read_text()))
    model, data = ws.model(), ws.data(ws.model())
    p0 = pyhf.infer.hypotest(0.0, data, model, test_stat="q0")
    assert float(p0) == pytest.approx(pt.p_value[1], rel=1e-3)
