"""Synthetic LHCO-like generator: densities against numerical integration, samples against
densities, the R&D facts (fractions), variants, reproducibility and input errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from bumpstat.data import SyntheticLHCO
from bumpstat.exceptions import InputError
from bumpstat.windows import Window

SR = (3.3, 3.7)


@pytest.fixture(scope="module")
def gen() -> SyntheticLHCO:
    return SyntheticLHCO()


def _quad(f, a, b, points=None):
    return integrate.quad(
        lambda t: float(f(np.array([t]))[0]),
        a,
        b,
        points=points,
        epsabs=0,
        epsrel=1e-11,
        limit=500,
    )[0]


def _gl(edges, n):
    """Composite Gauss-Legendre nodes and weights over consecutive ``edges``."""
    t, w = np.polynomial.legendre.leggauss(n)
    edges = np.asarray(edges, float)
    a, b = edges[:-1, None], edges[1:, None]
    nodes = (a + (b - a) * (t + 1) / 2).ravel()
    weights = ((b - a) / 2 * w).ravel()
    return nodes, weights


#: edges (in units of the width) around the narrow signal peaks in m_J1 and delta m
_PEAK = np.array([-12.0, -5.0, -3.0, -1.5, 0.0, 1.5, 3.0, 5.0, 12.0])


def _axes(component: str, m: float, shift: float = 0.0, n: int = 4):
    """Integration axes covering the support of each baseline feature (all but ~1e-12)."""
    tau = _gl([0, 0.25, 0.5, 0.75, 1.0], n + 1)
    if component == "background":
        ax = [
            _gl([0, 0.01, 0.05, 0.15, 0.4, 0.9, 2.0], n),
            _gl([0, 1e-4, 1e-3, 0.01, 0.05, 0.2, 0.6, 1.4, 3.5], n),
            tau,
            tau,
        ]
    else:
        ax = [
            _gl(0.1 + 0.005 * _PEAK, n),
            _gl(0.4 + 0.02 * _PEAK, n),
            tau,
            tau,
        ]
    ax[0] = (ax[0][0] + shift * m, ax[0][1])
    ax[1] = (ax[1][0] + shift * m, ax[1][1])
    return ax


def _integrate_x(log_px, axes, m):
    """Tensor-product integral of exp(log_px) over the given axes at fixed m."""
    grids = np.meshgrid(*[a[0] for a in axes], indexing="ij")
    wts = np.meshgrid(*[a[1] for a in axes], indexing="ij")
    x = np.column_stack([g.ravel() for g in grids])
    w = np.prod([v.ravel() for v in wts], axis=0)
    return float(np.sum(np.exp(log_px(x, np.full(len(x), m))) * w))


# ------------------------------------------------------------------ m densities
@pytest.mark.parametrize("variant", ["nominal", "alternative"])
@pytest.mark.parametrize("m_range", [(1.5, 8.0), (2.8, 5.2)])
def test_m_densities_integrate_to_one(variant, m_range):
    g = SyntheticLHCO(variant=variant, m_range=m_range)
    pts = [p for p in (2.6, 3.3, 3.5, 3.7) if m_range[0] < p < m_range[1]]
    bg = _quad(lambda m: np.exp(g.log_p_bg_m(m)), *m_range, points=pts)
    sig = _quad(lambda m: np.exp(g.log_p_sig_m(m)), *m_range, points=pts)
    assert bg == pytest.approx(1.0, abs=1e-8)
    assert sig == pytest.approx(1.0, abs=1e-8)
    assert np.all(np.isneginf(g.log_p_bg_m([m_range[0] - 0.01, m_range[1] + 0.01])))
    assert np.all(np.isneginf(g.log_p_sig_m([m_range[0] - 0.01, m_range[1] + 0.01])))


def test_cdfs_match_quadrature(gen):
    for a in (2.0, 2.6, 3.05, 3.5, 4.4, 7.0):
        ref_bg = _quad(lambda m: np.exp(gen.log_p_bg_m(m)), 1.5, a)
        ref_sig = _quad(lambda m: np.exp(gen.log_p_sig_m(m)), 1.5, a)
        assert gen.cdf_bg_m(a) == pytest.approx(ref_bg, abs=1e-10)
        assert gen.cdf_sig_m(a) == pytest.approx(ref_sig, abs=1e-10)
    # the signal is a Gaussian (3.5, 0.17) truncated far in its tails
    assert gen.cdf_sig_m(3.5) == pytest.approx(0.5, abs=1e-12)
    assert np.exp(gen.log_p_sig_m(3.6)) == pytest.approx(stats.norm.pdf(3.6, 3.5, 0.17))


def test_background_shape_is_dijet_function_times_turn_on(gen):
    # above the turn-on, the log density is the dijet function: p1 ln(1-x) - p2 ln x + const
    m = np.array([3.5, 4.5, 6.0])
    x = m / 13.0
    d = gen.log_p_bg_m(m) - (10.0 * np.log1p(-x) - 3.74 * np.log(x))
    assert np.ptp(d) < 1e-8
    # the turn-on: the density rises below ~2.8 TeV and is falling above
    dens = np.exp(gen.log_p_bg_m(np.array([2.2, 2.5, 2.9, 3.5])))
    assert dens[0] < dens[1] < dens[2] and dens[2] > dens[3]


# ------------------------------------------------------------------ R&D facts
def test_fractions_in_signal_region(gen):
    f_bg = gen.fraction_in(*SR)
    f_sig = gen.fraction_in(*SR, component="signal")
    assert 0.115 <= f_bg <= 0.125
    assert 0.74 <= f_sig <= 0.78
    assert f_bg == pytest.approx(_quad(lambda m: np.exp(gen.log_p_bg_m(m)), *SR), abs=1e-10)
    # closed form for the (negligibly truncated) Gaussian signal
    assert f_sig == pytest.approx(2 * stats.norm.cdf(0.2 / 0.17) - 1, abs=1e-9)
    assert gen.fraction_in(1.0, 9.0) == pytest.approx(1.0, abs=1e-12)
    assert gen.fraction_in(8.5, 9.0) == 0.0

    bg = gen.sample_background(1_000_000, seed=11)
    sig = gen.sample_signal(100_000, seed=12)
    n_bg = bg.in_range(*SR).sum()
    n_sig = sig.in_range(*SR).sum()
    assert abs(n_bg - 1e6 * f_bg) < 4 * np.sqrt(1e6 * f_bg * (1 - f_bg))
    assert abs(n_sig - 1e5 * f_sig) < 4 * np.sqrt(1e5 * f_sig * (1 - f_sig))
    assert 115_000 < n_bg < 125_000


# ------------------------------------------------------------------ samples vs densities
def test_sampled_m_follows_density(gen):
    bg = gen.sample_background(200_000, seed=3)
    sig = gen.sample_signal(50_000, seed=4)
    assert stats.kstest(bg.m, gen.cdf_bg_m).pvalue > 1e-3
    assert stats.kstest(sig.m, gen.cdf_sig_m).pvalue > 1e-3
    # binned chi2 against bin masses from quadrature (independent of the tabulated CDF)
    edges = np.array([1.5, 2.3, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.2, 3.5, 4.0, 5.0, 8.0])
    probs = np.array(
        [
            _quad(lambda m: np.exp(gen.log_p_bg_m(m)), a, b)
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        ]
    )
    counts = np.histogram(bg.m, edges)[0]
    exp = probs * len(bg)
    keep = exp > 5
    chi2 = np.sum((counts[keep] - exp[keep]) ** 2 / exp[keep])
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3


@pytest.mark.parametrize("component", ["background", "signal"])
@pytest.mark.parametrize("m", [2.9, 3.5, 4.5])
def test_conditional_x_densities_integrate_to_one(component, m):
    for shifted in (False, True):
        g = SyntheticLHCO(shifted=shifted)
        log_px = g.log_p_bg_x if component == "background" else g.log_p_sig_x
        axes = _axes(component, m, 0.1 if shifted else 0.0)
        assert _integrate_x(log_px, axes, m) == pytest.approx(1.0, abs=1e-4)


def test_delta_r_conditional_integrates_to_one():
    # p(dR | x, m) = p(x, dR | m) / p(x | m) must integrate to 1 over dR, for any x and m
    g5, g4 = SyntheticLHCO(delta_r=True), SyntheticLHCO()
    rng = np.random.default_rng(0)
    for component in ("background", "signal"):
        for m in (2.9, 3.5, 4.6):
            base = g4.sample_x(np.array([m]), component=component, seed=rng)[0]
            f5 = g5.log_p_bg_x if component == "background" else g5.log_p_sig_x
            f4 = g4.log_p_bg_x if component == "background" else g4.log_p_sig_x
            l4 = f4(base[None, :], m)[0]

            def cond(dr, base=base, f5=f5, l4=l4, m=m):
                x = np.append(base, dr)[None, :]
                return np.exp(f5(x, m) - l4)

            assert _quad(cond, 0.0, 8.0, points=[3.0, 4.0, 5.0]) == pytest.approx(1.0, abs=1e-7)


def _binned_feature_check(g, component, m, j, bins, n_events, seed):
    """chi2 of sampled feature j at fixed m against bin probabilities integrated from the
    density over the bin and all other features."""
    x = g.sample_x(np.full(n_events, m), component=component, seed=seed)
    log_px = g.log_p_bg_x if component == "background" else g.log_p_sig_x
    axes = _axes(component, m, 0.1 if g.shifted else 0.0, n=3)
    probs = []
    for a, b in zip(bins[:-1], bins[1:], strict=True):
        ax = list(axes)
        ax[j] = _gl([a, b], 6)
        probs.append(_integrate_x(log_px, ax, m))
    probs = np.array(probs)
    counts = np.histogram(x[:, j], bins)[0]
    exp = probs * n_events
    keep = exp > 5
    chi2 = np.sum((counts[keep] - exp[keep]) ** 2 / exp[keep])
    # events outside the bins agree with the probability mass outside them
    outside = n_events - counts.sum()
    exp_out = max(n_events * (1 - probs.sum()), 0.0)
    assert abs(outside - exp_out) < 5 * np.sqrt(exp_out + 1)
    return stats.chi2.sf(chi2, keep.sum())


@pytest.mark.parametrize("shifted", [False, True])
def test_sampled_features_follow_density(shifted):
    g = SyntheticLHCO(shifted=shifted)
    m = 3.6
    s = 0.1 * m if shifted else 0.0
    cases = [
        ("background", 0, np.linspace(0, 0.4, 17) + s),
        ("background", 1, np.linspace(0, 0.6, 17) + s),
        ("background", 2, np.linspace(0, 1, 17)),
        ("background", 3, np.linspace(0, 1, 17)),
        ("signal", 0, np.linspace(0.085, 0.115, 13) + s),
        ("signal", 1, np.linspace(0.34, 0.46, 13) + s),
        ("signal", 2, np.linspace(0, 1, 17)),
        ("signal", 3, np.linspace(0, 1, 17)),
    ]
    pvals = [
        _binned_feature_check(g, comp, m, j, bins, 40_000, seed=100 + k)
        for k, (comp, j, bins) in enumerate(cases)
    ]
    assert min(pvals) > 1e-4, pvals


def test_importance_weights_between_variants_average_to_one():
    # E_nominal[p_alt(x, m) / p_nom(x, m)] = 1 only if both densities match the sampler
    nom, alt = SyntheticLHCO(), SyntheticLHCO(variant="alternative")
    ev = nom.sample_background(200_000, seed=8)
    w = np.exp(alt.log_p_bg(ev.x, ev.m) - nom.log_p_bg(ev.x, ev.m))
    assert np.mean(w) == pytest.approx(1.0, abs=5 * np.std(w) / np.sqrt(len(w)))
    # and the reweighted nominal SR fraction reproduces the alternative one
    in_sr = ev.in_range(*SR)
    assert np.mean(w * in_sr) == pytest.approx(alt.fraction_in(*SR), abs=0.003)


# ------------------------------------------------------------------ derived densities
def test_likelihood_ratio_and_joint_densities(gen):
    ev = gen.sample(n_background=2000, n_signal=2000, seed=5)
    llr = gen.log_likelihood_ratio(ev.x, ev.m)
    np.testing.assert_allclose(llr, gen.log_p_sig_x(ev.x, ev.m) - gen.log_p_bg_x(ev.x, ev.m))
    np.testing.assert_allclose(
        gen.log_p_bg(ev.x, ev.m), gen.log_p_bg_m(ev.m) + gen.log_p_bg_x(ev.x, ev.m)
    )
    # the optimal score separates signal from background well
    assert np.median(llr[ev.label == 1]) > np.quantile(llr[ev.label == 0], 0.99)


@pytest.mark.parametrize("window", [(3.3, 3.7), Window(3.1, 3.3)])
@pytest.mark.parametrize("component", ["background", "signal"])
def test_window_normalised_joint_integrates_to_one(gen, window, component):
    x0 = gen.sample_x(np.array([3.5]), component=component, seed=1)
    joint = gen.log_p_bg if component == "background" else gen.log_p_sig
    cond = gen.log_p_bg_x if component == "background" else gen.log_p_sig_x
    low, high = (window.low, window.high) if isinstance(window, Window) else window

    def f(m):
        return np.exp(joint(x0, m, window=window) - cond(x0, m))

    assert _quad(f, low - 0.3, high + 0.3, points=[low, high]) == pytest.approx(1.0, abs=1e-8)
    assert np.isneginf(joint(x0, low - 0.01, window=window)).all()
    assert np.isneginf(joint(x0, high, window=window)).all()


# ------------------------------------------------------------------ reproducibility, variants
def test_reproducibility(gen):
    a = gen.sample(n_background=5000, n_signal=50, seed=42)
    b = gen.sample(n_background=5000, n_signal=50, seed=42)
    c = gen.sample(n_background=5000, n_signal=50, seed=43)
    for f in ("m", "x", "label"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert not np.array_equal(a.m, c.m)
    assert a.n_signal == 50 and a.n_background == 5000
    assert a.m.dtype == np.float64 and a.x.dtype == np.float64 and a.label.dtype == np.int8
    # shuffled: signal not all at the end
    assert a.label[-50:].sum() < 50


def test_shifted_and_delta_r_variants_share_draws(gen):
    for sampler in ("sample_background", "sample_signal"):
        base = getattr(gen, sampler)(3000, seed=9)
        sh = getattr(SyntheticLHCO(shifted=True), sampler)(3000, seed=9)
        dr = getattr(SyntheticLHCO(delta_r=True), sampler)(3000, seed=9)
        np.testing.assert_array_equal(sh.m, base.m)
        np.testing.assert_allclose(sh.x[:, 0], base.x[:, 0] + 0.1 * base.m, rtol=1e-14)
        np.testing.assert_allclose(sh.x[:, 1], base.x[:, 1] + 0.1 * base.m, rtol=1e-14)
        np.testing.assert_array_equal(sh.x[:, 2:], base.x[:, 2:])
        np.testing.assert_array_equal(dr.x[:, :4], base.x)
        assert dr.feature_names == base.feature_names + ("delta_r",)
        # Jacobian 1: shifted density at shifted x equals the unshifted density
        g_sh = SyntheticLHCO(shifted=True)
        np.testing.assert_allclose(
            g_sh.log_p_bg_x(sh.x, sh.m), gen.log_p_bg_x(base.x, base.m), rtol=1e-12
        )
    ev = SyntheticLHCO(shifted=True).sample_background(50_000, seed=2)
    assert np.corrcoef(ev.m, ev.x[:, 0])[0, 1] > 0.5


def test_delta_r_strongly_correlated_with_m():
    g = SyntheticLHCO(delta_r=True)
    ev = g.sample_background(100_000, seed=6)
    assert np.corrcoef(ev.m, ev.x[:, 4])[0, 1] > 0.5
    lo = ev.x[(ev.m > 3.05) & (ev.m < 3.15), 4]
    hi = ev.x[(ev.m > 3.85) & (ev.m < 3.95), 4]
    assert (hi.mean() - lo.mean()) > 3 * lo.std()


def test_baseline_features_only_mildly_correlated_with_m(gen):
    x_lo = gen.sample_x(np.full(200_000, 3.1), seed=1)
    x_hi = gen.sample_x(np.full(200_000, 3.9), seed=2)
    rel = x_hi.mean(0) / x_lo.mean(0) - 1
    assert np.all(np.abs(rel) < 0.05)
    assert np.all(np.abs(rel) > 0.003)  # small but real (percent level)


def test_alternative_variant_differs_mildly(gen):
    alt = SyntheticLHCO(variant="alternative")
    a = gen.sample_background(100_000, seed=7)
    b = alt.sample_background(100_000, seed=7)
    rel = b.x.mean(0) / a.x.mean(0) - 1
    assert np.all(np.abs(rel) < 0.1)
    assert np.abs(rel).max() > 0.01
    assert 0.115 <= alt.fraction_in(*SR) <= 0.125
    assert alt.fraction_in(*SR) != gen.fraction_in(*SR)
    s_a, s_b = gen.sample_signal(50_000, seed=3), alt.sample_signal(50_000, seed=3)
    assert 0.01 < s_b.x[:, 2].mean() - s_a.x[:, 2].mean() < 0.03


# ------------------------------------------------------------------ bad input
def test_bad_input(gen):
    with pytest.raises(InputError, match="variant"):
        SyntheticLHCO(variant="herwig")
    with pytest.raises(InputError):
        gen.sample_background(-1, seed=0)
    with pytest.raises(InputError):
        gen.sample(n_background=10, n_signal=-5, seed=0)
    with pytest.raises(InputError):
        gen.sample_signal(2.5, seed=0)
    with pytest.raises(InputError):
        gen.fraction_in(3.7, 3.3)
    with pytest.raises(InputError, match="component"):
        gen.fraction_in(3.3, 3.7, component="sig")
    with pytest.raises(InputError):
        gen.log_p_bg_x(np.zeros((5, 3)), np.full(5, 3.5))
    with pytest.raises(InputError):
        gen.log_p_bg_x(np.zeros((5, 4)), np.full(4, 3.5))
    with pytest.raises(InputError):
        gen.log_p_bg(np.full((1, 4), 0.5), [3.5], window=(9.0, 10.0))
    with pytest.raises(InputError):
        SyntheticLHCO(m_range=(5.0, 2.0))
    assert len(gen.sample(n_background=0, n_signal=0, seed=0)) == 0
