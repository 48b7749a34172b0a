"""Run a signal-injection study: the sweep, resumable point files, the summary.

With ``out`` every finished task is a file in ``out/points/`` (``<producer>_n<N>_s<i>.json``
and ``dsys_<producer>_s<i>.json``, written atomically as soon as the task ends, by the process
that ran it when it shares the file system, and again by this process). A rerun into the same
directory reuses every file whose configuration fingerprint matches, so an interrupted study
resumes where it stopped and a larger study (more injection levels, seeds or producers) only
runs the points it does not have. ``study.json`` is assembled from the points alone (no
timings, no paths), so a resumed study writes exactly the file an uninterrupted one writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bumpstat.exceptions import InputError
from bumpstat.outputs import check_name, write_json
from bumpstat.parallel import run_tasks
from bumpstat.serialize import loads
from bumpstat.study.config import StudyConfig
from bumpstat.study.point import delta_sys_task, dsys_key, point_key, point_task
from bumpstat.study.result import StudyResult, summarise

__all__ = ["POINTS_DIR", "load_points", "run_study", "write_study"]

#: Sub-directory of the point files.
POINTS_DIR = "points"


def _dsys_wrapper(config: StudyConfig, score_method: str, seed_index: int,
                  write_to: str | None) -> dict:
    from bumpstat.serialize import jsonable

    out = jsonable({"schema": "bumpstat-study-dsys", "version": 1,
                    "key": dsys_key(score_method, seed_index),
                    "fingerprint": config.fingerprint(),
                    "delta_sys": delta_sys_task(config, score_method, seed_index)})
    if write_to is not None and Path(write_to).is_dir():
        write_json(Path(write_to) / f"{out['key']}.json", out)
    return out


def load_points(directory: str | Path, config: StudyConfig) -> dict[str, dict]:
    """The point and delta_sys files in ``directory`` matching ``config`` (key → content).

    Unreadable files (e.g. from another tool) are ignored; they are recomputed.
    """
    d = Path(directory)
    have: dict[str, dict] = {}
    if not d.is_dir():
        return have
    fp = config.fingerprint()
    for path in sorted(d.glob("*.json")):
        try:
            obj = loads(path.read_text())
        except (OSError, InputError):
            continue
        if (isinstance(obj, dict) and obj.get("fingerprint") == fp
                and obj.get("key") == path.stem):
            have[path.stem] = obj
    return have


def run_study(config: StudyConfig, *, out: str | Path | None = None, executor: Any = None,
              max_workers: int | None = None, progress: bool = True) -> StudyResult:
    """Run every point of ``config`` not already in ``out/points``; return the result.

    Parameters
    ----------
    config : StudyConfig
    out : path, optional
        Study directory: point files go to ``out/points/`` (reused on a rerun). The caller
        writes ``study.json`` and plots (see :func:`bumpstat.study.write_study`).
    executor, max_workers, progress
        Where the tasks run (:func:`bumpstat.parallel.run_tasks`): ``None`` (this process),
        ``"process"``, a Dask scheduler address or client. Numbers do not depend on it.

    Examples
    --------
    >>> cfg = StudyConfig(n_signal=(0, 150), seeds=1, global_toys=100,
    ...                   size_overrides={"n_background": 20_000, "n_reference": 20_000,
    ...                                   "n_mc": 20_000})
    >>> res = run_study(cfg, progress=False)
    >>> [p["n_signal"] for p in res.points]
    [0, 150]
    """
    if not isinstance(config, StudyConfig):
        raise InputError(f"config must be a StudyConfig, got {type(config).__name__}")
    pdir: Path | None = None
    if out is not None:
        pdir = Path(out) / POINTS_DIR
        if pdir.exists() and not pdir.is_dir():
            raise InputError(f"--out {str(out)!r}: {str(pdir)!r} is a file, not a directory")
        pdir.mkdir(parents=True, exist_ok=True)
    have = load_points(pdir, config) if pdir is not None else {}
    where = None if pdir is None else str(pdir)
    seeds = range(config.seeds)
    # phase 1: delta_sys^MC per producer and seed (direct method only)
    dsys: dict[str, dict | None] = {}
    todo1 = []
    for s in config.score_methods:
        for i in seeds:
            key = dsys_key(s, i)
            if "direct" not in config.methods_for(s):
                dsys[key] = None
            elif key in have:
                dsys[key] = have[key]["delta_sys"]
            else:
                todo1.append((config, s, i, where))
    for res in run_tasks(_dsys_wrapper, todo1, executor=executor, max_workers=max_workers,
                         progress=progress, desc="study delta_sys"):
        dsys[res["key"]] = res["delta_sys"]
        _save(pdir, res)
    # phase 2: the points
    todo2, done = [], {}
    for s in config.score_methods:
        for n in config.n_signal:
            for i in seeds:
                key = point_key(s, n, i)
                if key in have:
                    done[key] = have[key]
                else:
                    todo2.append((config, s, n, i, dsys[dsys_key(s, i)], where))
    for res in run_tasks(point_task, todo2, executor=executor, max_workers=max_workers,
                         progress=progress, desc="study points"):
        done[res["key"]] = res
        _save(pdir, res)
    order = {s: k for k, s in enumerate(config.score_methods)}
    morder = {m: k for k, m in enumerate(config.methods)}
    points = sorted((r for d in done.values() for r in d["records"]),
                    key=lambda r: (order[r["score_method"]], r["n_signal"], r["seed"],
                                   morder[r["method"]]))
    return StudyResult(points=tuple(points), summary=tuple(summarise(points)),
                       config=config.to_dict(),
                       seconds={k: d.get("seconds") for k, d in sorted(done.items())})


def _save(pdir: Path | None, obj: dict) -> None:
    if pdir is None:
        return
    path = pdir / check_name(f"{obj['key']}.json", "point file name")
    if not path.is_file():
        write_json(path, obj)


def write_study(result: StudyResult, out: str | Path, *, plots: bool = True) -> list[Path]:
    """Write ``out/study.json`` (and the figures with ``plots``) through an
    :class:`~bumpstat.outputs.OutputDir`; the point files in ``out/points/`` are kept."""
    from bumpstat.outputs import OutputDir

    od = OutputDir(out)
    written = [od.write_json("study.json", result)]
    od.write_json("timing.json", {"seconds_per_point": result.seconds,
                                  "total_seconds": sum(v or 0 for v in result.seconds.values())})
    if plots:
        import matplotlib.pyplot as plt

        from bumpstat.study.plots import study_figures

        for name, fig in study_figures(result):
            written.append(od.file(name))
            from bumpstat.plotting.style import finish

            finish(fig, written[-1])
            plt.close(fig)
    od.finish()
    return written
