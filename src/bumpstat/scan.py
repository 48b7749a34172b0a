"""Significance scans over windows × working points × classifier runs.

Each window is an independent task, run through an executor: in-process (``"serial"``, the
default), a local process pool (``"process"``), or any object with a ``submit`` method returning
futures with ``result()`` — a :class:`concurrent.futures.Executor` or a ``dask.distributed.Client``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from bumpstat.direct.delta_sys import DeltaSys
from bumpstat.direct.estimate import direct_estimate
from bumpstat.direct.thresholds import check_eps_b
from bumpstat.exceptions import InputError
from bumpstat.scores.schema import ScoreFile, WindowScores
from bumpstat.windows import Window

__all__ = ["DEFAULT_EPS_B", "METHODS", "ScanResult", "run_scan", "resolve_delta_sys"]

#: Paper 003's working points.
DEFAULT_EPS_B: tuple[float, ...] = (1e-2, 1e-3, 1e-4)

#: Background-estimation methods a scan can run, mapped to their per-window function
#: ``f(ws, eps_b, *, delta_sys, sigma_sys, cl, options) -> list of points``.
METHODS: dict[str, Callable[..., list]] = {}


def _direct(ws: WindowScores, eps_b: np.ndarray, *, delta_sys: np.ndarray,
            sigma_sys: np.ndarray | None, cl: float, options: dict) -> list:
    if options:
        raise InputError(f"the direct method takes no options, got {sorted(options)}")
    return direct_estimate(ws, eps_b, delta_sys=delta_sys, sigma_sys=sigma_sys, cl=cl)


METHODS["direct"] = _direct


def resolve_delta_sys(
    delta_sys: float | Sequence[float] | DeltaSys,
    eps_b: np.ndarray,
    windows: Sequence[Window],
    *,
    per_window: bool = False,
) -> np.ndarray:
    """``delta_sys`` as an array ``(n_windows, n_eps)``.

    A number or one number per ``eps_b`` applies to every window; a :class:`DeltaSys` gives its
    window average (eq. 5), or with ``per_window=True`` its per-window values (matched by name).
    """
    n_w, n_e = len(windows), eps_b.size
    if isinstance(delta_sys, DeltaSys):
        if not per_window:
            return np.broadcast_to(delta_sys.at(eps_b), (n_w, n_e)).copy()
        cols = [int(np.flatnonzero(np.isclose(delta_sys.eps_b, e))[0])
                if np.isclose(delta_sys.eps_b, e).any() else -1 for e in eps_b]
        if min(cols) < 0:
            raise InputError(f"delta_sys lacks some of eps_b = {eps_b.tolist()}")
        by_name = {w.name: i for i, w in enumerate(delta_sys.windows)}
        missing = [w.name for w in windows if w.name not in by_name]
        if missing:
            raise InputError(f"per-window delta_sys has no value for window(s) {missing}")
        return np.array([[delta_sys.per_window[by_name[w.name], c] for c in cols]
                         for w in windows])
    v = np.asarray(delta_sys, dtype=np.float64)
    if v.ndim == 0:
        return np.full((n_w, n_e), float(v))
    if v.shape == (n_e,):
        return np.broadcast_to(v, (n_w, n_e)).copy()
    raise InputError(
        f"delta_sys must be a number, one number per eps_b ({n_e}) or a DeltaSys, got {v.shape}"
    )


def _run_window(method: str, ws: WindowScores, eps_b: np.ndarray, delta_sys: np.ndarray,
                sigma_sys: np.ndarray | None, cl: float, options: dict) -> list:
    return METHODS[method](ws, eps_b, delta_sys=delta_sys, sigma_sys=sigma_sys, cl=cl,
                           options=options)


@dataclass(frozen=True)
class ScanResult:
    """All points of a scan (one per window × working point × method), each over runs."""

    points: tuple[Any, ...]
    eps_b: tuple[float, ...]
    windows: tuple[Window, ...]
    methods: tuple[str, ...]
    config: dict = field(default_factory=dict)

    def records(self) -> list[dict]:
        """One JSON-ready record per point (see :meth:`DirectPoint.to_record`)."""
        return [p.to_record() for p in self.points]

    def to_dict(self) -> dict:
        """``{"schema": "bumpstat-scan", "version": 1, "config": …, "results": […]}``."""
        return {"schema": "bumpstat-scan", "version": 1, "config": self.config,
                "results": self.records()}

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` to ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    def select(self, *, method: str | None = None, eps_b: float | None = None) -> list:
        """Points of one method and/or working point, in window order."""
        return [p for p in self.points
                if (method is None or p.method == method)
                and (eps_b is None or np.isclose(p.eps_b, eps_b))]

    def export_workspaces(self, directory: str | Path, *, constraint: str = "poisson",
                          method: str = "direct") -> list[Path]:
        """Write one pyhf workspace JSON per window × working point × run of ``method``.

        Files are named ``<window>_eps<eps_b>_run<r>.json``; each reproduces the point's
        counting experiment with pyhf alone (``constraint`` "poisson": shapesys, as the scan's
        own p-values and limits; "gaussian": normsys).
        """
        from bumpstat.stats.pyhf_models import build_workspace, export_workspace

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for p in self.select(method=method):
            for r in range(p.n_runs):
                ws = build_workspace(float(p.n_obs[r]), float(p.n_exp[r]), float(p.rel_unc[r]),
                                     constraint=constraint)
                written.append(export_workspace(
                    directory / f"{p.window.name}_eps{p.eps_b:g}_run{r}.json", ws))
        return written

    def max_local(self, *, method: str | None = None) -> Any:
        """The point with the largest run-averaged local significance."""
        pts = [p for p in self.select(method=method) if np.isfinite(p.z).any()]
        if not pts:
            raise InputError(f"no point of method {method!r} has a finite significance")
        return max(pts, key=lambda p: float(np.nanmean(p.z)))


def _executor(executor: Any, max_workers: int | None):
    if executor is None or executor == "serial":
        return None, False
    if executor == "process":
        return ProcessPoolExecutor(max_workers=max_workers), True
    if hasattr(executor, "submit"):
        return executor, False
    raise InputError(
        f"executor must be 'serial', 'process', a concurrent.futures.Executor or a "
        f"dask.distributed.Client, got {executor!r}"
    )


def run_scan(
    scores: ScoreFile,
    *,
    eps_b: float | Sequence[float] = DEFAULT_EPS_B,
    delta_sys: float | Sequence[float] | DeltaSys = 0.0,
    sigma_sys: float | Sequence[float] | None = None,
    delta_sys_per_window: bool = False,
    method: str | Sequence[str] = "direct",
    method_options: dict[str, dict] | None = None,
    windows: Sequence[str] | None = None,
    cl: float = 0.95,
    executor: Any = None,
    max_workers: int | None = None,
    progress: bool = True,
) -> ScanResult:
    """Scan every window and working point of ``scores``.

    Parameters
    ----------
    scores : ScoreFile
        Data and template scores per window.
    eps_b : float or sequence
        Working points.
    delta_sys, sigma_sys
        Systematic shift and its uncertainty for the direct method (see
        :func:`~bumpstat.direct.direct_estimate`); a :class:`DeltaSys` is used at ``eps_b``.
    delta_sys_per_window : bool
        Use the per-window ``delta_sys,n`` instead of the window average (eq. 5).
    method : str or sequence
        ``"direct"``, ``"fit"``, ``"both"`` or a list of registered methods.
    method_options : dict
        Options per method, e.g. ``{"fit": {"function": "dijet4"}}``.
    windows : sequence of str, optional
        Names of the windows to scan (default: all).
    cl : float
        Confidence level of upper limits.
    executor : None, "serial", "process", Executor or dask Client
        Where the per-window tasks run.
    max_workers : int, optional
        Process-pool size for ``executor="process"``.
    progress : bool
        Show a progress bar.
    """
    eps = check_eps_b(eps_b)
    methods = ("direct", "fit") if method == "both" else (
        (method,) if isinstance(method, str) else tuple(method))
    if "fit" in methods and "fit" not in METHODS:
        import bumpstat.fit.scan  # noqa: F401  (registers the fit method)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"unknown method(s) {unknown}; choose from {sorted(METHODS)} or 'both'")
    options = method_options or {}
    selected = scores.windows if windows is None else tuple(scores[name] for name in windows)
    win_objs = [ws.window for ws in selected]
    dsys = resolve_delta_sys(delta_sys, eps, win_objs, per_window=delta_sys_per_window)
    ssys = None if sigma_sys is None else np.asarray(sigma_sys, dtype=np.float64)

    tasks = [(m, ws, eps, dsys[i], ssys, cl, options.get(m, {}))
             for i, ws in enumerate(selected) for m in methods]
    pool, owned = _executor(executor, max_workers)
    bar = tqdm(total=len(tasks), desc="scan", unit="task", disable=not progress)
    results: list[list] = []
    try:
        if pool is None:
            for t in tasks:
                results.append(_run_window(*t))
                bar.update()
        else:
            futures = [pool.submit(_run_window, *t) for t in tasks]
            for f in futures:
                results.append(f.result())
                bar.update()
    finally:
        bar.close()
        if owned:
            pool.shutdown()
    points = tuple(p for r in results for p in r)
    config = {
        "source": scores.source,
        "score_method": scores.method,
        "eps_b": eps.tolist(),
        "methods": list(methods),
        "delta_sys": dsys.tolist(),
        "delta_sys_kind": delta_sys.kind if isinstance(delta_sys, DeltaSys) else "given",
        "sigma_sys": None if ssys is None else ssys.tolist(),
        "cl": cl,
        "n_runs": scores.n_runs,
        "method_options": options,
    }
    return ScanResult(points=points, eps_b=tuple(eps.tolist()), windows=tuple(win_objs),
                      methods=methods, config=config)
