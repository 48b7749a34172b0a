"""Significance scans over windows × working points × background estimators × classifier runs.

Each (window, estimator) pair is an independent task, run where ``executor`` says
(:func:`bumpstat.parallel.run_tasks`: in this process, a spawn-started process pool, a Dask
cluster); the records are identical whatever runs them.

>>> import numpy as np
>>> from bumpstat.scores import EventSet, ScoreFile, WindowScores
>>> from bumpstat.windows import Window
>>> rng = np.random.default_rng(0)
>>> ws = WindowScores(Window(3.3, 3.7, "SR5"),
...                   EventSet(rng.normal(size=(1, 20_000)), m=rng.uniform(3.3, 3.7, 20_000)),
...                   EventSet(rng.normal(size=(1, 80_000))))
>>> scan = run_scan(ScoreFile((ws,)), estimators=[DirectEstimator(delta_sys=0.0)],
...                 eps_b=[1e-2], progress=False)
>>> best = scan.max_local()
>>> best.window.name, abs(best.record()["z"]) < 4, best.record()["valid"]
('SR5', True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.direct.thresholds import check_eps_b
from bumpstat.estimators import BackgroundEstimator, DirectEstimator, get_estimator
from bumpstat.exceptions import InputError
from bumpstat.outputs import OutputDir, check_name
from bumpstat.parallel import run_tasks
from bumpstat.results import Result
from bumpstat.scanpoint import ScanPoint
from bumpstat.scores.schema import ScoreFile, WindowScores
from bumpstat.windows import Window

__all__ = ["DEFAULT_EPS_B", "ScanResult", "run_scan", "DirectEstimator"]

#: Paper 003's working points.
DEFAULT_EPS_B: tuple[float, ...] = (1e-2, 1e-3, 1e-4)


@dataclass(frozen=True, repr=False)
class ScanResult(Result):
    """All points of a scan: one :class:`~bumpstat.scanpoint.ScanPoint` per window × working
    point × estimator, each over the classifier runs.

    Attributes
    ----------
    points : tuple of ScanPoint
    eps_b : tuple of float
    windows : tuple of Window
    methods : tuple of str
        Estimator names, in the order given.
    config : dict
        Source file, score method, estimators with their options, cl, runs.
    global_significance : Result or None
        The global significance of the scan's largest local significance, when computed.
    """

    points: tuple[ScanPoint, ...]
    eps_b: tuple[float, ...]
    windows: tuple[Window, ...]
    methods: tuple[str, ...]
    config: dict = field(default_factory=dict)
    global_significance: Any = None

    def __repr__(self) -> str:
        n_valid = sum(p.all_valid for p in self.points)
        text = (f"ScanResult({len(self.windows)} windows × {len(self.eps_b)} working points × "
                f"methods {list(self.methods)}: {len(self.points)} points, {n_valid} valid")
        try:
            best = self.max_local(valid_only=False)
            r = best.record()
            text += (f"; largest local Z = {r['z']:.2f} in {best.window.name} at eps_b = "
                     f"{best.eps_b:g} ({best.method})")
        except InputError:
            pass
        g = self.global_significance
        if g is not None:
            rel = ">" if g.p_global_bound else "="
            text += f"; global Z {rel} {g.z_global:.2f} ({g.n_toys} toys)"
        else:
            text += "; global significance not computed (look-elsewhere effect not evaluated)"
        return text + ")"

    def records(self) -> list[dict]:
        """One flat row per point (see :meth:`ScanPoint.records`), in scan order."""
        return [row for p in self.points for row in p.records()]

    def to_dict(self) -> dict:
        """``{"schema": "bumpstat-scan", "version": 2, "config", "results", ["global"]}``;
        ``results`` holds each point's full record (:meth:`ScanPoint.record`)."""
        out: dict[str, Any] = {"schema": "bumpstat-scan", "version": 2, "config": self.config,
                               "results": [p.record() for p in self.points]}
        if self.global_significance is not None:
            out["global"] = self.global_significance.to_dict()
        return out

    def select(self, *, method: str | None = None, eps_b: float | None = None,
               window: str | None = None) -> list[ScanPoint]:
        """Points of one method, working point and/or window, in scan order."""
        return [p for p in self.points
                if (method is None or p.method == method)
                and (eps_b is None or np.isclose(p.eps_b, eps_b))
                and (window is None or p.window.name == window)]

    def max_local(self, *, method: str | None = None, valid_only: bool = True) -> ScanPoint:
        """The point with the largest run-averaged local significance.

        With ``valid_only`` (default) points marked ``valid: false`` are not candidates.
        """
        pts = [p for p in self.select(method=method)
               if np.isfinite(p.mean("z")) and (p.all_valid or not valid_only)]
        if not pts:
            what = "valid point" if valid_only else "point"
            raise InputError(f"no {what} of method {method or 'any'} has a finite significance")
        return max(pts, key=lambda p: p.mean("z"))

    def export_workspaces(self, out: OutputDir | str | Path, *, constraint: str = "poisson",
                          method: str = "direct", subdir: str = "workspaces") -> list[Path]:
        """Write one pyhf workspace JSON per window × working point × run of ``method``.

        Files are named ``<window>_eps<eps_b>_run<r>.json`` (in ``subdir`` of an
        :class:`OutputDir`, or directly in a directory path); each reproduces the point's
        counting experiment with pyhf alone (``constraint`` "poisson": shapesys, as the scan's
        own p-values and limits; "gaussian": normsys).
        """
        from bumpstat.stats.pyhf_models import build_workspace, export_workspace

        written = []
        for p in self.select(method=method):
            for r in range(p.n_runs):
                name = f"{p.window.name}_eps{p.eps_b:g}_run{r}.json"
                path = (out.file(subdir, name) if isinstance(out, OutputDir)
                        else Path(out) / check_name(name, "workspace file name"))
                ws = build_workspace(float(p.n_obs[r]), float(p.n_exp[r]),
                                     float(p.rel_unc[r]), constraint=constraint)
                written.append(export_workspace(path, ws))
        return written


def _estimate_window(estimator: BackgroundEstimator, ws: WindowScores, eps_b: np.ndarray,
                     cl: float) -> list[ScanPoint]:
    return estimator.estimate(ws, eps_b, cl=cl)


def _estimators(spec: Any) -> list[BackgroundEstimator]:
    items = [spec] if isinstance(spec, str | BackgroundEstimator) else list(spec)
    if not items:
        raise InputError("no background estimator given")
    ests = [get_estimator(e) for e in items]
    names = [e.name for e in ests]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"estimators must have distinct names; {dup} given more than once")
    return ests


def run_scan(
    scores: ScoreFile,
    *,
    estimators: str | BackgroundEstimator | Sequence[str | BackgroundEstimator] = ("direct",),
    eps_b: float | Sequence[float] = DEFAULT_EPS_B,
    windows: Sequence[str] | None = None,
    cl: float = 0.95,
    executor: Any = None,
    max_workers: int | None = None,
    progress: bool = True,
) -> ScanResult:
    """Scan every window and working point of ``scores`` with each background estimator.

    Parameters
    ----------
    scores : ScoreFile
        Data and template scores per window.
    estimators : name, estimator or sequence of them
        Registry names (``"direct"``, ``"fit"``, with default options) or configured objects,
        e.g. ``[DirectEstimator(delta_sys=dsys), SidebandFitEstimator(function="dijet5")]``.
    eps_b : float or sequence
        Working points (template background efficiencies).
    windows : sequence of str, optional
        Names of the windows to scan (default: all).
    cl : float
        Confidence level of the upper limits.
    executor : None, "serial", "process", scheduler address, Executor or dask Client
        Where the per-window tasks run (:func:`bumpstat.parallel.run_tasks`).
    max_workers : int, optional
        Process-pool size for ``executor="process"``.
    progress : bool
        Show a progress bar.

    Raises
    ------
    InputError
        Unknown estimators or windows, or a score file that cannot serve an estimator (checked
        before any work starts).
    """
    eps = check_eps_b(eps_b)
    cl = float(cl)
    if not 0.0 < cl < 1.0:
        raise InputError(f"cl (confidence level) must be in (0, 1), got {cl}")
    ests = _estimators(estimators)
    if windows is None:
        selected = scores
    else:
        missing = [w for w in windows if w not in scores.window_names]
        if missing:
            raise InputError(f"no window(s) {missing} in the score file; it has "
                             f"{list(scores.window_names)}")
        selected = ScoreFile(tuple(scores[name] for name in windows), method=scores.method,
                             metadata=scores.metadata, source=scores.source)
    for est in ests:
        est.check(selected, eps)
    tasks = [(est, ws, eps, cl) for ws in selected.windows for est in ests]
    results = run_tasks(_estimate_window, tasks, executor=executor, max_workers=max_workers,
                        progress=progress, desc="scan")
    points = tuple(p for r in results for p in r)
    config = {
        "source": scores.source,
        "score_method": scores.method,
        "eps_b": eps.tolist(),
        "estimators": [e.to_dict() for e in ests],
        "cl": cl,
        "n_runs": scores.n_runs,
        "windows": [ws.window.name for ws in selected.windows],
    }
    return ScanResult(points=points, eps_b=tuple(eps.tolist()),
                      windows=tuple(ws.window for ws in selected.windows),
                      methods=tuple(e.name for e in ests), config=config)
