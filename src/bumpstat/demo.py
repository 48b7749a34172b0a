"""``bumpstat demo``: the whole chain on built-in synthetic data.

1. Generate LHCO-like data (1M background + 1000 injected signal events, nominal generator) and
   an independent background template (idealised anomaly detector).
2. Generate a signal-free sample and template from the *alternative* generator (playing a
   second simulator) for ``delta_sys^MC``.
3. Score everything with the exact likelihood ratio of the nominal generator.
4. Estimate ``delta_sys`` (eqs. 4–5), run the sliding-window scan (eqs. 3, 6–9 and the one-bin
   Poisson-constrained model), write ``scan.json``, ``delta_sys.json``, plots and ``report.md``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from bumpstat.data import SyntheticLHCO
from bumpstat.direct.delta_sys import DeltaSys, estimate_delta_sys
from bumpstat.exceptions import InputError
from bumpstat.producers.exact import exact_score_file
from bumpstat.report import write_report
from bumpstat.scan import DEFAULT_EPS_B, ScanResult, run_scan
from bumpstat.scores.io import write_scores
from bumpstat.windows import DEFAULT_RANGE, sliding_windows

__all__ = ["DemoConfig", "DemoResult", "run_demo"]

_SCORE_NAMES = {
    "exact": "exact likelihood-ratio score",
    "iad": "IAD (BDT ensembles, data vs an independent background sample)",
    "cwola": "CWoLa Hunting (BDT ensembles, SR vs short sidebands)",
}

_FIT_SECTION = """## Sideband fit and sculpting

![fit](fit_SR5.png)

The m spectrum of the data passing the ε_B = 1e-2 threshold of the 3.5 TeV window's template,
with the 4-parameter dijet fit to the sidebands, the blinded SR band and the pulls
(paper 004 Fig. 6/11).

![sculpting](sculpting.png)

Sculpting (paper 001 eq. 5): χ²/n_dof between the normalised m histograms (300 equal-content
bins) of background before and after a score cut of efficiency ε_sel, with the band of random
selections. The score is the scan's, on the 3.5 TeV window's signal-free sample (alternative
generator).
"""


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and seed of the demo (defaults: the LHCO R&D scale)."""

    n_background: int = 1_000_000
    n_signal: int = 1000
    n_template: int = 1_000_000
    eps_b: tuple[float, ...] = DEFAULT_EPS_B
    seed: int = 20240101
    methods: tuple[str, ...] = ("direct", "fit")
    fit_range: tuple[float, float] = DEFAULT_RANGE
    write_score_files: bool = False
    #: R-ANODE preset ("small", "test", "paper") for the 3.5 TeV window, or None to skip it.
    ranode: str | None = "small"
    #: Anomaly score of the scan: "exact" likelihood ratio, or trained "iad" / "cwola" BDTs.
    scores: str = "exact"
    #: Classifier runs and BDT preset ("fast", "default", "paper") for trained scores.
    runs: int = 2
    bdt_preset: str = "fast"


@dataclass(frozen=True)
class DemoResult:
    """What the demo produced: results and the files written."""

    scan: ScanResult
    delta_sys: DeltaSys
    files: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _fit_plots(out: Path, scores, mc_scores, config: DemoConfig) -> dict[str, str]:
    """Fit of the 3.5 TeV window at eps_b = 1e-2, and the sculpting curve of its score on the
    signal-free sample's SR template (first run)."""
    import matplotlib.pyplot as plt
    import numpy as np

    from bumpstat.fit.bumphunt import bumphunt
    from bumpstat.fit.sculpting import sculpting_curve
    from bumpstat.plotting.fit import plot_fit, plot_sculpting

    name = scores.window_names[len(scores.windows) // 2]
    ws = scores[name]
    res = bumphunt(ws.data.m, ws.data.scores[0], window=ws.window, eps_b=1e-2,
                   template_scores=ws.template.scores[0], fit_range=config.fit_range)
    plt.close(plot_fit(res, path=out / "fit_SR5.png"))
    bkg = mc_scores[name].data
    sc = sculpting_curve(bkg.m, bkg.scores[0], np.logspace(-2.5, -0.3, 8), seed=config.seed)
    plt.close(plot_sculpting(sc, path=out / "sculpting.png"))
    return {"plot_fit": str(out / "fit_SR5.png"), "plot_sculpting": str(out / "sculpting.png")}


def _trained_scores(config: DemoConfig, data, template, mc_data, mc_template, windows,
                    data_range, *, progress: bool):
    """IAD or CWoLa BDT-ensemble scores of the data and of the signal-free alternative sample."""
    from bumpstat.producers import get_producer

    kw = {"runs": config.runs, "progress": progress}
    if config.scores == "iad":
        iad = get_producer("iad", preset=config.bdt_preset)
        sf = iad.produce(data, windows, reference=template, seed=config.seed,
                         score_range=data_range, **kw)
        mc = iad.produce(mc_data, windows, reference=mc_template, seed=config.seed + 10, **kw)
    elif config.scores == "cwola":
        cwola = get_producer("cwola", preset=config.bdt_preset)
        sf = cwola.produce(data, windows, seed=config.seed, score_range=data_range, **kw)
        mc = cwola.produce(mc_data, windows, seed=config.seed + 10, **kw)
    else:
        raise InputError(f"demo scores must be 'exact', 'iad' or 'cwola', got {config.scores!r}")
    return sf, mc


def _sic_section(out: Path, scores, exact) -> tuple[str, dict[str, str]]:
    """SIC curves of the trained score (median and band over runs) vs the exact ratio."""
    import matplotlib.pyplot as plt

    from bumpstat.metrics import score_file_metrics
    from bumpstat.plotting.metrics import plot_sic

    name = scores.window_names[len(scores.windows) // 2]
    fig = plot_sic(scores[name], x="eps_b", label=scores.method)
    plot_sic(exact[name], x="eps_b", label="exact likelihood ratio", color="k", ax=fig.axes[0],
             path=out / "sic.png")
    plt.close(fig)
    rows = []
    for sf in (scores, exact):
        w = next(w for w in score_file_metrics(sf, windows=[name]).to_dict()["windows"])
        rows.append(f"| {sf.method} | {w['auc']:.4f} | {w['max_sic']:.1f} "
                    f"| {w['sic_at_1e-3']:.1f} |")
    text = (f"## Anomaly score quality in {name}\n\n![SIC](sic.png)\n\n"
            "| score | AUC | max SIC | SIC at ε_B = 1e-3 |\n|---|---|---|---|\n"
            + "\n".join(rows) + "\n")
    return text, {"plot_sic": str(out / "sic.png")}


def _ranode_step(out: Path, data, scores, config: DemoConfig, *,
                 progress: bool) -> tuple[str, dict[str, str]]:
    """R-ANODE on the 3.5 TeV window: flows, the w fit, its score with a CATHODE template."""
    import matplotlib.pyplot as plt

    from bumpstat.direct.estimate import direct_estimate
    from bumpstat.flows.ranode import RanodeConfig, run_ranode
    from bumpstat.metrics.roc import classifier_metrics
    from bumpstat.plotting.ranode import plot_learned_signal, plot_w_profile
    from bumpstat.producers.ranode import ranode_window_scores
    from bumpstat.stats.mixture import profile_likelihood

    window = sliding_windows()[4]
    res = run_ranode(data.m, data.x, window=window, config=RanodeConfig.preset(config.ranode),
                     fit_range=config.fit_range, seed=config.seed, progress=progress)
    n_sig_true = int(data.label[res.sr_index].sum())
    w_true = n_sig_true / len(res.m)
    summary = res.to_dict() | {"w_true": w_true, "n_sig_true": n_sig_true}
    rws, _ = ranode_window_scores(data, window, config=RanodeConfig.preset(config.ranode),
                                  seed=config.seed, background=res.background,
                                  progress=progress)
    eps = tuple(e for e in config.eps_b if e * 4 * len(res.m) >= 10)
    points = direct_estimate(rws, eps)
    exact = scores[window.name].signal_region()
    sic = {
        "ranode": classifier_metrics(res.score, data.label[res.sr_index]).to_dict(),
        "exact": classifier_metrics(exact.scores[0], exact.label).to_dict(),
    }
    summary |= {"direct_with_cathode_template": [p.to_record() for p in points], "metrics": sic}
    (out / "ranode.json").write_text(json.dumps(summary, indent=2))
    curve = profile_likelihood(res.log_p_sig, res.log_p_bg)
    plt.close(plot_w_profile(curve, res.fit, path=out / "ranode_w_profile.png"))
    m_s, x_s = res.sample_signal(5000, seed=config.seed)
    sig = data.label[res.sr_index] == 1
    plt.close(plot_learned_signal(x_s, res.x[sig], res.x[~sig], names=data.feature_names,
                                  path=out / "ranode_learned_signal.png"))
    f = res.fit
    sic_r, sic_e = sic["ranode"]["sic_at_eps_b"], sic["exact"]["sic_at_eps_b"]
    rows = "\n".join(
        f"| {p.eps_b:g} | {p.n_obs[0]:.0f} | {p.n_exp[0]:.1f} | {p.rel_unc[0]:.3f} | {p.z[0]:.2f} |"
        for p in points)
    text = f"""## R-ANODE in {window.name} [{window.low:.2f}, {window.high:.2f}) TeV

Flows ({config.ranode} configuration): a conditional MAF for p_bg(x|m) trained on the sidebands,
an RQS flow for p_sig(x, m) trained on the SR with the background fixed, then the mixture
likelihood fit of w (paper 002).

| quantity | value |
|---|---|
| w true (injected signal in the SR / N_SR) | {w_true:.5f} ({n_sig_true} events) |
| ŵ (fit) | {f.w_hat:.5f}, 68% [{f.w_interval_68[0]:.5f}, {f.w_interval_68[1]:.5f}] |
| 95% upper limit on w | {f.upper_limit_w:.5f} |
| N_sig = ŵ·N_SR | {f.n_sig_hat:.0f} |
| Z of w = 0 | {f.z:.1f} |
| runs flagged "undetected signal" | {sum(res.undetected)} of {len(res.undetected)} |
| SIC at ε_B = 1e-3: R-ANODE / exact ratio | {sic_r:.1f} / {sic_e:.1f} |

![w profile](ranode_w_profile.png) ![learned signal](ranode_learned_signal.png)

Its score log R with a CATHODE template (the background flow sampled in the SR, ×4) in the
direct estimate (δ_sys = 0 assumed here):

| ε_B | N_obs | N_exp | σ_exp | Z |
|---|---|---|---|---|
{rows}
"""
    return text, {"ranode": str(out / "ranode.json"),
                  "plot_ranode_w_profile": str(out / "ranode_w_profile.png"),
                  "plot_ranode_learned_signal": str(out / "ranode_learned_signal.png")}


def run_demo(out: str | Path, config: DemoConfig = DemoConfig(), *,
             progress: bool = True) -> DemoResult:
    """Run the demo chain and write its outputs to the directory ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    windows = sliding_windows()
    s = config.seed
    nominal = SyntheticLHCO(variant="nominal")
    alternative = SyntheticLHCO(variant="alternative")
    data = nominal.sample(n_background=config.n_background, n_signal=config.n_signal, seed=s)
    template = nominal.sample_background(config.n_template, seed=s + 1)
    mc_data = alternative.sample_background(config.n_background, seed=s + 2)
    mc_template = alternative.sample_background(config.n_template, seed=s + 3)
    t["generate_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    data_range = config.fit_range if "fit" in config.methods else None
    exact = exact_score_file(nominal, data, template, windows, data_range=data_range)
    if config.scores == "exact":
        scores = exact
        mc_scores = exact_score_file(nominal, mc_data, mc_template, windows)
    else:
        scores, mc_scores = _trained_scores(config, data, template, mc_data, mc_template,
                                            windows, data_range, progress=progress)
    t["score_s"] = time.perf_counter() - t0
    files: dict[str, str] = {}
    if config.write_score_files:
        files["scores"] = str(write_scores(out / "scores.h5", scores))
        files["mc_scores"] = str(write_scores(out / "mc_scores.h5", mc_scores))

    t0 = time.perf_counter()
    dsys = estimate_delta_sys(mc_scores, config.eps_b, kind="mc")
    files["delta_sys"] = str(dsys.write_json(out / "delta_sys.json"))
    t["delta_sys_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    scan = run_scan(scores, eps_b=config.eps_b, delta_sys=dsys, method=config.methods,
                    progress=progress)
    scan = ScanResult(points=scan.points, eps_b=scan.eps_b, windows=scan.windows,
                      methods=scan.methods,
                      config={**scan.config, "demo": {
                          "n_background": config.n_background, "n_signal": config.n_signal,
                          "n_template": config.n_template, "seed": config.seed,
                          "score": _SCORE_NAMES[config.scores],
                          "delta_sys_from": "alternative generator, signal-free"}})
    files["scan"] = str(scan.write_json(out / "scan.json"))
    scan.export_workspaces(out / "workspaces")
    files["workspaces"] = str(out / "workspaces")
    t["scan_s"] = time.perf_counter() - t0

    sections = []
    if "fit" in config.methods:
        t0 = time.perf_counter()
        files.update(_fit_plots(out, scores, mc_scores, config))
        sections.append(_FIT_SECTION)
        t["fit_plots_s"] = time.perf_counter() - t0

    if config.ranode:
        t0 = time.perf_counter()
        text, ranode_files = _ranode_step(out, data, exact, config, progress=progress)
        files.update(ranode_files)
        sections.append(text)
        t["ranode_s"] = time.perf_counter() - t0

    if config.scores != "exact":
        text, sic_files = _sic_section(out, scores, exact)
        files.update(sic_files)
        sections.insert(0, text)

    t0 = time.perf_counter()
    title = f"bumpstat demo: {_SCORE_NAMES[config.scores]}"
    files.update(write_report(out, scan, dsys, title=title, extra="\n".join(sections)))
    t["report_s"] = time.perf_counter() - t0
    (out / "timings.json").write_text(json.dumps(t, indent=2))
    files["timings"] = str(out / "timings.json")
    return DemoResult(scan=scan, delta_sys=dsys, files=files, timings=t)

