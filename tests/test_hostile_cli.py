"""Hostile command lines: one-line errors with exit status 2, outputs confined, inputs kept,
interrupted writes leave the previous file intact (issue 9)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from bumpstat.cli import main
from bumpstat.cli._common import EXIT_ERROR
from bumpstat.scores.io import write_scores
from bumpstat.windows import sliding_windows

from helpers import toy_score_file


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _assert_clean_error(res, *fragments):
    assert res.exit_code == EXIT_ERROR == 2, res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)
    lines = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, res.output
    assert "Traceback" not in res.output and "Aborted" not in res.output
    for frag in fragments:
        assert frag in lines[0], res.output


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    sf = toy_score_file(n_data=3000, n_template=30_000, n_runs=1)
    write_scores(d / "s.h5", sf)
    write_scores(d / "s.npz", sf)
    (d / "zero.npz").write_bytes(b"")
    np.savez(d / "dens.npz", log_p_sig=np.zeros(10), log_p_bg=np.zeros(10))
    np.save(d / "m.npy", 2.8 * (1 + np.random.default_rng(0).pareto(6, 5000)))
    (d / "afile").write_text("x")
    return d


# --------------------------------------------------------------------------- significance
def test_limit_continuous_as_rel_unc_goes_to_zero():
    out = {}
    for s in ("0", "1e-18", "1e-16", "1e-9"):
        res = _run("significance", "--n-obs", 100, "--n-exp", 100, "--rel-unc", s, "--json")
        assert res.exit_code == 0, res.output
        out[s] = json.loads(res.output)
    ref = out["0"]
    assert ref["upper_limit"] == pytest.approx(20.90, abs=0.01)
    for s in ("1e-18", "1e-16", "1e-9"):
        assert out[s]["upper_limit"] == pytest.approx(ref["upper_limit"], rel=1e-6)
        assert out[s]["expected_limits"] == pytest.approx(ref["expected_limits"], rel=1e-6)
        assert len(set(out[s]["expected_limits"])) == 5  # the band does not collapse


def test_tiny_background_on_pyhf_path():
    res = _run("significance", "--n-obs", 3, "--n-exp", 1e-300, "--rel-unc", 0.1, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["z"] > 10


@pytest.mark.parametrize("args,frag", [
    (["--n-obs", 5, "--n-exp", 0], "n_exp"),
    (["--n-obs", -1, "--n-exp", 3], "n_obs"),
    (["--n-obs", "nan", "--n-exp", 3], "n_obs"),
    (["--n-obs", 3, "--n-exp", 3, "--rel-unc", -1], "rel_unc"),
    (["--n-obs", 3, "--n-exp", 3, "--cl", 1], "cl"),
    (["--n-obs", "abc", "--n-exp", 3], "--n-obs"),
])
def test_significance_bad_numbers(args, frag):
    _assert_clean_error(_run("significance", *args, "--no-pyhf"), frag)


# --------------------------------------------------------------------------- generate
def test_generate_refuses_other_suffix(tmp_path):
    res = _run("generate", "--out", tmp_path / "g6.txt", "--n-background", 100)
    _assert_clean_error(res, "g6.txt", ".npz")
    assert list(tmp_path.iterdir()) == []


def test_generate_negative_seed(tmp_path):
    _assert_clean_error(_run("generate", "-o", tmp_path / "g.npz", "--seed", -1), "--seed")


def test_generate_scores_over_output(tmp_path):
    res = _run("generate", "-o", tmp_path / "x.npz", "--scores", tmp_path / "x.npz",
               "--n-background", 100)
    _assert_clean_error(res, "same file")


def test_output_under_an_existing_file(files):
    res = _run("generate", "-o", files / "afile" / "g.npz", "--n-background", 100)
    _assert_clean_error(res, "afile", "not a directory")


# --------------------------------------------------------------------------- scan, delta-sys
@pytest.mark.parametrize("args,frag", [
    (["--workers", -1], "--workers"),
    (["--delta-sys", "abc"], "--delta-sys"),
    (["--sigma-sys", "abc"], "--sigma-sys"),
])
def test_scan_bad_options(files, tmp_path, args, frag):
    _assert_clean_error(_run("scan", files / "s.h5", "--out", tmp_path / "o", *args), frag)


def test_delta_sys_output_is_input(files):
    before = (files / "s.h5").read_bytes()
    res = _run("delta-sys", files / "s.h5", "-o", files / "s.h5", "--eps-b", 1e-2)
    _assert_clean_error(res, "also an input")
    assert (files / "s.h5").read_bytes() == before


def test_fit_output_is_input(files):
    before = (files / "m.npy").read_bytes()
    res = _run("fit", files / "m.npy", "--sr", 3.3, 3.7, "-o", files / "m.npy")
    _assert_clean_error(res, "also an input")
    assert (files / "m.npy").read_bytes() == before


@pytest.mark.parametrize("cmd", [["scan", "{f}", "--out", "{o}"], ["metrics", "{f}"]])
def test_zero_byte_file_names_the_file(files, tmp_path, cmd):
    args = [a.format(f=files / "zero.npz", o=tmp_path / "o") for a in cmd]
    _assert_clean_error(_run(*args), "zero.npz")


def test_ranode_group_on_npz(files):
    _assert_clean_error(_run("ranode", "fit", files / "dens.npz", "--group", "g"), "--group")


def test_hostile_method_name_never_reaches_a_path(files, tmp_path):
    np_path = tmp_path / "h.npz"
    with np.load(files / "s.npz") as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["__schema__"]))
    header["method"] = "../../evil"
    arrays["__schema__"] = np.array(json.dumps(header))
    np.savez(np_path, **arrays)
    res = _run("metrics", np_path, "--out", tmp_path / "plots")
    _assert_clean_error(res, "method name '../../evil' is not allowed")
    assert not (tmp_path.parent / "evil").exists()


def test_scan_rerun_leaves_no_stale_files_and_stays_inside(tmp_path):
    out = tmp_path / "out"
    wins = sliding_windows()
    for i, ws in enumerate((wins, wins[3:6])):
        f = tmp_path / f"s{i}.h5"
        write_scores(f, toy_score_file(n_data=3000, n_template=30_000, n_runs=1,
                                       windows=list(ws)))
        res = _run("scan", f, "--out", out, "--methods", "direct", "--eps-b", 1e-2,
                   "--workspaces", "poisson", "--quiet")
        assert res.exit_code == 0, res.output
        assert len(list((out / "workspaces").glob("*.json"))) == len(ws)
    manifest = json.loads((out / "bumpstat-manifest.json").read_text())
    assert manifest["complete"]
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == set(manifest["files"]) | {"bumpstat-manifest.json"}
    assert {p for p in tmp_path.iterdir()} == {out, tmp_path / "s0.h5", tmp_path / "s1.h5"}


# --------------------------------------------------------------------------- interruptions
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_generate_keeps_previous_file(tmp_path, sig):
    target = tmp_path / "ev.npz"
    assert _run("generate", "-o", target, "--n-background", 1000, "--quiet").exit_code == 0
    before = target.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from bumpstat.cli import main; main()", "generate", "-o",
         str(target), "--n-background", "1500000", "--quiet"],
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.startswith(".ev.npz.") for p in tmp_path.iterdir()):
            break  # the temporary file is being written: interrupt now
        time.sleep(0.005)
    assert proc.poll() is None, "generate finished before it could be interrupted"
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), err
    assert "Traceback" not in err and "no partial result" in err
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ev.npz"]
