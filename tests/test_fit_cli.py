"""The ``bumpstat fit`` command: summary, strict JSON, -o/--output, --plot, .npz input, errors."""

import json
import pickle

import numpy as np
import pytest
from click.testing import CliRunner

from bumpstat.cli import main
from bumpstat.cli._common import EXIT_ERROR


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fitcli")
    rng = np.random.default_rng(5)
    m = 2.8 * (1 + rng.pareto(7.0, 100_000))
    np.save(d / "m.npy", m)
    np.savez(d / "one.npz", mjj=m)
    np.savez(d / "two.npz", m=m, w=rng.uniform(0.5, 1.5, m.size))
    np.save(d / "obj.npy", np.array([{"m": 3.0}], dtype=object), allow_pickle=True)
    (d / "m.pkl").write_bytes(pickle.dumps(m))
    return d, m


def run(*args):
    return CliRunner().invoke(main, ["fit", *map(str, args)])


def test_json_output_file_and_plot(files):
    d, m = files
    res = run(d / "m.npy", "--sr", 3.3, 3.7, "--range", 2.8, 5.2, "--bins", 30, "--function",
              "dijet4", "--json", "-o", d / "r.json", "--plot", d / "p.png")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)  # stdout holds the JSON only
    for key in ("n_obs", "n_exp", "n_exp_unc", "rel_unc", "z", "p_value", "upper_limit",
                "expected_limits", "cl", "limit_method", "valid", "reason", "parameters",
                "chi2_ndof", "deviance_p_value", "ndof"):
        assert key in out
    assert out["valid"] is True and out["reason"] is None
    assert set(out["parameters"]) == {"p0", "p1", "p2", "p3"}
    assert out["n_obs"] == float(np.sum((m >= 3.3) & (m < 3.7)))
    assert json.loads((d / "r.json").read_text()) == out
    assert (d / "p.png").stat().st_size > 0
    assert "wrote" in res.stderr
    assert not list(d.glob(".*tmp*"))  # no temporary files left behind


def test_summary_without_json_and_quiet(files):
    d, _ = files
    res = run(d / "m.npy", "--sr", 3.3, 3.7, "-o", d / "s.json", "--quiet")
    assert res.exit_code == 0, res.output
    assert "n_obs" in res.stdout and "upper limit" in res.stdout and "valid" in res.stdout
    assert res.stderr == ""
    with pytest.raises(json.JSONDecodeError):
        json.loads(res.stdout)
    assert json.loads((d / "s.json").read_text())["method"] == "fit"


def test_npz_input_with_key_and_weights(files):
    d, m = files
    a = json.loads(run(d / "one.npz", "--sr", 3.3, 3.7, "--json").stdout)
    b = json.loads(run(d / "m.npy", "--sr", 3.3, 3.7, "--json").stdout)
    assert a == b
    res = run(d / "two.npz", "--key", "m", "--weights", d / "two.npz", "--weights-key", "w",
              "--sr", 3.3, 3.7, "--json")
    assert res.exit_code == 0, res.output
    w = np.load(d / "two.npz")["w"]
    assert json.loads(res.stdout)["n_obs"] == pytest.approx(w[(m >= 3.3) & (m < 3.7)].sum())


@pytest.mark.parametrize("args, message", [
    (["two.npz"], "holds 2 arrays (m, w); choose one with --key"),
    (["two.npz", "--key", "x"], "has no array 'x'; it holds: m, w"),
    (["m.npy", "--key", "m"], "single .npy array"),
    (["obj.npy"], "pickled"),
    (["m.pkl"], "pickled"),
    (["m.npy", "-o", "m.npy"], "--output"),
    (["m.npy", "--plot", "m.npy"], "--plot"),
    (["m.npy", "--plot", "fit.dat"], "--plot 'fit.dat': unknown image format '.dat'"),
    (["m.npy", "--weights", "one.npz"], None),
    (["m.npy", "--edges", "2.8,3.0,3.35,3.7,5.2"], "not a bin edge"),
    (["m.npy", "--edges", "2.8,x"], "--edges"),
])
def test_errors_are_one_line_naming_the_problem(files, args, message):
    d, _ = files
    argv = [d / a if a.endswith((".npy", ".npz", ".pkl")) else a for a in args]
    argv += ["--sr", 3.3, 3.7]
    if "--weights" in args:  # weights of another length
        np.save(d / "short.npy", np.ones(10))
        argv[argv.index(d / "one.npz")] = d / "short.npy"
        message = "has 10 values"
    res = run(*argv)
    assert res.exit_code == EXIT_ERROR
    err = res.stderr.strip()
    assert err.startswith("Error: ") and "\n" not in err and "Traceback" not in res.output
    assert message in err
    assert (d / "m.npy").stat().st_size > 0  # the input is intact


def test_out_option_is_gone(files):
    d, _ = files
    res = run(d / "m.npy", "--sr", 3.3, 3.7, "--out", d / "x.json")
    assert res.exit_code == EXIT_ERROR and "No such option" in res.output
