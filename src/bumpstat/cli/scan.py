"""``bumpstat scan`` and ``bumpstat delta-sys``."""

from __future__ import annotations

from pathlib import Path

import click

from bumpstat.cli._common import bumpstat_errors, emit_json

_EPS_HELP = "Working point eps_b (repeatable). Default: 1e-2, 1e-3, 1e-4."


def _eps(values: tuple[float, ...]) -> tuple[float, ...]:
    from bumpstat.scan import DEFAULT_EPS_B

    return tuple(values) or DEFAULT_EPS_B


@click.command()
@click.argument("scores", type=click.Path(dir_okay=False))
@click.option("--eps-b", "eps_b", type=float, multiple=True, help=_EPS_HELP)
@click.option("--delta-sys", default="0",
              help="delta_sys: a number, comma-separated numbers (one per eps_b), or a JSON file "
                   "written by 'bumpstat delta-sys'.")
@click.option("--sigma-sys", default=None,
              help="sigma_sys: number or comma-separated numbers; default |delta_sys|.")
@click.option("--per-window", is_flag=True, help="Use per-window delta_sys from the JSON file.")
@click.option("--method", type=click.Choice(["direct", "fit", "both"]), default="direct",
              show_default=True, help="Background estimation method.")
@click.option("--function", default="dijet4", show_default=True,
              help="Fit function for --method fit/both.")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Run windows in a local process pool of this size (0: serial).")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output directory.")
@click.option("--workspaces", type=click.Choice(["none", "poisson", "gaussian"]), default="none",
              show_default=True,
              help="Also export pyhf workspaces (OUT/workspaces/*.json) of the direct method.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@bumpstat_errors
def scan(scores, eps_b, delta_sys, sigma_sys, per_window, method, function, workers, out,
         workspaces, quiet) -> None:
    """Scan every window and working point of a SCORES file; write OUT/scan.json, plots, report."""
    from bumpstat.direct.delta_sys import DeltaSys
    from bumpstat.report import write_report
    from bumpstat.scan import run_scan
    from bumpstat.scores.io import read_scores

    sf = read_scores(scores)
    eps = _eps(eps_b)
    dsys = (DeltaSys.read_json(delta_sys) if Path(delta_sys).suffix == ".json"
            else [float(v) for v in delta_sys.split(",")])
    dsys = dsys[0] if isinstance(dsys, list) and len(dsys) == 1 else dsys
    ssys = None if sigma_sys is None else [float(v) for v in sigma_sys.split(",")]
    ssys = ssys[0] if ssys is not None and len(ssys) == 1 else ssys
    options = {"fit": {"function": function}} if method in ("fit", "both") else {}
    result = run_scan(sf, eps_b=eps, delta_sys=dsys, sigma_sys=ssys,
                      delta_sys_per_window=per_window, method=method, method_options=options,
                      executor="process" if workers > 0 else None, max_workers=workers or None,
                      progress=not quiet)
    outdir = Path(out)
    result.write_json(outdir / "scan.json")
    write_report(outdir, result, dsys if isinstance(dsys, DeltaSys) else None,
                 title=f"bumpstat scan of {scores}")
    if workspaces != "none" and "direct" in result.methods:
        n_ws = len(result.export_workspaces(outdir / "workspaces", constraint=workspaces))
        click.echo(f"wrote {n_ws} pyhf workspaces to {outdir / 'workspaces'}")
    best = result.max_local()
    click.echo(f"wrote {outdir / 'scan.json'} and {outdir / 'report.md'}; largest local Z = "
               f"{sum(best.z) / len(best.z):.2f} in {best.window.name} at eps_b = {best.eps_b:g} "
               f"({best.method})")


@click.command("delta-sys")
@click.argument("mc_scores", type=click.Path(dir_okay=False))
@click.option("--eps-b", "eps_b", type=float, multiple=True, help=_EPS_HELP)
@click.option("--kind", default="mc", show_default=True, help="Label: mc (simulation) or sb.")
@click.option("--combine", type=click.Path(dir_okay=False), default=None,
              help="Another delta-sys JSON to add in quadrature (e.g. SB with MC).")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output JSON file.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Write a plot here.")
@bumpstat_errors
def delta_sys(mc_scores, eps_b, kind, combine, out, plot) -> None:
    """Estimate delta_sys (paper 003 eqs. 4-5) from a signal-free MC_SCORES file."""
    from bumpstat.direct.delta_sys import DeltaSys, combine_quadrature, estimate_delta_sys
    from bumpstat.scores.io import read_scores

    d = estimate_delta_sys(read_scores(mc_scores), _eps(eps_b), kind=kind)
    if combine:
        d = combine_quadrature(d, DeltaSys.read_json(combine))
    d.write_json(out)
    if plot:
        from bumpstat.plotting.scan import plot_delta_sys

        plot_delta_sys(d, path=plot)
    emit_json({"kind": d.kind, "eps_b": d.eps_b.tolist(), "delta_sys": d.value.tolist(),
               "sigma_stat": d.sigma_stat.tolist(), "out": str(out)})
