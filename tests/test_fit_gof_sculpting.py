"""Goodness of fit, nested-function choice, sculpting metric and plots (CLI: test_fit_cli.py)."""

import json

import matplotlib
import numpy as np
import pytest
from scipy import stats

from bumpstat.fit import (
    FitWarning,
    fit_sideband,
    get_function,
    goodness_of_fit,
    make_edges,
    sculpting_chi2,
    sculpting_curve,
    select_function,
)

matplotlib.use("Agg")

SR = (3.3, 3.7)


def spectrum(name, p, total, seed, edges):
    mu = get_function(name).bin_integrals(edges, p)
    return np.random.default_rng(seed).poisson(mu / mu.sum() * total).astype(float)


def test_gof_calibrated_over_toys():
    """Deviance p-values and KS p-values of correct fits are ~uniform; chi2/ndof ~ 1."""
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    dev_p, ks_p, chi = [], [], []
    for seed in range(40):
        g = goodness_of_fit(fit_sideband(spectrum("dijet4", [1, 10, 5, 0.1], 1e5, seed, edges),
                                         edges, sr=SR))
        dev_p.append(g.deviance_p_value)
        ks_p.append(g.ks_p_value)
        chi.append(g.chi2_ndof)
    assert stats.kstest(dev_p, "uniform").pvalue > 1e-3
    assert abs(np.mean(chi) - 1) < 4 * np.sqrt(2 / 20) / np.sqrt(40)
    # KS on pulls of a *fitted* model is conservative (fitted parameters shrink the residuals,
    # as in the Lilliefors case): p-values skew high, never low.
    assert np.mean(ks_p) > 0.4 and np.mean(np.array(ks_p) < 0.05) < 0.1


def test_gof_detects_wrong_function():
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    mu = get_function("dijet4").bin_integrals(edges, [1, 10, 5, 0.1])
    c = 0.5 * (edges[1:] + edges[:-1])
    mu = mu / mu.sum() * 1e6 * (1 + 0.1 * np.exp(-0.5 * ((c - 3.0) / 0.1) ** 2))  # a wiggle
    fit = fit_sideband(np.random.default_rng(0).poisson(mu).astype(float), edges, sr=SR)
    assert fit.valid
    g = goodness_of_fit(fit)
    assert g.chi2_ndof > 10 and g.deviance_p_value < 1e-6


def test_linear_on_steep_spectrum_is_flagged_not_silent():
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    n = spectrum("dijet4", [1, 10, 5, 0.1], 5e5, 1, edges)
    with pytest.warns(FitWarning, match="not valid"):
        fit = fit_sideband(n, edges, sr=SR, function="linear")
    assert not fit.valid and "limit" in fit.reason
    json.dumps(fit.to_dict())


@pytest.mark.parametrize("test", ["wilks", "ftest"])
def test_select_function_picks_simplest_adequate(test):
    edges = make_edges((2.8, 5.2), 30, sr=SR)
    simple = spectrum("dijet3", [1, 10, 5], 2e5, 2, edges)
    choice = select_function(simple, edges, sr=SR, test=test)
    assert choice.chosen == "dijet3"
    # strong curvature in ln x needs the 4th parameter
    curved = spectrum("dijet4", [1, 2, 3, -3.0], 1e6, 1, edges)
    choice = select_function(curved, edges, sr=SR, test=test)
    assert choice.chosen in ("dijet4", "dijet5")
    assert choice.tests[0].p_value < 0.05
    json.dumps(choice.to_dict())


def test_sculpting_independent_vs_correlated():
    rng = np.random.default_rng(0)
    n = 300_000
    m = 2.8 + rng.exponential(0.4, n)
    indep = rng.random(n)
    corr = indep + 0.3 * (m - 2.8)  # score correlated with m
    eps = [0.5, 0.1, 0.03]
    r_ind = sculpting_curve(m, indep, eps, n_random=30, seed=1)
    r_cor = sculpting_curve(m, corr, eps, n_random=30, seed=1)
    # independent: inside a widened random band, ~1
    band_w = r_ind.random_hi - r_ind.random_lo
    assert np.all(np.abs(r_ind.chi2_ndof - r_ind.random_median) < 3 * band_w)
    assert np.all(np.abs(r_ind.random_median - (1 - r_ind.eps_actual)) < 0.1)
    assert np.all(r_cor.chi2_ndof > 10 * r_cor.random_hi)
    assert r_ind.n_bins == 300
    # a single mask gives the same number
    sel = indep > np.quantile(indep, 0.9)
    assert 0.7 < sculpting_chi2(m, sel) < 1.3
    json.dumps(r_ind.to_dict())


def test_plots_return_figures_and_save(tmp_path):
    import matplotlib.pyplot as plt

    from bumpstat.fit import bumphunt
    from bumpstat.plotting.fit import plot_fit, plot_sculpting

    rng = np.random.default_rng(0)
    m = 2.8 * (1 + rng.pareto(6.0, 50_000))
    res = bumphunt(m, window=SR, bins=30)
    fig = plot_fit(res)
    assert len(fig.axes) == 2
    plt.close(fig)
    fig = plot_fit(res, path=tmp_path / "fit.png")
    assert (tmp_path / "fit.png").stat().st_size > 0
    plt.close(fig)
    sc = sculpting_curve(m, rng.random(m.size), [0.5, 0.1], n_random=10)
    fig, ax = plt.subplots()
    assert plot_sculpting(sc, ax=ax) is fig
    plt.close(fig)
