"""Toy inputs shared by several test files."""

import numpy as np

from bumpstat.scores import EventSet, ScoreFile, WindowScores
from bumpstat.windows import sliding_windows


def toy_score_file(*, n_data=20_000, n_template=20_000, n_runs=3, seed=0, shift=0.0,
                   n_signal=0, windows=None) -> ScoreFile:
    """Score file with N(0,1) background scores for data and template in every window.

    ``shift`` moves the data background scores (a mis-modelled template); ``n_signal`` adds
    events with score N(3, 0.5) to the data of the middle window.
    """
    rng = np.random.default_rng(seed)
    windows = windows or sliding_windows()
    out = []
    for i, w in enumerate(windows):
        ns = n_signal if i == len(windows) // 2 else 0
        d = np.concatenate([rng.normal(shift, 1, (n_runs, n_data)),
                            rng.normal(3.0, 0.5, (n_runs, ns))], axis=1)
        m = rng.uniform(w.low, w.high, n_data + ns)
        label = np.r_[np.zeros(n_data), np.ones(ns)]
        out.append(WindowScores(w, EventSet(d, m=m, label=label),
                                EventSet(rng.normal(0, 1, (n_runs, n_template)))))
    return ScoreFile(tuple(out), method="toy", metadata={"seed": seed})


def toy_range_score_file(*, n_data=60_000, n_template=20_000, n_runs=1, seed=0, windows=None,
                         fit_range=(2.8, 5.2)) -> ScoreFile:
    """Background-only score file whose data cover the whole fit range (falling m spectrum,
    N(0,1) scores independent of m), so that both the direct and the fit estimator apply."""
    rng = np.random.default_rng(seed)
    windows = windows or [w for w in sliding_windows() if w.name in ("SR4", "SR5", "SR6")]
    lo, hi = fit_range
    out = []
    for w in windows:
        m = lo * (1.0 + rng.pareto(6.0, 4 * n_data))
        m = m[m < hi][:n_data]
        d = rng.normal(0, 1, (n_runs, m.size))
        out.append(WindowScores(w, EventSet(d, m=m), EventSet(rng.normal(0, 1, (n_runs,
                                                                            n_template)))))
    return ScoreFile(tuple(out), method="toy", metadata={"seed": seed})
