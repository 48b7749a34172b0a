"""bumpstat: statistics toolkit for resonant anomaly detection."""

from __future__ import annotations

from bumpstat.direct import DeltaSys, combine_quadrature, direct_estimate, estimate_delta_sys
from bumpstat.estimators import (
    BackgroundEstimator,
    DirectEstimator,
    SidebandFitEstimator,
    get_estimator,
)
from bumpstat.exceptions import (
    BumpstatError,
    FitError,
    InputError,
    MissingExtraError,
    ScoreFileError,
    WindowError,
    WorkingPointError,
)
from bumpstat.fit import BumpHuntResult, bumphunt
from bumpstat.global_significance import GlobalSignificance
from bumpstat.producers import ScoreProducer, get_producer
from bumpstat.scan import ScanResult, run_scan
from bumpstat.scores import read_scores, write_scores
from bumpstat.stats.cutcount import cut_and_count
from bumpstat.stats.mixture import MixtureFitResult, fit_signal_fraction
from bumpstat.stats.onebin import one_bin_test
from bumpstat.stats.significance import asimov_significance, gaussian_significance
from bumpstat.windows import Window, sliding_windows, windows_from_edges

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "BumpstatError",
    "FitError",
    "InputError",
    "MissingExtraError",
    "ScoreFileError",
    "WindowError",
    "WorkingPointError",
    "BackgroundEstimator",
    "BumpHuntResult",
    "DirectEstimator",
    "GlobalSignificance",
    "ScoreProducer",
    "SidebandFitEstimator",
    "DeltaSys",
    "MixtureFitResult",
    "ScanResult",
    "Window",
    "asimov_significance",
    "bumphunt",
    "combine_quadrature",
    "direct_estimate",
    "estimate_delta_sys",
    "fit_signal_fraction",
    "get_estimator",
    "get_producer",
    "one_bin_test",
    "read_scores",
    "write_scores",
    "cut_and_count",
    "gaussian_significance",
    "run_scan",
    "sliding_windows",
    "windows_from_edges",
]
