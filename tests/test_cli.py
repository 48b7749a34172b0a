"""The CLI, invoked as a user would: generate -> scan / delta-sys, significance, demo."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from bumpstat.cli import main
from bumpstat.stats.significance import asimov_significance, gaussian_significance

from helpers import assert_strict_json_tree


def _run(*args):
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return res


def test_significance_json_matches_api():
    res = _run("significance", "--n-obs", 160, "--n-exp", 120, "--rel-unc", 0.1, "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["z"] == pytest.approx(asimov_significance(160, 120, 0.1), rel=1e-12)
    assert d["z_gaussian"] == pytest.approx(gaussian_significance(160, 120, 0.1), rel=1e-12)
    assert d["z_pyhf"] == pytest.approx(d["z"], abs=1e-3)  # shapesys q0 == eq. 6
    assert d["n_exp_unc"] == pytest.approx(12.0) and d["valid"] and d["reason"] is None


def test_significance_bad_input_is_clean_error():
    res = _run("significance", "--n-obs", 5, "--n-exp", 0, "--json")
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: n_exp") and "np." not in lines[0]
    assert "Traceback" not in res.output


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    d = tmp_path_factory.mktemp("gen")
    res = _run("generate", "--out", d / "ev.npz", "--n-background", 300_000, "--n-signal", 300,
               "--seed", 3, "--scores", d / "scores.h5", "--n-template", 300_000)
    assert res.exit_code == 0, res.output
    res = _run("generate", "--out", d / "mc.npz", "--n-background", 300_000, "--n-signal", 0,
               "--variant", "alternative", "--seed", 4, "--scores", d / "mc.h5",
               "--n-template", 300_000)
    assert res.exit_code == 0, res.output
    return d


def test_generate_writes_events(generated):
    with np.load(generated / "ev.npz") as z:
        assert z["x"].shape == (300_300, 4) and int(z["label"].sum()) == 300


def test_delta_sys_then_scan(generated):
    d = generated
    res = _run("delta-sys", d / "mc.h5", "--eps-b", 1e-2, 1e-3, "--output", d / "ds.json",
               "--plot", d / "ds.png")
    assert res.exit_code == 0, res.output
    ds = json.loads((d / "ds.json").read_text())
    assert ds["eps_b"] == [0.01, 0.001] and len(ds["per_window"]) == 9
    res = _run("scan", d / "scores.h5", "--eps-b", 1e-2, 1e-3, "--delta-sys",
               d / "ds.json", "--out", d / "scan", "--quiet")
    assert res.exit_code == 0, res.output
    scan = json.loads((d / "scan" / "scan.json").read_text())
    assert len(scan["results"]) == 18
    rec = scan["results"][0]
    assert rec["delta_sys"] == pytest.approx(ds["delta_sys"][0])
    assert (d / "scan" / "report.md").is_file()
    assert (d / "scan" / "significance_direct.png").is_file()


def test_scan_missing_file_is_clean_error(tmp_path):
    res = _run("scan", tmp_path / "nope.h5", "--out", tmp_path / "o")
    assert res.exit_code != 0 and "does not exist" in res.output


def test_demo_small(tmp_path):
    res = _run("demo", "--out", tmp_path, "--n-background", 200_000, "--n-signal", 400,
               "--eps-b", 1e-2, 1e-3, "--ranode", "test", "--global-toys", 300, "--quiet")
    assert res.exit_code == 0, res.output
    scan = json.loads((tmp_path / "scan.json").read_text())
    recs = scan["results"]
    assert len(recs) == 36  # 9 windows x 2 eps_b x (direct, fit)
    assert {r["method"] for r in recs} == {"direct", "fit"}
    for key in ("window", "eps_b", "n_sr", "n_obs", "n_exp", "n_exp_unc", "rel_unc", "z",
                "p_value", "upper_limit", "cl", "valid", "z_std", "n_obs_std"):
        assert key in recs[0]
    best = max((r for r in recs if r["method"] == "direct"), key=lambda r: r["z"])
    assert 3.3 <= best["window"]["center"] <= 3.7
    g = scan["global"]
    assert g["n_toys"] == 300 and g["z_local_max"] == pytest.approx(best["z"])
    assert g["z_global"] < g["z_local_max"]
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# bumpstat demo") and "## Fit-based vs direct" in report
    assert "Global significance" in report
    assert len(list((tmp_path / "workspaces").glob("*.json"))) == 18
    # the closer look is at the scan's most significant window, named after it
    name = best["window"]["name"]
    assert (tmp_path / f"fit_{name}.png").is_file()
    ranode = json.loads((tmp_path / f"ranode_{name}.json").read_text())
    # the injected signal fraction is recovered within a factor 2 even by the tiny test flows
    assert 0.5 < ranode["fit"]["w_hat"] / ranode["w_true"] < 2
    manifest = json.loads((tmp_path / "bumpstat-manifest.json").read_text())
    assert manifest["complete"]
    assert assert_strict_json_tree(tmp_path) >= 20  # scan, delta_sys, ranode, workspaces, ...


def test_demo_with_trained_scores(tmp_path):
    """The demo chain on trained CWoLa scores: delta_sys from the alternative generator, scan,
    SIC plot (reduced size; the documented default is 1M events and 2 runs)."""
    res = _run("demo", "--out", tmp_path, "--n-background", 100_000, "--n-signal", 300,
               "--eps-b", 1e-2, "--methods", "direct", "--scores", "cwola", "--runs", 1,
               "--ranode", "none", "--global-toys", 0, "--quiet")
    assert res.exit_code == 0, res.output
    scan = json.loads((tmp_path / "scan.json").read_text())
    assert scan["config"]["score_method"] == "cwola"
    assert len(scan["results"]) == 9
    ds = json.loads((tmp_path / "delta_sys.json").read_text())
    assert abs(ds["delta_sys"][0]) < 3 * ds["sigma_stat"][0] + 0.1  # baseline features: small
    best = max(scan["results"], key=lambda r: r["z"] if r["valid"] else -1e9)
    name = best["window"]["name"]
    assert (tmp_path / f"sic_{name}.png").is_file()
    assert f"## Anomaly score quality in {name}" in (tmp_path / "report.md").read_text()
