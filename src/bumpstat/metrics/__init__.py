"""Metrics to judge anomaly scores: ROC/AUC/SIC (:mod:`~bumpstat.metrics.roc`), per window of a
score file (:mod:`~bumpstat.metrics.report`), top-p overlaps, combinations, marginal KS.

Every result derives from :class:`bumpstat.results.Result` (strict JSON, ``records()``). Events
or score files without truth labels give one clear error, never "no signal"."""

from bumpstat.metrics.combine import (
    combine_score_files,
    combine_scores,
    sample_level_template,
    standardise,
)
from bumpstat.metrics.marginals import MarginalKS, ks_statistic, marginal_ks
from bumpstat.metrics.overlap import (
    OverlapResult,
    percentile_overlap,
    score_file_overlap,
    top_fraction,
)
from bumpstat.metrics.report import (
    MetricsReport,
    WindowMetrics,
    score_file_metrics,
    sic_key,
    summarise_runs,
    window_metrics,
)
from bumpstat.metrics.roc import (
    ClassifierMetrics,
    RocCurve,
    SicCurve,
    classifier_metrics,
    roc_curve,
    sic_curve,
)

__all__ = [
    "ClassifierMetrics",
    "MarginalKS",
    "MetricsReport",
    "OverlapResult",
    "RocCurve",
    "SicCurve",
    "WindowMetrics",
    "classifier_metrics",
    "combine_score_files",
    "combine_scores",
    "ks_statistic",
    "marginal_ks",
    "percentile_overlap",
    "roc_curve",
    "sample_level_template",
    "score_file_metrics",
    "score_file_overlap",
    "sic_curve",
    "sic_key",
    "standardise",
    "summarise_runs",
    "top_fraction",
    "window_metrics",
]
