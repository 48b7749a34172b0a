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
    """(what, bbox) of every legend, text, title and figure text of the figure."""
    r = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        leg = ax.get_legend()
        if leg is not None:
            out.append((f"legend of {ax.get_ylabel()!r}", leg.get_window_extent(r)))
        titles = [ax.title, ax._left_title, ax._right_title]
        for t in [*ax.texts, *titles]:
            if t.get_text().strip() and t.get_visible():
                out.append((f"text {t.get_text()!r}", t.get_window_extent(r)))
    for t in fig.texts:
        if t.get_text().strip() and t.get_visible():
            out.append((f"figure text {t.get_text()!r}", t.get_window_extent(r)))
    return out


def _overlap(a, b, tol: float = 1.0) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > tol) and (min(a.y1, b.y1) - max(a.y0, b.y0) > tol)


def assert_no_overlap(fig) -> None:
    """No legend or text covers a data point; no two texts or legends overlap each other."""
    fig.canvas.draw()
    bad = []
    boxes = _boxes(fig)
    for what, box in boxes:
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
    for i, (what_a, a) in enumerate(boxes):
        for what_b, b in boxes[i + 1:]:
            if _overlap(a, b):
                bad.append(f"{what_a} overlaps {what_b}")
    r = fig.canvas.get_renderer()
    for ax in fig.axes:  # axis labels no longer than their axes
        if not ax.get_visible():
            continue
        box = ax.get_window_extent(r)
        ylab, xlab = ax.yaxis.label, ax.xaxis.label
        if ylab.get_text() and ylab.get_window_extent(r).height > 1.02 * box.height:
            bad.append(f"y label {ylab.get_text()!r} is longer than its axes")
        if xlab.get_text() and xlab.get_window_extent(r).width > 1.02 * box.width:
            bad.append(f"x label {xlab.get_text()!r} is longer than its axes")
    plt.close(fig)
    assert not bad, "; ".join(bad)


# -- small inputs -------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def full_label():
    """The longest experiment label (status text left, sqrt(s) and luminosity right), so that a
    title or text above the axes that would collide with it is caught."""
    import bumpstat.plotting.style as style

    old = style.set_label("Simulation", exp="bumpstat", sqrt_s=13, lumi=139)
    yield
    style._LABEL = old


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
    x = rng.normal(size=(3000, 2))
    yield "learned_signal", lambda: plot_learned_signal(   # a mass (with units) and a tau21
        x[:1000] + 1, x[1000:2000] + 1, x[2000:], names=["mj1", "tau21_j1"])
    from bumpstat.study.plots import (
        plot_sic_vs_injection,
        plot_significance_vs_injection,
        plot_w_hat,
    )

    study = _study_result()
    yield "study_significance", lambda: plot_significance_vs_injection(study)
    yield "study_significance_sb", lambda: plot_significance_vs_injection(study,
                                                                          x="s_over_sqrt_b")
    yield "study_sic", lambda: plot_sic_vs_injection(study)
    yield "study_w_hat", lambda: plot_w_hat(study)
    from bumpstat.study.interplay import plot_interplay
    from bumpstat.study.sculpting import plot_sculpting_study

    from helpers import small_interplay_study, small_sculpting_study

    yield "study_sculpting", lambda: plot_sculpting_study(small_sculpting_study())
    yield "study_interplay", lambda: plot_interplay(small_interplay_study())


def _study_result():
    """A signal-injection study result with made-up but plausible points (plots only)."""
    from bumpstat.study.result import StudyResult, summarise

    rng = np.random.default_rng(7)
    points = []
    for n in (0, 100, 200, 400):
        for seed in range(3):
            z = n / 40 + rng.normal(0, 0.5)
            points.append({
                "n_signal": n, "seed": seed, "score_method": "exact", "method": "direct",
                "s_over_sqrt_b": n / 70, "n_signal_sr": 0.7 * n, "n_sr": 25_000,
                "z_local_max": max(z, 1.0) + 0.5, "window_max": "SR5", "eps_b_max": 1e-3,
                "z_global": max(z, 1.0) - 1.5, "p_global": 0.1, "z_global_bound": False,
                "z_true_window": z, "eps_b_true_window": 1e-3,
                "sic_at_1e-3": 20 + rng.normal(0, 2), "auc": 0.9,
                "w_hat": 0.7 * n / 25_000 * (1 + rng.normal(0, 0.1)),
                "w_true": 0.7 * n / 25_000, "valid": True, "reason": None})
    return StudyResult(points=tuple(points), summary=tuple(summarise(points)))


PLOTS = ["significance", "significance_fit", "comparison", "limits_events", "limits_fraction",
         "limits_xsec", "limits_fit", "delta_sys", "fit", "sculpting", "sic", "sic_eps_b",
         "overlap", "w_profile", "w_limits", "w_limits_band", "learned_signal",
         "study_significance", "study_significance_sb", "study_sic", "study_w_hat",
         "study_sculpting", "study_interplay"]

#: Every plot function bumpstat has, and the PLOTS entries that render it.
COVERED = {
    "bumpstat.plotting.scan.plot_significance": ("significance", "significance_fit"),
    "bumpstat.plotting.scan.plot_comparison": ("comparison",),
    "bumpstat.plotting.scan.plot_delta_sys": ("delta_sys",),
    "bumpstat.plotting.limits.plot_limits": ("limits_events", "limits_fraction", "limits_xsec",
                                             "limits_fit"),
    "bumpstat.plotting.limits.plot_w_limits": ("w_limits", "w_limits_band"),
    "bumpstat.plotting.fit.plot_fit": ("fit",),
    "bumpstat.plotting.fit.plot_sculpting": ("sculpting",),
    "bumpstat.plotting.metrics.plot_sic": ("sic", "sic_eps_b"),
    "bumpstat.plotting.metrics.plot_overlap": ("overlap",),
    "bumpstat.plotting.ranode.plot_w_profile": ("w_profile",),
    "bumpstat.plotting.ranode.plot_learned_signal": ("learned_signal",),
    "bumpstat.study.plots.plot_significance_vs_injection": ("study_significance",
                                                            "study_significance_sb"),
    "bumpstat.study.plots.plot_sic_vs_injection": ("study_sic",),
    "bumpstat.study.plots.plot_w_hat": ("study_w_hat",),
    "bumpstat.study.sculpting.plot_sculpting_study": ("study_sculpting",),
    "bumpstat.study.interplay.plot_interplay": ("study_interplay",),
}


def _plot_functions():
    """Qualified names of every function named plot_* defined in a bumpstat module."""
    import importlib
    import inspect
    import pkgutil

    import bumpstat

    found = set()
    for info in pkgutil.walk_packages(bumpstat.__path__, "bumpstat."):
        if info.name.startswith("bumpstat.cli"):
            continue
        try:
            mod = importlib.import_module(info.name)
        except ImportError:  # an optional extra (torch) is missing
            continue
        for name, obj in vars(mod).items():
            if (name.startswith("plot_") and inspect.isfunction(obj)
                    and obj.__module__ == info.name):
                found.add(f"{info.name}.{name}")
    return found


def test_every_plot_function_is_rendered_by_the_overlap_test():
    found = _plot_functions()
    assert found == set(COVERED), (f"not covered: {sorted(found - set(COVERED))}; "
                                   f"gone: {sorted(set(COVERED) - found)}")
    assert {n for names in COVERED.values() for n in names} == set(PLOTS)


@pytest.fixture(scope="module")
def makers(scan, bumphunt_result):
    out = dict(_plots(scan, bumphunt_result))
    assert set(out) == set(PLOTS)
    return out


@pytest.mark.parametrize("name", PLOTS)
def test_no_legend_or_text_covers_data(name, makers, tmp_path):
    fig = makers[name]()
    assert fig.axes, name
    fig.savefig(tmp_path / f"{name}.png")
    assert_no_overlap(fig)


def test_every_plot_function_has_the_signature():
    """ax=None (keyword), path=None; returns a Figure; writes only when given a path."""
    import importlib
    import inspect

    for qualname in COVERED:
        mod, fname = qualname.rsplit(".", 1)
        sig = inspect.signature(getattr(importlib.import_module(mod), fname))
        for arg in ("ax", "path"):
            assert arg in sig.parameters, (qualname, arg)
            assert sig.parameters[arg].default is None, (qualname, arg)
            assert sig.parameters[arg].kind is inspect.Parameter.KEYWORD_ONLY, (qualname, arg)


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
