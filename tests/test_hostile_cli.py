"""Hostile command lines: one-line errors with exit status 2, outputs confined, inputs kept,
interrupted writes leave the previous file intact (issue 9)."""

import io
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
    write_scores(d / "small.h5", toy_score_file(n_data=2000, n_template=5000, n_runs=1,
                                                windows=list(sliding_windows()[4:6])))
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
    for i, ws in enumerate((wins[:4], wins[4:6])):
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


def test_refused_scan_keeps_the_previous_complete_run(files):
    """A scan refused up front (the SR-only file cannot serve the fit) leaves the earlier run's
    outputs and its complete manifest exactly as they were."""
    out = files / "kept"
    assert _run("scan", files / "small.h5", "--out", out, "--eps-b", 1e-2, "--quiet").exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _assert_clean_error(_run("scan", files / "small.h5", "--out", out, "--methods", "fit",
                             "--quiet"), "not only the signal region")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert json.loads((out / "bumpstat-manifest.json").read_text())["complete"] is True


def test_interrupted_scan_never_looks_complete(files, tmp_path, monkeypatch):
    import bumpstat.report

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(bumpstat.report, "write_report", interrupted)
    res = _run("scan", files / "small.h5", "--out", tmp_path / "o", "--eps-b", 1e-2, "--quiet")
    assert res.exit_code == 130 and "no partial result" in res.output
    manifest = json.loads((tmp_path / "o" / "bumpstat-manifest.json").read_text())
    assert manifest["complete"] is False and manifest["files"] == ["scan.json"]
    assert not any(p.name.endswith(".tmp.json") for p in (tmp_path / "o").iterdir())


def test_scan_output_dir_keeps_an_earlier_output_it_reads(files, tmp_path):
    """A file an earlier run wrote (listed in the manifest) that this run reads is kept."""
    out = tmp_path / "o"
    assert _run("delta-sys", files / "small.h5", "-o", tmp_path / "d.json", "--eps-b", 1e-2,
                "--quiet").exit_code == 0
    assert _run("scan", files / "small.h5", "--out", out, "--eps-b", 1e-2, "--quiet").exit_code == 0
    manifest = json.loads((out / "bumpstat-manifest.json").read_text())
    (tmp_path / "d.json").rename(out / "ds.json")  # pretend the earlier run wrote it
    manifest["files"].append("ds.json")
    (out / "bumpstat-manifest.json").write_text(json.dumps(manifest))
    res = _run("scan", files / "small.h5", "--out", out, "--eps-b", 1e-2, "--delta-sys",
               out / "ds.json", "--quiet")
    assert res.exit_code == 0, res.output
    assert (out / "ds.json").is_file()


@pytest.mark.parametrize("manifest", ['{"files": 5}', "[1]", "not json", '{"files": ["../x"]}'])
def test_hostile_manifest_is_left_alone(files, tmp_path, manifest):
    out = tmp_path / "o"
    out.mkdir()
    (out / "bumpstat-manifest.json").write_text(manifest)
    (tmp_path / "x").write_text("keep")
    res = _run("metrics", files / "s.h5", "--out", out, "--quiet")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "x").read_text() == "keep"
    assert json.loads((out / "bumpstat-manifest.json").read_text())["complete"] is True


def test_generate_writes_nothing_when_scoring_fails(tmp_path):
    res = _run("generate", "-o", tmp_path / "g.npz", "--n-background", 10, "--n-signal", 0,
               "--scores", tmp_path / "s.h5", "--n-template", 10, "--quiet")
    _assert_clean_error(res, "no events")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- interruptions
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_generate_keeps_previous_file(tmp_path, sig):
    from bumpstat.data.files import read_events

    target = tmp_path / "ev.npz"
    assert _run("generate", "-o", target, "--n-background", 1000, "--quiet").exit_code == 0
    before = target.read_bytes()
    for _ in range(3):  # on a loaded machine the write may finish before the signal lands
        proc = subprocess.Popen(
            [sys.executable, "-c", "from bumpstat.cli import main; main()", "generate", "-o",
             str(target), "--n-background", "1500000", "--quiet"],
            stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if any(p.name.startswith(".ev.npz.") for p in tmp_path.iterdir()):
                break  # the temporary file is being written: interrupt now
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err
        assert [p.name for p in tmp_path.iterdir()] == ["ev.npz"]  # never a temporary file
        if target.read_bytes() != before:  # finished first: a complete new file, try again
            read_events(target)
            before = target.read_bytes()
            continue
        assert proc.returncode == (130 if sig == signal.SIGINT else 143), err
        assert "no partial result" in err
        return
    pytest.fail("generate always finished before it could be interrupted")


# --------------------------------------------------------------------------- the audit table
def _hostile_inputs(d):
    """Hostile files of every reader (score files, events, arrays, densities, tables) in ``d``."""
    import shutil
    import zipfile

    import h5py

    n = 300
    sf = toy_score_file(n_data=n, n_template=n, n_runs=2)
    write_scores(d / "s.h5", sf)
    write_scores(d / "s.npz", sf)
    with np.load(d / "s.npz") as z:
        base = {k: z[k] for k in z.files}

    def npz(name, header=None, **arrays):
        a = dict(base)
        h = json.loads(str(a["__schema__"]))
        if header:
            header(h)
        a.update(arrays)
        a["__schema__"] = np.array(json.dumps(h))
        np.savez(d / name, **a)

    def h5(name, mutate):
        shutil.copy(d / "s.h5", d / name)
        with h5py.File(d / name, "a") as f:
            mutate(f)

    def replace(key, value):
        def f(h):
            del h[key]
            h[key] = value
        return f

    def first(**kw):
        return lambda h: h["windows"][0].update(kw)

    npz("name_abs.npz", first(name="/abs/x"))
    npz("name_up.npz", first(name="../../y"))
    npz("name_dot.npz", first(name="."))
    npz("name_nul.npz", first(name="a\x00b"))
    npz("sv17.npz", lambda h: h.__setitem__("schema_version", 1.7))
    npz("svabc.npz", lambda h: h.__setitem__("schema_version", "abc"))
    npz("svnull.npz", lambda h: h.__setitem__("schema_version", None))
    npz("noname.npz", lambda h: h["windows"][0].pop("name"))
    npz("nolow.npz", lambda h: h["windows"][0].pop("low"))
    npz("lowabc.npz", first(low="abc"))
    npz("gev.npz", first(low=3300, high=3700))
    npz("fewer.npz", lambda h: h.__setitem__("windows", h["windows"][:1]))
    npz("method.npz", lambda h: h.__setitem__("method", "../../evil"))
    npz("label256.npz", **{"SR1/data/label": np.full(n, 256)})
    npz("fold65536.npz", **{"SR1/data/fold": np.full(n, 65536)})
    npz("foldm3.npz", **{"SR1/data/fold": np.full(n, -3)})
    npz("str.npz", **{"SR1/data/scores": np.full((2, n), "1.0")})
    npz("complex.npz", **{"SR1/data/scores": np.ones((2, n)) + 1j})
    npz("bool.npz", **{"SR1/data/scores": np.ones((2, n), bool)})
    npz("oned.npz", **{"SR1/data/scores": np.ones(n)})
    npz("tgev.npz", **{"SR1/template/m": np.full(n, 3500.0)})
    npz("pickle.npz", **{"SR1/data/m": np.array([None] * n)})
    h5("h_extlink.h5", replace("windows/SR1/data",
                               h5py.ExternalLink(str(d / "s.h5"), "/windows/SR2/data")))
    h5("h_soft.h5", replace("windows/SR1/data", h5py.SoftLink("/windows/SR2/data")))
    (d / "raw.bin").write_bytes(bytes(16 * n))
    h5("h_external.h5", lambda f: (f["windows/SR1/data"].__delitem__("scores"),
                                   f["windows/SR1/data"].create_dataset(
                                       "scores", (2, n), "f8",
                                       external=[(str(d / "raw.bin"), 0, 16 * n)])))
    h5("h_huge.h5", lambda f: (f["windows/SR1/data"].__delitem__("scores"),
                               f["windows/SR1/data"].create_dataset(
                                   "scores", (2, 10**11), "f8", chunks=(1, 2**20),
                                   compression="gzip")))
    h5("h_lowabc.h5", lambda f: f["windows/SR1"].attrs.__setitem__("low", "abc"))
    h5("h_index.h5", lambda f: f["windows/SR1"].attrs.__setitem__("index", "first"))
    h5("h_dataset.h5", replace("windows/SR1/data", np.zeros(3)))
    h5("h_label257.h5", replace("windows/SR1/data/label", np.full(n, 257)))
    # corrupt streams inside valid containers, truncated and empty files
    raw = bytearray((d / "s.npz").read_bytes())
    with zipfile.ZipFile(d / "s.npz") as z:
        info = z.infolist()[1]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 20, start + 60):
        raw[i] ^= 0xFF
    (d / "deflate.npz").write_bytes(bytes(raw))
    raw = bytearray((d / "s.h5").read_bytes())
    with h5py.File(d / "s.h5") as f:
        chunk = f["windows/SR1/data/scores"].id.get_chunk_info(0)
    for i in range(chunk.byte_offset + 30, chunk.byte_offset + chunk.size - 1):
        raw[i] ^= 0x5A
    (d / "gzip.h5").write_bytes(bytes(raw))
    (d / "trunc.npz").write_bytes((d / "s.npz").read_bytes()[:5000])
    for name in ("zero.npz", "zero.h5", "zero.npy", "zero.csv"):
        (d / name).write_bytes(b"")
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.zeros(2))
    with zipfile.ZipFile(d / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("m.npy", buf.getvalue()[:-16] + bytes(20_000_000))
    # events, arrays, densities
    rng = np.random.default_rng(0)
    ev = dict(m=rng.uniform(3, 4, n), x=rng.normal(size=(n, 2)), label=np.zeros(n))
    for name, kw in {"ev_mstr": dict(m=np.full(n, "3.5")), "ev_xstr": dict(x=np.full((n, 2), "a")),
                     "ev_label": dict(label=np.full(n, 256)),
                     "ev_gev": dict(m=rng.uniform(3000, 4000, n)),
                     "ev_pickle": dict(x=np.array([None] * n))}.items():
        np.savez(d / f"{name}.npz", **{**ev, **kw})
    m = 2.8 * (1 + rng.pareto(6, 5000))
    np.save(d / "m.npy", m)
    np.save(d / "m_gev.npy", 1000 * m)
    np.save(d / "m_2d.npy", m.reshape(-1, 2))
    np.save(d / "m_str.npy", np.full(10, "3.5"))
    np.save(d / "m_obj.npy", np.array([None, 1.0]), allow_pickle=True)
    (d / "m_trunc.npy").write_bytes((d / "m.npy").read_bytes()[:1000])
    np.savez(d / "dens.npz", log_p_sig=np.zeros(10), log_p_bg=np.zeros(10))
    (d / "afile").write_text("x")


# (command line with {d} for the hostile-input directory and {o} for a fresh output path,
#  fragment of the one-line error)
AUDIT = [
    # security
    ("scan {d}/name_abs.npz --out {o} --workspaces poisson", "window name '/abs/x' is not allowed"),
    ("scan {d}/name_up.npz --out {o} --workspaces poisson", "window name '../../y' is not allowed"),
    ("metrics {d}/name_up.npz --out {o}", "window name '../../y' is not allowed"),
    ("scan {d}/name_dot.npz --out {o}", "window name '.' is not allowed"),
    ("scan {d}/name_nul.npz --out {o}", "name_nul.npz"),
    ("metrics {d}/method.npz --out {o}", "method name '../../evil' is not allowed"),
    ("scan {d}/h_extlink.h5 --out {o}", "ExternalLink; score files may not link"),
    ("delta-sys {d}/h_extlink.h5 -o {o}.json", "ExternalLink"),
    ("scan {d}/h_soft.h5 --out {o}", "SoftLink"),
    ("metrics {d}/h_external.h5", "external or virtual storage"),
    ("scan {d}/h_huge.h5 --out {o}", "more than compression can expand"),
    ("scan {d}/bomb.npz --out {o}", "header declares shape (2,)"),
    ("fit {d}/bomb.npz --sr 3.3 3.7", "header declares shape (2,)"),
    ("convert {d}/bomb.npz -o {o}.h5 --score m", "header declares shape (2,)"),
    ("scan {d}/pickle.npz --out {o}", "pickled data"),
    ("fit {d}/m_obj.npy --sr 3.3 3.7", "pickled data"),
    ("train-scores {d}/ev_pickle.npz --method cwola -o {o}.h5", "pickled data"),
    ("convert {d}/pickle.npz -o {o}.h5 --score SR1/data/m --m SR1/data/m", "pickled data"),
    # silent wrong results
    ("metrics {d}/label256.npz", "labels must be 0 (background) or 1 (signal), found [256]"),
    ("metrics {d}/h_label257.h5", "found [257]"),
    ("scan {d}/fold65536.npz --out {o}", "found [65536]"),
    ("scan {d}/foldm3.npz --out {o}", "found [-3]"),
    ("scan {d}/str.npz --out {o}", "expected real numbers, found strings"),
    ("scan {d}/complex.npz --out {o}", "found complex numbers"),
    ("scan {d}/bool.npz --out {o}", "found booleans"),
    ("scan {d}/oned.npz --out {o}", "expected shape (n_runs, n_events)"),
    ("scan {d}/sv17.npz --out {o}", "schema_version must be an integer, found 1.7"),
    ("scan {d}/fewer.npz --out {o}", "belong to no window of '__schema__'"),
    ("scan {d}/tgev.npz --out {o}", "probably GeV"),
    ("scan {d}/gev.npz --out {o}", "probably in GeV"),
    ("fit {d}/m_gev.npy --sr 3.3 3.7", "probably in GeV"),
    ("fit {d}/m.npy --sr 3300 3700", "probably in GeV"),
    ("fit {d}/m.npy --sr 3.3 3.7 --range 2800 5200", "probably in GeV"),
    ("fit {d}/m.npy --sr 3.3 3.7 --edges 2800,3300,3700,5200", "probably in GeV"),
    ("train-scores {d}/ev_gev.npz --method cwola -o {o}.h5", "probably in GeV"),
    ("ranode train {d}/m.npy --out {o} --window 3300 3700", "probably in GeV"),
    ("scan {d}/s.h5 --out {o} --methods fit", "not only the signal region"),
    ("generate --out {o}.txt --n-background 100", ".npz"),
    ("ranode fit {d}/dens.npz --group g", "--group"),
    ("scan {d}/s.h5 --out {o} --workers -1", "--workers"),
    ("fit {d}/m_2d.npy --sr 3.3 3.7", "must be a 1-D array"),
    # tracebacks before
    ("scan {d}/svabc.npz --out {o}", "schema_version must be an integer, found 'abc'"),
    ("scan {d}/svnull.npz --out {o}", "found None"),
    ("scan {d}/noname.npz --out {o}", "lacks ['name']"),
    ("scan {d}/nolow.npz --out {o}", "lacks ['low']"),
    ("scan {d}/lowabc.npz --out {o}", "'low' must be a finite number, found 'abc'"),
    ("scan {d}/h_lowabc.h5 --out {o}", "'low' must be a finite number, found 'abc'"),
    ("scan {d}/h_dataset.h5 --out {o}", "'data' must be a group"),
    ("scan {d}/h_index.h5 --out {o}", "'index' must be an integer"),
    ("train-scores {d}/ev_mstr.npz --method cwola -o {o}.h5", "field 'm' must be numeric"),
    ("ranode train {d}/ev_xstr.npz --out {o}", "field 'x' must be numeric"),
    ("train-scores {d}/ev_label.npz --method cwola -o {o}.h5", "field 'label'"),
    ("scan {d}/deflate.npz --out {o}", "deflate.npz"),
    ("train-scores {d}/deflate.npz --method cwola -o {o}.h5", "deflate.npz"),
    ("scan {d}/gzip.h5 --out {o}", "corrupt or unreadable HDF5 content"),
    ("delta-sys {d}/trunc.npz -o {o}.json", "trunc.npz"),
    ("scan {d}/zero.npz --out {o}", "zero.npz"),
    ("delta-sys {d}/zero.h5 -o {o}.json", "zero.h5"),
    ("fit {d}/zero.npy --sr 3.3 3.7", "zero.npy' is empty"),
    ("fit {d}/zero.npz --sr 3.3 3.7", "zero.npz' is empty"),
    ("train-scores {d}/zero.npz --method cwola -o {o}.h5", "zero.npz"),
    ("ranode fit {d}/zero.npz", "zero.npz"),
    ("convert {d}/zero.npz -o {o}.h5 --score x", "zero.npz"),
    ("convert {d}/zero.csv -o {o}.h5 --score x", "zero.csv' cannot be read as csv"),
    ("fit {d}/s.h5 --sr 3.3 3.7", "is an HDF5 file"),
    ("fit {d}/m_str.npy --sr 3.3 3.7", "must hold real numbers"),
    ("fit {d}/m_trunc.npy --sr 3.3 3.7", "data end after"),
    ("fit {d}/m.npy --sr 3.3 3.7 --edges 3,2,1", "increasing"),
    ("scan {d}/s.h5 --out {o} --delta-sys abc", "--delta-sys 'abc'"),
    ("scan {d}/s.h5 --out {o} --sigma-sys abc", "--sigma-sys 'abc'"),
    ("generate -o {o}.npz --seed -1", "--seed"),
    ("delta-sys {d}/s.h5 -o {o}.json --plot {o}.xyz", "unknown image format '.xyz'"),
    # sizes that would hang or exhaust the machine (found by the fuzz tests)
    ("fit {d}/m.npy --sr 3.3 3.7 --bins 100000000000000000000", "--bins"),
    ("scan {d}/s.h5 --out {o} --methods fit --bins 100000000000000000000", "--bins"),
    ("generate -o {o}.npz --n-background 1000000000000", "GB of memory"),
    # outputs: under a file, unwritable, over an input
    ("generate -o {d}/afile/g.npz --n-background 100", "is a file, not a directory"),
    ("scan {d}/s.h5 --out {d}/afile/o", "afile/o"),
    ("delta-sys {d}/s.h5 -o {d}/afile/d.json", "is a file, not a directory"),
    ("fit {d}/m.npy --sr 3.3 3.7 --plot {d}/afile/f.png", "is a file, not a directory"),
    ("metrics {d}/s.h5 --out {d}/afile/m", "afile/m"),
    ("ranode fit {d}/dens.npz -o {d}/afile/r.json", "is a file, not a directory"),
    ("generate -o /proc/bumpstat-no/g.npz --n-background 100", "/proc"),
    ("delta-sys {d}/s.h5 -o /proc/bumpstat-no.json", "/proc"),
    ("fit {d}/m.npy --sr 3.3 3.7 -o {d}/m.npy", "also an input"),
    ("fit {d}/m.npy --sr 3.3 3.7 --plot {d}/m.npy", "also an input"),
    ("delta-sys {d}/s.h5 -o {d}/s.h5", "also an input"),
    ("generate -o {o}.npz --scores {o}.npz --n-background 100", "same file"),
    ("metrics {d}/s.h5 -o {d}/s.h5", "also an input"),
    ("ranode fit {d}/dens.npz -o {d}/dens.npz", "also an input"),
    ("train-scores {d}/ev_label.npz --method cwola -o {d}/ev_label.npz", "also an input"),
]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    _hostile_inputs(d)
    return d


@pytest.mark.parametrize("line,fragment", AUDIT, ids=[c[0][:60] for c in AUDIT])
def test_audit_table(hostile, tmp_path, line, fragment):
    """Each hostile input of the audit ends in one line naming the problem, exit status 2,
    with no file written (outside or inside) and every input intact."""
    before = {p: p.read_bytes() for p in hostile.iterdir() if p.is_file()}
    args = line.format(d=hostile, o=tmp_path / "out").split()
    res = _run(*args, "--quiet") if args[0] in ("scan", "generate", "delta-sys") else _run(*args)
    _assert_clean_error(res, fragment)
    assert {p: p.read_bytes() for p in hostile.iterdir() if p.is_file()} == before
    left = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "bumpstat-manifest.json"]
    assert left == [], left


def test_interruption_inside_a_constructor_leaves_no_traceback(tmp_path):
    """A signal landing in a library constructor (seen: zipfile.ZipFile inside numpy.savez on
    SIGTERM) leaves an object whose __del__ fails; collected at exit it printed an
    "Exception ignored ... Traceback". The command's own message is the only output."""
    code = """
import click
from bumpstat.cli._common import command_errors

class HalfBuilt:  # like a ZipFile interrupted before its attributes are set
    def __del__(self):
        self._writing

@click.command()
@command_errors
def cmd():
    half = HalfBuilt()
    raise KeyboardInterrupt

cmd()
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 130
    assert res.stderr.strip() == "Error: interrupted; no partial result was left in place"
