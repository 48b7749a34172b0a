"""Interplay of methods (Golling et al., arXiv:2307.11157): do different anomaly
scores select the same events, and does combining them help?

For each seed: one data set (background + ``n_signal`` injected signal) scored in the true
window by every producer (the same SR events); then

* **overlap** — the top-p overlap of every pair (and of all) on the SR *background* events,
  against the random baseline p (:func:`bumpstat.metrics.overlap.score_file_overlap`;
  Golling et al. Fig. 7);
* **score-level combination** — each method's SR data scores standardised with its own
  template scores and averaged (:func:`bumpstat.metrics.combine.combine_scores`), for every
  subset of two or more methods; AUC, max SIC and SIC at ε_B = 1e-3 from the truth labels,
  beside those of each single method. At fixed S/√B the expected significance of a cut scales
  with the SIC, so the SIC ratio combined / best single is the gain in significance.

The sample-level combination of Golling et al. (one classifier trained against the union of several
*generated* templates) needs several generative producers; bumpstat has one (CATHODE), so it is
not part of this study (:func:`bumpstat.metrics.combine.sample_level_template` builds such a
template when there are).

>>> InterplayConfig(score_methods=("iad", "cwola"), n_background=50_000).true_window.name
'SR5'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError
from bumpstat.results import Result
from bumpstat.serialize import jsonable
from bumpstat.windows import Window

__all__ = ["InterplayConfig", "InterplayStudy", "run_interplay", "write_interplay"]


@dataclass(frozen=True)
class InterplayConfig:
    """Producers, data size, injection and seeds of an interplay study (``size`` names the
    :data:`~bumpstat.study.config.SIZES` entry whose producer presets are used)."""

    score_methods: tuple[str, ...] = ("iad", "cwola", "cathode")
    n_background: int = 200_000
    n_signal: int = 200
    seeds: int = 3
    seed: int = 0
    size: str = "small"
    true_window: Window = field(default_factory=lambda: Window(3.3, 3.7, "SR5"))
    p: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)

    def __post_init__(self) -> None:
        from bumpstat.producers import PRODUCERS

        names = tuple(dict.fromkeys(self.score_methods))
        bad = [s for s in names if s not in PRODUCERS]
        if len(names) < 2 or bad:
            raise InputError(f"--scores: need two or more of {sorted(PRODUCERS)}, got "
                             f"{list(self.score_methods)}")
        object.__setattr__(self, "score_methods", names)
        for name, lo in (("n_background", 1000), ("n_signal", 1), ("seeds", 1), ("seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise InputError(f"--{name.replace('_', '-')} must be an integer >= {lo}, "
                                 f"got {v!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready configuration."""
        return jsonable({"score_methods": list(self.score_methods),
                         "n_background": self.n_background, "n_signal": self.n_signal,
                         "seeds": self.seeds, "seed": self.seed, "size": self.size,
                         "true_window": self.true_window.to_dict(), "p": list(self.p)})


@dataclass(frozen=True, repr=False)
class InterplayStudy(Result):
    """Per seed: the overlap (``overlaps[i]``, an OverlapResult of the background events) and
    the metrics rows of single methods and combinations (``rows``)."""

    overlaps: tuple
    rows: tuple
    config: dict
    seconds: dict = field(default_factory=dict, metadata={"json": False})

    def to_dict(self) -> dict[str, Any]:
        """``{"schema": "bumpstat-interplay-study", "config", "overlaps", "rows",
        "summary"}``."""
        return jsonable({"schema": "bumpstat-interplay-study", "version": 1,
                         "config": self.config,
                         "overlaps": [o.to_dict() for o in self.overlaps],
                         "rows": list(self.rows), "summary": self.summary()})

    def records(self) -> list[dict[str, Any]]:
        """The metrics rows (one per seed and single method or combination)."""
        return [dict(r) for r in self.rows]

    def summary(self) -> list[dict[str, Any]]:
        """Median and 16–84% band over seeds of each metric, per method or combination, and
        the SIC gain over the best single method of the same seed."""
        out = []
        for name in dict.fromkeys(r["methods"] for r in self.rows):
            rs = [r for r in self.rows if r["methods"] == name]
            row: dict[str, Any] = {"methods": name, "n_seeds": len(rs)}
            for q in ("auc", "max_sic", "sic_at_1e-3", "sic_gain_at_1e-3", "max_sic_gain"):
                v = np.array([r[q] for r in rs if r.get(q) is not None], dtype=float)
                row[f"{q}_median"] = float(np.median(v)) if v.size else None
                row[f"{q}_band"] = ([float(x) for x in np.percentile(v, [16, 84])]
                                    if v.size else None)
            out.append(row)
        return out


def _metrics(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from bumpstat.metrics.roc import classifier_metrics

    m = classifier_metrics(scores, labels, eps_b=1e-3)
    return {"auc": m.auc, "max_sic": m.max_sic, "sic_at_1e-3": m.sic_at_eps_b}


def run_interplay(config: InterplayConfig, *, progress: bool = True) -> InterplayStudy:
    """Score one data set per seed with every producer; overlaps and combinations."""
    import time

    from bumpstat.data import SyntheticLHCO
    from bumpstat.events import Events
    from bumpstat.metrics.combine import combine_scores
    from bumpstat.metrics.overlap import score_file_overlap
    from bumpstat.study.config import StudyConfig, producer_for

    sc = StudyConfig(n_signal=(config.n_signal,), score_methods=config.score_methods,
                     size=config.size)
    gen, win = SyntheticLHCO(), config.true_window
    overlaps, rows, seconds = [], [], {}
    for i in range(config.seeds):
        bkg_ss, sig_ss, ref_ss, prod_ss = np.random.SeedSequence(
            config.seed, spawn_key=(i,)).spawn(4)
        sig_rng = np.random.default_rng(sig_ss)
        data = Events.concatenate(
            gen.sample_background(config.n_background, seed=np.random.default_rng(bkg_ss)),
            gen.sample_signal(config.n_signal, seed=sig_rng)).shuffled(sig_rng)
        files = {}
        for name, ss in zip(config.score_methods, prod_ss.spawn(len(config.score_methods)),
                            strict=True):
            t0 = time.perf_counter()
            producer = producer_for(sc, name)
            ref = None
            if getattr(producer, "needs_reference", False):
                ref_gen = (SyntheticLHCO(variant="alternative")
                           if producer.reference_is_simulation else gen)
                ref = ref_gen.sample_background(config.n_background,
                                                seed=np.random.default_rng(ref_ss))
            files[name] = producer.produce(data, [win], seed=ss, reference=ref,
                                           progress=progress)
            seconds[f"{name}_s{i}"] = round(time.perf_counter() - t0, 1)
        overlaps.append(score_file_overlap(files, win.name, config.p))
        labels = files[config.score_methods[0]][win.name].signal_region().label
        if labels is None or not (labels == 1).any():
            raise InputError("the interplay study needs injected signal (truth labels)")
        data_s = {k: f[win.name].signal_region().scores.mean(axis=0) for k, f in files.items()}
        tmpl_s = {k: f[win.name].template.scores.mean(axis=0) for k, f in files.items()}
        single = {k: _metrics(v, labels) for k, v in data_s.items()}
        for k, v in single.items():
            rows.append({"seed": i, "methods": k, "n_methods": 1, **v})
        best_sic = max(v["sic_at_1e-3"] for v in single.values())
        best_max = max(v["max_sic"] for v in single.values())
        names = list(config.score_methods)
        for r in range(2, len(names) + 1):
            for combo in combinations(names, r):
                s = combine_scores([data_s[k] for k in combo],
                                   references=[tmpl_s[k] for k in combo])
                m = _metrics(s, labels)
                rows.append({"seed": i, "methods": "+".join(combo), "n_methods": r, **m,
                             "sic_gain_at_1e-3": m["sic_at_1e-3"] / best_sic
                             if best_sic > 0 else None,
                             "max_sic_gain": m["max_sic"] / best_max if best_max > 0 else None})
    return InterplayStudy(overlaps=tuple(overlaps), rows=tuple(rows),
                          config=config.to_dict(), seconds=seconds)


def plot_interplay(result: InterplayStudy, *, ax: Any = None, path: Any = None):
    """Left: excess top-p overlap of every pair (median over seeds). Right: SIC at 1e-3 of
    every method and combination (median with the 16–84% band over seeds). ``ax``: a pair of
    axes to draw into (default: a new figure with two)."""
    from bumpstat.plotting.style import finish, hep_style, place_legend

    with hep_style():
        import matplotlib.pyplot as plt

        if ax is None:
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(18, 8))
        else:
            try:
                ax1, ax2 = ax
            except (TypeError, ValueError) as err:
                raise InputError("plot_interplay: ax must be a pair of axes") from err
            fig = ax1.figure
        ov = result.overlaps
        p = np.asarray(ov[0].p)
        for k, pair in enumerate(ov[0].pairs):
            ex = np.median([o.excess_pairs[pair] for o in ov], axis=0)
            ax1.plot(p, ex, marker="o", color=f"C{k % 10}", label=" & ".join(pair))
        if len(ov[0].names) > 2:
            ax1.plot(p, np.median([o.excess_all for o in ov], axis=0), marker="s", color="k",
                     label="all methods")
        ax1.axhline(0.0, color="grey", lw=1)
        ax1.set_xscale("log")
        ax1.set_xlabel("top fraction $p$ of the SR background")
        ax1.set_ylabel("overlap $-$ random baseline $p$")
        place_legend(ax1, fontsize="x-small")
        summ = result.summary()
        y = np.arange(len(summ))
        med = np.array([r["sic_at_1e-3_median"] for r in summ], dtype=float)
        band = np.array([r["sic_at_1e-3_band"] for r in summ], dtype=float)
        ax2.errorbar(med, y, xerr=[med - band[:, 0], band[:, 1] - med], fmt="o", color="C0")
        ax2.set_yticks(y, [r["methods"] for r in summ], fontsize="x-small")
        ax2.invert_yaxis()
        ax2.set_xlabel(r"SIC at $\epsilon_B = 10^{-3}$ (median, 16-84% over seeds)")
        if ax is None:
            fig.tight_layout()
        return finish(fig, path)


def write_interplay(result: InterplayStudy, out: Any, *, plots: bool = True) -> list[Any]:
    """``out/interplay.json`` (and ``out/interplay.png``) through an OutputDir."""
    from bumpstat.study.result import write_study

    return write_study(result, out, "interplay", plot_interplay, plots=plots)
