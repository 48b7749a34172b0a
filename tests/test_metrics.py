"""Metrics against closed forms: ROC/AUC/SIC of Gaussians, the 20% cut, overlaps, combinations,
KS statistics; the score-file report, plots and the ``bumpstat metrics`` CLI."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure
from scipy import stats

from bumpstat.cli import main
from bumpstat.exceptions import InputError
from bumpstat.metrics import (
    classifier_metrics,
    combine_score_files,
    combine_scores,
    marginal_ks,
    percentile_overlap,
    roc_curve,
    sample_level_template,
    score_file_metrics,
    score_file_overlap,
    standardise,
    summarise_runs,
    top_fraction,
)
from bumpstat.metrics.report import window_metrics
from bumpstat.results import Result
from bumpstat.scores import EventSet, ScoreFile, WindowScores, write_scores
from bumpstat.serialize import loads
from bumpstat.windows import Window


def gaussians(n_s, n_b, delta, seed=0):
    rng = np.random.default_rng(seed)
    s = np.r_[rng.normal(delta, 1, n_s), rng.normal(0, 1, n_b)]
    y = np.r_[np.ones(n_s, int), np.zeros(n_b, int)]
    return s, y


# ---------------------------------------------------------------- ROC / AUC / SIC
@pytest.mark.parametrize("delta", [0.0, 0.5, 1.0, 2.0])
def test_auc_two_gaussians_closed_form(delta):
    s, y = gaussians(40_000, 40_000, delta, seed=1)
    auc = roc_curve(s, y).auc
    # AUC = Phi(delta / sqrt 2); Mann-Whitney standard error below 0.003 here
    assert auc == pytest.approx(stats.norm.cdf(delta / np.sqrt(2)), abs=0.006)


def test_auc_equals_mann_whitney_with_ties():
    rng = np.random.default_rng(2)
    s = rng.integers(0, 5, 3000).astype(float)  # many ties
    y = rng.integers(0, 2, 3000)
    u = stats.mannwhitneyu(s[y == 1], s[y == 0]).statistic
    assert roc_curve(s, y).auc == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()), rel=1e-12)
    assert roc_curve(np.zeros(10), np.r_[np.ones(5), np.zeros(5)]).auc == 0.5


def test_sic_at_eps_b_closed_form():
    delta = 2.0
    s, y = gaussians(200_000, 2_000_000, delta, seed=3)
    m = classifier_metrics(s, y, eps_b=1e-3)
    t = stats.norm.isf(1e-3)
    expect = stats.norm.sf(t - delta) / np.sqrt(1e-3)
    # eps_B known to 1/sqrt(2000) = 2.2%, eps_S to < 1%: SIC to ~2%
    assert m.sic_at_eps_b == pytest.approx(expect, rel=0.05)
    assert m.sic_at_reliable
    # max SIC of the closed form on the kept part (N_B,pass >= 25 -> eps_B >= 1.25e-5)
    eb = np.logspace(np.log10(25 / 2_000_000), 0, 2000)
    max_cf = np.max(stats.norm.sf(stats.norm.isf(eb) - delta) / np.sqrt(eb))
    assert m.max_sic == pytest.approx(max_cf, rel=0.1)


def test_relative_error_cut_is_25_background_events():
    # background scores 1..100, signal above all: N_B,pass = 0..100
    b = np.arange(1.0, 101.0)
    s = np.r_[np.full(10, 1000.0), b]
    y = np.r_[np.ones(10), np.zeros(100)]
    sic = roc_curve(s, y).sic()
    n_pass = sic.eps_b * 100
    assert np.array_equal(sic.kept, n_pass >= 25 - 1e-9)
    # all signal passes everywhere: max SIC at the smallest kept eps_B = 0.25
    assert sic.max_sic == pytest.approx(1 / np.sqrt(0.25))
    # 10% cut -> N_B,pass >= 100
    assert roc_curve(s, y).sic(max_rel_error=0.1).max_sic == pytest.approx(1.0)
    # weights: effective counts, so uniform weights change nothing
    sic_w = roc_curve(s, y, weights=np.full(110, 3.0)).sic()
    assert np.array_equal(sic_w.kept, sic.kept)


def test_eps_s_interpolation_and_reliability_flag():
    s = np.array([4.0, 3.0, 2.0, 1.0])
    y = np.array([1, 0, 1, 0])
    roc = roc_curve(s, y)
    assert roc.eps_b.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert roc.eps_s_at(0.25) == pytest.approx(0.5)  # between (0, .5) and (.5, .5)
    assert roc.eps_s_at(0.5) == pytest.approx(1.0)  # upper envelope at a tie in eps_b
    assert not classifier_metrics(s, y, eps_b=0.5).sic_at_reliable


def test_roc_bad_input():
    with pytest.raises(InputError, match="no signal"):
        roc_curve([1.0, 2.0], [0, 0])
    with pytest.raises(InputError, match="no background"):
        roc_curve([1.0, 2.0], [1, 1])
    with pytest.raises(InputError, match="NaN"):
        roc_curve([np.nan, 2.0], [0, 1])
    with pytest.raises(InputError, match="shape"):
        roc_curve([1.0, 2.0], [0, 1, 1])


def test_summarise_runs():
    r = summarise_runs(np.arange(101.0))
    assert r["median"] == 50 and r["band"] == [16.0, 84.0]


# ---------------------------------------------------------------- score-file report
def labelled_file(n_runs=3, with_signal=True, seed=0, labels=True):
    rng = np.random.default_rng(seed)
    wins = []
    for name, lo in (("A", 3.3), ("B", 3.4)):
        n_s = 300 if with_signal else 0
        n_b = 30_000
        lab = np.r_[np.ones(n_s, int), np.zeros(n_b, int)]
        d = rng.normal(1.5 * lab, 1.0, (n_runs, lab.size))
        m = rng.uniform(lo, lo + 0.4, lab.size)
        t = rng.normal(0, 1, (n_runs, 30_000))
        wins.append(WindowScores(Window(lo, lo + 0.4, name),
                                 EventSet(d, m=m, label=lab if labels else None),
                                 EventSet(t, m=rng.uniform(lo, lo + 0.4, 30_000))))
    return ScoreFile(tuple(wins), method="toy")


def test_score_file_metrics_report():
    rep = score_file_metrics(labelled_file()).to_dict()
    assert rep["method"] == "toy" and rep["n_runs"] == 3
    w = rep["windows"][0]
    for key in ("auc", "max_sic", "sic_at_1e-3", "auc_band", "sic_at_1e-3_band",
                "auc_data_vs_template"):
        assert key in w
    assert w["auc"] == pytest.approx(stats.norm.cdf(1.5 / np.sqrt(2)), abs=0.03)
    assert w["auc_band"][0] <= w["auc"] <= w["auc_band"][1]
    assert w["auc_data_vs_template"] == pytest.approx(0.5, abs=0.02)
    json.dumps(rep)


def test_score_file_metrics_no_signal_and_no_labels():
    rep = score_file_metrics(labelled_file(with_signal=False)).to_dict()
    assert rep["windows"][0]["has_signal"] is False and rep["windows"][0]["auc"] is None
    with pytest.raises(InputError, match="no truth labels"):
        score_file_metrics(labelled_file(labels=False))
    with pytest.raises(InputError, match="window 'A'.*no truth labels"):
        window_metrics(labelled_file(labels=False)["A"])
    with pytest.raises(InputError, match="no truth labels"):
        score_file_overlap([labelled_file(labels=False)] * 2, "A", p=[0.05])


def test_metrics_results_follow_the_result_contract():
    rep = score_file_metrics(labelled_file(n_runs=2))
    assert isinstance(rep, Result) and all(isinstance(w, Result) for w in rep.windows)
    text = rep.to_json()
    assert "NaN" not in text and "Infinity" not in text
    rows = rep.records()
    assert [r["window.name"] for r in rows] == ["A", "B"] and "auc" in rows[0]
    roc = roc_curve(*gaussians(100, 1000, 1.0))
    assert roc.to_dict()["threshold"][0] is None  # +inf threshold of the first point
    loads(roc.to_json())
    assert isinstance(classifier_metrics(*gaussians(100, 1000, 1.0)), Result)


def test_metrics_cli(tmp_path):
    path = write_scores(tmp_path / "toy.h5", labelled_file())
    res = CliRunner().invoke(main, ["metrics", str(path), "--json", "-o",
                                    str(tmp_path / "m.json"), "--out", str(tmp_path / "plots"),
                                    "--quiet"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["method"] == "toy" and out["scores"] == str(path)
    assert {"auc", "max_sic", "sic_at_1e-3"} <= set(out["windows"][0])
    assert json.loads((tmp_path / "m.json").read_text()) == out
    assert (tmp_path / "plots" / "sic_toy_A.png").is_file()
    assert json.loads((tmp_path / "plots" / "metrics.json").read_text()) == out
    manifest = json.loads((tmp_path / "plots" / "bumpstat-manifest.json").read_text())
    assert manifest["complete"] and "metrics.json" in manifest["files"]
    res = CliRunner().invoke(main, ["metrics", str(path)])  # text summary
    assert res.exit_code == 0 and "AUC" in res.output and "sic_at_1e-3" in res.output
    res = CliRunner().invoke(main, ["metrics", str(path), "-o", str(path)])
    assert res.exit_code == 2 and "input" in res.output
    nolab = write_scores(tmp_path / "nolab.npz", labelled_file(labels=False))
    res = CliRunner().invoke(main, ["metrics", str(nolab), "--json"])
    assert res.exit_code == 2 and "no truth labels" in res.output and "nolab.npz" in res.output
    assert "no signal" not in res.output


# ---------------------------------------------------------------- overlaps
def test_overlap_random_baseline():
    rng = np.random.default_rng(4)
    n = 200_000
    r = percentile_overlap({"a": rng.random(n), "b": rng.random(n), "c": rng.random(n)},
                           p=[0.01, 0.05, 0.2])
    for v in r.pairs.values():
        # binomial spread of the overlap fraction: sqrt(p (1 - p) / k)
        sd = np.sqrt(r.p * (1 - r.p) / (r.p * n))
        assert np.all(np.abs(v - r.p) < 4 * sd)
    assert np.allclose(r.baseline_all, r.p**2)
    assert np.all(np.abs(r.excess_all) < 4 * np.sqrt(r.p**2 / (r.p * n)) + 1e-4)


def test_overlap_identical_and_opposite():
    s = np.random.default_rng(5).random(1000)
    r = percentile_overlap([s, s, -s], p=[0.1, 0.3], names=["x", "y", "z"])
    assert np.allclose(r.pairs[("x", "y")], 1.0)
    assert np.allclose(r.pairs[("x", "z")], 0.0)
    assert top_fraction(s, 0.1).sum() == 100
    with pytest.raises(InputError):
        percentile_overlap([s, s[:10]])
    with pytest.raises(InputError):
        top_fraction(s, 0.0)


def test_score_file_overlap_uses_background_events():
    a, b = labelled_file(seed=1), labelled_file(seed=1)
    r = score_file_overlap({"a": a, "b": b}, "A", p=[0.05])
    assert r.n_events == 30_000 and r.pairs[("a", "b")][0] == 1.0
    with pytest.raises(InputError, match="same SR data"):
        score_file_overlap([a, labelled_file(seed=2)], "A", p=[0.05])


# ---------------------------------------------------------------- combinations
def test_standardise():
    rng = np.random.default_rng(6)
    z = standardise(rng.normal(3, 2, (2, 5000)))
    assert np.allclose(z.mean(axis=1), 0) and np.allclose(z.std(axis=1), 1)
    ref = np.array([0.0, 2.0])
    assert standardise(np.array([1.0, 3.0]), reference=ref).tolist() == [0.0, 2.0]
    with pytest.raises(InputError, match="zero spread"):
        standardise(np.ones(4))


def test_score_combination_closed_form():
    # two independent noisy views of the same separation delta: the mean of standardised
    # scores has separation sqrt(2) delta per unit noise, so AUC goes Phi(d/sqrt2) -> Phi(d)
    rng = np.random.default_rng(7)
    n, d = 50_000, 1.0
    y = np.r_[np.ones(n, int), np.zeros(n, int)]
    s1 = d * y + rng.normal(size=2 * n)
    s2 = 10 * (d * y + rng.normal(size=2 * n)) + 5  # other scale and offset
    comb = combine_scores([s1, s2], references=[s1[y == 0], s2[y == 0]])
    assert roc_curve(s1, y).auc == pytest.approx(stats.norm.cdf(d / np.sqrt(2)), abs=0.005)
    assert roc_curve(comb, y).auc == pytest.approx(stats.norm.cdf(d), abs=0.005)


def test_combine_score_files():
    a = labelled_file(seed=3)
    c = combine_score_files([a, a])
    assert c.method == "toy+toy" and c.n_runs == 3
    assert np.allclose(c["A"].template.scores.mean(axis=1), 0, atol=1e-12)
    with pytest.raises(InputError, match="same events"):
        combine_score_files([a, labelled_file(seed=4)])


def test_sample_level_template_equal_shares():
    from bumpstat.events import Events

    def ev(n, tag):
        return Events(np.full(n, 3.5), np.full((n, 1), tag), ("f",), label=np.zeros(n, int))

    t = sample_level_template([ev(1000, 0.0), ev(300, 1.0), ev(500, 2.0)], seed=1)
    assert len(t) == 900
    assert [int((t.x[:, 0] == k).sum()) for k in (0, 1, 2)] == [300, 300, 300]
    with pytest.raises(InputError):
        sample_level_template([ev(10, 0.0), ev(10, 1.0)], n_per_template=11)


# ---------------------------------------------------------------- KS marginals
def test_marginal_ks_matches_scipy_and_weights():
    rng = np.random.default_rng(8)
    a, b = rng.normal(0, 1, (4000, 2)), rng.normal(0.1, 1, (3000, 2))
    r = marginal_ks(a, b, feature_names=["u", "v"])
    for j in range(2):
        ref = stats.ks_2samp(a[:, j], b[:, j], method="asymp")
        assert r.statistic[j] == pytest.approx(ref.statistic, rel=1e-12)
        assert r.p_value[j] == pytest.approx(ref.pvalue, rel=0.1, abs=1e-6)
    # integer weights == repeated events
    w = rng.integers(1, 4, 4000)
    rw = marginal_ks(a, b, template_weights=w)
    rr = marginal_ks(np.repeat(a, w, axis=0), b)
    assert np.allclose(rw.statistic, rr.statistic)
    assert set(r.to_dict()["features"]) == {"u", "v"}


# ---------------------------------------------------------------- plots
def test_plots(tmp_path):
    from bumpstat.plotting.metrics import plot_overlap, plot_sic, sic_band

    sf = labelled_file()
    fig = plot_sic(sf["A"], label="toy", path=tmp_path / "sic.png")
    assert isinstance(fig, Figure) and (tmp_path / "sic.png").is_file()
    s, y = gaussians(5000, 50_000, 2.0)
    curves = [roc_curve(s + 0.01 * k, y).sic() for k in range(3)]
    band = sic_band(curves, x="eps_b")
    assert np.all(band["low"] <= band["median"]) and np.all(band["median"] <= band["high"])
    assert isinstance(plot_sic(curves, x="eps_b"), Figure)
    rng = np.random.default_rng(0)
    r = percentile_overlap([rng.random(1000) for _ in range(3)], p=[0.05, 0.1])
    assert isinstance(plot_overlap(r, path=tmp_path / "ov.png"), Figure)
    assert (tmp_path / "ov.png").is_file()
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize("option, value", [("--eps-b", "nan"), ("--max-rel-error", "nan"),
                                           ("--eps-b", "1")])
def test_metrics_cli_nan_options_are_one_line_errors(tmp_path, option, value):
    from click.testing import CliRunner

    from bumpstat.cli import main
    from bumpstat.scores import write_scores

    from helpers import toy_score_file

    path = write_scores(tmp_path / "s.h5", toy_score_file(n_runs=1, seed=2, n_signal=50))
    res = CliRunner().invoke(main, ["metrics", str(path), option, value])
    assert res.exit_code == 2 and (res.exception is None or isinstance(res.exception, SystemExit))
    assert sum(ln.startswith("Error:") for ln in res.output.splitlines()) == 1, res.output
