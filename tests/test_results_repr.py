"""Every result: short repr (< 1000 characters), an HTML table and to_dataframe()."""

import importlib
import pkgutil

import numpy as np
import pytest

import bumpstat
from bumpstat.results import Result

pd = pytest.importorskip("pandas")

_SKIP = ("bumpstat.flows", "bumpstat.producers", "bumpstat.classifiers", "bumpstat.cli",
         "bumpstat.demo", "bumpstat.study")


def _all_result_classes():
    for info in pkgutil.walk_packages(bumpstat.__path__, "bumpstat."):
        if info.name.startswith(_SKIP):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:
            continue

    def subs(c):
        for s in c.__subclasses__():
            yield s
            yield from subs(s)

    return sorted(set(subs(Result)), key=lambda c: c.__qualname__)


def test_every_result_class_has_the_notebook_interface():
    classes = _all_result_classes()
    assert len(classes) >= 10
    for cls in classes:
        for meth in ("to_dataframe", "records", "_repr_html_", "to_dict"):
            assert callable(getattr(cls, meth)), (cls, meth)


def _instances():
    from bumpstat.estimators import DirectEstimator
    from bumpstat.fit import bumphunt
    from bumpstat.scan import run_scan
    from bumpstat.stats.cutcount import cut_and_count
    from bumpstat.stats.mixture import fit_signal_fraction, profile_likelihood
    from bumpstat.stats.onebin import one_bin_test

    from helpers import toy_score_file

    scan = run_scan(toy_score_file(n_runs=3, seed=1), estimators=[DirectEstimator(delta_sys=0.0)],
                    eps_b=[1e-1, 1e-2], progress=False)
    rng = np.random.default_rng(0)
    m = 2.8 * (1 + rng.pareto(6, 50_000))
    lp_s, lp_b = rng.normal(size=2000), rng.normal(size=2000)
    return {"scan": scan, "point": scan.points[0],
            "onebin": one_bin_test(160, 120, 0.1, pyhf=False),
            "cutcount": cut_and_count(np.array([160.0, 90.0]), np.array([120.0, 100.0]), 0.1),
            "bumphunt": bumphunt(m[m < 5.2], window=(3.3, 3.7)),
            "mixture": fit_signal_fraction(lp_s, lp_b),
            "profile": profile_likelihood(lp_s, lp_b)}


@pytest.mark.parametrize("name", ["scan", "point", "onebin", "cutcount", "bumphunt", "mixture",
                                  "profile"])
def test_repr_short_and_dataframe(name):
    obj = _instances()[name]
    assert len(repr(obj)) < 1000, repr(obj)
    df = obj.to_dataframe()
    assert isinstance(df, pd.DataFrame) and len(df) == len(obj.records()) >= 1
    assert "<table>" in obj._repr_html_()
    assert "np.float64" not in repr(obj)


def test_scan_dataframe_one_row_per_point():
    scan = _instances()["scan"]
    df = scan.to_dataframe()
    assert len(df) == len(scan.points)
    for col in ("window.name", "eps_b", "z", "upper_limit", "expected_limit_median",
                "expected_limit_-2sigma", "expected_limit_+2sigma"):
        assert col in df.columns
