"""Signal-injection studies: physics of the exact-score study, resume, executors, CLI."""

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
from bumpstat.exceptions import InputError
from bumpstat.study import StudyConfig, run_study, summarise, write_study
from bumpstat.study.result import reach

TINY = {"n_background": 50_000, "n_reference": 50_000, "n_mc": 50_000}


def _config(**kw):
    base = dict(n_signal=(0, 40, 100, 200), seeds=3, methods=("direct",), global_toys=300,
                size_overrides=TINY)
    return StudyConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def exact_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    res = run_study(_config(), out=out, progress=False)
    write_study(res, out, plots=False)
    return out, res


def test_exact_study_physics(exact_study):
    _, res = exact_study
    rows = res.summary_of(score_method="exact", method="direct")
    med = [r["z_true_window_median"] for r in rows]
    assert [r["n_signal"] for r in rows] == [0, 40, 100, 200]
    assert all(np.diff(med) > 0), med  # rises monotonically with N_sig
    assert abs(med[0]) < 1.0  # background only: consistent with 0
    assert med[-1] > 5.0
    for p in res.points:  # global <= local at every point (None: p_global = 1, Z = -inf)
        assert p["z_local_max"] is not None
        assert p["z_global"] is None or p["z_global"] <= p["z_local_max"] + 1e-12, p
        assert p["z_true_window"] <= p["z_local_max"] + 1e-12
    n3 = rows[0]["n_signal_3sigma"]
    assert n3 is not None and 0 < n3 < 200


def test_resume_and_growth_give_the_same_study_json(exact_study, tmp_path):
    full_dir, _ = exact_study
    # a smaller study first (fewer injections and seeds), then the full one in the same place
    run_study(_config(n_signal=(0, 100), seeds=2), out=tmp_path, progress=False)
    n_before = len(list((tmp_path / "points").glob("exact_n*.json")))
    assert n_before == 4
    res = run_study(_config(), out=tmp_path, progress=False)
    write_study(res, tmp_path, plots=False)
    assert (tmp_path / "study.json").read_text() == (full_dir / "study.json").read_text()


def test_changed_configuration_is_not_reused(exact_study, tmp_path):
    full_dir, res = exact_study
    other = run_study(_config(n_signal=(100,), seeds=1, seed=7), out=full_dir, progress=False)
    z_other = other.points[0]["z_true_window"]
    z_same = res.select(n_signal=100)[0]["z_true_window"]
    assert z_other != z_same  # another root seed: recomputed, not read back


_KILL_SCRIPT = """
import sys
from bumpstat.study import StudyConfig, run_study, write_study
cfg = StudyConfig(n_signal=(0, 40, 100, 200), seeds=3, global_toys=300,
                  size_overrides={"n_background": 50_000, "n_reference": 50_000,
                                  "n_mc": 50_000})
write_study(run_study(cfg, out=sys.argv[1], progress=False), sys.argv[1], plots=False)
"""


def test_killed_study_resumes_to_the_same_json(exact_study, tmp_path):
    full_dir, _ = exact_study
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(tmp_path)], env=env)
    pts = tmp_path / "points"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(pts.glob("exact_n*.json"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_done = len(list(pts.glob("exact_n*.json")))
    assert 3 <= n_done < 12, n_done  # killed mid-way
    assert not (tmp_path / "study.json").exists()
    subprocess.run([sys.executable, "-c", _KILL_SCRIPT, str(tmp_path)], env=env, check=True)
    assert (tmp_path / "study.json").read_text() == (full_dir / "study.json").read_text()


@pytest.mark.slow
def test_process_pool_gives_identical_points(exact_study):
    _, res = exact_study
    cfg = _config(n_signal=(0, 100), seeds=2)
    par = run_study(cfg, executor="process", max_workers=2, progress=False)
    ser = [p for p in res.points if p["n_signal"] in (0, 100) and p["seed"] < 2]
    assert json.dumps(list(par.points)) == json.dumps(ser)


def test_process_pool_small():
    cfg = StudyConfig(n_signal=(0, 60), seeds=1, global_toys=100,
                      size_overrides={"n_background": 20_000, "n_reference": 20_000,
                                      "n_mc": 20_000})
    a = run_study(cfg, progress=False)
    b = run_study(cfg, executor="process", max_workers=2, progress=False)
    assert a.to_json() == b.to_json()


def test_both_methods_and_summary_fields(tmp_path):
    cfg = StudyConfig(n_signal=(0, 150), seeds=1, methods=("direct", "fit"), global_toys=100,
                      size_overrides={"n_background": 40_000, "n_reference": 40_000,
                                      "n_mc": 40_000})
    res = run_study(cfg, progress=False)
    assert {p["method"] for p in res.points} == {"direct", "fit"}
    fit = res.select(method="fit")
    assert all(p["z_global"] is None for p in fit)  # count toys exist for direct only
    row = res.summary_of(score_method="exact", method="fit")[-1]
    assert row["z_true_window_median"] > 1.0
    assert set(row["reach"]) == {"z_true_window", "z_local_max", "z_global"}


def test_summary_and_reach_are_computed_not_copied():
    pts = [{"n_signal": n, "seed": s, "score_method": "x", "method": "direct",
            "z_true_window": z} for n, zs in ((0, (-1, 0, 1)), (10, (2, 2.5, 9)),
                                              (20, (5, 6, 7))) for s, z in enumerate(zs)]
    rows = summarise(pts)
    assert [r["z_true_window_median"] for r in rows] == [0.0, 2.5, 6.0]
    lo, hi = rows[1]["z_true_window_band"]
    assert lo == pytest.approx(np.percentile([2, 2.5, 9], 16))
    assert hi == pytest.approx(np.percentile([2, 2.5, 9], 84))
    assert rows[0]["n_signal_3sigma"] == pytest.approx(10 + 0.5 / 3.5 * 10)
    assert rows[0]["n_signal_5sigma"] == pytest.approx(10 + 2.5 / 3.5 * 10)
    assert reach([0, 10], [4.0, 6.0], 3.0) == 0.0
    assert reach([0, 10], [None, 1.0], 3.0) is None


def test_cli_writes_study_json(tmp_path):
    out = tmp_path / "study"
    r = CliRunner().invoke(main, ["study", "injection", "--n-signal", "0", "300", "--seeds", "1",
                                  "--scores", "exact", "--methods", "direct", "--size", "small",
                                  "--global-toys", "100", "--out", str(out), "--quiet",
                                  "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads((out / "study.json").read_text())
    assert d == json.loads(r.stdout)
    assert len(d["points"]) == 2 and len(d["summary"]) == 2
    for p in d["points"]:
        for key in ("n_signal", "seed", "score_method", "method", "z_local_max", "z_global",
                    "z_true_window"):
            assert key in p
    hi = d["points"][1]
    assert hi["n_signal"] == 300 and hi["z_true_window"] > 5
    assert (out / "significance_vs_nsig.png").is_file()
    assert (out / "points" / "exact_n300_s0.json").is_file()


@pytest.mark.parametrize("args, needle", [
    (["--n-signal", "-1"], "--n-signal"),
    (["--scores", "nope"], "--scores"),
    (["--workers", "2", "--scheduler", "tcp://x:1"], "--workers"),
    (["--producer-option", "oops"], "--producer-option"),
    (["--n-signal", "10", "--s-over-sqrt-b", "1"], "--s-over-sqrt-b"),
])
def test_cli_bad_input_is_one_line(tmp_path, args, needle):
    r = CliRunner().invoke(main, ["study", "injection", "--out", str(tmp_path / "o"), *args])
    assert r.exit_code == 2
    err = r.stderr.strip()
    assert err.startswith("Error:") and "\n" not in err and needle in err, err


def test_config_errors_name_the_option():
    with pytest.raises(InputError, match="--size"):
        StudyConfig(size="huge")
    with pytest.raises(InputError, match="--methods"):
        StudyConfig(methods=("nope",))
    with pytest.raises(InputError, match="--seeds"):
        StudyConfig(seeds=0)


@pytest.mark.slow
def test_ranode_points_carry_w_hat():
    from bumpstat.windows import Window

    cfg = StudyConfig(n_signal=(1000,), seeds=1, score_methods=("ranode",), global_toys=0,
                      windows=(Window(3.3, 3.7, "SR5"),), producer_options={"preset": "test"},
                      size_overrides={"n_background": 30_000, "n_reference": 30_000,
                                      "n_mc": 30_000})
    (p,) = run_study(cfg, progress=False).points
    assert 0 <= p["w_hat"] <= 1
    assert p["w_true"] == pytest.approx(p["n_signal_sr"] / p["n_sr"])


def test_cli_tiny_size_and_windows(tmp_path):
    out = tmp_path / "tiny"
    r = CliRunner().invoke(main, ["study", "injection", "--n-signal", "0", "200", "--seeds",
                                  "1", "--size", "tiny", "--windows", "3.3,3.5,3.7",
                                  "--out", str(out), "--quiet", "--no-plots"])
    assert r.exit_code == 0, r.output
    d = json.loads((out / "study.json").read_text())
    assert d["config"]["size_settings"]["n_background"] == 50_000
    assert [w["center"] for w in d["config"]["windows"]] == [3.3, 3.5, 3.7]
    assert d["config"]["true_window"] == "SR_3.500"
    assert {p["window_max"] for p in d["points"]} <= {"SR_3.300", "SR_3.500", "SR_3.700"}
    r = CliRunner().invoke(main, ["study", "injection", "--windows", "3.5,x",
                                  "--out", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "window" in r.stderr


def test_salad_points_get_the_simulation_as_reference(monkeypatch):
    """SALAD's reference in a study is the *alternative* generator (the simulation), not a
    second sample of the data's own background (which would make it an IAD)."""
    from bumpstat.data import SyntheticLHCO
    from bumpstat.producers.salad import SALADProducer
    from bumpstat.study.point import delta_sys_task, point_task, sample_seeds

    seen = []

    class Stop(Exception):
        pass

    def spy(self, data, windows, *, reference=None, **kw):
        seen.append(reference)
        raise Stop

    monkeypatch.setattr(SALADProducer, "produce", spy)
    cfg = StudyConfig(n_signal=(0,), seeds=1, score_methods=("salad",), global_toys=0,
                      size_overrides={"n_background": 2000, "n_reference": 2000,
                                      "n_mc": 2000})
    s_bkg, s_ref, s_mc, s_mc_ref = sample_seeds(cfg.seed, 0)
    with pytest.raises(Stop):
        point_task(cfg, "salad", 0, 0, None)
    alt = SyntheticLHCO(variant="alternative").sample_background(
        2000, seed=np.random.default_rng(s_ref))
    assert np.array_equal(seen[0].x, alt.x)
    with pytest.raises(Stop):  # delta_sys: data from the alternative, simulation nominal
        delta_sys_task(cfg, "salad", 0)
    nominal = SyntheticLHCO().sample_background(2000, seed=np.random.default_rng(s_mc_ref))
    assert np.array_equal(seen[1].x, nominal.x)


def test_sculpting_command_exact_score_does_not_sculpt(tmp_path):
    """The exact likelihood ratio of the shifted generator is a function of x - 0.1 m, i.e. of
    features independent of m in the background: its cuts stay in the random band."""
    out = tmp_path / "sc"
    r = CliRunner().invoke(main, ["study", "sculpting", "--scores", "exact", "--n-background",
                                  "30000", "--eps-sel", "0.5", "0.1", "--bins", "20",
                                  "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    d = json.loads((out / "sculpting.json").read_text())
    c = d["curves"]["exact"]
    assert c["eps_sel"] == [0.5, 0.1]
    assert all(x < 2.5 * hi for x, hi in zip(c["chi2_ndof"], c["random_hi"], strict=True)), c
    assert (out / "sculpting.png").is_file()
    r = CliRunner().invoke(main, ["study", "sculpting", "--scores", "anode",
                                  "--out", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "--scores" in r.stderr


def test_sculpting_curve_of_a_raw_feature_is_large():
    """Reference for the metric the command reports: cutting on the shifted m_J1 (which
    contains 0.1 m) sculpts far beyond the random band."""
    from bumpstat.data import SyntheticLHCO
    from bumpstat.fit.sculpting import sculpting_curve

    bg = SyntheticLHCO(shifted=True).sample_background(30_000, seed=1)
    in_range = (bg.m >= 2.8) & (bg.m < 5.2)
    c = sculpting_curve(bg.m[in_range], bg.x[in_range, 0], [0.1], sr=(3.3, 3.7), n_bins=20)
    assert c.chi2_ndof[0] > 10 * c.random_hi[0]


def test_interplay_command(tmp_path):
    out = tmp_path / "ip"
    r = CliRunner().invoke(main, ["study", "interplay", "--scores", "exact", "iad",
                                  "--n-background", "30000", "--n-signal", "150", "--seeds",
                                  "1", "--size", "tiny", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    d = json.loads((out / "interplay.json").read_text())
    rows = {r["methods"]: r for r in d["rows"]}
    assert set(rows) == {"exact", "iad", "exact+iad"}
    combo = rows["exact+iad"]
    best = max(rows["exact"]["sic_at_1e-3"], rows["iad"]["sic_at_1e-3"])
    assert combo["sic_gain_at_1e-3"] == pytest.approx(combo["sic_at_1e-3"] / best)
    (ov,) = d["overlaps"]
    assert ov["names"] == ["exact", "iad"]
    # both rank the same background events as signal-like more often than chance (measured
    # excess 0.036-0.061 for p = 1-10%; the random spread is ~0.016 at p = 5%)
    assert ov["p"][1:5] == [0.01, 0.02, 0.05, 0.1]
    assert np.mean(ov["excess_pairs"]["exact|iad"][1:5]) > 0.02
    assert (out / "interplay.png").is_file()
    r = CliRunner().invoke(main, ["study", "interplay", "--scores", "exact",
                                  "--out", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "--scores" in r.stderr


def test_sculpting_and_interplay_results_follow_the_result_contract():
    """repr short, records, DataFrame, HTML and strict JSON (as tests/test_results_repr.py
    checks for the other result classes)."""
    import pandas as pd

    from bumpstat.study.interplay import InterplayConfig, run_interplay
    from bumpstat.study.sculpting import SculptingConfig, run_sculpting

    sc = run_sculpting(SculptingConfig(score_methods=("exact",), n_background=20_000,
                                       eps_sel=(0.5, 0.1), n_bins=10, n_random=20),
                       progress=False)
    ip = run_interplay(InterplayConfig(score_methods=("exact", "ae"), n_background=20_000,
                                       n_signal=100, seeds=1, size="tiny"), progress=False)
    for obj, n_rows in ((sc, 2), (ip, 3)):
        text = repr(obj)
        assert len(text) < 1000 and "array([" not in text, text
        rows = obj.records()
        assert len(rows) == n_rows and all(isinstance(r, dict) for r in rows)
        assert isinstance(obj.to_dataframe(), pd.DataFrame)
        assert "<table>" in obj._repr_html_()
        assert json.loads(obj.to_json())["schema"].startswith("bumpstat-")
