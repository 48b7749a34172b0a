"""The flow-based producers (CATHODE, LaCATHODE, ANODE, SALAD) and the autoencoder on small
synthetic samples with their ``test`` presets: valid score files scored out of fold, explicit
seeds, CATHODE templates with the oversampling weight, torch threads restored, lazy imports,
the CLI round trip (train-scores → metrics → scan), and the physics checks of issue 12 (no
signal → data vs template AUC ≈ 0.5; LaCATHODE does not sculpt where CATHODE does)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from bumpstat.data import SyntheticLHCO
from bumpstat.exceptions import InputError
from bumpstat.producers import (
    PRODUCERS,
    AutoencoderProducer,
    CATHODEProducer,
    FlowMethodConfig,
    LaCATHODEProducer,
    get_producer,
)
from bumpstat.windows import Window

torch = pytest.importorskip("torch")
pytest.importorskip("nflows")

SR = Window(3.3, 3.7, "SR5")
NEW = ("cathode", "lacathode", "anode", "salad", "ae")


@pytest.fixture(scope="module")
def data():
    return SyntheticLHCO().sample(n_background=30_000, n_signal=300, seed=11)


@pytest.fixture(scope="module")
def simulation():
    return SyntheticLHCO(variant="alternative").sample_background(30_000, seed=12)


@pytest.fixture(scope="module")
def produced(data, simulation):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = {}
        for name in NEW:
            p = get_producer(name, preset="test")
            out[name] = p.produce(data, [SR], seed=3, progress=False,
                                  reference=simulation if p.needs_reference else None)
            assert torch.get_num_threads() == 1, f"{name} changed torch's thread count"
    finally:
        torch.set_num_threads(before)
    return out


def test_registered_and_lazy():
    assert set(NEW) <= set(PRODUCERS)
    code = ("import sys, bumpstat.producers, bumpstat.producers.cathode, "
            "bumpstat.producers.autoencoder; "
            "print(any(m in sys.modules for m in ('torch', 'nflows', 'sklearn')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", NEW)
def test_valid_out_of_fold_scores(produced, data, name):
    sf = produced[name]
    assert sf.method == name and sf.metadata["seed"] == 3
    ws = sf["SR5"]
    sr = SR.contains(data.m)
    in_sr = SR.contains(ws.data.m)
    assert np.array_equal(ws.data.event_id[in_sr], np.flatnonzero(sr))
    assert np.array_equal(ws.data.label, data.label[ws.data.event_id])
    assert np.all(ws.data.fold[in_sr] >= 0)  # every SR event scored by a model not trained on it
    assert np.all(np.isfinite(ws.data.scores)) and np.all(np.isfinite(ws.template.scores))
    k = produced[name].metadata["options"]["config"]["n_folds"]
    assert set(np.unique(ws.data.fold[in_sr])) == set(range(k))
    assert set(np.unique(ws.template.fold)) == set(range(k))


@pytest.mark.parametrize("name", ["cathode", "lacathode", "anode"])
def test_generated_templates_carry_the_oversampling_weight(produced, data, name):
    ws = produced[name]["SR5"]
    n_sr = int(SR.contains(data.m).sum())
    assert ws.template.n_events == 4 * n_sr and np.allclose(ws.template.weight, 0.25)
    assert np.all(SR.contains(ws.template.m))


def test_salad_template_is_the_reweighted_simulation(produced, data, simulation):
    ws = produced["salad"]["SR5"]
    assert np.array_equal(ws.template.event_id, np.flatnonzero(SR.contains(simulation.m)))
    assert ws.template.weight.sum() == pytest.approx(SR.contains(data.m).sum())
    assert ws.template.weight.std() > 0  # really reweighted


def test_signal_is_found(produced):
    from bumpstat.metrics.report import score_file_metrics

    for name in NEW:
        w = score_file_metrics(produced[name]).windows[0]
        assert w.values("auc")[0] > 0.6, name  # test presets, 300 signal events


def test_seeds_explicit_and_threads_restored():
    small = SyntheticLHCO().sample(n_background=15_000, n_signal=100, seed=4)
    before = torch.get_num_threads()
    p = CATHODEProducer(FlowMethodConfig.test().with_(n_threads=1))  # fixed threads: same bits
    a = p.produce(small, [SR], seed=5, progress=False)
    b = p.produce(small, [SR], seed=5, progress=False)
    assert torch.get_num_threads() == before
    assert np.array_equal(a["SR5"].data.scores, b["SR5"].data.scores)
    assert np.array_equal(a["SR5"].template.m, b["SR5"].template.m)


def test_autoencoder_members_never_score_their_training_events(monkeypatch, data):
    import bumpstat.flows.autoencoder as ae

    seen, fit = [], ae.fit_autoencoder

    def spy(x, **kw):
        seen.append({tuple(r) for r in np.round(x, 9)})
        return fit(x, **kw)

    monkeypatch.setattr(ae, "fit_autoencoder", spy)
    cfg = get_producer("ae", preset="test").config.with_(n_models=1)
    sf = AutoencoderProducer(cfg).produce(data, [SR], seed=2, progress=False)
    d = sf["SR5"].data
    x = data.x[d.event_id]
    xs = np.round((x - data.x.mean(0)) / data.x.std(0), 9)
    for f, members in enumerate(seen):  # one member per fold
        scored = {tuple(r) for r in xs[d.fold == f]}
        assert scored and not scored & members


def test_options_errors():
    with pytest.raises(InputError, match="preset"):
        FlowMethodConfig.preset("huge")
    with pytest.raises(InputError, match="n_folds"):
        FlowMethodConfig(n_folds=1)
    with pytest.raises(InputError, match="sideband"):
        CATHODEProducer("test", sideband="wide")
    with pytest.raises(InputError, match="score_range is not supported"):
        get_producer("anode", preset="test").produce(
            SyntheticLHCO().sample(n_background=2000, seed=1), [SR], score_range=(3, 4),
            progress=False)
    assert FlowMethodConfig.test().with_(n_models=3).classifier.n_models == 3


def test_no_signal_salad_data_vs_template_auc_is_half(simulation):
    """Without signal SALAD cannot tell SR data from the reweighted simulation (the template
    is a different generator, so this also checks the sideband reweighting)."""
    from bumpstat.metrics.report import score_file_metrics

    bg = SyntheticLHCO().sample_background(40_000, seed=21)
    sf = get_producer("salad", preset="test").produce(bg, [SR], seed=1, reference=simulation,
                                                      progress=False)
    w = score_file_metrics(sf).windows[0]
    assert w.n_signal == 0 and abs(float(w.auc_data_vs_template[0]) - 0.5) < 0.03


def test_lacathode_scores_the_fit_range_without_sculpting_small():
    """Reduced sculpting check (the full one is slow): on shifted, strongly m-correlated
    background, a 5% cut on LaCATHODE keeps the m spectrum flat within a loose band, and it
    sculpts less than the same cut on CATHODE."""
    from bumpstat.fit.sculpting import sculpting_curve

    bg = SyntheticLHCO(shifted=True).sample(n_background=60_000, seed=5)
    out = {}
    for cls in (CATHODEProducer, LaCATHODEProducer):
        sf = cls("test").produce(bg, [SR], seed=2, score_range=(2.8, 5.2), progress=False)
        d = sf["SR5"].data
        assert d.n_events == int(((bg.m >= 2.8) & (bg.m < 5.2)).sum())
        out[cls.name] = sculpting_curve(d.m, d.scores[0], [0.05], sr=(3.3, 3.7), n_bins=40)
    assert out["cathode"].chi2_ndof[0] > out["lacathode"].chi2_ndof[0]
    assert out["lacathode"].chi2_ndof[0] < 3 * out["lacathode"].random_hi[0]


@pytest.mark.slow
def test_sculpting_cathode_grows_lacathode_in_band():
    """Paper 001 Fig. 7 at reduced size: background only, shifted features, fast preset;
    CATHODE's χ²/n_dof grows as the cut tightens, LaCATHODE's stays in the random band."""
    from bumpstat.fit.sculpting import sculpting_curve

    bg = SyntheticLHCO(shifted=True).sample(n_background=300_000, seed=6)
    eps = [0.5, 0.2, 0.05]
    res = {}
    for cls in (CATHODEProducer, LaCATHODEProducer):
        sf = cls("fast").produce(bg, [SR], seed=2, score_range=(2.8, 5.2), progress=False)
        d = sf["SR5"].data
        res[cls.name] = sculpting_curve(d.m, d.scores[0], eps, sr=(3.3, 3.7), n_bins=100)
    c, la = res["cathode"], res["lacathode"]
    assert c.chi2_ndof[-1] > c.chi2_ndof[0] and c.chi2_ndof[-1] > 2 * c.random_hi[-1]
    assert np.all(la.chi2_ndof < 1.5 * la.random_hi)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cathode", "lacathode", "salad"])
def test_no_signal_weak_methods_auc_half(name):
    from bumpstat.metrics.report import score_file_metrics

    bg = SyntheticLHCO().sample_background(300_000, seed=31)
    sim = SyntheticLHCO(variant="alternative").sample_background(300_000, seed=32)
    p = get_producer(name, preset="fast")
    sf = p.produce(bg, [SR], seed=1, reference=sim if p.needs_reference else None,
                   progress=False)
    w = score_file_metrics(sf).windows[0]
    assert abs(float(w.auc_data_vs_template[0]) - 0.5) < 0.02


def test_cli_train_scores_metrics_scan(tmp_path):
    from click.testing import CliRunner

    from bumpstat.cli import main

    ev, s = tmp_path / "ev.npz", tmp_path / "S.h5"
    run = CliRunner()
    r = run.invoke(main, ["generate", "-o", str(ev), "--n-background", "40000",
                          "--n-signal", "300", "--seed", "1", "--quiet"])
    assert r.exit_code == 0, r.output
    r = run.invoke(main, ["train-scores", str(ev), "--method", "cathode", "--preset", "test",
                          "--windows", "3.5", "--out", str(s), "--seed", "1", "--quiet"])
    assert r.exit_code == 0, r.output
    r = run.invoke(main, ["metrics", str(s), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["method"] == "cathode"
    r = run.invoke(main, ["scan", str(s), "--out", str(tmp_path / "scan"), "--quiet",
                          "--eps-b", "0.01"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "scan" / "scan.json").exists()
    r = run.invoke(main, ["train-scores", str(ev), "--method", "salad", "--preset", "test",
                          "--windows", "3.5", "--out", str(tmp_path / "T.h5")])
    assert r.exit_code != 0 and "--simulation" in r.output
    r = run.invoke(main, ["train-scores", str(ev), "--method", "cathode", "--preset", "huge",
                          "--windows", "3.5", "--out", str(tmp_path / "T.h5")])
    assert r.exit_code != 0 and "--preset" in r.output and "Traceback" not in r.output
