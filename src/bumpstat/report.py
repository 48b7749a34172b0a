"""A Markdown report of a scan: tables of N_obs, N_exp, uncertainties, Z, p-values, limits,
the delta_sys estimate, and the plots.

The report reads only the scan points' records (:meth:`bumpstat.scanpoint.ScanPoint.record`).
A point that is not valid is marked ``✗`` with its reason below the table and is never the
headline result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.direct.delta_sys import DeltaSys
from bumpstat.exceptions import InputError
from bumpstat.outputs import OutputDir

__all__ = ["scan_table", "comparison_table", "limit_table", "write_limit_plots", "write_report"]


def _fmt(v: float | None, std: float | None = None, digits: int = 3) -> str:
    """``digits`` significant digits, but whole numbers from 1,000 to 10⁷ in full (no
    exponent); ``± std`` when a spread is given.

    >>> _fmt(3094.6), _fmt(0.0001234), _fmt(12.345, 0.51), _fmt(None)
    ('3095', '0.000123', '12.3 ± 0.51', '–')
    """
    if v is None or not np.isfinite(v):
        return "–"
    s = f"{v:.0f}" if 1e3 <= abs(v) < 1e7 else f"{v:.{digits}g}"
    return s if not std else f"{s} ± {std:.2g}"


def _mark(rec: dict[str, Any]) -> str:
    return "" if rec["valid"] else " ✗"


def _reasons(recs: list[dict[str, Any]]) -> list[str]:
    bad = [r for r in recs if not r["valid"]]
    if not bad:
        return []
    distinct: dict[str, list[str]] = {}
    for r in bad:
        distinct.setdefault(r["reason"] or "not valid", []).append(
            f"{r['window']['name']} ε_B={r['eps_b']:g}")
    lines = ["", "✗ not valid (numbers shown for inspection only, not results):"]
    for reason, where in distinct.items():
        shown = ", ".join(where[:6]) + (f" and {len(where) - 6} more" if len(where) > 6 else "")
        lines.append(f"- {shown}: {reason}")
    return lines


def _sorted_records(scan, method: str | None) -> list[dict[str, Any]]:
    """Records sorted by working point (descending ε_B: loosest first) then window centre."""
    pts = sorted(scan.select(method=method), key=lambda p: (p.method, -p.eps_b, p.window.center))
    return [p.record() for p in pts]


def scan_table(scan, *, method: str | None = None) -> str:
    """A Markdown table with one row per window × working point × method, sorted by working
    point and window; the limits are on signal events passing the cut at the scan's CL."""
    head = ("| method | window [TeV] | ε_B | N_SR | N_obs | N_exp | σ_exp (rel.) | Z (local) "
            "| p-value | UL [events] | expected UL: median [−1σ, +1σ] [−2σ, +2σ] |\n"
            + "|---" * 11 + "|")
    rows = [head]
    recs = _sorted_records(scan, method)
    for r in recs:
        w = r["window"]
        exp = r["expected_limits"]
        rows.append(
            f"| {r['method']}{_mark(r)} | {w['name']} [{w['low']:.2f}, {w['high']:.2f}) "
            f"| {r['eps_b']:g} | {_fmt(r['n_sr'], digits=6)} | {_fmt(r['n_obs'], r['n_obs_std'])} "
            f"| {_fmt(r['n_exp'], r['n_exp_std'])} | {_fmt(r['rel_unc'])} "
            f"| {_fmt(r['z'], r['z_std'])} | {_fmt(r['p_value'])} | {_fmt(r['upper_limit'])} "
            f"| {_fmt(exp[2])} [{_fmt(exp[1])}, {_fmt(exp[3])}] [{_fmt(exp[0])}, {_fmt(exp[4])}] |"
        )
    return "\n".join(rows + _reasons(recs))


def limit_table(scan, *, method: str | None = None, efficiency: float | None = None,
                luminosity: float | None = None) -> str:
    """Observed and expected upper limits with their ±1σ/±2σ bands, one row per window ×
    working point: in signal events passing the cut, as a fraction of the SR, and with a
    ``luminosity`` (fb⁻¹) as a cross-section limit in fb.

    The fraction is ``UL / N_SR`` (signal events passing the cut per data event in the SR);
    with ``efficiency`` (the signal efficiency ε_S of the selection) it is ``UL / (ε_S N_SR)``,
    the signal fraction of the SR before the cut. The cross-section column is
    ``UL / (ε L)``: σ × ε (the selection's efficiency not corrected) without ``efficiency``,
    σ with it (see :func:`bumpstat.plotting.limits.limit_table`).
    """
    from bumpstat.plotting.limits import limit_table as limits_of

    frac = "UL / (ε_S N_SR)" if efficiency is not None else "UL / N_SR"
    xsec = "σ" if efficiency is not None else "σ×ε"
    head = ("| method | window [TeV] | ε_B | N_SR | observed UL [events] | expected −2σ | −1σ "
            f"| median | +1σ | +2σ | observed {frac} | expected {frac} |")
    ncol = 12
    if luminosity is not None:
        head += f" observed {xsec} UL [fb] | expected {xsec} UL [fb] (±1σ) |"
        ncol += 2
    rows = [head, "|---" * ncol + "|"]
    recs = _sorted_records(scan, method)
    tables: dict[tuple[str, float], dict[str, Any]] = {}
    for r in recs:
        key = (r["method"], r["eps_b"])
        if key not in tables:
            tables[key] = {
                "fraction": limits_of(scan, method=key[0], eps_b=key[1], quantity="fraction",
                                      efficiency=efficiency),
                "xsec": None if luminosity is None else limits_of(
                    scan, method=key[0], eps_b=key[1], quantity="xsec",
                    efficiency=efficiency, luminosity=luminosity)}
        t = tables[key]
        k = int(np.flatnonzero(np.isclose(t["fraction"]["center"], r["window"]["center"]))[0])
        w, exp = r["window"], r["expected_limits"]
        row = (f"| {r['method']}{_mark(r)} | {w['name']} [{w['low']:.2f}, {w['high']:.2f}) "
               f"| {r['eps_b']:g} | {_fmt(r['n_sr'], digits=6)} | {_fmt(r['upper_limit'])} | "
               + " | ".join(_fmt(v) for v in exp)
               + f" | {_fmt(t['fraction']['observed'][k])} "
               f"| {_fmt(t['fraction']['expected'][k, 2])} |")
        if t["xsec"] is not None:
            e = t["xsec"]["expected"][k]
            row += (f" {_fmt(t['xsec']['observed'][k])} | {_fmt(e[2])} "
                    f"[{_fmt(e[1])}, {_fmt(e[3])}] |")
        rows.append(row)
    return "\n".join(rows + _reasons(recs))


def comparison_table(scan) -> str:
    """Fit-based vs direct side by side: N_obs, N_exp ± uncertainty and Z per window and ε_B."""
    methods = list(scan.methods)
    head = "| window | ε_B | N_obs | " + " | ".join(
        f"N_exp {m} | Z {m}" for m in methods) + " |"
    rows = [head, "|" + "---|" * (3 + 2 * len(methods))]
    all_recs = []
    for eps in scan.eps_b:
        for w in scan.windows:
            recs = {p.method: p.record() for p in scan.select(eps_b=eps, window=w.name)}
            if not recs:
                continue
            all_recs += list(recs.values())
            n_obs = next(iter(recs.values()))["n_obs"]
            cells = []
            for m in methods:
                r = recs.get(m)
                if r is None or r["n_exp"] is None:
                    cells += ["–", "–"]
                    continue
                cells += [f"{_fmt(r['n_exp'])} ± {_fmt(r['n_exp_unc'], digits=2)}{_mark(r)}",
                          _fmt(r["z"], r["z_std"]) + _mark(r)]
            rows.append(f"| {w.name} | {eps:g} | {_fmt(n_obs)} | " + " | ".join(cells) + " |")
    return "\n".join(rows + _reasons(all_recs))


def _delta_sys_table(d: DeltaSys) -> str:
    rows = ["| ε_B | δ_sys (eq. 5) | spread over windows | σ_stat (eq. 9) |", "|---|---|---|---|"]
    for i, e in enumerate(d.eps_b):
        rows.append(f"| {e:g} | {d.value[i]:+.3f} | {d.per_window[:, i].std():.3f} "
                    f"| {d.sigma_stat[i]:.3f} |")
    return "\n".join(rows)


def _global_lines(scan) -> list[str]:
    g = scan.global_significance
    if g is None:
        return ["No global significance was computed (`bumpstat scan --global-toys N`): the "
                "local significance above does not account for the look-elsewhere effect.", ""]
    if g.p_global_bound:
        p = f"p_global < {g.p_global:.2g} (95% CL bound: no toy reached it)"
        z = f"Z_global > {g.z_global:.2f}"
    else:
        p = f"p_global = {g.p_global:.3g} ± {g.p_global_unc:.2g}"
        z = f"Z_global = {g.z_global:.2f}"
    lines = [f"**Global significance ({g.method}):** {z}, {p}, from {g.n_toys} background-only "
             f"pseudo-experiments over {g.n_points} windows × working points (trials factor "
             f"{'≤ ' if g.p_global_bound else ''}{g.trials_factor:.3g}; Šidák for independent "
             f"tests p = {g.p_global_sidak:.3g}). "
             f"Pseudo-experiments: {g.approximation}; systematic {g.systematic}."]
    if not g.valid:
        lines.append(f"✗ The global significance is not valid: {g.reason}")
    return lines + [""]


def _headline(scan) -> list[str]:
    try:
        best = scan.max_local()
    except InputError:
        try:
            best = scan.max_local(valid_only=False)
        except InputError:
            return ["**No point has a finite significance.**", ""]
        r = best.record()
        return [f"**No valid point.** The largest local significance among points that are not "
                f"valid is Z = {_fmt(r['z'])} in {best.window.name} at ε_B = {best.eps_b:g} "
                f"({best.method}); it is not a result: {r['reason']}", ""]
    r = best.record()
    return [
        f"**Largest local significance:** Z = {r['z']:.2f} (p = {r['p_value']:.2g}) in "
        f"{best.window.name} [{best.window.low:.2f}, {best.window.high:.2f}) TeV at "
        f"ε_B = {best.eps_b:g} ({best.method}). This is a local significance: the scan looks "
        "in several overlapping windows and working points.", ""]


def write_limit_plots(out: OutputDir, scan, *,
                      quantities: tuple[str, ...] = ("events", "fraction"),
                      efficiency: float | None = None,
                      luminosity: float | None = None) -> dict[str, str]:
    """The limit ("Brazil") plots of every method and working point; returns ``{key: path}``.

    Files: ``limits_<method>_eps<ε_B>.png`` (signal events) and, when ``quantities`` holds
    ``"fraction"``/``"xsec"``, ``limits_fraction_…``/``limits_xsec_…`` (see
    :func:`bumpstat.plotting.limits.plot_limits`; ``efficiency`` and ``luminosity`` as there).
    """
    import matplotlib.pyplot as plt

    from bumpstat.plotting.limits import plot_limits

    files: dict[str, str] = {}
    for meth in scan.methods:
        for eps in scan.eps_b:
            if not scan.select(method=meth, eps_b=eps):
                continue
            for quantity in quantities:
                stem = "limits" if quantity == "events" else f"limits_{quantity}"
                path = out.file(f"{stem}_{meth}_eps{eps:g}.png")
                plt.close(plot_limits(scan, method=meth, eps_b=eps, quantity=quantity,
                                      efficiency=efficiency, luminosity=luminosity,
                                      path=path))
                files[f"plot_{stem}_{meth}_{eps:g}"] = str(path)
    return files


def _no_delta_sys_lines(scan) -> list[str]:
    """A loud warning when direct points assume a perfect template (no delta_sys given)."""
    from bumpstat.estimators.direct import NO_DELTA_SYS

    pts = [p for p in scan.select(method="direct") if any(NO_DELTA_SYS in r for r in p.reasons)]
    if not pts:
        return []
    return ["> **⚠ No δ_sys was given: the direct method assumed a perfect background template "
            "(δ_sys = σ_sys = 0).** Its significances are too large whenever the template is "
            "biased, and every direct point is marked not valid (✗). Estimate δ_sys on a "
            "signal-free sample (`bumpstat delta-sys`) and pass it with `--delta-sys`, or pass "
            "`--delta-sys 0` to accept a perfect template explicitly.", ""]


def _limit_units(efficiency: float | None, luminosity: float | None) -> str:
    if efficiency is None:
        text = ("UL / N_SR divides by N_SR, the data events in the SR before the cut (no "
                "signal efficiency was given: pass one to get the signal fraction before the "
                "cut)")
    else:
        text = (f"UL / (ε_S N_SR) is the signal fraction of the SR before the cut for a signal "
                f"efficiency ε_S = {efficiency:g} of the selection")
    if luminosity is not None:
        if efficiency is None:
            text += (f"; σ×ε UL = UL / L for L = {luminosity:g} fb⁻¹ is the limit on the signal "
                     "cross-section times its efficiency ε to be in the SR and pass the cut")
        else:
            text += (f"; σ UL = UL / (ε_S L) for L = {luminosity:g} fb⁻¹ is the limit on the "
                     "signal cross-section when ε_S is the whole efficiency (acceptance × "
                     "selection), otherwise on σ times what ε_S leaves out")
    return text + "."


def write_report(out: OutputDir | str | Path, scan, delta_sys: DeltaSys | None = None, *,
                 title: str = "bumpstat scan", extra: str = "",
                 efficiency: float | None = None,
                 luminosity: float | None = None) -> dict[str, str]:
    """Write ``report.md`` and the scan plots into ``out``; return ``{name: path}``.

    ``extra`` is Markdown inserted before the per-method tables. The limits are given in
    signal events and as a fraction of the SR (plots ``limits_…`` and ``limits_fraction_…``);
    ``efficiency`` (the selection's signal efficiency) turns the fraction into the signal
    fraction of the SR before the cut, and ``luminosity`` (fb⁻¹) adds cross-section limits in
    fb (σ × ε, or σ with ``efficiency``; plots ``limits_xsec_…``). The report is written last.
    """
    import matplotlib.pyplot as plt

    from bumpstat.plotting.scan import plot_comparison, plot_delta_sys, plot_significance

    od = out if isinstance(out, OutputDir) else OutputDir(out)
    files: dict[str, str] = {}
    for meth in scan.methods:
        path = od.file(f"significance_{meth}.png")
        plt.close(plot_significance(scan, method=meth, path=path))
        files[f"plot_significance_{meth}"] = str(path)
    if len(scan.methods) > 1:
        for eps in scan.eps_b:
            path = od.file(f"comparison_eps{eps:g}.png")
            plt.close(plot_comparison(scan, eps_b=eps, path=path))
            files[f"plot_comparison_{eps:g}"] = str(path)
    quantities = ("events", "fraction") + (("xsec",) if luminosity is not None else ())
    limit_files = write_limit_plots(od, scan, quantities=quantities, efficiency=efficiency,
                                    luminosity=luminosity)
    files.update(limit_files)
    if delta_sys is not None:
        path = od.file("delta_sys.png")
        plt.close(plot_delta_sys(delta_sys, path=path))
        files["plot_delta_sys"] = str(path)

    lines = [
        f"# {title}",
        "",
        f"Working points ε_B = {', '.join(f'{e:g}' for e in scan.eps_b)}; "
        f"{len(scan.windows)} windows; methods: {', '.join(scan.methods)}; "
        f"{scan.config.get('n_runs', 1)} classifier run(s).",
        "",
        *_no_delta_sys_lines(scan),
        *_headline(scan),
        *_global_lines(scan),
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
        cl = scan.select(method=meth)[0].cl if scan.select(method=meth) else 0.95
        lines += [f"### Upper limits: {meth}", "",
                  f"Observed and expected {100 * cl:g}% CL CLs upper limits on the number of "
                  "signal events passing the cut, with the ±1σ (green) and ±2σ (yellow) bands "
                  "of the expected limit under the background-only hypothesis; "
                  + _limit_units(efficiency, luminosity), "",
                  limit_table(scan, method=meth, efficiency=efficiency, luminosity=luminosity),
                  ""]
        lines += [f"![limits]({Path(v).name})" for k, v in limit_files.items()
                  if k.startswith(f"plot_limits_{meth}_")] + [""]
        others = [f"[{Path(v).name}]({Path(v).name})" for k, v in limit_files.items()
                  if k.startswith((f"plot_limits_fraction_{meth}_",
                                   f"plot_limits_xsec_{meth}_"))]
        if others:
            lines += ["The same limits in the other units: " + ", ".join(others) + ".", ""]
    lines += ["Numbers are means over the valid classifier runs, ± the spread (std) over runs; "
              "the p-value is Φ(−Z) of the mean Z. Z is eq. 6 of Das et al. (arXiv:2411.00085), "
              "signed; the p-value and the 95% CL CLs upper limit on the number of signal events "
              "come from the one-bin Poisson-constrained model (pyhf `shapesys`), evaluated in "
              "closed form. `scan.json` holds every number."]
    path = od.write_text("report.md", "\n".join(lines) + "\n")
    files["report"] = str(path)
    return files
