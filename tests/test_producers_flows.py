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


def _background_vs_template_auc(ws):
    """AUC of the SR *background* data (truth label 0) against the template (its weights): the
    data-vs-template AUC without signal, from out-of-fold scores."""
    from bumpstat.metrics.roc import roc_curve

    sr = ws.signal_region()
    bkg = sr.label == 0
    s = np.r_[sr.scores[0][bkg], ws.template.scores[0]]
    y = np.r_[np.ones(int(bkg.sum())), np.zeros(ws.template.n_events)]
    return roc_curve(s, y, weights=np.r_[np.ones(int(bkg.sum())),
                                         ws.template.weights()]).auc


# Measured with these seeds (30k events, test presets): cathode 0.591, lacathode 0.588 (the
# tiny test flows mismodel the background; 0.518 / 0.521 with the fast preset at 300k, slow
# test below), anode 0.510, salad 0.501; the signal AUCs are 0.95, 0.97, 0.66, 0.98.
NULL_AUC_TOL = {"cathode": 0.1, "lacathode": 0.1, "anode": 0.04, "salad": 0.03}


@pytest.mark.parametrize("name", sorted(NULL_AUC_TOL))
def test_without_signal_data_vs_template_auc_near_half(produced, name):
    """Issue 12, reduced: the weakly supervised methods cannot tell the SR background from
    their template (AUC ~ 0.5); the signal events are what they find."""
    from bumpstat.metrics.report import score_file_metrics

    ws = produced[name]["SR5"]
    auc0 = _background_vs_template_auc(ws)
    assert abs(auc0 - 0.5) < NULL_AUC_TOL[name], (name, auc0)
    auc_sig = score_file_metrics(produced[name]).windows[0].values("auc")[0]
    assert auc_sig - 0.5 > 2 * abs(auc0 - 0.5), (name, auc0, auc_sig)


@pytest.mark.parametrize("name", ["anode", "salad"])
def test_background_only_scan_no_excess_reduced(produced, name):
    """Issue 12, reduced: the SR background events alone (truth label 0, out-of-fold scores),
    scanned with the direct method at two working points, give a global p-value consistent
    with no signal. Only the methods whose test-preset template is good enough without a
    delta_sys (measured above); all four with delta_sys^MC are the slow study test below."""
    from bumpstat.estimators import DirectEstimator
    from bumpstat.global_significance import global_significance
    from bumpstat.scan import run_scan
    from bumpstat.scores.schema import ScoreFile, WindowScores

    ws = produced[name]["SR5"]
    bkg = WindowScores(ws.window, ws.data.select(ws.data.label == 0), ws.template)
    sf = ScoreFile((bkg,), method=name)
    scan = run_scan(sf, estimators=[DirectEstimator()], eps_b=(1e-2, 1e-3), progress=False)
    g = global_significance(sf, scan, n_toys=400, seed=1, upcrossing_toys=0, progress=False)
    assert g.p_global > 0.01, (name, g.z_local_max, g.p_global)
    # and the signal events are what makes the excess
    full = run_scan(produced[name], estimators=[DirectEstimator()], eps_b=(1e-2, 1e-3),
                    progress=False)
    assert max(p.mean("z") for p in full.points) > g.z_local_max + 2, name


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


def _exact_latent(gen):
    """The perfect LaCATHODE map of the synthetic generator: z_j = Phi^-1(F_j(x_j | m)) with
    the exact conditional CDFs of the (given m independent) background features."""
    from scipy import stats

    def to_latent(background, x, m, **kw):
        x, m = np.asarray(x, dtype=float).copy(), np.asarray(m, dtype=float)
        q = gen._bg_feature_params(m)
        x[:, :2] -= 0.1 * m[:, None] * gen.shifted
        u = np.column_stack([stats.gamma.cdf(x[:, 0], q["mj1"][0], scale=q["mj1"][1]),
                             stats.gamma.cdf(x[:, 1], q["dm"][0], scale=q["dm"][1]),
                             stats.beta.cdf(x[:, 2], *q["t1"]),
                             stats.beta.cdf(x[:, 3], *q["t2"])])
        return stats.norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))

    return to_latent


def test_lacathode_with_the_exact_latent_map_does_not_sculpt(monkeypatch):
    """Reference for the sculpting checks: with a perfect flow (the generator's exact
    conditional CDFs as the latent map) a cut on the LaCATHODE score leaves the m spectrum in
    the random band, on the same strongly m-correlated background where CATHODE sculpts.
    What the trained flows show beyond this (docs/producers_comparison.md) is flow
    mismodelling, not the method."""
    import bumpstat.flows.latent as latent
    from bumpstat.fit.sculpting import sculpting_curve

    gen = SyntheticLHCO(shifted=True)
    bg = gen.sample_background(60_000, seed=5)
    monkeypatch.setattr(latent, "to_latent", _exact_latent(gen))
    sf = LaCATHODEProducer("test").produce(bg, [SR], seed=2, score_range=(2.8, 5.2),
                                           progress=False)
    d = sf["SR5"].data
    c = sculpting_curve(d.m, d.scores[0], [0.5, 0.2, 0.05], sr=(3.3, 3.7), n_bins=40)
    assert np.all(c.chi2_ndof < 1.3 * c.random_hi), (c.chi2_ndof, c.random_hi)
    assert np.allclose(c.eps_actual, [0.5, 0.2, 0.05], atol=0.02)  # same cut inside and out


@pytest.mark.slow
def test_sculpting_cathode_grows_lacathode_in_band():
    """Paper 001 Fig. 7, the configuration of ``bumpstat study sculpting`` (300k shifted
    background events, fast preset, 100 equal-content bins, eps_sel 0.5 ... 0.02). Measured
    (docs/papers.md): CATHODE chi2/ndof 3.7, 10.1, 21.0, 29.7, 31.2; LaCATHODE 0.78, 0.96,
    1.32, 1.30, 1.05 against random-band upper edges 0.60, 0.95, 1.01, 1.05, 1.07."""
    from bumpstat.study.sculpting import SculptingConfig, run_sculpting

    res = run_sculpting(SculptingConfig(), progress=False)
    c, la = res.curves["cathode"], res.curves["lacathode"]
    assert np.all(np.diff(c.chi2_ndof[:4]) > 0)  # grows as the cut tightens
    assert np.all(c.chi2_ndof[2:] > 10 * c.random_hi[2:])
    assert np.all(la.chi2_ndof < 1.5 * la.random_hi)  # in (or at the edge of) the band
    assert np.allclose(la.eps_actual, la.eps_sel, atol=0.015)  # the same cut everywhere


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cathode", "lacathode", "anode", "salad"])
def test_no_signal_weak_methods_auc_half(name):
    """Background only, 300k events, fast preset. Measured: cathode 0.518, lacathode 0.521,
    anode 0.519, salad 0.504 (Mann-Whitney error ~0.002: the flow-based templates are
    mismodelled at the 2% level, which delta_sys^MC has to cover; see
    docs/producers_comparison.md)."""
    from bumpstat.metrics.report import score_file_metrics

    bg = SyntheticLHCO().sample_background(300_000, seed=31)
    sim = SyntheticLHCO(variant="alternative").sample_background(300_000, seed=32)
    p = get_producer(name, preset="fast")
    sf = p.produce(bg, [SR], seed=1, reference=sim if p.needs_reference else None,
                   progress=False)
    w = score_file_metrics(sf).windows[0]
    assert w.n_signal == 0 and abs(float(w.auc_data_vs_template[0]) - 0.5) < 0.03


@pytest.mark.slow
def test_background_only_study_scan_finds_no_excess(tmp_path):
    """Issue 12: background-only data (N_sig = 0), each method's scores in three windows, the
    direct scan with delta_sys^MC from the alternative generator and the global significance
    by count pseudo-experiments (test presets, 40k events, 2 seeds per method). 8 background-
    only experiments: no global p-value below 0.01/8 (Bonferroni) and a median p-value that
    is not small. Measured: cathode 0.47 (seed 0), salad 0.71 and 0.006 — the smallest, where
    delta_sys^MC at this size (sigma_stat 0.21 at eps_B = 1e-2) happened to come out negative."""
    from bumpstat.study import StudyConfig, run_study
    from bumpstat.windows import sliding_windows

    cfg = StudyConfig(n_signal=(0,), seeds=2,
                      score_methods=("cathode", "lacathode", "anode", "salad"),
                      methods=("direct",), global_toys=500, producer_options={"preset": "test"},
                      size_overrides={"n_background": 40_000, "n_reference": 40_000,
                                      "n_mc": 40_000},
                      windows=sliding_windows([3.3, 3.5, 3.7]))
    res = run_study(cfg, out=tmp_path, progress=False)
    p = np.array([pt["p_global"] for pt in res.points])
    assert p.size == 8 and p.min() > 0.01 / p.size and np.median(p) > 0.1, p


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
    sim = tmp_path / "sim.npz"
    r = run.invoke(main, ["generate", "-o", str(sim), "--n-background", "40000", "--seed", "2",
                          "--variant", "alternative", "--quiet"])
    assert r.exit_code == 0, r.output
    for method, extra in (("salad", ["--simulation", str(sim)]), ("ae", [])):
        out = tmp_path / f"{method}.h5"
        r = run.invoke(main, ["train-scores", str(ev), "--method", method, "--preset", "test",
                              "--windows", "3.5", "--out", str(out), "--seed", "2", "--quiet",
                              *extra])
        assert r.exit_code == 0, r.output
        r = run.invoke(main, ["metrics", str(out), "--json"])
        assert r.exit_code == 0 and json.loads(r.output)["method"] == method, r.output
        r = run.invoke(main, ["scan", str(out), "--out", str(tmp_path / f"scan_{method}"),
                              "--quiet", "--eps-b", "0.01"])
        assert r.exit_code == 0, r.output
    r = run.invoke(main, ["train-scores", str(ev), "--method", "cathode", "--preset", "huge",
                          "--windows", "3.5", "--out", str(tmp_path / "T.h5")])
    assert r.exit_code != 0 and "--preset" in r.output and "Traceback" not in r.output
