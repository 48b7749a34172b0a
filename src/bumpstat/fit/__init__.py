"""Fit-based background estimation: dijet-function sideband fits, SR tests, GoF, sculpting.

The pipeline step after a cut on the anomaly score: histogram m, fit the sidebands with an
extended binned Poisson likelihood (iminuit), interpolate into the signal region and test the
excess; plus goodness of fit, nested-function choice and the sculpting metric of Hallin et al.
[arXiv:2210.14924].

========================  ================================================================
module                    job
========================  ================================================================
``fit.base``              fit-function interface (density in events/TeV, parametrisation)
``fit.dijet``             dijet 3/4/5-parameter functions, well-conditioned parametrisation
``fit.linear``            linear function
``fit.custom``            user callables
``fit.functions``         functions by name (``get_function``)
``fit.binning``           log-uniform edges with the SR aligned, SR mask, histograms
``fit.cost``              ExtendedBinnedNLL cost and its analytic Hessian
``fit.minimise``          MIGRAD/HESSE with retries, validity checks, ``FitWarning``
``fit.sideband``          ``fit_sideband`` -> ``SidebandFit``
``fit.gof``               chi2/ndof, deviance p-value, KS of pulls, ``GOF_MIN_P``, choice
``fit.srtest``            SR prediction and its uncertainty, profile-likelihood test
``fit.toys``              Poisson pseudo-experiments
``fit.hunt``          score cut + fit + test + limit -> ``BumpHuntResult``
``fit.sculpting``         Hallin et al. eq. 5 sculpting metric
========================  ================================================================
"""

from __future__ import annotations

from bumpstat.fit.binning import histogram, log_uniform_edges, make_edges, sr_mask
from bumpstat.fit.functions import (
    FUNCTIONS,
    SQRT_S,
    CustomFunction,
    DijetFunction,
    FitFunction,
    LinearFunction,
    get_function,
)
from bumpstat.fit.gof import (
    GOF_MIN_P,
    FunctionChoice,
    GoodnessOfFit,
    NestedTest,
    compare_nested,
    goodness_of_fit,
    select_function,
)
from bumpstat.fit.hunt import (
    BumpHuntResult,
    bumphunt,
    bumphunt_histogram,
    score_threshold,
)
from bumpstat.fit.minimise import FitWarning
from bumpstat.fit.sculpting import (
    SculptingResult,
    equal_content_edges,
    sculpting_chi2,
    sculpting_curve,
)
from bumpstat.fit.sideband import SidebandFit, fit_sideband
from bumpstat.fit.srtest import SRTest, sr_test
from bumpstat.fit.toys import ToyFits, pseudo_experiments

__all__ = [
    "FUNCTIONS",
    "GOF_MIN_P",
    "SQRT_S",
    "BumpHuntResult",
    "CustomFunction",
    "DijetFunction",
    "FitFunction",
    "FitWarning",
    "FunctionChoice",
    "GoodnessOfFit",
    "LinearFunction",
    "NestedTest",
    "SRTest",
    "SculptingResult",
    "SidebandFit",
    "ToyFits",
    "bumphunt",
    "bumphunt_histogram",
    "compare_nested",
    "equal_content_edges",
    "fit_sideband",
    "get_function",
    "goodness_of_fit",
    "histogram",
    "log_uniform_edges",
    "make_edges",
    "pseudo_experiments",
    "sculpting_chi2",
    "sculpting_curve",
    "score_threshold",
    "select_function",
    "sr_mask",
    "sr_test",
]
