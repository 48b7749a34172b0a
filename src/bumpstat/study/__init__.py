"""Signal-injection studies: the whole chain over injected signal × seeds × producers × methods.

A study (:class:`StudyConfig`) runs, for every point ``(N_sig, seed, producer)``: generation with
that injection and seed, the producer's scores, delta_sys^MC from the alternative generator
(once per seed and producer), the scan with every background method, the global significance of
the direct scan, metrics in the true window and, for producers that learn the signal fraction
(R-ANODE), ŵ against w_true. :func:`run_study` runs the points where an executor says (local
processes, a Dask cluster) and keeps each finished point on disk, so studies resume and grow;
:class:`StudyResult` holds the points and the summary over seeds (median, 16–84% band, the
N_sig at which the median reaches 3σ and 5σ); :func:`write_study` writes ``study.json`` and the
figures. Importing this package imports neither torch, scikit-learn nor matplotlib.

>>> cfg = StudyConfig(n_signal=(0, 300), seeds=2, methods=("direct", "fit"))
>>> cfg.true_window.name, cfg.methods
('SR5', ('direct', 'fit'))
"""

from bumpstat.study.config import SIZES, StudyConfig, StudySize, n_signal_for_s_over_sqrt_b
from bumpstat.study.point import POINT_FIELDS
from bumpstat.study.result import StudyResult, summarise
from bumpstat.study.runner import load_points, run_study, write_study

__all__ = [
    "POINT_FIELDS",
    "SIZES",
    "StudyConfig",
    "StudyResult",
    "StudySize",
    "load_points",
    "n_signal_for_s_over_sqrt_b",
    "run_study",
    "summarise",
    "write_study",
]
