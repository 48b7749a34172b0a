"""Every command's JSON — printed with --json and written to files — parses with a strict parser
(one that rejects NaN, Infinity and -Infinity), including results with undefined numbers
(invalid fits, an infinite significance, points without delta_sys). The demo's outputs are
checked the same way in test_cli.py."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from bumpstat.cli import main

from helpers import assert_strict_json_tree, strict_json


def _json_run(*args):
    """Invoke with --json; the exit status is 0 and stdout is strict JSON."""
    res = CliRunner().invoke(main, [*map(str, args), "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return strict_json(res.stdout)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("json")
    _json_run("generate", "-o", d / "ev.npz", "--n-background", 100_000, "--n-signal", 300,
              "--seed", 1, "--scores", d / "sc.h5", "--n-template", 100_000, "--quiet")
    _json_run("generate", "-o", d / "mc.npz", "--n-background", 100_000, "--n-signal", 0,
              "--variant", "alternative", "--seed", 2, "--scores", d / "mc.h5",
              "--n-template", 100_000, "--quiet")
    return d


def test_stats_commands(tmp_path):
    # an excess, a deficit, n = 0 and an excess so large that eq. 6 is finite but pyhf struggles
    for n_obs, n_exp, rel in [(160, 120, 0.1), (80, 100, 0.1), (0, 3, 0.2), (1e6, 1.0, 0.0)]:
        d = _json_run("significance", "--n-obs", n_obs, "--n-exp", n_exp, "--rel-unc", rel)
        assert d["z"] is None or np.isfinite(d["z"])
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "dens.npz", log_p_sig=rng.normal(size=2000) - 3.0,
             log_p_bg=rng.normal(size=2000))
    _json_run("ranode", "fit", tmp_path / "dens.npz", "-o", tmp_path / "fit.json", "--quiet")
    assert_strict_json_tree(tmp_path)


def test_scan_delta_sys_metrics_fit(workdir, tmp_path):
    d = workdir
    _json_run("delta-sys", d / "mc.h5", "--eps-b", 1e-2, 1e-3, "-o", tmp_path / "ds.json",
              "--quiet")
    scan = _json_run("scan", d / "sc.h5", "--eps-b", 1e-2, 1e-3, "--delta-sys",
                     tmp_path / "ds.json", "--global-toys", 50, "--out", tmp_path / "scan",
                     "--workspaces", "poisson", "--quiet")
    assert "global" in scan and len(scan["results"]) == 18
    # no delta_sys: every point is valid: false with its reason, still strict
    bare = _json_run("scan", d / "sc.h5", "--eps-b", 1e-2, "--out", tmp_path / "bare", "--quiet")
    assert not any(r["valid"] for r in bare["results"])
    assert all(r["reason"] for r in bare["results"])
    # the SR-only file cannot serve the fit method: refused; only a manifest saying "not
    # complete" is left
    res = CliRunner().invoke(main, ["scan", str(d / "sc.h5"), "--methods", "fit", "--out",
                                    str(tmp_path / "nofit"), "--quiet", "--json"])
    assert res.exit_code == 2 and "sideband" in res.output
    left = list((tmp_path / "nofit").iterdir())
    assert [f.name for f in left] == ["bumpstat-manifest.json"]
    assert strict_json(left[0].read_text())["complete"] is False
    _json_run("metrics", d / "sc.h5", "-o", tmp_path / "metrics.json", "--quiet")
    with np.load(d / "ev.npz") as z:
        np.save(tmp_path / "m.npy", z["m"])
    # a fit over a range with too few events per bin gives undefined numbers: null, not NaN
    for i, (lo, hi) in enumerate([(2.8, 5.2), (3.0, 4.2)]):
        _json_run("fit", tmp_path / "m.npy", "--sr", 3.3, 3.7, "--range", lo, hi,
                  "-o", tmp_path / f"fit{i}.json", "--quiet")
    assert_strict_json_tree(tmp_path)


def test_convert_and_train_scores(workdir, tmp_path):
    pytest.importorskip("sklearn")
    d = workdir
    _json_run("train-scores", d / "ev.npz", "--method", "cwola", "--windows", "3.5",
              "--ensemble", 1, "--folds", 2, "--seed", 3, "-o", tmp_path / "cw.h5", "--quiet")
    with np.load(d / "ev.npz") as z:
        m, label = z["m"], z["label"]
    sel = (m > 3.3) & (m < 3.7)
    rng = np.random.default_rng(4)
    np.savez(tmp_path / "table.npz", m=m[sel], s=rng.normal(size=sel.sum()),
             label=label[sel].astype(np.int64))
    np.savez(tmp_path / "tmpl.npz", m=rng.uniform(3.3, 3.7, 20_000), s=rng.normal(size=20_000))
    _json_run("convert", tmp_path / "table.npz", "--template", tmp_path / "tmpl.npz",
              "--m", "m", "--score", "s", "--label", "label", "--window", "SR:3.3:3.7",
              "-o", tmp_path / "conv.h5", "--quiet")
    # both write score files and print their summary (checked strictly above), no JSON file
    assert not list(tmp_path.rglob("*.json"))


def test_study(tmp_path):
    out = tmp_path / "study"
    d = _json_run("study", "injection", "--n-signal", 0, "--seeds", 1, "--scores", "exact",
                  "--methods", "direct", "--size", "small", "--global-toys", 50, "--no-plots",
                  "--out", out, "--quiet")
    assert d == strict_json((out / "study.json").read_text())
    assert_strict_json_tree(tmp_path)


def test_strict_parser_rejects_what_python_would_write():
    text = json.dumps({"z": float("nan"), "l": float("inf")})
    with pytest.raises(ValueError, match="NaN"):
        strict_json(text)
