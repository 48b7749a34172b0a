"""A Markdown report of a scan: tables of N_obs, N_exp, uncertainties, Z, p-values, limits,
the delta_sys estimate, and the plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bumpstat.direct.delta_sys import DeltaSys

__all__ = ["scan_table", "comparison_table", "write_report"]


def _fmt(v: float | None, std: float | None = None, digits: int = 3) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    s = f"{v:.{digits}g}"
    return s if not std else f"{s} ± {std:.2g}"


def scan_table(scan, *, method: str | None = None) -> str:
    """A Markdown table with one row per window × working point × method."""
    head = ("| method | window [TeV] | ε_B | N_SR | N_obs | N_exp | σ_exp | Z | Z_G (eq. 7) "
            "| p-value | UL95 [events] | fit χ²/ndof |\n" + "|---" * 12 + "|")
    rows = [head]
    for p in scan.select(method=method):
        r = p.to_record()
        rows.append(
            f"| {r['method']} | {p.window.name} [{p.window.low:.2f}, {p.window.high:.2f}) "
            f"| {p.eps_b:g} | {r['n_sr']:.0f} | {_fmt(r['n_obs'], r['n_obs_std'])} "
            f"| {_fmt(r['n_exp'], r['n_exp_std'])} | {_fmt(r['rel_unc'])} "
            f"| {_fmt(r['z'], r['z_std'])} | {_fmt(r.get('z_gauss'), r.get('z_gauss_std'))} "
            f"| {_fmt(r['p_value'])} | {_fmt(r['upper_limit'])} | {_fmt(r.get('chi2_ndof'))} |"
        )
    return "\n".join(rows)


def comparison_table(scan) -> str:
    """Fit-based vs direct side by side: N_obs, N_exp ± uncertainty and Z per window and ε_B."""
    methods = list(scan.methods)
    head = "| window | ε_B | N_obs | " + " | ".join(
        f"N_exp {m} | Z {m}" for m in methods) + " |"
    rows = [head, "|" + "---|" * (3 + 2 * len(methods))]
    for eps in scan.eps_b:
        for w in scan.windows:
            recs = {p.method: p.to_record() for p in scan.select(eps_b=eps)
                    if p.window.name == w.name}
            if not recs:
                continue
            n_obs = next(iter(recs.values()))["n_obs"]
            cells = []
            for m in methods:
                r = recs.get(m)
                if r is None or r["n_exp"] is None:
                    cells += ["–", "–"]
                    continue
                cells += [f"{_fmt(r['n_exp'])} ± {_fmt(r['n_exp'] * r['rel_unc'], digits=2)}",
                          _fmt(r["z"], r["z_std"])]
            rows.append(f"| {w.name} | {eps:g} | {_fmt(n_obs)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _delta_sys_table(d: DeltaSys) -> str:
    rows = ["| ε_B | δ_sys (eq. 5) | spread over windows | σ_stat (eq. 9) |", "|---|---|---|---|"]
    for i, e in enumerate(d.eps_b):
        rows.append(f"| {e:g} | {d.value[i]:+.3f} | {d.per_window[:, i].std():.3f} "
                    f"| {d.sigma_stat[i]:.3f} |")
    return "\n".join(rows)


def write_report(out: str | Path, scan, delta_sys: DeltaSys | None = None, *,
                 title: str = "bumpstat scan", extra: str = "") -> dict[str, str]:
    """Write ``report.md`` and the scan plots into ``out``; return ``{name: path}``.

    ``extra`` is Markdown inserted before the per-method tables.
    """
    import matplotlib.pyplot as plt

    from bumpstat.plotting.scan import plot_comparison, plot_delta_sys, plot_significance

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for meth in scan.methods:
        fig = plot_significance(scan, method=meth, path=out / f"significance_{meth}.png")
        plt.close(fig)
        files[f"plot_significance_{meth}"] = str(out / f"significance_{meth}.png")
    if len(scan.methods) > 1:
        for eps in scan.eps_b:
            name = f"comparison_eps{eps:g}.png"
            plt.close(plot_comparison(scan, eps_b=eps, path=out / name))
            files[f"plot_comparison_{eps:g}"] = str(out / name)
    if delta_sys is not None:
        fig = plot_delta_sys(delta_sys, path=out / "delta_sys.png")
        plt.close(fig)
        files["plot_delta_sys"] = str(out / "delta_sys.png")

    best = scan.max_local()
    lines = [
        f"# {title}",
        "",
        f"Working points ε_B = {', '.join(f'{e:g}' for e in scan.eps_b)}; "
        f"{len(scan.windows)} windows; methods: {', '.join(scan.methods)}; "
        f"{scan.config.get('n_runs', 1)} classifier run(s).",
        "",
        f"**Largest local significance:** Z = {np.nanmean(best.z):.2f} "
        f"(p = {np.nanmean(best.p_value):.2g}) "
        f"in {best.window.name} [{best.window.low:.2f}, {best.window.high:.2f}) TeV at "
        f"ε_B = {best.eps_b:g} ({best.method}). This is a local significance: the scan looks "
        "in several overlapping windows and working points.",
        "",
    ]
    if delta_sys is not None:
        lines += [f"## Systematic shift δ_sys ({delta_sys.kind})", "",
                  _delta_sys_table(delta_sys), "", "![delta_sys](delta_sys.png)", ""]
    if len(scan.methods) > 1:
        lines += ["## Fit-based vs direct", "",
                  "Both methods on the same scores, thresholds and windows. The fit-based "
                  "uncertainty is the fit's (covariance propagated into the SR); the direct one is "
                  "σ_exp (eq. 8).", "", comparison_table(scan), ""]
        lines += [f"![comparison](comparison_eps{eps:g}.png)" for eps in scan.eps_b] + [""]
    if extra:
        lines += [extra, ""]
    for meth in scan.methods:
        lines += [f"## Scan: {meth}", "", f"![significance](significance_{meth}.png)", "",
                  scan_table(scan, method=meth), ""]
    lines += ["Numbers are means over classifier runs, ± the spread (std) over runs. "
              "Z is eq. 6 of paper 003 (signed), Z_G eq. 7; the p-value and the 95% CL CLs upper "
              "limit on the number of signal events come from the one-bin Poisson-constrained "
              "model (pyhf `shapesys`), evaluated in closed form. `scan.json` holds every number."]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    files["report"] = str(out / "report.md")
    return files
