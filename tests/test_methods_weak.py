"""IAD and CWoLa score producers on the synthetic LHCO-like data.

Default run (reduced: 200k-300k events, one window): structure, reproducibility, bad input and
the physics checks of issue 4 at reduced size. ``-m slow``: the full-size checks (1M events,
1000 injected signal events, all 9 windows for CWoLa).
"""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from bumpstat.classifiers import BDTConfig
from bumpstat.cli import main
from bumpstat.data import BASELINE_FEATURES, SyntheticLHCO
from bumpstat.data.files import write_events
from bumpstat.direct import direct_estimate, estimate_delta_sys
from bumpstat.exceptions import InputError, WindowError
from bumpstat.metrics import classifier_metrics, score_file_metrics, window_metrics
from bumpstat.producers import CWoLaProducer, IADProducer, select_features
from bumpstat.scores import read_scores
from bumpstat.windows import Window, sliding_windows


def iad_score_file(data, template, windows, *, config=None, features=None, seed=0, **kw):
    """The IAD producer called the way the earlier iad_score_file was (same seeds)."""
    producer = IADProducer(config or BDTConfig(), features=features)
    return producer.produce(data, windows, reference=template, seed=seed, **kw)


def cwola_score_file(data, windows, *, config=None, features=None, seed=0, **kw):
    """The CWoLa producer called the way the earlier cwola_score_file was (same seeds)."""
    return CWoLaProducer(config or BDTConfig(), features=features).produce(data, windows,
                                                                          seed=seed, **kw)

SR5 = sliding_windows()[4]  # [3.3, 3.7) TeV
TINY = BDTConfig(n_models=1, n_threads=1)
SMALL = BDTConfig(n_models=2, n_threads=1)


@pytest.fixture(scope="module")
def gen():
    return SyntheticLHCO()


@pytest.fixture(scope="module")
def small_sets(gen):
    """50k background + 50 signal as data, 50k background as the IAD template."""
    data = gen.sample(n_background=50_000, n_signal=50, seed=11)
    template = gen.sample_background(50_000, seed=12)
    return data, template


# ---------------------------------------------------------------- structure
def test_iad_score_file_structure_and_reproducibility(small_sets):
    data, template = small_sets
    kw = dict(runs=2, config=TINY, seed=5, progress=False, score_range=(3.0, 4.0))
    sf = iad_score_file(data, template, [SR5], **kw)
    assert sf.method == "iad" and sf.n_runs == 2
    ws = sf["SR5"]
    in_sr = SR5.contains(ws.data.m)
    assert in_sr.sum() == SR5.contains(data.m).sum()
    assert ws.data.m.size == ((data.m >= 3.0) & (data.m < 4.0)).sum()
    assert np.all(ws.data.fold[in_sr] >= 0) and np.all(ws.data.fold[~in_sr] == -1)
    assert np.all(SR5.contains(ws.template.m))
    assert ws.template.n_events == SR5.contains(template.m).sum()
    assert ws.data.label.sum() == ((data.m >= 3.0) & (data.m < 4.0) & (data.label == 1)).sum()
    assert not np.array_equal(ws.data.scores[0], ws.data.scores[1])  # independent runs
    again = iad_score_file(data, template, [SR5], **kw)
    assert np.array_equal(again["SR5"].data.scores, ws.data.scores)
    assert np.array_equal(again["SR5"].template.scores, ws.template.scores)
    assert sf.metadata["features"] == list(BASELINE_FEATURES)
    json.dumps(dict(sf.metadata))


def test_cwola_template_is_the_short_sidebands(small_sets):
    data, _ = small_sets
    sf = cwola_score_file(data, [SR5], config=TINY, seed=1, progress=False,
                          score_range=(2.9, 4.1))
    ws = sf["SR5"]
    sb = SR5.sideband_mask(data.m, kind="short", width=0.2)
    assert ws.template.n_events == sb.sum()
    assert np.all(~SR5.contains(ws.template.m))
    assert np.all((ws.template.m >= 3.1) & (ws.template.m < 3.9))
    # sideband data events carry their out-of-fold template scores
    in_sb = SR5.sideband_mask(ws.data.m, kind="short", width=0.2)
    assert np.array_equal(np.sort(ws.data.scores[0, in_sb]), np.sort(ws.template.scores[0]))
    assert np.all(ws.data.fold[in_sb] >= 0)
    outer = ~in_sb & ~SR5.contains(ws.data.m)
    assert outer.any() and np.all(ws.data.fold[outer] == -1)
    assert sf.metadata["sideband_width"] == 0.2


def test_feature_selection():
    assert select_features(("a", "b", "c"), ["c", 0]) == [2, 0]
    with pytest.raises(InputError, match="unknown feature"):
        select_features(("a", "b"), ["delta_r"])
    with pytest.raises(InputError, match="twice"):
        select_features(("a", "b"), ["a", 0])


# ---------------------------------------------------------------- bad input
def test_window_with_too_few_events(small_sets):
    data, template = small_sets
    far = Window(6.5, 6.6, "far")
    with pytest.raises(WindowError, match="'far'.*needs >= 100"):
        iad_score_file(data, template, [far], config=TINY, progress=False)
    with pytest.raises(WindowError, match="'far'"):
        cwola_score_file(data, [far], config=TINY, progress=False)


def test_one_class_only_and_nan_features(small_sets):
    data, template = small_sets
    empty = template.select(np.zeros(len(template), dtype=bool))
    with pytest.raises(WindowError, match="0 template event"):
        iad_score_file(data, empty, [SR5], config=TINY, progress=False)
    x = data.x.copy()
    x[np.flatnonzero(SR5.contains(data.m))[0], 2] = np.nan
    bad = SimpleNamespace(m=data.m, x=x, label=data.label, feature_names=data.feature_names)
    with pytest.raises(InputError, match="NaN"):
        cwola_score_file(bad, [SR5], config=TINY, progress=False)
    other = SimpleNamespace(m=template.m, x=template.x[:, :3], label=template.label,
                            feature_names=template.feature_names[:3])
    with pytest.raises(InputError, match="reference features"):
        iad_score_file(data, other, [SR5], config=TINY, progress=False)
    with pytest.raises(InputError, match="runs"):
        iad_score_file(data, template, [SR5], runs=0, config=TINY, progress=False)


# ---------------------------------------------------------------- physics (reduced size)
def test_iad_sic_close_to_exact_and_null_auc(gen):
    """200k background + 200 signal (the 1M + 1000 signal fraction at 1/5 of the size)."""
    data = gen.sample(n_background=200_000, n_signal=200, seed=21)
    template = gen.sample_background(200_000, seed=22)
    sf = iad_score_file(data, template, [SR5], runs=2, config=SMALL, seed=1, progress=False)
    iad = score_file_metrics(sf).to_dict()["windows"][0]
    sr = SR5.contains(data.m)
    exact = classifier_metrics(gen.log_likelihood_ratio(data.x[sr], data.m[sr]), data.label[sr])
    ratio = iad["sic_at_1e-3"] / exact.sic_at_eps_b
    assert 0.5 < ratio <= 1.2, (iad["sic_at_1e-3"], exact.sic_at_eps_b)

    # no signal: data vs template AUC is 0.5 within the run spread / statistical error
    null = gen.sample(n_background=200_000, n_signal=0, seed=23)
    sf0 = iad_score_file(null, template, [SR5], runs=3, config=TINY, seed=2, progress=False)
    wm = window_metrics(sf0["SR5"])
    assert wm.per_run is None  # no signal labels: signal metrics undefined
    auc = wm.auc_data_vs_template
    n1, n0 = SR5.contains(null.m).sum(), sf0["SR5"].template.n_events
    stat = np.sqrt((n1 + n0 + 1) / (12.0 * n1 * n0))
    spread = max(auc.std(), stat)
    assert abs(np.median(auc) - 0.5) < 3 * spread, (auc, stat)


def test_cwola_delta_sys_baseline_small_delta_r_large():
    """Background only, 300k events with Delta R: delta_sys (eq. 4) in SR5 at eps_B = 1e-2."""
    gen = SyntheticLHCO(delta_r=True)
    data = gen.sample(n_background=300_000, n_signal=0, seed=31)
    res = {}
    for name, feats in (("baseline", list(BASELINE_FEATURES)), ("delta_r", None)):
        sf = cwola_score_file(data, [SR5], config=TINY, seed=4, features=feats, progress=False)
        res[name] = estimate_delta_sys(sf, [1e-2])
    base, dr = res["baseline"], res["delta_r"]
    sigma = base.sigma_stat[0]
    assert abs(base.value[0]) < 3 * sigma + 0.05, base.value
    assert dr.value[0] > 0.5, dr.value  # Das et al. [arXiv:2411.00085]: ~1


# ---------------------------------------------------------------- CLI
def test_train_scores_cli(tmp_path, gen):
    data = gen.sample(n_background=30_000, n_signal=30, seed=41)
    tmpl = gen.sample_background(30_000, seed=42)
    write_events(tmp_path / "d.npz", data)
    write_events(tmp_path / "t.npz", tmpl)
    out = tmp_path / "iad.h5"
    args = ["train-scores", str(tmp_path / "d.npz"), "--method", "iad", "--reference",
            str(tmp_path / "t.npz"), "--runs", "2", "--windows", "3.5", "--ensemble", "1",
            "-o", str(out), "--quiet", "--json", "--features", "mj1,delta_mj,tau21_j1",
            "--seed", "4"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["method"] == "iad" and summary["runs"] == 2 and summary["seed"] == 4
    sf = read_scores(out)
    assert sf.method == "iad" and sf.metadata["features"] == ["mj1", "delta_mj", "tau21_j1"]
    # the same as the API with the same seed
    api = iad_score_file(data, tmpl, [Window(3.3, 3.7)], runs=2, config=BDTConfig(n_models=1),
                         features=["mj1", "delta_mj", "tau21_j1"], seed=4, progress=False)
    assert np.array_equal(api.windows[0].data.scores, sf.windows[0].data.scores)
    res = CliRunner().invoke(main, ["metrics", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert "sic_at_1e-3" in json.loads(res.output)["windows"][0]
    # cwola with --out (the documented alias of -o/--output); no JSON without --json
    res = CliRunner().invoke(main, ["train-scores", str(tmp_path / "d.npz"), "--method", "cwola",
                                    "--windows", "3.5", "--ensemble", "1", "--out",
                                    str(tmp_path / "cw.npz"), "--quiet"])
    assert res.exit_code == 0 and res.output == "", res.output
    assert read_scores(tmp_path / "cw.npz").method == "cwola"
    bad = [
        (["--method", "iad", "-o", str(tmp_path / "x.h5")], "--reference"),
        (["--method", "cwola", "--reference", str(tmp_path / "t.npz"), "-o",
          str(tmp_path / "x.h5")], "drop --reference"),
        (["--method", "iad", "--reference", str(tmp_path / "t.npz"), "-o",
          str(tmp_path / "t.npz")], "input"),
        (["--method", "cwola", "-o", str(tmp_path / "x.txt")], ".h5"),
        (["--method", "cwola", "-o", str(tmp_path / "x.h5"), "--windows", "3.5,abc"], "window"),
        (["--method", "cwola", "-o", str(tmp_path / "x.h5"), "--score-range", "4"], "low,high"),
        (["--method", "cwola", "-o", str(tmp_path / "x.h5"), "--preset", "huge"], "preset"),
        (["--method", "ranode", "-o", str(tmp_path / "x.h5"), "--score-range", "3,4",
          "--preset", "test"], "score_range"),
    ]
    for extra, match in bad:
        res = CliRunner().invoke(main, ["train-scores", str(tmp_path / "d.npz"), *extra])
        assert res.exit_code == 2 and match in res.output, (extra, res.output)
    assert not (tmp_path / "x.h5").exists()


# ---------------------------------------------------------------- full size (slow)
@pytest.mark.slow
def test_full_iad_sic_vs_exact_1000_signal(gen):
    data = gen.sample(n_background=1_000_000, n_signal=1000, seed=51)
    template = gen.sample_background(1_000_000, seed=52)
    sf = iad_score_file(data, template, [SR5], runs=3, config=BDTConfig(n_threads=1), seed=1,
                        progress=False)
    iad = score_file_metrics(sf).to_dict()["windows"][0]
    sr = SR5.contains(data.m)
    exact = classifier_metrics(gen.log_likelihood_ratio(data.x[sr], data.m[sr]), data.label[sr])
    print("IAD", iad["sic_at_1e-3"], iad["sic_at_1e-3_band"], "exact", exact.sic_at_eps_b)
    assert 0.5 < iad["sic_at_1e-3"] / exact.sic_at_eps_b <= 1.2

    null = gen.sample(n_background=1_000_000, n_signal=0, seed=53)
    sf0 = iad_score_file(null, template, [SR5], runs=5, config=BDTConfig(n_threads=1), seed=2,
                         progress=False)
    auc = window_metrics(sf0["SR5"]).auc_data_vs_template
    n1, n0 = SR5.contains(null.m).sum(), sf0["SR5"].template.n_events
    stat = np.sqrt((n1 + n0 + 1) / (12.0 * n1 * n0))
    print("null AUC", auc, "stat", stat)
    assert abs(np.median(auc) - 0.5) < 3 * max(auc.std(), stat)


@pytest.mark.slow
def test_full_cwola_delta_sys_and_no_false_discovery():
    """delta_sys^MC from the alternative generator, applied to nominal background-only data
    over the 9 sliding windows: large for Delta R, small for the baseline set, and no window
    reaches 3 sigma in either."""
    alt = SyntheticLHCO(variant="alternative", delta_r=True).sample(
        n_background=1_000_000, n_signal=0, seed=61)
    nom = SyntheticLHCO(delta_r=True).sample(n_background=1_000_000, n_signal=0, seed=62)
    eps = [1e-2, 1e-3]
    cfg = BDTConfig(n_models=2, n_threads=1)
    for name, feats in (("baseline", list(BASELINE_FEATURES)), ("delta_r", None)):
        kw = dict(runs=2, config=cfg, features=feats, progress=False)
        ds = estimate_delta_sys(cwola_score_file(alt, sliding_windows(), seed=1, **kw), eps)
        sf = cwola_score_file(nom, sliding_windows(), seed=2, **kw)
        zs = [p.z.mean() for ws in sf.windows
              for p in direct_estimate(ws, eps, delta_sys=ds.value)]
        print(name, "delta_sys", ds.value, "sigma_stat", ds.sigma_stat, "max Z", max(zs))
        if name == "baseline":
            assert np.all(np.abs(ds.value) < 0.3)
        else:
            assert ds.value[0] > 0.5
        assert max(zs) < 3.0
