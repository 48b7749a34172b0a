"""``bumpstat demo``: the whole chain on built-in synthetic data."""

from __future__ import annotations

import click

from bumpstat.cli._common import (
    MultiValueOption,
    command_errors,
    emit_json,
    info,
    json_option,
    out_dir_option,
    quiet_option,
    seed_option,
)

__all__ = ["demo"]


@click.command()
@out_dir_option(default="demo-output",
                help="Output directory: scan.json, report.md, plots, workspaces/.")
@seed_option(20240101)
@click.option("--n-background", type=click.IntRange(min=1000), default=1_000_000,
              show_default=True, help="Background events in the data and in the template.")
@click.option("--n-signal", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Injected signal events (resonance at 3.5 TeV).")
@click.option("--methods", cls=MultiValueOption, type=click.Choice(["direct", "fit"]),
              help="Background estimators (one or more). Default: direct fit.")
@click.option("--eps-b", "eps_b", type=float, cls=MultiValueOption,
              help="Working points eps_b (one or more). Default: 1e-2 1e-3 1e-4.")
@click.option("--scores", default="exact", show_default=True,
              help="Score producer: exact (likelihood ratio of the generator) or a trained one "
                   "(e.g. iad, cwola; see 'bumpstat train-scores --help').")
@click.option("--preset", default="fast", show_default=True,
              help="Preset of a trained score producer.")
@click.option("--runs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Training runs of a trained score producer.")
@click.option("--global-toys", type=click.IntRange(min=0), default=2000, show_default=True,
              help="Background-only toys for the global significance (0: none).")
@click.option("--ranode", type=click.Choice(["small", "test", "paper", "none"]), default="small",
              show_default=True,
              help="R-ANODE configuration in the most significant window: small (CPU "
                   "demonstration), test (seconds, results marked not valid), paper (hours), "
                   "none (skip).")
@click.option("--write-scores", is_flag=True, help="Also write the score files used.")
@json_option
@quiet_option
@command_errors
def demo(out, seed, n_background, n_signal, methods, eps_b, scores, preset, runs, global_toys,
         ranode, write_scores, as_json, quiet) -> None:
    """Generate data with an injected signal, score it, estimate delta_sys, scan with local and
    global significance, and write a report."""
    from bumpstat.demo import DemoConfig, run_demo

    cfg = DemoConfig(n_background=n_background, n_signal=n_signal, n_template=n_background,
                     seed=seed, scores=scores, preset=preset, runs=runs,
                     global_toys=global_toys, ranode=None if ranode == "none" else ranode,
                     write_score_files=write_scores,
                     **({"methods": tuple(dict.fromkeys(methods))} if methods else {}),
                     **({"eps_b": tuple(eps_b)} if eps_b else {}))
    res = run_demo(out, cfg, progress=not quiet)
    if as_json:
        emit_json(res.scan)
    g = res.scan.global_significance
    best = res.scan.max_local(method=res.scan.methods[0])
    glob = "" if g is None else (
        f"; global Z {'>' if g.p_global_bound else '='} {g.z_global:.2f} "
        f"(p {'<' if g.p_global_bound else '='} {g.p_global:.3g}, {g.n_toys} toys)")
    info(f"largest valid local Z = {best.record()['z']:.2f} in {best.window.name} "
         f"[{best.window.low:.2f}, {best.window.high:.2f}) TeV at eps_b = {best.eps_b:g} "
         f"({best.method}){glob}", quiet=quiet)
    info(f"wrote {out / 'report.md'} and {len(res.files)} outputs into {out}", quiet=quiet)
