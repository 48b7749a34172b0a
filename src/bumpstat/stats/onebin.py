"""One counting experiment, every number at once: the API behind ``bumpstat significance``.

:func:`one_bin_test` reports eq. 6 (signed) and eq. 7 of Das et al. (arXiv:2411.00085), the
one-sided p-value, the CLs upper limit with its expected band (closed form of the one-bin
Poisson-constrained model) and, as an independent reference, pyhf's ``shapesys`` model.

>>> r = one_bin_test(384, 120, 0.0913, pyhf=False)   # paper 003 App. C.1: Z = 12, Z_G = 17
>>> round(r.z, 2), round(r.z_gaussian, 2), r.valid
(12.06, 17.04, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from bumpstat.results import Result
from bumpstat.stats.cutcount import cut_and_count
from bumpstat.stats.significance import gaussian_significance

__all__ = ["OneBinTest", "one_bin_test"]


@dataclass(frozen=True, repr=False)
class OneBinTest(Result):
    """Result of :func:`one_bin_test` (events, relative uncertainty, significances in σ).

    Attributes
    ----------
    n_obs, n_exp, n_exp_unc, rel_unc : float
        Inputs; ``n_exp_unc = rel_unc * n_exp``.
    z, p_value : float
        Eq. 6 signed, and ``Φ(−z)``.
    p_value_q0 : float
        pyhf's convention (0.5 for a deficit).
    z_gaussian : float
        Eq. 7.
    upper_limit, expected_limits, cl, limit_method
        CLs upper limit on signal events and the −2σ…+2σ expected band.
    z_pyhf, p_value_pyhf : float or None
        pyhf's signed significance and one-sided p-value (None when not computed).
    valid, reason
        Whether the numbers can be trusted.
    """

    n_obs: float
    n_exp: float
    n_exp_unc: float
    rel_unc: float
    z: float
    p_value: float
    p_value_q0: float
    z_gaussian: float
    upper_limit: float
    expected_limits: tuple[float, ...]
    cl: float
    limit_method: str
    z_pyhf: float | None = None
    p_value_pyhf: float | None = None
    valid: bool = True
    reason: str | None = None


def one_bin_test(n_obs: float, n_exp: float, rel_unc: float = 0.0, *, cl: float = 0.95,
                 pyhf: bool = True) -> OneBinTest:
    """Significances, p-value and CLs limit of one cut-and-count experiment.

    Parameters
    ----------
    n_obs, n_exp : float
        Observed events (>= 0) and expected background (> 0).
    rel_unc : float
        Relative uncertainty on ``n_exp`` (>= 0).
    cl : float, keyword-only
        Confidence level of the limit.
    pyhf : bool, keyword-only
        Also run pyhf's ``shapesys`` model as a reference (slower).
    """
    cc = cut_and_count(n_obs, n_exp, rel_unc, cl=cl)
    z_pyhf = p_pyhf = None
    if pyhf:
        from bumpstat.stats.pyhf_models import pyhf_discovery

        ref = pyhf_discovery(n_obs, n_exp, rel_unc)
        z_pyhf, p_pyhf = float(ref.z), float(ref.p_value)
    return OneBinTest(
        n_obs=float(cc.n_obs), n_exp=float(cc.n_exp), n_exp_unc=float(cc.n_exp_unc),
        rel_unc=float(cc.rel_unc), z=float(cc.z), p_value=float(cc.p_value),
        p_value_q0=float(cc.p_value_q0),
        z_gaussian=float(gaussian_significance(n_obs, n_exp, rel_unc)),
        upper_limit=float(cc.upper_limit), expected_limits=tuple(cc.expected_limits),
        cl=cc.cl, limit_method=cc.limit_method, z_pyhf=z_pyhf, p_value_pyhf=p_pyhf,
    )
