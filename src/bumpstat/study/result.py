"""The result of a signal-injection study: every point, and the summary over seeds.

``summary`` has one row per injection × producer × method: for each quantity of
:data:`SUMMARY_QUANTITIES` the median over seeds and the 16–84% band, and the N_sig at which
the median local Z of the true window reaches 3σ and 5σ (``n_signal_3sigma``,
``n_signal_5sigma``, linear interpolation between injection levels; the same for the other
significances in ``reach``).

>>> pts = [{"n_signal": n, "seed": s, "score_method": "exact", "method": "direct",
...         "z_true_window": n / 100 + 0.1 * s} for n in (0, 200, 400, 600) for s in range(3)]
>>> rows = summarise(pts)
>>> [r["z_true_window_median"] for r in rows]
[0.1, 2.1, 4.1, 6.1]
>>> rows[0]["n_signal_3sigma"], rows[0]["n_signal_5sigma"]
(290.0, 490.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bumpstat.results import Result
from bumpstat.serialize import jsonable

__all__ = ["SUMMARY_QUANTITIES", "StudyResult", "reach", "summarise", "write_study"]

#: Point quantities summarised over seeds.
SUMMARY_QUANTITIES: tuple[str, ...] = ("z_true_window", "z_local_max", "z_global",
                                       "sic_at_1e-3", "auc", "w_hat", "w_true",
                                       "s_over_sqrt_b")
#: Significances whose 3σ / 5σ reach is interpolated.
REACH_QUANTITIES: tuple[str, ...] = ("z_true_window", "z_local_max", "z_global")


def _stats(values: Sequence[Any]) -> tuple[float | None, list[float] | None, int]:
    v = np.array([np.nan if x is None else float(x) for x in values], dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None, None, 0
    lo, med, hi = np.percentile(v, [16, 50, 84])
    return float(med), [float(lo), float(hi)], int(v.size)


def reach(n_signal: Sequence[float], median: Sequence[float | None], level: float
          ) -> float | None:
    """The N_sig at which ``median`` first reaches ``level`` (linear interpolation).

    ``None`` if it never does; the lowest level itself if it is already reached there.

    >>> reach([0, 100, 200], [0.0, 2.0, 4.0], 3.0)
    150.0
    >>> reach([0, 100], [0.0, 2.0], 3.0) is None
    True
    """
    pairs = [(float(n), float(z)) for n, z in zip(n_signal, median, strict=True)
             if z is not None and np.isfinite(z)]
    for i, (n, z) in enumerate(pairs):
        if z >= level:
            if i == 0:
                return n
            n0, z0 = pairs[i - 1]
            return float(n0 + (level - z0) * (n - n0) / (z - z0))
    return None


def summarise(points: Sequence[dict]) -> list[dict]:
    """Rows per injection × producer × method (see the module docstring)."""
    groups: dict[tuple[str, str], dict[int, list[dict]]] = {}
    for p in points:
        groups.setdefault((p["score_method"], p["method"]), {}).setdefault(
            int(p["n_signal"]), []).append(p)
    rows: list[dict] = []
    for (score, method), by_n in sorted(groups.items()):
        block = []
        for n in sorted(by_n):
            pts = by_n[n]
            row: dict[str, Any] = {"n_signal": n, "score_method": score, "method": method,
                                   "n_seeds": len(pts)}
            for q in SUMMARY_QUANTITIES:
                if not any(q in p for p in pts):
                    continue
                med, band, k = _stats([p.get(q) for p in pts])
                row[f"{q}_median"] = med
                row[f"{q}_band"] = band
                row[f"{q}_n"] = k
            row["n_valid"] = sum(bool(p.get("valid", True)) for p in pts)
            if any("z_global_bound" in p for p in pts):
                # seeds whose global Z is only a lower bound (no toy reached the observed Z)
                row["z_global_n_lower_bound"] = sum(p.get("z_global_bound") == "lower"
                                                    for p in pts)
            block.append(row)
        ns = [r["n_signal"] for r in block]
        reaches = {q: {str(lv): reach(ns, [r.get(f"{q}_median") for r in block], lv)
                       for lv in (3, 5)} for q in REACH_QUANTITIES}
        for r in block:
            r["n_signal_3sigma"] = reaches["z_true_window"]["3"]
            r["n_signal_5sigma"] = reaches["z_true_window"]["5"]
            r["reach"] = reaches
        rows.extend(block)
    return rows


@dataclass(frozen=True, repr=False)
class StudyResult(Result):
    """All points of a signal-injection study and their summary.

    Attributes
    ----------
    points : tuple of dict
        One record per injection × seed × producer × method
        (:data:`bumpstat.study.point.POINT_FIELDS`).
    summary : tuple of dict
        One row per injection × producer × method (:func:`summarise`).
    config : dict
        The study's configuration (:meth:`StudyConfig.to_dict`).
    seconds : dict
        Compute time per point key (not part of ``study.json``: it differs between runs).
    """

    points: tuple[dict, ...]
    summary: tuple[dict, ...]
    config: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict, repr=False, metadata={"json": False})

    def __repr__(self) -> str:
        combos = sorted({(p["score_method"], p["method"]) for p in self.points})
        reach_txt = []
        for s, m in combos:
            row = next(r for r in self.summary if r["score_method"] == s and r["method"] == m)
            n3 = row.get("n_signal_3sigma")
            reach_txt.append(f"{s}/{m}: 3σ at N_sig ≈ "
                             + ("not reached" if n3 is None else f"{n3:.0f}"))
        return (f"StudyResult({len(self.points)} points, {len(self.summary)} summary rows; "
                + "; ".join(reach_txt) + ")")

    def to_dict(self) -> dict[str, Any]:
        """``{"schema": "bumpstat-study", "version": 1, "config", "points", "summary"}``."""
        return jsonable({"schema": "bumpstat-study", "version": 1, "config": self.config,
                         "points": list(self.points), "summary": list(self.summary)})

    def records(self) -> list[dict[str, Any]]:
        """The point records."""
        return [dict(p) for p in self.points]

    def select(self, *, score_method: str | None = None, method: str | None = None,
               n_signal: int | None = None) -> list[dict]:
        """Point records of one producer, method and/or injection."""
        return [p for p in self.points
                if (score_method is None or p["score_method"] == score_method)
                and (method is None or p["method"] == method)
                and (n_signal is None or p["n_signal"] == n_signal)]

    def summary_of(self, *, score_method: str, method: str) -> list[dict]:
        """Summary rows of one producer and method, in increasing N_sig."""
        return [r for r in self.summary
                if r["score_method"] == score_method and r["method"] == method]


def write_study(result: Any, out: Any, name: str, plot: Any, *, plots: bool = True
                ) -> list[Any]:
    """``out/<name>.json``, ``out/timing.json`` and, with ``plots``, ``out/<name>.png`` drawn
    by ``plot(result, path=...)``, through one :class:`~bumpstat.outputs.OutputDir`."""
    from bumpstat.outputs import OutputDir

    od = OutputDir(out)
    written = [od.write_json(f"{name}.json", result)]
    od.write_json("timing.json", {"seconds": result.seconds})
    if plots:
        import matplotlib.pyplot as plt

        written.append(od.file(f"{name}.png"))
        plt.close(plot(result, path=written[-1]))
    od.finish()
    return written
