"""Direct background estimation from a background template (Das et al. [arXiv:2411.00085])."""

from bumpstat.direct.delta_sys import DeltaSys, combine_quadrature, estimate_delta_sys
from bumpstat.direct.estimate import WindowCounts, direct_estimate, window_counts
from bumpstat.direct.thresholds import Thresholds, template_thresholds

__all__ = [
    "DeltaSys",
    "Thresholds",
    "WindowCounts",
    "combine_quadrature",
    "direct_estimate",
    "estimate_delta_sys",
    "template_thresholds",
    "window_counts",
]
