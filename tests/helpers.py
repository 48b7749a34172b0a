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


def overlapping_score_file(*, n_data=30_000, n_template=120_000, n_runs=1, seed=0,
                           noise=0.3, ids=True, n_signal=0, windows=None) -> ScoreFile:
    """Background-only events shared by overlapping windows: every event has a latent
    x ~ N(0, 1) and each window's classifier (run) scores it ``x + noise * N(0, 1)``; ``m``
    follows a falling spectrum over the windows. ``event_id`` matches events across windows
    when ``ids``. ``n_signal`` events with x ~ N(3, 0.3) are added at m ~ N(3.5, 0.1) TeV."""
    rng = np.random.default_rng(seed)
    windows = windows or sliding_windows()
    lo, hi = min(w.low for w in windows), max(w.high for w in windows)

    def sample(n, n_sig):
        m = lo * (1.0 + rng.pareto(5.0, 3 * n))
        m = m[m < hi][:n]
        x = rng.standard_normal(m.size)
        label = np.zeros(m.size, dtype=np.int8)
        if n_sig:
            m = np.r_[m, rng.normal(3.5, 0.1, n_sig)]
            x = np.r_[x, rng.normal(3.0, 0.3, n_sig)]
            label = np.r_[label, np.ones(n_sig, dtype=np.int8)]
        return m, x, label

    m_d, x_d, lab = sample(n_data, n_signal)
    m_t, x_t, _ = sample(n_template, 0)
    out = []
    for w in windows:
        d, t = w.contains(m_d), w.contains(m_t)
        sd = x_d[d] + noise * rng.standard_normal((n_runs, int(d.sum())))
        st = x_t[t] + noise * rng.standard_normal((n_runs, int(t.sum())))
        out.append(WindowScores(
            w,
            EventSet(sd, m=m_d[d], label=lab[d], event_id=np.flatnonzero(d) if ids else None),
            EventSet(st, m=m_t[t], event_id=np.flatnonzero(t) if ids else None)))
    return ScoreFile(tuple(out), method="toy-overlap", metadata={"seed": seed})


class OverlapNull:
    """A picklable null generator ``SeedSequence -> ScoreFile`` (:func:`overlapping_score_file`)."""

    def __init__(self, **options):
        self.options = options

    def __call__(self, seed):
        return overlapping_score_file(seed=int(seed.generate_state(1)[0]), **self.options)


def _reject_constant(name):
    raise ValueError(f"not strict JSON: {name}")


def strict_json(text):
    """Parse JSON text with a strict parser: NaN, Infinity and -Infinity are errors."""
    import json

    return json.loads(text, parse_constant=_reject_constant)


def assert_strict_json_tree(root):
    """Every ``*.json`` file under ``root`` parses strictly; returns how many there were."""
    from pathlib import Path

    files = sorted(Path(root).rglob("*.json"))
    for f in files:
        try:
            strict_json(f.read_text())
        except ValueError as err:
            raise AssertionError(f"{f}: {err}") from None
    assert files, f"no JSON file under {root}"
    return len(files)


def small_sculpting_study():
    """A sculpting study of the exact score on 20k events (seconds)."""
    from bumpstat.study.sculpting import SculptingConfig, run_sculpting

    return run_sculpting(SculptingConfig(score_methods=("exact",), n_background=20_000,
                                         eps_sel=(0.5, 0.1), n_bins=10, n_random=20),
                         progress=False)


def small_interplay_study():
    """An interplay study of the exact score and IAD on 20k events (seconds)."""
    from bumpstat.study.interplay import InterplayConfig, run_interplay

    return run_interplay(InterplayConfig(score_methods=("exact", "iad"), n_background=20_000,
                                         n_signal=100, seeds=1, size="tiny"), progress=False)
