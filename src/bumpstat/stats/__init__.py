"""Statistics of the cut-and-count experiment: significances, one-bin models, pyhf workspaces.

* :mod:`bumpstat.stats.significance` -- eqs. 6-9 of Das et al. [arXiv:2411.00085] (Asimov and
  Gaussian
  significance, sigma_exp, sigma_stat) and p-value <-> Z conversions.
* :mod:`bumpstat.stats.cutcount` -- the closed-form one-bin Poisson-constrained model:
  discovery q0 / p-value / signed Z and asymptotic CLs upper limits, vectorised.
* :mod:`bumpstat.stats.pyhf_models` -- the same model as a pyhf workspace (``shapesys`` or
  ``normsys``), pyhf discovery and limits, JSON export. pyhf is imported only when used.
* :mod:`bumpstat.stats.toys` -- small counts: toy-based p-values and CLs limits of the same
  model, toys thrown at the conditional MLE of the nuisance.
* :mod:`bumpstat.stats.onebin` -- ``one_bin_test``: every number of one count at once
  (asymptotic or toys), and Z_Bi of an on/off measurement.
"""

from __future__ import annotations

from bumpstat.stats.cutcount import (
    CutCountResult,
    DiscoveryResult,
    UpperLimitResult,
    cut_and_count,
    discovery,
    upper_limit,
)
from bumpstat.stats.mixture import (
    MixtureFitResult,
    MixtureNLL,
    ProfileCurve,
    ensemble_log_density,
    fit_signal_fraction,
    profile_likelihood,
)
from bumpstat.stats.onebin import OneBinTest, ZBi, one_bin_test, z_bi
from bumpstat.stats.pyhf_models import (
    build_workspace,
    export_workspace,
    mu_upper_bound,
    pyhf_discovery,
    pyhf_upper_limit,
    signal_scale,
)
from bumpstat.stats.significance import (
    asimov_significance,
    gaussian_significance,
    p_value_from_z,
    rel_unc_expected,
    rel_unc_stat,
    z_from_p_value,
)
from bumpstat.stats.toys import ToyDiscovery, ToyLimits, toy_discovery, toy_limits

__all__ = [
    "asimov_significance",
    "gaussian_significance",
    "rel_unc_expected",
    "rel_unc_stat",
    "p_value_from_z",
    "z_from_p_value",
    "CutCountResult",
    "DiscoveryResult",
    "UpperLimitResult",
    "cut_and_count",
    "discovery",
    "upper_limit",
    "build_workspace",
    "export_workspace",
    "mu_upper_bound",
    "pyhf_discovery",
    "pyhf_upper_limit",
    "signal_scale",
    "MixtureFitResult",
    "MixtureNLL",
    "ProfileCurve",
    "ensemble_log_density",
    "fit_signal_fraction",
    "profile_likelihood",
    "OneBinTest",
    "one_bin_test",
    "ToyDiscovery",
    "ToyLimits",
    "toy_discovery",
    "toy_limits",
    "ZBi",
    "z_bi",
]
