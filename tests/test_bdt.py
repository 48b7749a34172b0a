"""BDT ensemble with k-fold: out-of-fold scoring, reproducibility, a supervised closed form,
bad input, and that importing bumpstat does not import scikit-learn."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import bumpstat.classifiers.bdt as bdt
from bumpstat.classifiers import BDTConfig, fit_ensemble, kfold_scores
from bumpstat.exceptions import InputError
from bumpstat.metrics import roc_curve

SMALL = BDTConfig(n_models=2, min_events=20)


def two_samples(n1=1500, n0=1500, shift=0.5, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(shift, 1, (n1, d)), rng.normal(0, 1, (n0, d))


def test_config_presets_and_validation():
    assert BDTConfig.paper().n_models == 50 and BDTConfig.paper().n_folds == 5
    p = BDTConfig.paper()
    assert (p.learning_rate, p.max_leaf_nodes, p.max_bins, p.max_iter, p.n_iter_no_change) == (
        0.1, 31, 255, 200, 10)
    assert BDTConfig.preset("fast").n_models < BDTConfig().n_models
    assert BDTConfig().with_(n_models=3).n_models == 3
    with pytest.raises(InputError, match="n_folds"):
        BDTConfig(n_folds=1)
    with pytest.raises(InputError, match="score"):
        BDTConfig(score="rank")
    with pytest.raises(InputError, match="preset"):
        BDTConfig.preset("huge")
    assert BDTConfig().to_dict()["n_models"] == 10


def test_every_event_scored_once_by_a_model_that_never_saw_it(monkeypatch):
    xd, xt = two_samples(600, 500, seed=1)
    xe = np.random.default_rng(2).normal(size=(50, 3))
    log = []
    real_fit = bdt.fit_ensemble

    def spy_fit(x, y, **kw):
        ens = real_fit(x, y, **kw)
        trained = {tuple(r) for r in x}
        real_score = ens.score

        def spy_score(xs):
            log.append((trained, [tuple(r) for r in np.asarray(xs)]))
            return real_score(xs)

        object.__setattr__(ens, "score", spy_score)
        return ens

    monkeypatch.setattr(bdt, "fit_ensemble", spy_fit)
    res = kfold_scores(xd, xt, config=SMALL, seed=3, x_extra=xe)
    assert res.data_scores.shape == (600,) and res.template_scores.shape == (500,)
    assert res.extra_scores is not None and res.extra_scores.shape == (50,)
    # 5 folds, each scores its test events and its share of the extra events
    assert len(log) == 10
    counts: dict = {}
    for trained, scored in log:
        assert not trained.intersection(scored), "an event was scored by a model trained on it"
        for r in scored:
            counts[r] = counts.get(r, 0) + 1
    for r in map(tuple, np.r_[xd, xt]):
        assert counts[r] == 1
    for r in map(tuple, xe):
        assert counts[r] == 1  # by the ensemble of one fold (balanced)
    assert np.bincount(res.extra_fold).tolist() == [10] * 5
    # stratified: each fold holds a fifth of each class
    assert np.bincount(res.data_fold).tolist() == [120] * 5
    assert np.bincount(res.template_fold).tolist() == [100] * 5


def test_reproducible_and_seed_dependent():
    xd, xt = two_samples(seed=4)
    a = kfold_scores(xd, xt, config=SMALL, seed=7)
    b = kfold_scores(xd, xt, config=SMALL, seed=7)
    c = kfold_scores(xd, xt, config=SMALL, seed=8)
    assert np.array_equal(a.data_scores, b.data_scores)
    assert np.array_equal(a.template_scores, b.template_scores)
    assert not np.array_equal(a.data_scores, c.data_scores)
    # a shared split seed fixes the folds but not the members
    one = BDTConfig(n_models=1, min_events=20)
    d = kfold_scores(xd, xt, config=one, seed=9, split_seed=1)
    e = kfold_scores(xd, xt, config=one, seed=10, split_seed=1)
    assert np.array_equal(d.data_fold, e.data_fold)
    assert a.to_dict()["n_data"] == 1500


def test_supervised_auc_matches_closed_form():
    # class 1 pure N(1, 1), class 0 pure N(0, 1) in one feature: the optimal AUC is
    # Phi(1/sqrt 2) = 0.760 and a monotone score cannot beat it
    rng = np.random.default_rng(5)
    n = 20_000
    xd, xt = rng.normal(1, 1, (n, 1)), rng.normal(0, 1, (n, 1))
    res = kfold_scores(xd, xt, config=BDTConfig(n_models=1), seed=1)
    auc = roc_curve(np.r_[res.data_scores, res.template_scores],
                    np.r_[np.ones(n), np.zeros(n)]).auc
    assert auc == pytest.approx(stats.norm.cdf(1 / np.sqrt(2)), abs=0.01)
    assert 0.0 < res.data_scores.min() and res.data_scores.max() < 1.0  # probabilities


def test_logit_score_is_monotone_in_proba_for_one_model():
    xd, xt = two_samples(seed=6)
    x, y = np.r_[xd, xt], np.r_[np.ones(len(xd)), np.zeros(len(xt))]
    ens_p = fit_ensemble(x, y, config=BDTConfig(n_models=1, min_events=20), seed=2)
    ens_l = fit_ensemble(x, y, config=BDTConfig(n_models=1, min_events=20, score="logit"), seed=2)
    p, z = ens_p.score(xt), ens_l.score(xt)
    assert np.allclose(p, 1 / (1 + np.exp(-z)))


def test_bad_input():
    xd, xt = two_samples(seed=7)
    bad = xd.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        kfold_scores(bad, xt, config=SMALL)
    with pytest.raises(InputError, match="only one class"):
        kfold_scores(xd, xt[:0], config=SMALL)
    with pytest.raises(InputError, match="only one class"):
        fit_ensemble(xd, np.ones(len(xd)), config=SMALL)
    with pytest.raises(InputError, match=">= 20"):
        kfold_scores(xd[:10], xt, config=SMALL)
    with pytest.raises(InputError, match="features"):
        kfold_scores(xd, xt[:, :2], config=SMALL)
    with pytest.raises(InputError, match="labels"):
        fit_ensemble(xd, np.full(len(xd), 2), config=SMALL)


def test_import_does_not_load_sklearn():
    code = ("import sys, bumpstat, bumpstat.classifiers, bumpstat.producers, "
            "bumpstat.producers.iad, bumpstat.producers.cwola, bumpstat.metrics, "
            "bumpstat.cli.scores; assert 'sklearn' not in sys.modules, 'sklearn imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_extra_events_are_scored_like_the_out_of_fold_data():
    """Events like the training data but outside it (a fit range beyond the window) get
    scores distributed as the out-of-fold data scores: a cut keeps the same fraction of
    them (the mean of the k ensembles would be narrower and keep fewer in the tails)."""
    from scipy import stats

    rng = np.random.default_rng(11)
    xd, xt, xe = (rng.normal(size=(n, 3)) for n in (4000, 4000, 8000))  # one population
    res = kfold_scores(xd, xt, config=SMALL, seed=2, x_extra=xe)
    assert stats.ks_2samp(res.data_scores, res.extra_scores).pvalue > 0.01
    cut = np.quantile(res.data_scores, 0.95)
    assert abs(np.mean(res.extra_scores > cut) - 0.05) < 0.012
    # and the data/template scores do not depend on whether extra events are scored
    alone = kfold_scores(xd, xt, config=SMALL, seed=2)
    assert np.array_equal(alone.data_scores, res.data_scores)
