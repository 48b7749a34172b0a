"""Fit-based background estimation: dijet-function sideband fits, SR tests, GoF, sculpting.

The pipeline step after a cut on the anomaly score: histogram m, fit the sidebands with an
extended binned Poisson likelihood (iminuit), interpolate into the signal region and test the
excess; plus goodness of fit, nested-function choice and the sculpting metric of paper 001.
"""

from __future__ import annotations

from bumpstat.fit.bumphunt import (
    BumpHuntResult,
    SRTest,
    ToyFits,
    bumphunt,
    bumphunt_histogram,
    pseudo_experiments,
    score_threshold,
    sr_test,
)
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
    FunctionChoice,
    GoodnessOfFit,
    NestedTest,
    compare_nested,
    goodness_of_fit,
    select_function,
)
from bumpstat.fit.sculpting import (
    SculptingResult,
    equal_content_edges,
    sculpting_chi2,
    sculpting_curve,
)
from bumpstat.fit.sideband import (
    FitWarning,
    SidebandFit,
    fit_sideband,
    histogram,
    log_uniform_edges,
    make_edges,
    sr_mask,
)

__all__ = [
    "FUNCTIONS",
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
