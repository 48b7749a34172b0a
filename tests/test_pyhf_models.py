"""pyhf workspaces of the one-bin model; closed form (cutcount) and eq. 6 against pyhf."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pyhf
import pytest

from bumpstat.exceptions import InputError
from bumpstat.stats import (
    asimov_significance,
    build_workspace,
    cut_and_count,
    export_workspace,
    gaussian_significance,
    mu_upper_bound,
    pyhf_discovery,
    pyhf_upper_limit,
)

# (n_obs, n_exp, rel_unc): sigma = 0 (no modifier), n = 0, deficits, large uncertainties
LIMIT_GRID = [
    (0.0, 3.0, 0.0),
    (0.0, 3.0, 0.2),
    (8.0, 2.0, 0.0),
    (140.0, 100.0, 0.1),
    (90.0, 100.0, 0.1),
    (50.0, 10.0, 1.0),
]
LIMIT_GRID_SLOW = [
    (n, b, s)
    for b in (0.5, 12.0, 120.0, 1200.0)
    for s in (0.0, 0.05, 0.3)
    for n in (0.0, round(0.8 * b), round(b + 2 * math.sqrt(b * (1 + b * s * s)) + 1))
]
DISCOVERY_GRID = [
    (n, b, s) for b, n in [(3.2, 9.0), (120.0, 160.0), (1200.0, 1330.0)] for s in (0.0, 0.05, 0.5)
]
# pyhf's fits (SLSQP and MINUIT) fail for n ~ 6e5, b = 1e5 and lose 3e-3 in Z at b sigma^2 = 1e5:
# the full grid stops at b = 1e4
DISCOVERY_GRID_SLOW = [
    (round(b * f + 1), b, s)
    for b in (0.3, 2.0, 15.0, 120.0, 1e3, 1e4)
    for f in (1.05, 1.3, 2.0, 6.0)
    for s in (0.0, 0.01, 0.1, 0.4, 1.0)
]


def _check_discovery(n, b, s, optimizer="scipy"):
    ref = pyhf_discovery(n, b, s, optimizer=optimizer)
    closed = cut_and_count(n, b, s)
    assert abs(closed.z - ref.z) < 1e-3
    assert asimov_significance(n, b, s) == closed.z
    assert abs(closed.p_value - ref.p_value) < 1e-3
    assert closed.p_value == pytest.approx(ref.p_value, rel=1e-2)
    return abs(closed.z - ref.z), abs(closed.p_value - ref.p_value)


def _check_limits(n, b, s, optimizer="scipy", check_p=True):
    ref = pyhf_upper_limit(n, b, s, optimizer=optimizer)
    closed = cut_and_count(n, b, s)
    assert closed.upper_limit == pytest.approx(ref.upper_limit, rel=1e-3)
    np.testing.assert_allclose(closed.expected_limits, ref.expected_limits, rtol=1e-3)
    # the normfactor bound never binds: limits far below it
    assert max(ref.expected_limits[-1], ref.upper_limit) < 0.3 * mu_upper_bound(n, b, s)
    # p-value too: Phi(-z) for an excess; for n <= b pyhf's one-sided q0 p-value (0.5 up to its
    # fit tolerance) against ours under the same name
    if check_p:
        ref_p = pyhf_discovery(n, b, s)
        if n > b:
            assert abs(closed.p_value - ref_p.p_value) < 1e-3
        else:
            assert abs(closed.p_value_q0 - ref_p.p_value_q0) < 1e-3


@pytest.mark.parametrize(("n", "b", "s"), DISCOVERY_GRID)
def test_eq6_equals_pyhf_shapesys_discovery(n, b, s):
    _check_discovery(n, b, s)


@pytest.mark.slow
@pytest.mark.parametrize(("n", "b", "s"), DISCOVERY_GRID_SLOW)
def test_eq6_equals_pyhf_shapesys_discovery_full_grid(n, b, s):
    _check_discovery(n, b, s)


@pytest.mark.parametrize(("n", "b", "s"), LIMIT_GRID)
def test_closed_form_limits_equal_pyhf(n, b, s):
    _check_limits(n, b, s)


@pytest.mark.slow
@pytest.mark.parametrize(("n", "b", "s"), LIMIT_GRID_SLOW)
def test_closed_form_limits_equal_pyhf_full_grid(n, b, s):
    # MINUIT: pyhf's default SLSQP runs away in some fixed-mu Asimov fits of this grid
    # (without nuisance parameters MINUIT warns that all parameters are fixed: SLSQP there)
    # p-values only for excesses: for n = 0, b = 1200, sigma = 0.3 SLSQP's free fit stops at
    # mu_hat > 0, q0 = 0.086 (p = 0.38 instead of 0.5)
    _check_limits(n, b, s, optimizer="minuit" if s > 0 else "scipy", check_p=n > b)


@pytest.mark.slow
def test_slsqp_runaway_where_minuit_agrees():
    # measured: SLSQP's fixed-mu Asimov fit at mu ~ 690 events drives gamma to 1e-3
    n, b, s = 960.0, 1200.0, 0.3
    closed = cut_and_count(n, b, s).expected_limits
    minuit = pyhf_upper_limit(n, b, s, optimizer="minuit").expected_limits
    np.testing.assert_allclose(closed, minuit, rtol=1e-3)
    slsqp = pyhf_upper_limit(n, b, s).expected_limits
    assert slsqp[-1] < 0.95 * closed[-1]


def test_deficit_pyhf_is_one_sided():
    ref = pyhf_discovery(80.0, 100.0, 0.1)
    assert ref.q0 < 1e-3 and ref.p_value_q0 == pytest.approx(0.5, abs=1e-3)
    closed = cut_and_count(80.0, 100.0, 0.1)
    assert closed.z < -1.0  # bumpstat keeps the sign ...
    assert closed.z == pytest.approx(ref.z, abs=1e-3)  # ... as pyhf's two-sided t_0 does
    assert closed.p_value == pytest.approx(ref.p_value, abs=1e-3)


def test_no_events_closed_form_deficit():
    # n = 0, by hand: background b*gamma with the auxiliary count tau ~ Pois(tau*gamma),
    # tau = 1/rel_unc^2; the mu = 0 fit gives gamma = tau/(b + tau), the free fit L = 1, so
    # Z^2 = 2 tau ln(1 + b/tau). (pyhf's two-sided fit gives sqrt(2b) here, the sigma = 0 value.)
    b, rel = 3.0, 0.2
    tau = 1.0 / rel**2
    z = -math.sqrt(2.0 * tau * math.log(1.0 + b / tau))
    assert cut_and_count(0.0, b, rel).z == pytest.approx(z, rel=1e-9)
    assert cut_and_count(0.0, b, 0.0).z == pytest.approx(-math.sqrt(2.0 * b), rel=1e-9)


@pytest.mark.parametrize("constraint", ["poisson", "gaussian"])
@pytest.mark.parametrize("s", [0.0, 0.1])
def test_workspaces_validate(constraint, s):
    ws = build_workspace(12.0, 10.0, s, constraint=constraint)
    workspace = pyhf.Workspace(ws)
    model = workspace.model()
    assert model.config.poi_name == "mu"
    assert workspace.data(model)[0] == 12.0
    types = [m["type"] for m in ws["channels"][0]["samples"][1]["modifiers"]]
    assert types == ([] if s == 0 else ["shapesys" if constraint == "poisson" else "normsys"])
    if s > 0 and constraint == "poisson":
        # tau = (b / delta b)^2 = 1 / sigma^2 and the auxiliary datum is tau
        assert model.config.auxdata == pytest.approx([1 / s**2])


def test_normfactor_default_bound_caps_signal_and_ours_does_not():
    n, b, s = 500.0, 100.0, 0.1
    # the measured fact: without explicit bounds, mu of a 1-event sample stops at 10 events
    ws = build_workspace(n, b, s, signal_events=1.0)
    capped = copy.deepcopy(ws)
    capped["measurements"][0]["config"]["parameters"] = []
    with _numpy():
        w = pyhf.Workspace(capped)
        m = w.model()
        assert m.config.suggested_bounds()[m.config.poi_index] == (0, 10)
        assert pyhf.infer.mle.fit(w.data(m), m)[m.config.poi_index] == pytest.approx(10.0)
        # with the workspace's bounds the fit reaches mu_hat = n - b = 400 events
        w = pyhf.Workspace(ws)
        m = w.model()
        assert pyhf.infer.mle.fit(w.data(m), m)[m.config.poi_index] == pytest.approx(400.0, 1e-3)
    assert mu_upper_bound(n, b, s) > 4 * 400
    # ... and the discovery Z is eq. 6 again
    assert pyhf_discovery(n, b, s, signal_events=1.0).z == pytest.approx(
        asimov_significance(n, b, s), abs=1e-3
    )


def test_shapesys_gamma_bound_widened():
    # gamma(mu=0) = (n + tau)/(b + tau) = 16.8 > pyhf's default shapesys bound of 10
    n, b, s = 100.0, 5.0, 1.0
    ws = build_workspace(n, b, s)
    assert ws["measurements"][0]["config"]["parameters"][1]["bounds"][0][1] > 16.8
    assert pyhf_discovery(n, b, s).z == pytest.approx(asimov_significance(n, b, s), abs=1e-3)
    default = copy.deepcopy(ws)
    default["measurements"][0]["config"]["parameters"].pop(1)
    with _numpy():
        w = pyhf.Workspace(default)
        m = w.model()
        d = w.data(m)
        q0 = pyhf.infer.test_statistics.q0(
            0.0,
            d,
            m,
            m.config.suggested_init(),
            m.config.suggested_bounds(),
            m.config.suggested_fixed(),
        )
    assert abs(math.sqrt(float(q0)) - asimov_significance(n, b, s)) > 0.05


def test_signal_scale_is_irrelevant_for_results():
    a = pyhf_upper_limit(20.0, 12.0, 0.2, signal_events=1.0)
    c = pyhf_upper_limit(20.0, 12.0, 0.2, signal_events=40.0)
    assert c.upper_limit == pytest.approx(a.upper_limit, rel=1e-3)
    np.testing.assert_allclose(c.expected_limits, a.expected_limits, rtol=1e-3)


def test_large_background_needs_the_signal_scale():
    # one-event signal: pyhf's SLSQP stops far from mu_hat ~ 1000; the default scale fixes it
    n, b, s = 101_000.0, 100_000.0, 0.002
    z = asimov_significance(n, b, s)
    assert pyhf_discovery(n, b, s).z == pytest.approx(z, abs=1e-3)


@pytest.mark.parametrize(("b", "s"), [(1e4, 0.005), (1e4, 0.02), (1e5, 0.002)])
def test_gaussian_normsys_close_to_eq7(b, s):
    n = b + 2.5 * math.sqrt(b * (1 + b * s * s))
    ref = pyhf_discovery(n, b, s, constraint="gaussian")
    zg = gaussian_significance(n, b, s)  # 2.5
    # normsys interpolates exponentially, (1 + s)^alpha: ln(1 + s) instead of s, and Poisson
    # corrections O((n - b)/b)
    assert ref.z == pytest.approx(zg, rel=0.02)
    assert ref.z == pytest.approx(asimov_significance(n, b, s), rel=0.02)
    lim = pyhf_upper_limit(n, b, s, constraint="gaussian")
    assert lim.upper_limit == pytest.approx(cut_and_count(n, b, s).upper_limit, rel=0.03)


def test_export_and_reproduce_with_pyhf_alone(tmp_path):
    n, b, s = 140.0, 100.0, 0.1
    path = export_workspace(tmp_path / "sr.json", build_workspace(n, b, s))
    spec = json.loads(path.read_text())
    with _numpy():
        w = pyhf.Workspace(spec)
        m = w.model()
        p0 = float(pyhf.infer.hypotest(0.0, w.data(m), m, test_stat="q0"))
    closed = cut_and_count(n, b, s)
    assert p0 == pytest.approx(closed.p_value, rel=1e-4)
    with pytest.raises(pyhf.exceptions.InvalidSpecification):
        export_workspace(tmp_path / "bad.json", {"channels": []})


def test_backend_is_restored():
    previous = pyhf.get_backend()
    pyhf.set_backend("numpy", "minuit")
    try:
        pyhf_discovery(12.0, 10.0, 0.1)
        assert type(pyhf.get_backend()[1]).__name__ == "minuit_optimizer"
    finally:
        pyhf.set_backend(*previous)


def test_bad_input():
    with pytest.raises(InputError, match="constraint"):
        build_workspace(1.0, 1.0, 0.1, constraint="lognormal")
    with pytest.raises(InputError, match="rel_unc must be < 1"):
        build_workspace(1.0, 1.0, 1.0, constraint="gaussian")
    with pytest.raises(InputError, match="n_obs"):
        build_workspace(float("nan"), 1.0, 0.1)
    with pytest.raises(InputError, match="n_exp"):
        pyhf_discovery(1.0, 0.0, 0.1)
    with pytest.raises(InputError, match="signal_events"):
        build_workspace(1.0, 1.0, 0.1, signal_events=0.0)
    with pytest.raises(InputError, match="cl"):
        pyhf_upper_limit(1.0, 1.0, 0.1, cl=95)


class _numpy:
    """Numpy backend with pyhf's default optimizer inside a with-block, then restore."""

    def __enter__(self):
        self.previous = pyhf.get_backend()
        pyhf.set_backend("numpy")

    def __exit__(self, *exc):
        pyhf.set_backend(*self.previous)
