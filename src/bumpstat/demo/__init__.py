"""``bumpstat demo``: the whole chain on built-in synthetic data, on the public API.

1. Generate LHCO-like data (background + injected signal, nominal generator) and an independent
   background template (the idealised anomaly detector of Das et al., arXiv:2411.00085).
2. Generate a signal-free sample and template from the *alternative* generator (a second
   simulator) for ``delta_sys^MC``.
3. Score everything with a registered score producer (``exact`` likelihood ratio by default).
4. Estimate ``delta_sys`` (eqs. 4–5), scan every window and working point with the chosen
   background estimators, attach the global significance, and write ``scan.json``, plots and
   ``report.md``.
5. Look closer at the window with the largest valid local significance: the sideband fit and
   sculpting, the score quality, and R-ANODE (Das, Kasieczka & Shih, arXiv:2312.11629).

Nothing refers to a particular window or file: the window studied in step 5 is the scan's own
choice, and every file goes through one :class:`~bumpstat.outputs.OutputDir`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bumpstat.data import SyntheticLHCO
from bumpstat.demo.sections import fit_section, ranode_section, score_quality_section
from bumpstat.direct.delta_sys import DeltaSys, estimate_delta_sys
from bumpstat.estimators import DirectEstimator, get_estimator
from bumpstat.exceptions import InputError
from bumpstat.global_significance import global_significance, with_global_significance
from bumpstat.outputs import OutputDir
from bumpstat.producers import PRODUCERS, get_producer
from bumpstat.report import write_report
from bumpstat.results import Result
from bumpstat.scan import DEFAULT_EPS_B, ScanResult, run_scan
from bumpstat.scores.io import write_scores
from bumpstat.windows import DEFAULT_RANGE, sliding_windows

__all__ = ["DemoConfig", "DemoResult", "run_demo"]


@dataclass(frozen=True)
class DemoConfig:
    """Sizes, methods and seed of the demo (defaults: the LHCO R&D scale)."""

    n_background: int = 1_000_000
    n_signal: int = 1000
    n_template: int = 1_000_000
    eps_b: tuple[float, ...] = DEFAULT_EPS_B
    seed: int = 20240101
    #: Background estimators (names in :data:`bumpstat.estimators.ESTIMATORS`).
    methods: tuple[str, ...] = ("direct", "fit")
    fit_range: tuple[float, float] = DEFAULT_RANGE
    #: Score producer (a name in :data:`bumpstat.producers.PRODUCERS`), its preset and runs.
    scores: str = "exact"
    preset: str = "fast"
    runs: int = 2
    #: Background-only toys of the global significance (0: none).
    global_toys: int = 2000
    #: R-ANODE preset ("test", "small", "paper") in the most significant window, or None.
    ranode: str | None = "small"
    write_score_files: bool = False

    def __post_init__(self) -> None:
        if self.scores not in PRODUCERS:
            raise InputError(f"demo scores {self.scores!r} is not a score producer; choose one "
                             f"of {sorted(PRODUCERS)}")
        for name, v in (("n_background", self.n_background), ("n_template", self.n_template),
                        ("runs", self.runs)):
            if int(v) < 1:
                raise InputError(f"demo {name} must be a positive integer, got {v}")
        if self.n_signal < 0 or self.global_toys < 0:
            raise InputError("demo n_signal and global_toys must not be negative")


@dataclass(frozen=True, repr=False)
class DemoResult(Result):
    """What the demo produced: the scan (with its global significance), delta_sys, the files
    written (name -> path) and the wall-clock time of each step (s).

    :meth:`records` and :meth:`to_dataframe` give the scan's rows, one per point.
    """

    scan: ScanResult
    delta_sys: DeltaSys
    files: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"DemoResult({self.scan!r}; delta_sys at eps_b {self.delta_sys.eps_b.tolist()}"
                f" = {self.delta_sys.value.round(4).tolist()}; {len(self.files)} outputs)")

    def records(self) -> list[dict]:
        """The scan's records (one per window × working point × method)."""
        return self.scan.records()


def _score(config: DemoConfig, generator, data, template, mc_data, mc_template, windows, *,
           progress: bool):
    """Score files of the data (with its template) and of the signal-free alternative sample;
    the data are scored over the fit range when the sideband fit is asked for."""
    import dataclasses

    cls = PRODUCERS[config.scores]
    has_config = "config" in {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    producer = get_producer(config.scores, preset=config.preset if has_config else None,
                            **({"generator": generator} if config.scores == "exact" else {}))
    runs = 1 if config.scores == "exact" else config.runs
    ref, mc_ref = (template, mc_template) if producer.needs_reference else (None, None)
    score_range = config.fit_range if "fit" in config.methods else None
    scores = producer.produce(data, windows, runs=runs, seed=config.seed, reference=ref,
                              score_range=score_range, progress=progress)
    mc = producer.produce(mc_data, windows, runs=runs, seed=config.seed + 10, reference=mc_ref,
                          progress=progress)
    return scores, mc


def run_demo(out: str | Path, config: DemoConfig = DemoConfig(), *,
             progress: bool = True) -> DemoResult:
    """Run the demo chain and write its outputs into the directory ``out``."""
    od = OutputDir(out)
    t: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        t[f"{name}_s"] = round(now - clock, 3)
        clock = now

    s = config.seed
    nominal, alternative = SyntheticLHCO(variant="nominal"), SyntheticLHCO(variant="alternative")
    data = nominal.sample(n_background=config.n_background, n_signal=config.n_signal, seed=s)
    template = nominal.sample_background(config.n_template, seed=s + 1)
    mc_data = alternative.sample_background(config.n_background, seed=s + 2)
    mc_template = alternative.sample_background(config.n_template, seed=s + 3)
    lap("generate")

    windows = sliding_windows()
    scores, mc_scores = _score(config, nominal, data, template, mc_data, mc_template, windows,
                               progress=progress)
    files: dict[str, str] = {}
    if config.write_score_files:
        files["scores"] = str(write_scores(od.file("scores.h5"), scores))
        files["mc_scores"] = str(write_scores(od.file("mc_scores.h5"), mc_scores))
    lap("score")

    dsys = estimate_delta_sys(mc_scores, config.eps_b, kind="mc")
    files["delta_sys"] = str(od.write_json("delta_sys.json", dsys))
    lap("delta_sys")

    estimators = [DirectEstimator(delta_sys=dsys) if m == "direct" else
                  get_estimator(m, **({"fit_range": config.fit_range} if m == "fit" else {}))
                  for m in config.methods]
    scan = run_scan(scores, estimators=estimators, eps_b=config.eps_b, progress=progress)
    scan = ScanResult(points=scan.points, eps_b=scan.eps_b, windows=scan.windows,
                      methods=scan.methods, config={**scan.config, "demo": asdict(config)})
    if config.global_toys and "direct" in scan.methods:
        scan = with_global_significance(scan, global_significance(
            scores, scan, n_toys=config.global_toys, seed=s, progress=progress))
    files["scan"] = str(od.write_json("scan.json", scan))
    if "direct" in scan.methods:
        scan.export_workspaces(od)
        files["workspaces"] = str(od.root / "workspaces")
    lap("scan")

    focus = scan.max_local(method=scan.methods[0]).window
    sections: list[str] = []
    if config.scores != "exact":
        exact = get_producer("exact", generator=nominal).produce(data, [focus],
                                                                 reference=template, progress=False)
        text, new = score_quality_section(od, scores, exact, focus)
        sections.append(text)
        files |= new
        lap("metrics")
    if "fit" in scan.methods:
        text, new = fit_section(od, scores, mc_scores, focus, fit_range=config.fit_range,
                                seed=s)
        sections.append(text)
        files |= new
        lap("fit_plots")
    if config.ranode:
        text, new = ranode_section(od, data, focus, preset=config.ranode,
                                   fit_range=config.fit_range, seed=s, progress=progress)
        sections.append(text)
        files |= new
        lap("ranode")

    title = f"bumpstat demo: {config.scores} scores"
    files |= write_report(od, scan, dsys, title=title, extra="\n".join(sections))
    lap("report")
    files["timings"] = str(od.write_json("timings.json", t))
    od.finish()
    return DemoResult(scan=scan, delta_sys=dsys, files=files, timings=t)
