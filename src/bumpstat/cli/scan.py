"""``bumpstat scan`` and ``bumpstat delta-sys``."""

from __future__ import annotations

from pathlib import Path

import click

from bumpstat.cli._common import (
    MultiValueOption,
    check_outputs,
    command_errors,
    emit_json,
    info,
    json_option,
    out_dir_option,
    output_option,
    quiet_option,
    seed_option,
    write_output_json,
)
from bumpstat.exceptions import InputError
from bumpstat.fit.binning import MAX_BINS

__all__ = ["scan", "delta_sys"]

_EPS_HELP = "Working points eps_b (one or more values). Default: 1e-2 1e-3 1e-4."


def _eps(values: tuple[float, ...]) -> tuple[float, ...]:
    from bumpstat.scan import DEFAULT_EPS_B

    return tuple(values) or DEFAULT_EPS_B


def _numbers(text: str | None, option: str):
    """None, one float, or a tuple of floats from 'x' or 'x,y,z'."""
    if text is None:
        return None
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        return False
    return vals[0] if len(vals) == 1 else vals


def _delta_sys(text: str | None):
    """A number, comma-separated numbers or a delta-sys JSON file (DeltaSys)."""
    from bumpstat.direct.delta_sys import DeltaSys

    if text is None:
        return None
    nums = _numbers(text, "--delta-sys")
    if nums is not False:
        return nums
    if Path(text).is_file():
        return DeltaSys.read_json(text)
    raise InputError(f"--delta-sys {text!r} is neither a number, comma-separated numbers (one "
                     "per eps_b) nor an existing JSON file written by 'bumpstat delta-sys'")


def _executor(workers: int | None, scheduler: str | None):
    if workers is not None and scheduler is not None:
        raise InputError("give --workers or --scheduler, not both")
    if scheduler is not None:
        return scheduler
    return "process" if workers else None


#: Global-significance toys of a scan with the direct method unless --global-toys says otherwise.
DEFAULT_GLOBAL_TOYS = 1000


@click.command()
@click.argument("scores", type=click.Path(dir_okay=False, path_type=Path))
@out_dir_option(help="Output directory: scan.json, report.md, plots [, workspaces/].")
@click.option("--eps-b", "eps_b", type=float, cls=MultiValueOption, help=_EPS_HELP)
@click.option("--delta-sys", default=None,
              help="delta_sys of the direct method: a number, comma-separated numbers (one per "
                   "eps_b), or a JSON file written by 'bumpstat delta-sys'. Without it the "
                   "direct points assume a perfect template and are marked not valid.")
@click.option("--sigma-sys", default=None,
              help="sigma_sys: a number or comma-separated numbers; default |delta_sys|.")
@click.option("--per-window", is_flag=True, help="Use per-window delta_sys from the JSON file.")
@click.option("--methods", "methods", cls=MultiValueOption,
              type=click.Choice(["direct", "fit"]),
              help="Background estimators (one or more). Default: direct.")
@click.option("--function", default="dijet4", show_default=True,
              type=click.Choice(["dijet3", "dijet4", "dijet5", "linear"]),
              help="Fit function of the fit method.")
@click.option("--fit-range", nargs=2, type=float, default=None, metavar="LOW HIGH",
              help="Fit range in TeV of the fit method (default 2.8 5.2).")
@click.option("--bins", type=click.IntRange(min=3, max=MAX_BINS), default=30, show_default=True,
              help="About this many log-uniform bins for the fit method.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Run windows in a local process pool of this size.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run windows on a Dask cluster (e.g. tcp://host:8786).")
@click.option("--global-toys", type=click.IntRange(min=0), default=None,
              help="Background-only pseudo-experiments for the global significance of the "
                   "largest local significance of the direct method (0: none). Default: "
                   "1000 when the direct method is scanned.")
@seed_option(0)
@click.option("--workspaces", type=click.Choice(["none", "poisson", "gaussian"]), default="none",
              show_default=True,
              help="Also export pyhf workspaces (OUT/workspaces/*.json) of the direct method.")
@click.option("--signal-efficiency", type=click.FloatRange(0.0, 1.0, min_open=True),
              default=None,
              help="Signal efficiency of the selection before the SR count: the limits are "
                   "also given as the signal fraction before it (and sigma, not sigma x eps).")
@click.option("--luminosity", type=click.FloatRange(0.0, min_open=True), default=None,
              help="Integrated luminosity in fb^-1: adds cross-section limits in fb to the "
                   "report and limits_xsec_*.png.")
@json_option
@quiet_option
@command_errors
def scan(scores, out, eps_b, delta_sys, sigma_sys, per_window, methods, function, fit_range,
         bins, workers, scheduler, global_toys, seed, workspaces, signal_efficiency, luminosity,
         as_json, quiet) -> None:
    """Scan every window and working point of a SCORES file; write OUT/scan.json, plots and
    OUT/report.md."""
    from bumpstat.direct.delta_sys import DeltaSys
    from bumpstat.estimators import DirectEstimator, SidebandFitEstimator
    from bumpstat.outputs import OutputDir
    from bumpstat.report import write_report
    from bumpstat.scan import run_scan
    from bumpstat.scores.io import read_scores

    dsys = _delta_sys(delta_sys)
    ssys = _numbers(sigma_sys, "--sigma-sys")
    if ssys is False:
        raise InputError(f"--sigma-sys {sigma_sys!r} must be a number or comma-separated numbers")
    names = tuple(dict.fromkeys(methods)) or ("direct",)
    ests = []
    if "direct" in names:
        ests.append(DirectEstimator(delta_sys=dsys, sigma_sys=ssys, per_window=per_window))
    if "fit" in names:
        ests.append(SidebandFitEstimator(function=function, bins=bins,
                                         **({"fit_range": tuple(fit_range)} if fit_range else {})))
    if global_toys and "direct" not in names:
        raise InputError("--global-toys needs the direct method (--methods direct ...)")
    if global_toys is None:
        global_toys = DEFAULT_GLOBAL_TOYS if "direct" in names else 0
    sf = read_scores(scores)
    od = OutputDir(out, inputs=[scores, delta_sys if isinstance(dsys, DeltaSys) else None])
    executor = _executor(workers, scheduler)
    result = run_scan(sf, estimators=ests, eps_b=_eps(eps_b), executor=executor,
                      max_workers=workers, progress=not quiet)
    if global_toys:
        from bumpstat.global_significance import global_significance, with_global_significance

        result = with_global_significance(result, global_significance(
            sf, result, n_toys=global_toys, seed=seed, executor=executor, max_workers=workers,
            progress=not quiet))
    if dsys is None and "direct" in names:
        info("WARNING: no --delta-sys given: the direct method assumes a perfect template "
             "(delta_sys = sigma_sys = 0); its points are marked not valid", quiet=False)
    od.write_json("scan.json", result)
    if workspaces != "none" and "direct" in result.methods:
        n_ws = len(result.export_workspaces(od, constraint=workspaces))
        info(f"wrote {n_ws} pyhf workspaces to {out / 'workspaces'}", quiet=quiet)
    write_report(od, result, dsys if isinstance(dsys, DeltaSys) else None,
                 title=f"bumpstat scan of {scores.name}", efficiency=signal_efficiency,
                 luminosity=luminosity)
    od.finish()
    if as_json:
        emit_json(result)
    info(f"wrote {out / 'scan.json'} and {out / 'report.md'}; {result!r}", quiet=quiet)


@click.command("delta-sys")
@click.argument("mc_scores", type=click.Path(dir_okay=False, path_type=Path))
@output_option(required=True, help="Output JSON file of the delta_sys estimate.")
@click.option("--eps-b", "eps_b", type=float, cls=MultiValueOption, help=_EPS_HELP)
@click.option("--kind", default="mc", show_default=True, help="Label: mc (simulation) or sb.")
@click.option("--combine", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Another delta-sys JSON to add in quadrature (e.g. SB with MC).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a plot of delta_sys against eps_b to this file.")
@json_option
@quiet_option
@command_errors
def delta_sys(mc_scores, output, eps_b, kind, combine, plot, as_json, quiet) -> None:
    """Estimate delta_sys (Das et al., arXiv:2411.00085, eqs. 4-5) from a signal-free
    MC_SCORES file."""
    from bumpstat.direct.delta_sys import DeltaSys, combine_quadrature, estimate_delta_sys
    from bumpstat.scores.io import read_scores

    inputs = [mc_scores, combine]
    check_outputs(inputs, output=output, plot=plot)
    d = estimate_delta_sys(read_scores(mc_scores), _eps(eps_b), kind=kind)
    if combine:
        d = combine_quadrature(d, DeltaSys.read_json(combine))
    write_output_json(output, d, inputs=inputs)
    if plot is not None:
        import matplotlib.pyplot as plt

        from bumpstat.plotting.scan import plot_delta_sys

        plt.close(plot_delta_sys(d, path=plot))
    if as_json:
        emit_json(d)
    info(f"wrote {output}: delta_sys = {[round(v, 4) for v in d.value.tolist()]} at eps_b = "
         f"{d.eps_b.tolist()} ({d.kind})", quiet=quiet)
