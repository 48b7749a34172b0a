"""R-ANODE anomaly scores as a score file, so the scan machinery applies to them.

Data: the SR events scored with ``log R = log p_sig - log p_bg`` (ensemble of kept signal flows
over the background flow). Template: a CATHODE template — the same conditional background flow
sampled in the SR, m from a KDE of the SR masses, oversampled — scored with the same ``log R``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bumpstat.ranode.cathode import sr_template
from bumpstat.scores.schema import EventSet, ScoreFile, WindowScores

__all__ = ["ranode_score_file"]


def ranode_score_file(results: Any, *, oversample: float = 4.0, labels: Any = None,
                      seed: Any = 0) -> ScoreFile:
    """One-run score file from one or more :class:`RanodeResult` (one per window).

    Parameters
    ----------
    results : RanodeResult or sequence of RanodeResult
        Outputs of :func:`bumpstat.ranode.train.run_ranode`, each for its own window.
    oversample : float
        CATHODE template size in units of the SR data (paper 003: 4).
    labels : array or sequence of arrays, optional
        Truth labels of the events given to ``run_ranode`` (selected to the SR here).
    seed : int or Generator
        Seed of the template sampling.
    """
    results = [results] if not isinstance(results, list | tuple) else list(results)
    if labels is not None and not isinstance(labels, list | tuple):
        labels = [labels]
    rng = np.random.default_rng(seed)
    windows = []
    for i, res in enumerate(results):
        tmpl = sr_template(res.background, res.m, oversample=oversample, seed=rng)
        lab = None if labels is None else np.asarray(labels[i])[res.sr_index]
        windows.append(WindowScores(
            res.window,
            EventSet(scores=res.score[None, :], m=res.m, label=lab),
            EventSet(scores=res.log_r(tmpl.x, tmpl.m)[None, :], m=tmpl.m),
        ))
    return ScoreFile(tuple(windows), method="ranode",
                     metadata={"score": "log p_sig - log p_bg (R-ANODE flows)",
                               "template": f"CATHODE, oversampled x{oversample:g}"})
