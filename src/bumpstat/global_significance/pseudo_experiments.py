"""Whole-chain pseudo-experiments: regenerate background-only data, rebuild the scores (train
the classifiers again, if the producer trains), scan, keep the largest local significance.

This calibrates a whole pipeline, classifier training included, where the count
pseudo-experiments of :func:`bumpstat.global_significance.global_significance` take the scores
as given. A *null generator* is any picklable callable ``seed -> ScoreFile`` that makes one
background-only score file; :class:`SyntheticNull` is the built-in one (the synthetic generator
followed by a score producer).

Toy ``i`` is seeded with ``SeedSequence(seed, spawn_key=(i,))`` whatever the number of toys or
who runs them, so runs can be extended, split and merged. With ``out`` the toys are saved in
chunks (``chunk_<first>_<last>.json``, written atomically); a rerun into the same directory
skips the chunks already there (resume), and :func:`merge_pseudo_experiments` joins the chunks
of several directories (millions of toys run in pieces).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError
from bumpstat.global_significance.result import GlobalSignificance, make_result
from bumpstat.outputs import write_json
from bumpstat.parallel import run_tasks
from bumpstat.results import Result
from bumpstat.serialize import jsonable, loads

__all__ = ["PseudoExperiments", "SyntheticNull", "merge_pseudo_experiments",
           "run_pseudo_experiments"]


@dataclass(frozen=True)
class SyntheticNull:
    """Background-only score files from the synthetic generator and a score producer.

    Parameters
    ----------
    producer : ScoreProducer
        Any producer of :mod:`bumpstat.producers` (e.g. ``get_producer("iad", preset="test")``).
    windows : sequence of Window
    n_background, n_reference : int
        Data events and (for producers that need one) independent background events.
    runs : int
        Classifier runs.
    score_range : (float, float), optional
        Score data over this m range (for the fit estimator).
    generator_options : dict
        Options of :class:`bumpstat.data.SyntheticLHCO`.
    """

    producer: Any
    windows: tuple
    n_background: int = 1_000_000
    n_reference: int = 1_000_000
    runs: int = 1
    score_range: tuple[float, float] | None = None
    generator_options: dict = field(default_factory=dict)

    def __call__(self, seed: np.random.SeedSequence) -> Any:
        from bumpstat.data import SyntheticLHCO

        gen = SyntheticLHCO(**self.generator_options)
        s_data, s_ref, s_prod = seed.spawn(3)
        data = gen.sample_background(self.n_background, seed=np.random.default_rng(s_data))
        ref = None
        if getattr(self.producer, "needs_reference", False):
            ref = gen.sample_background(self.n_reference, seed=np.random.default_rng(s_ref))
        return self.producer.produce(data, self.windows, runs=self.runs, seed=s_prod,
                                     reference=ref, score_range=self.score_range,
                                     progress=False)


@dataclass(frozen=True, repr=False)
class PseudoExperiments(Result):
    """Largest local significance of each whole-chain pseudo-experiment.

    Attributes
    ----------
    seed : int
        Root seed; toy ``i`` used ``SeedSequence(seed, spawn_key=(i,))``.
    toy_index : array of int
        Indices of the toys held.
    max_z : dict of str to array
        Per method, the largest run-averaged local Z of each toy; key ``"all"`` over methods.
    config : dict
        Estimators, working points and windows of the scans.
    """

    seed: int
    toy_index: np.ndarray
    max_z: dict
    config: dict

    @property
    def n_toys(self) -> int:
        """Number of toys held."""
        return int(self.toy_index.size)

    def global_significance(self, z_local_max: float, *, method: str = "all",
                            window: str = "", eps_b: float = float("nan")
                            ) -> GlobalSignificance:
        """Global p-value of an observed largest local significance against these toys."""
        if method not in self.max_z:
            raise InputError(f"no toys for method {method!r}; have {sorted(self.max_z)}")
        n_points = len(self.config.get("windows", [])) * len(self.config.get("eps_b", []))
        return make_result(method=method, z_obs=z_local_max, window=window, eps_b=eps_b,
                           max_z=np.asarray(self.max_z[method]), n_points=max(n_points, 1),
                           approximation="whole-chain pseudo-experiments (data, template and "
                                         "scores regenerated per toy)",
                           systematic="as generated", seed=self.seed)

    def to_dict(self) -> dict[str, Any]:
        """Seed, toy indices, maxima per method, config (strict JSON)."""
        return jsonable({"schema": "bumpstat-pseudo-experiments", "version": 1,
                         "seed": self.seed, "toy_index": self.toy_index,
                         "max_z": self.max_z, "config": self.config})


def _one_toy(null_generator: Callable, seed: int, index: int, estimators: Sequence,
             eps_b: tuple[float, ...]) -> dict[str, float]:
    from bumpstat.scan import run_scan

    sf = null_generator(np.random.SeedSequence(seed, spawn_key=(index,)))
    scan = run_scan(sf, estimators=list(estimators), eps_b=eps_b, progress=False)
    out: dict[str, float] = {}
    for m in scan.methods:
        zs = [p.mean("z") for p in scan.select(method=m)]
        out[m] = float(np.nanmax(zs)) if np.isfinite(zs).any() else float("nan")
    out["all"] = float(np.nanmax(list(out.values())))
    return out


def _chunk(null_generator: Callable, seed: int, indices: list[int], estimators: Sequence,
           eps_b: tuple[float, ...]) -> list[dict[str, float]]:
    return [_one_toy(null_generator, seed, i, estimators, eps_b) for i in indices]


def _config(estimators: Sequence, eps_b: tuple[float, ...], windows: Sequence[str]) -> dict:
    from bumpstat.estimators import get_estimator

    return jsonable({"estimators": [get_estimator(e).to_dict() for e in estimators],
                     "eps_b": list(eps_b), "windows": list(windows)})


def _read_chunk(path: Path) -> dict:
    try:
        d = loads(path.read_text())
    except (OSError, InputError) as err:
        raise InputError(f"pseudo-experiment chunk {str(path)!r} cannot be read: {err}") from err
    if not isinstance(d, dict) or d.get("schema") != "bumpstat-pseudo-experiments":
        raise InputError(f"{str(path)!r} is not a bumpstat pseudo-experiment chunk")
    return d


def run_pseudo_experiments(
    null_generator: Callable[[np.random.SeedSequence], Any],
    *,
    n_toys: int,
    seed: int = 0,
    estimators: Sequence = ("direct",),
    eps_b: Sequence[float] = (1e-2, 1e-3, 1e-4),
    window_names: Sequence[str] = (),
    first_toy: int = 0,
    chunk: int = 10,
    out: str | Path | None = None,
    executor: Any = None,
    max_workers: int | None = None,
    progress: bool = True,
) -> PseudoExperiments:
    """Run toys ``first_toy … first_toy + n_toys - 1`` of the whole chain.

    Parameters
    ----------
    null_generator : callable
        ``SeedSequence -> ScoreFile`` of background-only data (must pickle for process or
        Dask executors), e.g. :class:`SyntheticNull`.
    n_toys, first_toy : int
        Which toys to run (toy ``i`` is seeded by ``(seed, i)``).
    estimators, eps_b
        The scan of each toy, as in :func:`bumpstat.run_scan`.
    window_names : sequence of str
        Recorded in the config (for the Šidák bound and merging checks).
    chunk : int
        Toys per task and per saved chunk.
    out : path, optional
        Directory of saved chunks: existing chunks of the same configuration are reused.
    executor, max_workers, progress
        Where the toys run (:func:`bumpstat.parallel.run_tasks`).
    """
    if isinstance(n_toys, bool) or not isinstance(n_toys, int) or n_toys < 1:
        raise InputError(f"n_toys must be a positive integer, got {n_toys!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed must be an integer >= 0, got {seed!r}")
    eps = tuple(float(e) for e in eps_b)
    config = _config(estimators, eps, window_names)
    idx = list(range(int(first_toy), int(first_toy) + n_toys))
    groups = [idx[i:i + chunk] for i in range(0, len(idx), chunk)]
    have: dict[int, dict[str, float]] = {}
    out_dir = None if out is None else Path(out)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted(out_dir.glob("chunk_*.json")):
            d = _read_chunk(path)
            if d["seed"] == seed and d["config"] == config:
                for i, rec in zip(d["toy_index"], d["toys"], strict=True):
                    have[int(i)] = rec
    todo = [g for g in groups if not all(i in have for i in g)]
    results = run_tasks(_chunk, [(null_generator, seed, g, tuple(estimators), eps)
                                 for g in todo],
                        executor=executor, max_workers=max_workers, progress=progress,
                        desc="pseudo-experiments")
    for g, recs in zip(todo, results, strict=True):
        have.update(zip(g, recs, strict=True))
        if out_dir is not None:
            write_json(out_dir / f"chunk_{g[0]:09d}_{g[-1]:09d}.json",
                       {"schema": "bumpstat-pseudo-experiments", "version": 1, "seed": seed,
                        "config": config, "toy_index": g, "toys": recs})
    return _assemble(seed, {i: have[i] for i in idx}, config)


def _assemble(seed: int, toys: dict[int, dict[str, float]], config: dict) -> PseudoExperiments:
    order = sorted(toys)
    methods = sorted({k for rec in toys.values() for k in rec})
    max_z = {m: np.array([np.nan if toys[i].get(m) is None else toys[i][m] for i in order])
             for m in methods}
    return PseudoExperiments(seed=seed, toy_index=np.array(order, dtype=np.int64),
                             max_z=max_z, config=config)


def merge_pseudo_experiments(*directories: str | Path) -> PseudoExperiments:
    """Join the saved chunks of one or more directories (same seed and configuration);
    a toy index present twice is counted once."""
    toys: dict[int, dict[str, float]] = {}
    seed = config = None
    for d in directories:
        paths = sorted(Path(d).glob("chunk_*.json"))
        if not paths:
            raise InputError(f"no pseudo-experiment chunks (chunk_*.json) in {str(d)!r}")
        for path in paths:
            c = _read_chunk(path)
            if seed is None:
                seed, config = c["seed"], c["config"]
            elif c["seed"] != seed or c["config"] != config:
                raise InputError(f"chunk {str(path)!r} has another seed or configuration than "
                                 "the chunks merged before it")
            toys.update({int(i): rec for i, rec in zip(c["toy_index"], c["toys"], strict=True)})
    assert seed is not None and config is not None
    return _assemble(int(seed), toys, config)
