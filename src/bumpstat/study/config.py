"""What a signal-injection study runs: sizes, injection levels, seeds, producers, methods.

A study is a grid ``n_signal × seed × score producer``; each grid point runs the whole chain
once and is scanned with every requested background method. :data:`SIZES` holds the two scales,
with the compute each needs stated up front (measured on a 2-core laptop-class CPU, see
``benchmarks/bench_study.py``).

>>> cfg = StudyConfig(n_signal=(0, 300), seeds=2)
>>> cfg.size.name, cfg.size.n_background, cfg.eps_b
('small', 200000, (0.01, 0.001))
>>> n_signal_for_s_over_sqrt_b([0.0, 1.0], size="small")
(0, 204)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bumpstat.exceptions import InputError
from bumpstat.serialize import jsonable
from bumpstat.windows import DEFAULT_RANGE, Window, sliding_windows

__all__ = ["SIZES", "StudyConfig", "StudySize", "TRUE_MASS", "n_signal_for_s_over_sqrt_b",
           "producer_for"]

#: Mass of the injected resonance of the synthetic generator (TeV).
TRUE_MASS: float = 3.5


@dataclass(frozen=True)
class StudySize:
    """The scale of every point of a study.

    Attributes
    ----------
    name : str
    n_background : int
        Background events of the data (the LHCO R&D set has 1M).
    n_reference : int
        Independent background events (the template of exact/IAD-like producers).
    n_mc : int
        Events of each of the two alternative-generator samples (delta_sys^MC).
    eps_b : tuple of float
        Working points of the scan.
    global_toys : int
        Background-only count pseudo-experiments per point (direct method).
    runs : int
        Classifier runs per window (trained producers).
    presets : dict
        Preset of each trained producer (``"*"``: tried for producers not listed).
    compute : str
        What the size costs, stated before anything runs.
    """

    name: str
    n_background: int
    n_reference: int
    n_mc: int
    eps_b: tuple[float, ...]
    global_toys: int
    runs: int
    presets: dict = field(default_factory=dict)
    compute: str = ""


SIZES: dict[str, StudySize] = {
    "tiny": StudySize(
        name="tiny", n_background=50_000, n_reference=50_000, n_mc=50_000,
        eps_b=(1e-2, 1e-3), global_toys=300, runs=1,
        presets={"iad": "fast", "cwola": "fast", "ranode": "small", "anode": "fast",
                 "ae": "fast", "*": ("test",)},
        compute="checks and reduced reproductions, measured on 2 busy cores: exact score ~1 s "
                "per point; CWoLa/IAD (fast) 4-15 s per window and point; autoencoder (fast) "
                "20-70 s per point; ANODE (fast), R-ANODE (small) 1-2.5 min per window and "
                "point; CATHODE/LaCATHODE/SALAD (test) 10-40 s per window and point"),
    "small": StudySize(
        name="small", n_background=200_000, n_reference=200_000, n_mc=200_000,
        eps_b=(1e-2, 1e-3), global_toys=1000, runs=1,
        presets={"iad": "fast", "cwola": "fast", "ranode": "small", "*": ("fast", "small")},
        compute="exact score: 3-15 s per point per core (6 levels x 3 seeds x both methods: "
                "165 s on 2 busy cores); BDT producers (fast preset): ~1-2 min per point per "
                "core (extrapolated); flow producers (R-ANODE small): ~10-30 min per point"),
    "paper": StudySize(
        name="paper", n_background=1_000_000, n_reference=1_000_000, n_mc=1_000_000,
        eps_b=(1e-2, 1e-3, 1e-4), global_toys=10_000, runs=5,
        presets={"iad": "paper", "cwola": "paper", "ranode": "paper", "*": ("paper",)},
        compute="exact score: ~5x the small size per point (estimated); BDT producers (50 "
                "BDTs x 5 folds x 5 runs x 9 windows): hours per point per core (estimated); "
                "flow producers: many hours per point (use a Dask cluster, --scheduler)"),
}


def n_signal_for_s_over_sqrt_b(values: Sequence[float], *, size: str | StudySize = "small"
                               ) -> tuple[int, ...]:
    """Injected signal events giving S/√B = ``values`` in the 3.3–3.7 TeV window.

    S and B are the expected signal and background events in the window (the generator's
    exact fractions) for the background size of ``size``.
    """
    from bumpstat.data import SyntheticLHCO

    sz = SIZES[size] if isinstance(size, str) else size
    gen = SyntheticLHCO()
    f_s = gen.fraction_in(TRUE_MASS - 0.2, TRUE_MASS + 0.2, component="signal")
    b = sz.n_background * gen.fraction_in(TRUE_MASS - 0.2, TRUE_MASS + 0.2)
    out = []
    for v in values:
        if not (math.isfinite(float(v)) and float(v) >= 0):
            raise InputError(f"--s-over-sqrt-b values must be finite and >= 0, got {v!r}")
        out.append(int(round(float(v) * math.sqrt(b) / f_s)))
    return tuple(out)


def _check_int(value: Any, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class StudyConfig:
    """A signal-injection study.

    Parameters
    ----------
    n_signal : sequence of int
        Injected signal events (before any window cut), each >= 0.
    seeds : int
        Seeds per injection level (seed indices ``0 … seeds-1``).
    seed : int
        Root seed: point ``(seed index i, n_signal n)`` uses
        ``SeedSequence(seed, spawn_key=(i, 1, n))``; the background, reference and MC samples
        of seed index ``i`` use ``SeedSequence(seed, spawn_key=(i, 0))`` and are shared by all
        injection levels (common random numbers: the curves are smooth in N_sig).
    score_methods : sequence of str
        Producer names of :data:`bumpstat.producers.PRODUCERS`.
    methods : sequence of str
        Background methods, ``"direct"`` and/or ``"fit"``.
    size : str or StudySize
        ``"small"`` or ``"paper"`` (:data:`SIZES`).
    global_toys : int, optional
        Overrides the size's pseudo-experiments per point (0: no global significance).
    windows : sequence of Window, optional
        Default: Das et al.'s [arXiv:2411.00085] nine sliding windows (SR5 is centred on the
        resonance).
    producer_options : dict
        Extra options of every trained producer (e.g. ``{"n_threads": 1}``); ``preset`` in it
        overrides the size's preset.
    size_overrides : dict
        Fields of the size to change (e.g. ``{"n_background": 50_000}`` for tests).
    """

    n_signal: tuple[int, ...] = (0, 100, 200, 300, 500, 1000)
    seeds: int = 3
    seed: int = 0
    score_methods: tuple[str, ...] = ("exact",)
    methods: tuple[str, ...] = ("direct",)
    size: Any = "small"
    global_toys: int | None = None
    windows: tuple[Window, ...] | None = None
    producer_options: dict = field(default_factory=dict)
    size_overrides: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        from bumpstat.producers import PRODUCERS

        sz = self.size
        if isinstance(sz, str):
            if sz not in SIZES:
                raise InputError(f"--size {sz!r} is not one of {sorted(SIZES)}")
            sz = SIZES[sz]
        if not isinstance(sz, StudySize):
            raise InputError(f"--size must be one of {sorted(SIZES)} or a StudySize")
        if self.size_overrides:
            try:
                sz = dataclasses.replace(sz, **self.size_overrides)
            except TypeError as err:
                raise InputError(f"size_overrides: {err}") from err
        object.__setattr__(self, "size", sz)
        ns = tuple(self.n_signal)
        if not ns:
            raise InputError("--n-signal needs at least one value")
        ns = tuple(_check_int(n, "--n-signal values", 0) for n in ns)
        object.__setattr__(self, "n_signal", tuple(sorted(set(ns))))
        _check_int(self.seeds, "--seeds", 1)
        _check_int(self.seed, "--seed", 0)
        scores = tuple(dict.fromkeys(self.score_methods))
        bad = [s for s in scores if s not in PRODUCERS]
        if not scores or bad:
            raise InputError(f"--scores {list(bad) or '(none)'}: choose from {sorted(PRODUCERS)}")
        object.__setattr__(self, "score_methods", scores)
        methods = tuple(dict.fromkeys(self.methods))
        if not methods or any(m not in ("direct", "fit") for m in methods):
            raise InputError(f"--methods {list(methods)}: choose 'direct' and/or 'fit'")
        object.__setattr__(self, "methods", methods)
        if self.global_toys is not None:
            _check_int(self.global_toys, "--global-toys", 0)
        wins = tuple(self.windows) if self.windows is not None else sliding_windows()
        object.__setattr__(self, "windows", wins)
        for s in scores:  # build every producer now: bad options fail before any work
            producer_for(self, s)

    # ------------------------------------------------------------------------------------------
    @property
    def eps_b(self) -> tuple[float, ...]:
        """Working points of every scan."""
        return tuple(self.size.eps_b)

    @property
    def n_toys(self) -> int:
        """Global pseudo-experiments per point."""
        return self.size.global_toys if self.global_toys is None else int(self.global_toys)

    @property
    def true_window(self) -> Window:
        """The window whose centre is nearest the injected resonance mass."""
        assert self.windows is not None
        return min(self.windows, key=lambda w: abs(w.center - TRUE_MASS))

    @property
    def fit_range(self) -> tuple[float, float]:
        """Analysis range of the fit method (TeV)."""
        return DEFAULT_RANGE

    def methods_for(self, score_method: str) -> tuple[str, ...]:
        """The requested methods a producer can serve (the fit needs scores over the fit
        range; producers that score the window only serve the direct method alone)."""
        p = producer_for(self, score_method)
        return tuple(m for m in self.methods
                     if m != "fit" or getattr(p, "supports_score_range", True))

    def fingerprint(self) -> dict:
        """Everything a point's numbers depend on, except its own n_signal and seed index
        (a point on disk is reused only when this matches)."""
        sz = dataclasses.asdict(self.size)
        sz.pop("compute", None)
        sz.pop("name", None)
        return jsonable({"schema": "bumpstat-study-fingerprint", "version": 1, "size": sz,
                         "seed": self.seed, "methods": list(self.methods),
                         "global_toys": self.n_toys, "producer_options": self.producer_options,
                         "windows": [w.to_dict() for w in self.windows or ()]})

    def to_dict(self) -> dict:
        """JSON-ready configuration (for ``study.json``)."""
        return jsonable({"n_signal": list(self.n_signal), "seeds": self.seeds,
                         "seed": self.seed, "score_methods": list(self.score_methods),
                         "methods": list(self.methods), "size": self.size.name,
                         "size_settings": dataclasses.asdict(self.size),
                         "global_toys": self.n_toys, "eps_b": list(self.eps_b),
                         "producer_options": self.producer_options,
                         "windows": [w.to_dict() for w in self.windows or ()],
                         "true_window": self.true_window.name,
                         "skipped": [f"{s}/fit: {s} scores the signal region only"
                                     for s in self.score_methods
                                     if "fit" in self.methods
                                     and "fit" not in self.methods_for(s)]})


def producer_for(config: StudyConfig, name: str) -> Any:
    """The producer ``name`` configured for ``config``'s size (preset) and options."""
    import dataclasses as dc

    from bumpstat.data import SyntheticLHCO
    from bumpstat.producers import PRODUCERS, get_producer

    cls = PRODUCERS[name]
    fields = {f.name for f in dc.fields(cls)}  # type: ignore[arg-type]
    opts = dict(config.producer_options)
    preset = opts.pop("preset", None)
    if "generator" in fields:
        return get_producer(name, generator=SyntheticLHCO(),
                            **{k: v for k, v in opts.items() if k in fields})
    if "config" not in fields:
        return get_producer(name, **opts)
    if preset is not None:
        return get_producer(name, preset=preset, **opts)
    wanted = config.size.presets.get(name, config.size.presets.get("*", ()))
    candidates = (wanted,) if isinstance(wanted, str) else tuple(wanted)
    for p in candidates:
        try:
            return get_producer(name, preset=p, **opts)
        except InputError:
            continue
    return get_producer(name, **opts)
