"""The fit-based method inside scans, and its agreement with the direct method on background."""

import numpy as np
import pytest
from scipy.stats import norm

from bumpstat.data import SyntheticLHCO
from bumpstat.estimators import get_estimator
from bumpstat.exceptions import InputError
from bumpstat.producers.exact import exact_score_file
from bumpstat.scan import run_scan
from bumpstat.windows import sliding_windows


@pytest.fixture(scope="module")
def background_scan():
    gen = SyntheticLHCO()
    data = gen.sample_background(600_000, seed=21)
    tmpl = gen.sample_background(600_000, seed=22)
    windows = [w for w in sliding_windows() if w.name in ("SR3", "SR5", "SR7")]
    sf = exact_score_file(gen, data, tmpl, windows, data_range=(2.8, 5.2))
    return run_scan(sf, eps_b=[1e-1, 1e-2], estimators=["direct", "fit"], progress=False)


def test_fit_and_direct_agree_on_background(background_scan):
    """Both predictions estimate the same background: their difference is within the
    combined uncertainties (fit covariance, template statistics, data Poisson noise)."""
    res = background_scan
    assert set(res.methods) == {"direct", "fit"}
    for eps in res.eps_b:
        direct = {p.window.name: p for p in res.select(method="direct", eps_b=eps)}
        for p in res.select(method="fit", eps_b=eps):
            assert p.valid.all(), p.reason
            d = direct[p.window.name]
            n_fit, n_dir = float(p.n_exp[0]), float(d.n_exp[0])
            sigma = np.hypot(float(p.n_exp_unc[0]), float(d.n_exp_unc[0]))
            assert abs(n_fit - n_dir) < 4 * sigma
            assert abs(float(p.z[0])) < 4 and abs(float(d.z[0])) < 4


def test_fit_records(background_scan):
    rec = background_scan.select(method="fit")[0].record()
    assert rec["method"] == "fit" and rec["valid"] and rec["n_valid"] == 1
    assert rec["reason"] is None
    for key in ("n_obs", "n_exp", "n_exp_unc", "rel_unc", "z", "p_value", "upper_limit",
                "chi2_ndof", "gof_p_value"):
        assert np.isfinite(rec[key])
    assert rec["upper_limit"] > 0
    assert rec["rel_unc"] == pytest.approx(rec["n_exp_unc"] / rec["n_exp"])
    assert rec["p_value"] == pytest.approx(norm.sf(rec["z"]))


def test_fit_needs_sidebands():
    """A score file with data only inside the windows cannot be fitted: refused up front with
    the reason, before any work."""
    gen = SyntheticLHCO()
    data = gen.sample_background(100_000, seed=23)
    tmpl = gen.sample_background(100_000, seed=24)
    sf = exact_score_file(gen, data, tmpl, sliding_windows()[4:5])
    with pytest.raises(InputError, match="0 event.* in the lower and 0 in the upper sideband"):
        run_scan(sf, eps_b=[1e-2], estimators="fit", progress=False)
    with pytest.raises(InputError, match="colour"):
        run_scan(sf, eps_b=[1e-2], estimators=[get_estimator("fit", colour=1)], progress=False)
