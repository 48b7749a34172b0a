"""Every result class: a short repr (< 1000 characters), an HTML table and to_dataframe().

The result classes are discovered (every subclass of bumpstat.results.Result in every
importable bumpstat module), and each must have a factory below: a new result class cannot
slip through without the notebook interface being checked on a real instance.
"""

import importlib
import pkgutil

import numpy as np
import pytest

import bumpstat
from bumpstat.results import Result

pd = pytest.importorskip("pandas")


def _all_result_classes():
    for info in pkgutil.walk_packages(bumpstat.__path__, "bumpstat."):
        if info.name.startswith("bumpstat.cli"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional extra (torch) is missing
            continue

    def subs(c):
        for s in c.__subclasses__():
            yield s
            yield from subs(s)

    return {f"{c.__module__}.{c.__qualname__}": c for c in subs(Result)
            if c.__module__.startswith("bumpstat.")}


# -- one small, real instance of every result class ------------------------------------------
def _scan_and_scores():
    from bumpstat.estimators import DirectEstimator
    from bumpstat.scan import run_scan

    from helpers import toy_score_file

    sf = toy_score_file(n_runs=3, seed=1)
    return sf, run_scan(sf, estimators=[DirectEstimator(delta_sys=0.0)], eps_b=[1e-1, 1e-2],
                        progress=False)


def _fits():
    from bumpstat.fit import fit_sideband, histogram, make_edges

    rng = np.random.default_rng(0)
    m = 2.8 * (1 + rng.pareto(6, 50_000))
    m = m[m < 5.2]
    edges = make_edges((2.8, 5.2), 30, sr=(3.3, 3.7))
    counts, _ = histogram(m, edges)
    return m, {k: fit_sideband(counts, edges, sr=(3.3, 3.7), function=f"dijet{k}")
               for k in (3, 4)}


def _labelled(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(int)
    return rng.normal(1.5 * y, 1.0), y


def _mixture():
    from bumpstat.stats.mixture import fit_signal_fraction, profile_likelihood

    rng = np.random.default_rng(0)
    lp_s, lp_b = rng.normal(size=2000), rng.normal(size=2000)
    return fit_signal_fraction(lp_s, lp_b), profile_likelihood(lp_s, lp_b)


def _ranode():
    from bumpstat.flows.ranode import RanodeConfig, RanodeResult
    from bumpstat.windows import Window

    fit, _ = _mixture()
    n = 50
    return RanodeResult(config=RanodeConfig.test(), window=Window(3.3, 3.7), fit=fit,
                        w_learned=0.01, w_runs=[0.01], undetected=[False], q0_runs=[1.0],
                        sr_index=np.arange(n), m=np.full(n, 3.5), x=np.zeros((n, 2)),
                        log_p_sig=np.zeros(n), log_p_bg=np.zeros(n), background=None,
                        signals=[])


def _study():
    from bumpstat.study.result import StudyResult, summarise

    points = [{"n_signal": n, "seed": s, "score_method": "exact", "method": "direct",
               "z_true_window": n / 50 + 0.1 * s, "z_local_max": n / 50 + 1.0,
               "z_global": n / 50 - 1.0, "valid": True, "reason": None}
              for n in (0, 100, 200) for s in range(2)]
    return StudyResult(points=tuple(points), summary=tuple(summarise(points)))


def _pseudo_experiments():
    from bumpstat.global_significance.pseudo_experiments import run_pseudo_experiments

    from helpers import toy_score_file

    def null(seed):
        return toy_score_file(n_data=5000, n_template=5000, n_runs=1,
                              seed=int(seed.generate_state(1)[0]))

    return run_pseudo_experiments(null, n_toys=3, eps_b=(0.1,), progress=False)


def _factories():
    from bumpstat.demo import DemoResult
    from bumpstat.direct.delta_sys import estimate_delta_sys
    from bumpstat.fit import (
        bumphunt,
        compare_nested,
        goodness_of_fit,
        pseudo_experiments,
        sculpting_curve,
        select_function,
        sr_test,
    )
    from bumpstat.global_significance import global_significance
    from bumpstat.metrics.marginals import marginal_ks
    from bumpstat.metrics.overlap import percentile_overlap
    from bumpstat.metrics.report import score_file_metrics, window_metrics
    from bumpstat.metrics.roc import classifier_metrics, roc_curve
    from bumpstat.stats.cutcount import cut_and_count, discovery, upper_limit
    from bumpstat.stats.onebin import one_bin_test, z_bi
    from bumpstat.stats.toys import toy_discovery, toy_limits

    from helpers import small_interplay_study, small_sculpting_study, toy_score_file

    def scan():
        return _scan_and_scores()[1]

    def labelled_file():
        return toy_score_file(n_runs=2, seed=3, n_signal=300)

    return {
        "bumpstat.scan.ScanResult": scan,
        "bumpstat.scanpoint.ScanPoint": lambda: scan().points[0],
        "bumpstat.stats.onebin.OneBinTest": lambda: one_bin_test(160, 120, 0.1, pyhf=False),
        "bumpstat.stats.cutcount.CutCountResult": lambda: cut_and_count(
            np.array([160.0, 90.0]), np.array([120.0, 100.0]), 0.1),
        "bumpstat.stats.cutcount.DiscoveryResult": lambda: discovery(160.0, 120.0, 0.1),
        "bumpstat.stats.cutcount.UpperLimitResult": lambda: upper_limit(160.0, 120.0, 0.1),
        "bumpstat.stats.onebin.ZBi": lambda: z_bi(160, 240, 2.0),
        "bumpstat.stats.toys.ToyDiscovery": lambda: toy_discovery(160.0, 120.0, 0.1,
                                                                  n_toys=1000),
        "bumpstat.stats.toys.ToyLimits": lambda: toy_limits(10.0, 8.0, 0.1, n_toys=200,
                                                            n_grid=6),
        "bumpstat.stats.mixture.MixtureFitResult": lambda: _mixture()[0],
        "bumpstat.stats.mixture.ProfileCurve": lambda: _mixture()[1],
        "bumpstat.direct.delta_sys.DeltaSys": lambda: estimate_delta_sys(
            toy_score_file(n_runs=2, seed=5), np.array([0.1, 1e-2])),
        "bumpstat.fit.hunt.BumpHuntResult": lambda: bumphunt(_fits()[0], window=(3.3, 3.7)),
        "bumpstat.fit.sideband.SidebandFit": lambda: _fits()[1][4],
        "bumpstat.fit.gof.GoodnessOfFit": lambda: goodness_of_fit(_fits()[1][4]),
        "bumpstat.fit.gof.NestedTest": lambda: compare_nested([_fits()[1][3], _fits()[1][4]])[1][0],
        "bumpstat.fit.gof.FunctionChoice": lambda: select_function(
            _fits()[1][4].counts, _fits()[1][4].edges, sr=(3.3, 3.7)),
        "bumpstat.fit.srtest.SRTest": lambda: sr_test(_fits()[1][4]),
        "bumpstat.fit.toys.ToyFits": lambda: pseudo_experiments(_fits()[1][3], n_toys=3,
                                                                seed=1),
        "bumpstat.fit.sculpting.SculptingResult": lambda: sculpting_curve(
            _fits()[0], np.random.default_rng(1).random(_fits()[0].size), [0.5, 0.1],
            n_random=3),
        "bumpstat.metrics.roc.RocCurve": lambda: roc_curve(*_labelled()),
        "bumpstat.metrics.roc.SicCurve": lambda: roc_curve(*_labelled()).sic(),
        "bumpstat.metrics.roc.ClassifierMetrics": lambda: classifier_metrics(*_labelled()),
        "bumpstat.metrics.overlap.OverlapResult": lambda: percentile_overlap(
            {"a": _labelled(seed=1)[0], "b": _labelled(seed=2)[0]}),
        "bumpstat.metrics.marginals.MarginalKS": lambda: marginal_ks(
            np.random.default_rng(0).normal(size=(500, 2)),
            np.random.default_rng(1).normal(size=(500, 2))),
        "bumpstat.metrics.report.WindowMetrics": lambda: window_metrics(
            labelled_file().windows[4]),
        "bumpstat.metrics.report.MetricsReport": lambda: score_file_metrics(labelled_file()),
        "bumpstat.global_significance.result.GlobalSignificance": lambda: global_significance(
            *_scan_and_scores(), n_toys=20, upcrossing_toys=5, progress=False),
        "bumpstat.global_significance.pseudo_experiments.PseudoExperiments":
            _pseudo_experiments,
        "bumpstat.flows.ranode.RanodeResult": _ranode,
        "bumpstat.study.result.StudyResult": _study,
        "bumpstat.study.sculpting.SculptingStudy": small_sculpting_study,
        "bumpstat.study.interplay.InterplayStudy": small_interplay_study,
        "bumpstat.demo.DemoResult": lambda: DemoResult(
            scan=scan(), delta_sys=estimate_delta_sys(toy_score_file(n_runs=1, seed=6), 1e-2),
            files={"scan": "out/scan.json"}, timings={"scan_s": 1.0}),
    }


def test_every_result_class_has_a_factory():
    classes = _all_result_classes()
    assert len(classes) >= 25
    missing = sorted(set(classes) - set(_factories()))
    assert not missing, f"result classes without a factory in this test: {missing}"


@pytest.mark.parametrize("name", sorted(_factories()))
def test_repr_short_html_and_dataframe(name):
    cls = _all_result_classes().get(name)
    if cls is None:
        pytest.skip(f"{name} is not importable here (optional extra missing)")
    obj = _factories()[name]()
    assert isinstance(obj, cls), (name, type(obj))
    text = repr(obj)
    assert len(text) < 1000, text
    assert "np.float64" not in text and "array([" not in text, text
    rows = obj.records()
    assert isinstance(rows, list) and len(rows) >= 1
    assert all(isinstance(r, dict) for r in rows)
    df = obj.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == len(rows)
    html = obj._repr_html_()
    assert "<table>" in html and type(obj).__name__ in html


def test_scan_dataframe_one_row_per_point():
    scan = _scan_and_scores()[1]
    df = scan.to_dataframe()
    assert len(df) == len(scan.points)
    for col in ("window.name", "eps_b", "z", "upper_limit", "expected_limit_median",
                "expected_limit_-2sigma", "expected_limit_+2sigma"):
        assert col in df.columns
    first = scan.points[0].record()
    assert df.loc[0, "z"] == pytest.approx(first["z"])


def test_point_fields_give_one_record_per_point():
    from dataclasses import dataclass

    @dataclass(frozen=True, repr=False)
    class PerWorkingPoint(Result):
        point_fields = ("eps_b", "value")
        kind: str
        eps_b: tuple
        value: np.ndarray

    r = PerWorkingPoint("mc", (1e-2, 1e-3, 1e-4), np.array([0.1, np.nan, 0.3]))
    assert r.records() == [{"kind": "mc", "eps_b": 1e-2, "value": 0.1},
                           {"kind": "mc", "eps_b": 1e-3, "value": None},
                           {"kind": "mc", "eps_b": 1e-4, "value": 0.3}]
    assert len(r.to_dataframe()) == 3
    one = PerWorkingPoint("mc", 1e-2, np.array([0.1, 0.2]))  # a scalar point field: one row
    assert one.records() == [{"kind": "mc", "eps_b": 1e-2, "value": [0.1, 0.2]}]
    assert repr(r) == "PerWorkingPoint(kind='mc', eps_b=(0.01, 0.001, 0.0001), value=array(3,))"
