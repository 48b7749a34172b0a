"""pyhf one-bin cut-and-count workspaces: the reference backend of :mod:`bumpstat.stats.cutcount`.

One channel ``"SR"`` with one bin, a signal sample with a free ``normfactor`` ``"mu"`` and a
background sample ``n_exp`` with either

* ``constraint="poisson"``: a ``shapesys`` modifier ``"bkg_uncert"`` of data ``rel_unc * n_exp``
  (tau = 1/rel_unc^2, Poisson auxiliary measurement; its discovery Z is eq. 6 exactly), or
* ``constraint="gaussian"``: a ``normsys`` modifier ``"bkg_norm"`` with ``lo/hi = 1 -/+ rel_unc``
  (Gaussian constraint, exponential interpolation; Z close to eq. 7 for large n_exp).

``rel_unc = 0`` builds the background without any modifier (plain Poisson count), and so does a
negligible one (``n_exp rel_unc² <`` :data:`~bumpstat.stats.inputs.NEGLIGIBLE_UNCERTAINTY`,
where pyhf's minimiser fails on ``tau = 1/rel_unc²``), so results are continuous as it goes to 0.

**Parameter bounds.** pyhf bounds a ``normfactor`` to (0, 10) by default, so a signal sample of
one event silently caps the fitted signal at 10 events. The workspace therefore sets the bounds
of ``mu`` in its measurement to ``[0, M / signal_events]`` with
``M = max(50, 10 (n_obs + 5 sqrt(n_obs) + n_exp (1 + 5 rel_unc)))`` events (above 3.9x every
fitted signal and CLs limit, :func:`mu_upper_bound`), and the bounds of the ``shapesys``
gamma to ``[1e-10, max(10, 10 (n_obs + tau)/(n_exp + tau))]`` (the default upper bound of 10
binds for large excesses with large uncertainties). Results are reported in *events*
(``mu * signal_events``).

**Signal scale.** With a one-event signal sample and n_exp >~ 1e4, pyhf's default SLSQP fit
stops far from the minimum (measured: n = 101000, b = 100000, sigma = 0.002 gives Z = 0.13
instead of 2.67), because mu then lives on a scale of 1e3 with initial value 1. By default the
signal sample therefore holds ``sqrt(n_exp (1 + n_exp sigma^2))`` events (at least 1), the 1σ
background fluctuation, so that mu = O(Z); pass ``signal_events=1.0`` for mu in events.

All pyhf calls run with the numpy backend (pyhf's default SLSQP optimizer); the previously
active backend is restored.

>>> ws = build_workspace(130.0, 100.0, 0.05, signal_events=1.0)
>>> ws["measurements"][0]["config"]["parameters"][0]
{'name': 'mu', 'bounds': [[0.0, 3120.087712549569]], 'inits': [1.0]}
"""

from __future__ import annotations

import contextlib
import math
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from bumpstat.exceptions import InputError
from bumpstat.stats.cutcount import DiscoveryResult, UpperLimitResult
from bumpstat.stats.inputs import negligible_uncertainty

__all__ = [
    "build_workspace",
    "pyhf_discovery",
    "pyhf_upper_limit",
    "export_workspace",
    "mu_upper_bound",
    "signal_scale",
]

_CONSTRAINTS = ("poisson", "gaussian")


def _scalar(name: str, value, *, lower: float, strict: bool) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a finite number, got {value!r}") from err
    if not math.isfinite(x) or (x <= lower if strict else x < lower):
        raise InputError(
            f"{name} must be finite and {'>' if strict else '>='} {lower:g}, got {x!r}"
        )
    return x


def mu_upper_bound(n_obs: float, n_exp: float, rel_unc: float = 0.0) -> float:
    """Upper bound (events) of the signal normalisation mu.

    ``M = max(50, 10 (n + 5 sqrt(n) + b (1 + 5 sigma)))``.

    Above 3.9x any fitted signal, observed or +2σ expected 95% CL limit of the one-bin model
    (largest ratio 0.26, at n = 0, b ~ 5, on a grid b = 1e-3..1e6, sigma = 0..5), so it never
    binds.

    >>> mu_upper_bound(0.0, 1.0)
    50.0
    """
    return max(50.0, 10.0 * (n_obs + 5.0 * math.sqrt(n_obs) + n_exp * (1.0 + 5.0 * rel_unc)))


def signal_scale(n_exp: float, rel_unc: float = 0.0) -> float:
    """Default signal-sample size (events): ``max(1, sqrt(n_exp (1 + n_exp rel_unc^2)))``.

    >>> signal_scale(100.0, 0.1)
    14.142135623730951
    """
    return max(1.0, math.sqrt(n_exp * (1.0 + n_exp * rel_unc * rel_unc)))


def build_workspace(
    n_obs,
    n_exp,
    rel_unc=0.0,
    *,
    constraint: str = "poisson",
    signal_events: float | None = None,
) -> dict:
    """pyhf workspace (JSON-ready dict) of a one-bin cut-and-count model.

    Parameters
    ----------
    n_obs : float
        Observed events (>= 0).
    n_exp : float
        Expected background events (> 0).
    rel_unc : float, optional
        Relative uncertainty on ``n_exp`` (>= 0; < 1 for ``constraint="gaussian"``).
    constraint : {"poisson", "gaussian"}, keyword-only
        ``shapesys`` (Poisson auxiliary measurement) or ``normsys`` (Gaussian) background
        uncertainty.
    signal_events : float or None, keyword-only
        Nominal events of the signal sample; ``mu`` scales it, so a limit on ``mu`` times
        ``signal_events`` is a limit in events. None (default): :func:`signal_scale`.

    Returns
    -------
    dict
        Workspace that validates with ``pyhf.Workspace(ws)``; measurement ``"cut_and_count"``
        with POI ``"mu"`` and explicit parameter bounds.

    Examples
    --------
    >>> ws = build_workspace(5.0, 3.2, 0.1)
    >>> [s["name"] for s in ws["channels"][0]["samples"]], ws["observations"][0]["data"]
    (['signal', 'background'], [5.0])
    """
    n = _scalar("n_obs", n_obs, lower=0.0, strict=False)
    b = _scalar("n_exp", n_exp, lower=0.0, strict=True)
    s = _scalar("rel_unc", rel_unc, lower=0.0, strict=False)
    if signal_events is None:
        signal_events = signal_scale(b, s)
    sig = _scalar("signal_events", signal_events, lower=0.0, strict=True)
    if constraint not in _CONSTRAINTS:
        raise InputError(f"constraint must be one of {_CONSTRAINTS}, got {constraint!r}")
    if constraint == "gaussian" and s >= 1.0:
        raise InputError(
            f"rel_unc must be < 1 for constraint='gaussian' (normsys lo = 1 - rel_unc), got {s}"
        )
    parameters: list[dict] = [
        {"name": "mu", "bounds": [[0.0, mu_upper_bound(n, b, s) / sig]], "inits": [1.0]}
    ]
    bkg_modifiers: list[dict] = []
    if s > 0 and not negligible_uncertainty(n, b, s):
        if constraint == "poisson" and (s * b) ** 2 == 0.0:
            raise InputError(f"n_exp = {b:g} with rel_unc = {s:g}: the absolute uncertainty "
                             "underflows in pyhf's shapesys (tau = (b / (rel_unc b))^2)")
        if constraint == "poisson":
            bkg_modifiers.append({"name": "bkg_uncert", "type": "shapesys", "data": [s * b]})
            tau = 1.0 / (s * s)
            g_max = max(10.0, 10.0 * (n + tau) / (b + tau))
            parameters.append({"name": "bkg_uncert", "bounds": [[1e-10, g_max]]})
        else:
            bkg_modifiers.append(
                {"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.0 + s, "lo": 1.0 - s}}
            )
    return {
        "channels": [
            {
                "name": "SR",
                "samples": [
                    {
                        "name": "signal",
                        "data": [sig],
                        "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                    },
                    {"name": "background", "data": [b], "modifiers": bkg_modifiers},
                ],
            }
        ],
        "observations": [{"name": "SR", "data": [n]}],
        "measurements": [
            {"name": "cut_and_count", "config": {"poi": "mu", "parameters": parameters}}
        ],
        "version": "1.0.0",
    }


def export_workspace(path, ws: dict) -> Path:
    """Validate ``ws`` with pyhf's schema and write it as JSON to ``path``; returns the path.

    The file reproduces the result with pyhf alone, e.g.
    ``pyhf cls --test-stat qtilde workspace.json`` or ``pyhf.Workspace(json.load(f))``.
    """
    import pyhf

    from bumpstat.outputs import write_json

    pyhf.Workspace(ws)  # raises pyhf.exceptions.InvalidSpecification if malformed
    return write_json(Path(path), ws)


@contextlib.contextmanager
def _numpy_backend(optimizer: str = "scipy"):
    import pyhf

    if optimizer not in ("scipy", "minuit"):
        raise InputError(f"optimizer must be 'scipy' or 'minuit', got {optimizer!r}")
    previous = pyhf.get_backend()
    pyhf.set_backend("numpy", optimizer)
    try:
        # pyhf divides CLsb / CLb = 0/0 when both underflow (Z >~ 38) and warns; the p-value
        # it returns (CLsb = 0) is right, so silence numpy's floating-point warnings here
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            yield pyhf
    finally:
        pyhf.set_backend(*previous)


def _model_and_data(pyhf, ws: dict):
    workspace = pyhf.Workspace(ws)
    model = workspace.model()
    return model, workspace.data(model)


def pyhf_discovery(
    n_obs,
    n_exp,
    rel_unc=0.0,
    *,
    constraint: str = "poisson",
    signal_events: float | None = None,
    optimizer: str = "scipy",
) -> DiscoveryResult:
    """Discovery test of the one-bin workspace with pyhf (``test_stat="q0"``, asymptotics).

    Parameters
    ----------
    n_obs, n_exp, rel_unc, constraint, signal_events
        As in :func:`build_workspace` (scalars).
    optimizer : {"scipy", "minuit"}, keyword-only
        pyhf optimizer; "scipy" (SLSQP) is pyhf's default.

    Returns
    -------
    DiscoveryResult
        ``q0`` from ``pyhf.infer.test_statistics.q0`` (one-sided), ``p_value_q0`` from
        ``pyhf.infer.hypotest(0, ..., test_stat="q0")`` (0.5 for a deficit), and the signed
        ``z = sign(mu_hat) sqrt(t0)`` with pyhf's two-sided ``t_mu`` statistic at mu = 0
        (``pyhf.infer.test_statistics.tmu``) evaluated with the signal normalisation allowed
        down to ``-n_exp`` events, so that a deficit gives a negative ``z``;
        ``p_value = Phi(-z)``.
    """
    ws = build_workspace(n_obs, n_exp, rel_unc, constraint=constraint, signal_events=signal_events)
    sig = float(ws["channels"][0]["samples"][0]["data"][0])
    with _numpy_backend(optimizer) as pyhf:
        model, data = _model_and_data(pyhf, ws)
        init = model.config.suggested_init()
        bounds = model.config.suggested_bounds()
        fixed = model.config.suggested_fixed()
        q0 = float(pyhf.infer.test_statistics.q0(0.0, data, model, init, bounds, fixed))
        p0 = float(pyhf.infer.hypotest(0.0, data, model, test_stat="q0", calctype="asymptotics"))
        poi = model.config.poi_index
        two_sided = list(bounds)
        two_sided[poi] = (-(1.0 - 1e-9) * float(n_exp) / sig, bounds[poi][1])
        t0, mu_hat = _t0_and_mu_hat(pyhf, data, model, init, two_sided, fixed)
    z = math.copysign(math.sqrt(max(t0, 0.0)), mu_hat)
    return DiscoveryResult(q0=q0, z=z, p_value=float(stats.norm.sf(z)), p_value_q0=p0)


def _t0_and_mu_hat(pyhf, data, model, init, bounds, fixed) -> tuple[float, float]:
    """pyhf's two-sided ``t_mu`` at mu = 0 and the unconditional MLE of mu."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tmu warns that a POI lower bound < 0 is unusual
        t0 = float(pyhf.infer.test_statistics.tmu(0.0, data, model, init, bounds, fixed))
    best = pyhf.infer.mle.fit(data, model, init_pars=init, par_bounds=bounds, fixed_params=fixed)
    return t0, float(np.asarray(best)[model.config.poi_index])


def pyhf_upper_limit(
    n_obs,
    n_exp,
    rel_unc=0.0,
    *,
    cl: float = 0.95,
    constraint: str = "poisson",
    signal_events: float | None = None,
    rtol: float = 1e-4,
    optimizer: str = "scipy",
) -> UpperLimitResult:
    """CLs upper limit with pyhf (``qtilde``, asymptotics, toms748 root finding).

    Calls ``pyhf.infer.intervals.upper_limits.toms748_scan(data, model, low, mu_max,
    level=1 - cl, test_stat="qtilde", calctype="asymptotics")`` -- what
    ``upper_limit(..., scan=None)`` runs, except that the bracket starts at
    ``low = 0.1 sqrt(b (1 + b sigma^2))`` events instead of the POI bound 0, where pyhf's CLs
    is 0/0 = NaN for a deficit.

    Parameters
    ----------
    n_obs, n_exp, rel_unc, constraint, signal_events
        As in :func:`build_workspace` (scalars).
    cl : float, keyword-only
        Confidence level.
    rtol : float, keyword-only
        Relative tolerance of pyhf's toms748 root finding (pyhf's default 1e-4).
    optimizer : {"scipy", "minuit"}, keyword-only
        pyhf optimizer. pyhf's default SLSQP ("scipy") can run away in fixed-mu fits of large,
        strongly constrained deficits (measured: n = 960, b = 1200, sigma = 0.3 gives a +2σ
        expected limit 11% low); "minuit" agrees with the closed form there.

    Returns
    -------
    UpperLimitResult
        Limits in events (``mu * signal_events``): observed and -2σ..+2σ expected.
    """
    cl = float(cl)
    if not 0.0 < cl < 1.0:
        raise InputError(f"cl (confidence level) must be in (0, 1), got {cl}")
    ws = build_workspace(n_obs, n_exp, rel_unc, constraint=constraint, signal_events=signal_events)
    sig = float(ws["channels"][0]["samples"][0]["data"][0])
    with _numpy_backend(optimizer) as pyhf:
        model, data = _model_and_data(pyhf, ws)
        bounds = model.config.suggested_bounds()[model.config.poi_index]
        # pyhf's upper_limit(scan=None) starts toms748 at the POI lower bound 0, where
        # q_A = 0 and a fit-tolerance q > 0 give CLs = 0/0 = NaN for deficits. Start instead at
        # 0.1 background standard deviations, where q_A ~ 0.01 is far above the fit tolerance
        # and CLs ~ 0.9 (toms748_scan halves the start further if CLs there is below 1 - cl).
        low = 0.1 * signal_scale(float(n_exp), float(rel_unc)) / sig
        obs, exp = pyhf.infer.intervals.upper_limits.toms748_scan(
            data,
            model,
            low,
            bounds[1],
            level=1.0 - cl,
            rtol=rtol,
            test_stat="qtilde",
            calctype="asymptotics",
        )
    return UpperLimitResult(
        upper_limit=float(obs) * sig,
        expected_limits=tuple(float(e) * sig for e in np.asarray(exp)),
        cl=cl,
    )
