"""Every plot bumpstat makes, rendered on small inputs: no legend or text box covers a data point.

Data points are the vertices of every data artist (lines, markers, error bars, bands, bars),
with line segments sampled every few pixels, transformed to display coordinates; reference
guides (``gid="reference"``: 3σ lines, the SR shading) are not data. The check uses the
rendered extents (``Legend.get_window_extent``, ``Text.get_window_extent``).
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import Collection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from bumpstat.plotting.style import REFERENCE  # noqa: E402

from helpers import toy_range_score_file  # noqa: E402


def _sample(xy: np.ndarray, step: float = 3.0) -> np.ndarray:
    """Points along a display-coordinate polyline, every ``step`` pixels."""
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) < 2:
        return xy
    out = [xy[:1]]
    for a, b in zip(xy[:-1], xy[1:], strict=True):
        n = max(int(np.hypot(*(b - a)) / step), 1)
        t = np.linspace(0, 1, n + 1)[1:, None]
        out.append(a + t * (b - a))
    return np.concatenate(out)


def _data_points(ax) -> np.ndarray:
    pts = []
    for art in [*ax.lines, *ax.collections, *ax.patches]:
        if art.get_gid() == REFERENCE or not art.get_visible():
            continue
        if isinstance(art, Line2D):
            xy = art.get_transform().transform(np.asarray(art.get_xydata(), dtype=float))
            joined = art.get_linestyle() not in ("None", "none", "", " ")
            pts.append(_sample(xy) if joined else xy)
        elif isinstance(art, Collection):
            offsets = np.asarray(art.get_offsets())
            if len(art.get_paths()) == 1 and len(offsets) > 1:
                pts.append(art.get_offset_transform().transform(offsets))
                continue
            for p in art.get_paths():
                pts.append(_sample(art.get_transform().transform(p.vertices)))
        elif isinstance(art, Patch):
            path = art.get_transform().transform_path(art.get_path())
            pts.append(_sample(path.vertices))
    pts = [p for p in pts if len(p)]
    all_pts = np.concatenate(pts) if pts else np.empty((0, 2))
    return all_pts[np.isfinite(all_pts).all(axis=1)]


def _boxes(fig):
    """(what, bbox) of every legend and non-empty text of the figure."""
    r = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is not None:
            out.append((f"legend of {ax.get_ylabel()!r}", leg.get_window_extent(r)))
        for t in ax.texts:
            if t.get_text().strip() and t.get_visible():
                out.append((f"text {t.get_text()!r}", t.get_window_extent(r)))
    return out


def assert_no_overlap(fig) -> None:
    fig.canvas.draw()
    bad = []
    for what, box in _boxes(fig):
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            pts = _data_points(ax)
            # only points inside the axes are visible
            inside_ax = ax.get_window_extent().contains
            pts = np.array([p for p in pts if inside_ax(*p)]) if len(pts) else pts
            if len(pts) == 0:
                continue
            inside = ((pts[:, 0] > box.x0) & (pts[:, 0] < box.x1)
                      & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1))
            if inside.any():
                bad.append(f"{what} covers {int(inside.sum())} data point(s) of axes "
                           f"{ax.get_ylabel()!r}")
    plt.close(fig)
    assert not bad, "; ".join(bad)


# -- small inputs -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scan():
    from bumpstat.estimators import DirectEstimator, SidebandFitEstimator
    from bumpstat.scan import run_scan

    sf = toy_range_score_file(n_runs=2, seed=1)
    return run_scan(sf, estimators=[DirectEstimator(), SidebandFitEstimator()],
                    eps_b=[0.1, 1e-2], progress=False)


@pytest.fixture(scope="module")
def bumphunt_result():
    from bumpstat.fit import bumphunt

    rng = np.random.default_rng(3)
    m = 2.8 * (1 + rng.pareto(6, 60_000))
    m = np.concatenate([m[m < 5.2], rng.normal(3.5, 0.08, 300)])
    return bumphunt(m, window=(3.3, 3.7))


def _plots(scan, bumphunt_result):
    from bumpstat.direct.delta_sys import estimate_delta_sys
    from bumpstat.fit import sculpting_curve
    from bumpstat.metrics.overlap import percentile_overlap
    from bumpstat.plotting.fit import plot_fit, plot_sculpting
    from bumpstat.plotting.limits import plot_limits, plot_w_limits
    from bumpstat.plotting.metrics import plot_overlap, plot_sic
    from bumpstat.plotting.ranode import plot_learned_signal, plot_w_profile
    from bumpstat.plotting.scan import plot_comparison, plot_delta_sys, plot_significance
    from bumpstat.stats.mixture import fit_signal_fraction, profile_likelihood

    from helpers import toy_score_file

    yield "significance", lambda: plot_significance(scan)
    yield "significance_fit", lambda: plot_significance(scan, method="fit")
    yield "comparison", lambda: plot_comparison(scan, eps_b=0.1)
    for q in ("events", "fraction", "xsec"):
        yield f"limits_{q}", lambda q=q: plot_limits(scan, quantity=q, efficiency=0.5,
                                                     luminosity=100.0)
    yield "limits_fit", lambda: plot_limits(scan, method="fit", eps_b=1e-2)
    yield "delta_sys", lambda: plot_delta_sys(
        estimate_delta_sys(toy_score_file(n_runs=2, seed=5), np.array([0.1, 1e-2])))
    yield "fit", lambda: plot_fit(bumphunt_result, title="SR5")
    rng = np.random.default_rng(0)
    m = 2.8 * (1 + rng.pareto(6, 40_000))
    m = m[m < 5.2]
    yield "sculpting", lambda: plot_sculpting(
        sculpting_curve(m, rng.random(m.size), [0.5, 0.2, 0.1, 0.05], n_random=5, seed=1))
    from bumpstat.metrics.roc import roc_curve

    y = (rng.random(20_000) < 0.05).astype(int)
    curves = [roc_curve(rng.normal(1.5 * y, 1.0), y).sic() for _ in range(3)]
    yield "sic", lambda: plot_sic(curves, label="toy")
    yield "sic_eps_b", lambda: plot_sic(curves, x="eps_b", label="toy")
    s = rng.random((3, 5000))
    yield "overlap", lambda: plot_overlap(percentile_overlap({"a": s[0], "b": 0.5 * s[0] + s[1],
                                                       "c": s[2]}))
    lp_s = rng.normal(0.0, 1.0, 4000)
    lp_b = rng.normal(0.0, 1.0, 4000)
    fits = [fit_signal_fraction(lp_s + k * 0.01, lp_b) for k in range(3)]
    yield "w_profile", lambda: plot_w_profile(profile_likelihood(lp_s, lp_b), fits[0])
    wins = [(3.2, 3.6), (3.3, 3.7), (3.4, 3.8)]
    yield "w_limits", lambda: plot_w_limits(fits, wins)
    yield "w_limits_band", lambda: plot_w_limits(
        fits, wins, expected=[[0.001, 0.002, 0.003, 0.005, 0.007]] * 3)
    x = rng.normal(size=(3000, 4))
    yield "learned_signal", lambda: plot_learned_signal(
        x[:1000] + 1, x[1000:2000] + 1, x[2000:],
        names=["mj1", "delta_mj", "tau21_j1", "tau21_j2"])


PLOTS = ["significance", "significance_fit", "comparison", "limits_events", "limits_fraction",
         "limits_xsec", "limits_fit", "delta_sys", "fit", "sculpting", "sic", "sic_eps_b",
         "overlap", "w_profile", "w_limits", "w_limits_band", "learned_signal"]


@pytest.mark.parametrize("name", PLOTS)
def test_no_legend_or_text_covers_data(name, scan, bumphunt_result, tmp_path):
    makers = dict(_plots(scan, bumphunt_result))
    assert set(makers) == set(PLOTS)
    fig = makers[name]()
    assert fig.axes, name
    fig.savefig(tmp_path / f"{name}.png")
    assert_no_overlap(fig)


def test_every_plot_function_has_the_signature():
    """ax=None (keyword), path=None; returns a Figure; writes only when given a path."""
    import inspect

    from bumpstat.plotting import fit, limits, metrics, ranode, scan

    for mod in (fit, limits, metrics, ranode, scan):
        for fname in mod.__all__:
            if not fname.startswith("plot_"):
                continue
            sig = inspect.signature(getattr(mod, fname))
            assert "ax" in sig.parameters and sig.parameters["ax"].default is None, fname
            assert sig.parameters["path"].default is None, fname


def test_plots_write_only_with_a_path(scan, tmp_path, monkeypatch):
    from bumpstat.plotting.limits import plot_limits

    monkeypatch.chdir(tmp_path)
    fig = plot_limits(scan)
    assert list(tmp_path.iterdir()) == []
    plt.close(fig)
    plt.close(plot_limits(scan, path=tmp_path / "l.png"))
    assert (tmp_path / "l.png").stat().st_size > 0


def test_label_is_configurable(scan):
    from bumpstat.plotting.limits import plot_limits
    from bumpstat.plotting.style import set_label

    old = set_label("Private work", sqrt_s=13)
    try:
        fig = plot_limits(scan)
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert any("Private work" in t for t in texts) and any("13 TeV" in t for t in texts)
        plt.close(fig)
    finally:
        import bumpstat.plotting.style as style

        style._LABEL = old
