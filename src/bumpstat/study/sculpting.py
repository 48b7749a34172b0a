"""Sculpting study (Hallin et al., arXiv:2210.14924, Fig. 7 / eq. 5): how much does a
cut on each producer's score sculpt the m_JJ spectrum of background-only events?

Background only, from the ``shifted`` synthetic generator (``mj1`` and ``delta_mj`` move by
``0.1 m``: the strongly m-correlated features of Hallin et al.). Each producer scores every event in
the fit range (``score_range``) with the classifier trained in the signal region; the score
threshold keeps a fraction ``eps_sel`` of the SR events and is applied to the whole range; the
sculpting metric χ²/n_dof (:func:`bumpstat.fit.sculpting.sculpting_curve`, equal-content bins)
compares the selected with the full m spectrum, with the 16–84% band of random selections of the
same size as the reference. CATHODE's classifier extrapolates out of the SR (it sculpts as the
cut tightens); LaCATHODE's latent score does not.

>>> cfg = SculptingConfig(n_background=1000)
>>> cfg.score_methods, cfg.eps_sel[-1]
(('cathode', 'lacathode'), 0.02)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError
from bumpstat.results import Result
from bumpstat.serialize import jsonable
from bumpstat.windows import DEFAULT_RANGE, Window

__all__ = ["SculptingConfig", "SculptingStudy", "run_sculpting", "plot_sculpting_study"]


@dataclass(frozen=True)
class SculptingConfig:
    """What a sculpting study runs.

    Parameters
    ----------
    score_methods : producers that support ``score_range`` (default CATHODE and LaCATHODE)
    n_background : background events (before the fit-range cut)
    preset : preset of the producers (``test``, ``fast``, ``paper``)
    eps_sel : selection efficiencies in the SR
    n_bins : equal-content m bins of the metric (Hallin et al.: 300)
    n_random : random selections per efficiency for the reference band
    seed : root seed (data, producers, random selections)
    shifted : use the ``shifted`` generator (m-correlated features)
    window, score_range : the SR and the range scored (TeV)
    """

    score_methods: tuple[str, ...] = ("cathode", "lacathode")
    n_background: int = 300_000
    preset: str = "fast"
    eps_sel: tuple[float, ...] = (0.5, 0.2, 0.1, 0.05, 0.02)
    n_bins: int = 100
    n_random: int = 100
    seed: int = 0
    shifted: bool = True
    window: Window = field(default_factory=lambda: Window(3.3, 3.7, "SR5"))
    score_range: tuple[float, float] = DEFAULT_RANGE

    def __post_init__(self) -> None:
        from bumpstat.producers import PRODUCERS

        names = tuple(dict.fromkeys(self.score_methods))
        bad = [s for s in names if s not in PRODUCERS
               or not getattr(PRODUCERS[s], "supports_score_range", True)]
        if not names or bad:
            raise InputError(f"--scores {bad or '(none)'}: the sculpting study needs producers "
                             "that score the whole fit range (e.g. cathode, lacathode, ae, iad)")
        object.__setattr__(self, "score_methods", names)
        for name, lo in (("n_background", 1000), ("n_bins", 2), ("n_random", 1), ("seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise InputError(f"--{name.replace('_', '-')} must be an integer >= {lo}, "
                                 f"got {v!r}")
        eps = tuple(sorted({float(e) for e in self.eps_sel}, reverse=True))
        if not eps or not all(0 < e <= 1 for e in eps):
            raise InputError(f"--eps-sel values must be in (0, 1], got {list(self.eps_sel)}")
        object.__setattr__(self, "eps_sel", eps)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready configuration."""
        return jsonable({"score_methods": list(self.score_methods),
                         "n_background": self.n_background, "preset": self.preset,
                         "eps_sel": list(self.eps_sel), "n_bins": self.n_bins,
                         "n_random": self.n_random, "seed": self.seed, "shifted": self.shifted,
                         "window": self.window.to_dict(), "score_range": list(self.score_range)})


@dataclass(frozen=True, repr=False)
class SculptingStudy(Result):
    """Sculpting curves per producer (``curves[name]`` is a
    :class:`~bumpstat.fit.sculpting.SculptingResult`) and the configuration."""

    curves: dict
    config: dict
    seconds: dict = field(default_factory=dict, metadata={"json": False})

    def to_dict(self) -> dict[str, Any]:
        """``{"schema": "bumpstat-sculpting-study", "config", "curves": {name: curve}}``."""
        return jsonable({"schema": "bumpstat-sculpting-study", "version": 1,
                         "config": self.config,
                         "curves": {k: v.to_dict() for k, v in self.curves.items()}})

    def records(self) -> list[dict[str, Any]]:
        """One row per producer and selection efficiency."""
        return [{"score_method": k, **r} for k, v in self.curves.items() for r in v.records()]


def run_sculpting(config: SculptingConfig, *, progress: bool = True) -> SculptingStudy:
    """Score background-only events over the fit range with each producer and measure the
    sculpting of each cut (see the module docstring)."""
    import time

    from bumpstat.data import SyntheticLHCO
    from bumpstat.fit.sculpting import sculpting_curve
    from bumpstat.producers import get_producer

    data_ss, prod_ss, rand_ss = np.random.SeedSequence(config.seed).spawn(3)
    bg = SyntheticLHCO(shifted=config.shifted).sample_background(
        config.n_background, seed=np.random.default_rng(data_ss))
    curves, seconds = {}, {}
    for name, ss in zip(config.score_methods, prod_ss.spawn(len(config.score_methods)),
                        strict=True):
        t0 = time.perf_counter()
        if name == "exact":  # the exact ratio of the generator the data come from
            producer = get_producer(name, generator=SyntheticLHCO(shifted=config.shifted))
        else:
            producer = get_producer(name, preset=_preset_for(name, config.preset))
        ref = None
        if getattr(producer, "needs_reference", False):
            gen = SyntheticLHCO(shifted=config.shifted,
                                variant="alternative" if producer.reference_is_simulation
                                else "nominal")
            ref = gen.sample_background(config.n_background, seed=np.random.default_rng(ss))
        sf = producer.produce(bg, [config.window], seed=ss, reference=ref,
                              score_range=config.score_range, progress=progress)
        d = sf.windows[0].data
        curves[name] = sculpting_curve(d.m, d.scores.mean(axis=0), config.eps_sel,
                                       sr=(config.window.low, config.window.high),
                                       n_bins=config.n_bins, n_random=config.n_random,
                                       seed=np.random.default_rng(rand_ss))
        seconds[name] = round(time.perf_counter() - t0, 1)
    return SculptingStudy(curves=curves, config=config.to_dict(), seconds=seconds)


def _preset_for(name: str, preset: str) -> str:
    """The BDT producers (IAD, CWoLa) call the smallest preset ``fast``, not ``test``."""
    return "fast" if name in ("iad", "cwola") and preset == "test" else preset


def plot_sculpting_study(result: SculptingStudy, *, ax=None, path: Any = None):
    """χ²/n_dof against ε_sel for every producer, each with the band of random selections
    of the same number of events (its own: the cuts keep different fractions outside the SR)."""
    from bumpstat.plotting.style import (
        finish,
        hep_style,
        new_axes,
        place_legend,
        reference_hline,
    )

    with hep_style():
        fig, ax = new_axes(ax)
        for k, (name, c) in enumerate(result.curves.items()):
            color = f"C{k % 10}"
            ax.fill_between(c.eps_sel, c.random_lo, c.random_hi, color=color, alpha=0.15,
                            lw=0, label=f"{name}: random cut, same size (68%)")
            ax.plot(c.eps_sel, c.chi2_ndof, marker="os^v"[k % 4], color=color,
                    label=f"{name}: score cut")
        reference_hline(ax, 1.0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        from matplotlib.ticker import NullFormatter

        eps = sorted({float(e) for c in result.curves.values() for e in c.eps_sel})
        ax.set_xticks(eps, [f"{e:g}" for e in eps])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.invert_xaxis()
        ax.set_xlabel(r"selection efficiency in the SR $\varepsilon_{sel}$ (tighter $\rightarrow$)")
        ax.set_ylabel(r"$m_{JJ}$ sculpting $\chi^2/n_{dof}$")
        place_legend(ax, fontsize="x-small")
        return finish(fig, path)


def write_sculpting(result: SculptingStudy, out: Any, *, plots: bool = True) -> list[Any]:
    """``out/sculpting.json`` (and ``out/sculpting.png``) through an OutputDir."""
    from bumpstat.study.result import write_study

    return write_study(result, out, "sculpting", plot_sculpting_study, plots=plots)
