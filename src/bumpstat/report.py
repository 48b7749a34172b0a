"""A Markdown report of a scan: tables of N_obs, N_exp, uncertainties, Z, p-values, limits,
the delta_sys estimate, and the plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bumpstat.direct.delta_sys import DeltaSys

__all__ = ["scan_table", "write_report"]


def _fmt(v: float, std: float | None = None, digits: int = 3) -> str:
    s = f"{v:.{digits}g}"
    return s if not std else f"{s} ± {std:.2g}"


def scan_table(scan, *, method: str | None = None) -> str:
    """A Markdown table with one row per window × working point × method."""
    head = ("| method | window [TeV] | ε_B | N_SR | N_obs | N_exp | σ_exp | Z (eq. 6) | Z_G (eq. 7) "
            "| p-value | UL95 [events] |\n|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [head]
    for p in scan.select(method=method):
        r = p.to_record()
        rows.append(
            f"| {r['method']} | {p.window.name} [{p.window.low:.2f}, {p.window.high:.2f}) "
            f"| {p.eps_b:g} | {r['n_sr']:.0f} | {_fmt(r['n_obs'], r['n_obs_std'])} "
            f"| {_fmt(r['n_exp'], r['n_exp_std'])} | {_fmt(r['rel_unc'])} "
            f"| {_fmt(r['z'], r['z_std'])} | {_fmt(r['z_gauss'], r['z_gauss_std'])} "
            f"| {_fmt(r['p_value'])} | {_fmt(r['upper_limit'])} |"
        )
    return "\n".join(rows)


def _delta_sys_table(d: DeltaSys) -> str:
    rows = ["| ε_B | δ_sys (eq. 5) | spread over windows | σ_stat (eq. 9) |", "|---|---|---|---|"]
    for i, e in enumerate(d.eps_b):
        rows.append(f"| {e:g} | {d.value[i]:+.3f} | {d.per_window[:, i].std():.3f} "
                    f"| {d.sigma_stat[i]:.3f} |")
    return "\n".join(rows)


def write_report(out: str | Path, scan, delta_sys: DeltaSys | None = None, *,
                 title: str = "bumpstat scan") -> dict[str, str]:
    """Write ``report.md`` and the scan plots into ``out``; return ``{name: path}``."""
    from bumpstat.plotting.scan import plot_delta_sys, plot_significance

    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for meth in scan.methods:
        fig = plot_significance(scan, method=meth, path=out / f"significance_{meth}.png")
        plt.close(fig)
        files[f"plot_significance_{meth}"] = str(out / f"significance_{meth}.png")
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
        f"**Largest local significance:** Z = {np.mean(best.z):.2f} (p = {np.mean(best.p_value):.2g}) "
        f"in {best.window.name} [{best.window.low:.2f}, {best.window.high:.2f}) TeV at "
        f"ε_B = {best.eps_b:g} ({best.method}). This is a local significance: the scan looks "
        "in several overlapping windows and working points.",
        "",
    ]
    if delta_sys is not None:
        lines += [f"## Systematic shift δ_sys ({delta_sys.kind})", "",
                  _delta_sys_table(delta_sys), "", "![delta_sys](delta_sys.png)", ""]
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
