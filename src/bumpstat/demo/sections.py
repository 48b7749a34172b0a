"""Report sections of the demo's closer look at one window (plots + Markdown).

Each function takes the :class:`~bumpstat.outputs.OutputDir`, the inputs and the window to look
at, writes its plots and returns ``(markdown, {name: path})``. File names carry the window's
name; nothing here chooses a window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bumpstat.outputs import OutputDir
from bumpstat.windows import Window

__all__ = ["fit_section", "ranode_section", "score_quality_section"]


def _save(fig: Any, path) -> str:
    import matplotlib.pyplot as plt

    plt.close(fig)
    return str(path)


def fit_section(od: OutputDir, scores, mc_scores, window: Window, *,
                fit_range: tuple[float, float], seed: int,
                eps_b: float = 1e-2) -> tuple[str, dict[str, str]]:
    """Sideband fit of ``window`` at ``eps_b`` (first run), and the sculpting curve of its
    score on the signal-free sample (Hallin et al., arXiv:2210.14924, eq. 5)."""
    from bumpstat.fit.hunt import bumphunt
    from bumpstat.fit.sculpting import sculpting_curve
    from bumpstat.plotting.fit import plot_fit, plot_sculpting

    ws = scores[window.name]
    res = bumphunt(ws.data.m, ws.data.scores[0], window=ws.window, eps_b=eps_b,
                   template_scores=ws.template.scores[0], fit_range=fit_range)
    fit_png = od.file(f"fit_{window.name}.png")
    files = {"plot_fit": _save(plot_fit(res, path=fit_png), fit_png)}
    bkg = mc_scores[window.name].data
    sc = sculpting_curve(bkg.m, bkg.scores[0], np.logspace(-2.5, -0.3, 8), seed=seed)
    sc_png = od.file(f"sculpting_{window.name}.png")
    files["plot_sculpting"] = _save(plot_sculpting(sc, path=sc_png), sc_png)
    gof = "passes" if res.valid else f"is **not valid** ({res.reason})"
    text = f"""## Sideband fit and sculpting in {window.name}

{window.name} [{window.low:.2f}, {window.high:.2f}) TeV is the window of the largest valid local
significance. The m spectrum of the data passing the ε_B = {eps_b:g} threshold of its template,
with the sideband fit, the blinded SR and the pulls; the fit {gof}.

![fit]({fit_png.name})

Sculpting (Hallin et al., arXiv:2210.14924, eq. 5): χ²/n_dof between the normalised m
histograms of background before and after a score cut of efficiency ε_sel, beside the band of
random selections, on the signal-free sample of the alternative generator.

![sculpting]({sc_png.name})
"""
    return text, files


def score_quality_section(od: OutputDir, scores, exact, window: Window
                          ) -> tuple[str, dict[str, str]]:
    """SIC curves of a trained score (median and band over runs) beside the exact ratio."""
    from bumpstat.metrics import score_file_metrics
    from bumpstat.plotting.metrics import plot_sic

    fig = plot_sic(scores[window.name], x="eps_b", label=scores.method)
    png = od.file(f"sic_{window.name}.png")
    plot_sic(exact[window.name], x="eps_b", label="exact likelihood ratio", color="k",
             ax=fig.axes[0], path=png)
    rows = []
    for sf in (scores, exact):
        w = score_file_metrics(sf, windows=[window.name]).to_dict()["windows"][0]
        rows.append(f"| {sf.method} | {w['auc']:.4f} | {w['max_sic']:.1f} "
                    f"| {w['sic_at_1e-3']:.1f} |")
    text = (f"## Anomaly score quality in {window.name}\n\n![SIC]({png.name})\n\n"
            "| score | AUC | max SIC | SIC at ε_B = 1e-3 |\n|---|---|---|---|\n"
            + "\n".join(rows) + "\n")
    return text, {"plot_sic": _save(fig, png)}


def ranode_section(od: OutputDir, data, window: Window, *, preset: str,
                   fit_range: tuple[float, float], seed: int,
                   progress: bool) -> tuple[str, dict[str, str]]:
    """R-ANODE (Das, Kasieczka & Shih, arXiv:2312.11629) in ``window``: the flows, the fit of
    the signal fraction w, its profile and the learned signal."""
    from bumpstat.flows.ranode import RanodeConfig, run_ranode
    from bumpstat.plotting.ranode import plot_learned_signal, plot_w_profile
    from bumpstat.stats.mixture import profile_likelihood

    res = run_ranode(data.m, data.x, window=window, config=RanodeConfig.preset(preset),
                     fit_range=fit_range, seed=seed, progress=progress)
    summary: dict[str, Any] = res.to_dict()
    truth = ""
    if data.has_labels:
        n_true = int(data.label[res.sr_index].sum())
        summary |= {"w_true": n_true / len(res.m), "n_sig_true": n_true}
        truth = (f"| w true (injected signal in the SR / N_SR) | {n_true / len(res.m):.5f} "
                 f"({n_true} events) |\n")
    files = {"ranode": str(od.write_json(f"ranode_{window.name}.json", summary))}
    prof_png = od.file(f"ranode_w_profile_{window.name}.png")
    curve = profile_likelihood(res.log_p_sig, res.log_p_bg)
    files["plot_ranode_w_profile"] = _save(plot_w_profile(curve, res.fit, path=prof_png),
                                           prof_png)
    learned_png = od.file(f"ranode_learned_signal_{window.name}.png")
    m_s, x_s = res.sample_signal(5000, seed=seed)
    sig = data.label[res.sr_index] == 1 if data.has_labels else None
    fig = plot_learned_signal(x_s, None if sig is None else res.x[sig],
                              res.x if sig is None else res.x[~sig],
                              names=data.feature_names, path=learned_png)
    files["plot_ranode_learned_signal"] = _save(fig, learned_png)
    f = res.fit
    lo, hi = f.w_interval_68
    valid = "" if res.valid else f"\n**Not valid: {res.reason}.**\n"
    note = f" {res.preset_note}" if res.preset_note else ""
    text = f"""## R-ANODE in {window.name} [{window.low:.2f}, {window.high:.2f}) TeV

Flows ({preset} configuration): a conditional MAF for p_bg(x|m) trained on the sidebands, an
RQS flow for p_sig(x, m) trained on the SR with the background fixed, then the mixture
likelihood fit of w (Das, Kasieczka & Shih, arXiv:2312.11629).{note}
{valid}
| quantity | value |
|---|---|
{truth}| ŵ (fit) | {f.w_hat:.5f}, 68% [{lo:.5f}, {hi:.5f}] |
| {f.cl:.0%} upper limit on w ({f.limit_method}) | {f.upper_limit_w:.5f} |
| N_sig = ŵ·N_SR | {f.n_sig_hat:.0f} |
| Z of w = 0 (local, this window only) | {f.z:.1f} |
| runs flagged "undetected signal" | {sum(res.undetected)} of {len(res.undetected)} |

![w profile]({prof_png.name}) ![learned signal]({learned_png.name})
"""
    return text, files
