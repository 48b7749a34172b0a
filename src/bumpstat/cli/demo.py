"""``bumpstat demo``: the whole chain on built-in synthetic data."""

from __future__ import annotations

import click

from bumpstat.cli._common import bumpstat_errors


@click.command()
@click.option("--out", type=click.Path(file_okay=False), default="demo-output", show_default=True)
@click.option("--seed", type=int, default=20240101, show_default=True)
@click.option("--n-background", type=int, default=1_000_000, show_default=True)
@click.option("--n-signal", type=int, default=1000, show_default=True)
@click.option("--method", type=click.Choice(["direct", "fit", "both"]), default="both",
              show_default=True)
@click.option("--eps-b", "eps_b", type=float, multiple=True,
              help="Working point (repeatable). Default: 1e-2, 1e-3, 1e-4.")
@click.option("--ranode", type=click.Choice(["small", "test", "paper", "none"]), default="small",
              show_default=True, help="R-ANODE configuration for the 3.5 TeV window (none: skip).")
@click.option("--scores", "score_method", type=click.Choice(["exact", "iad", "cwola"]),
              default="exact", show_default=True,
              help="Anomaly score: exact likelihood ratio, or trained IAD / CWoLa BDT ensembles.")
@click.option("--runs", type=int, default=2, show_default=True,
              help="Classifier runs for trained scores.")
@click.option("--bdt-preset", type=click.Choice(["fast", "default", "paper"]), default="fast",
              show_default=True, help="BDT ensemble size for trained scores (paper: 50 BDTs).")
@click.option("--write-scores", is_flag=True, help="Also write the score files used.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@bumpstat_errors
def demo(out, seed, n_background, n_signal, method, eps_b, ranode, score_method, runs, bdt_preset,
         write_scores, quiet) -> None:
    """Generate data with injected signal, score it, estimate delta_sys, scan, and report."""
    import numpy as np

    from bumpstat.demo import DemoConfig, run_demo

    methods = ("direct", "fit") if method == "both" else (method,)
    cfg = DemoConfig(n_background=n_background, n_signal=n_signal, n_template=n_background,
                     seed=seed, methods=methods, write_score_files=write_scores,
                     ranode=None if ranode == "none" else ranode, scores=score_method, runs=runs,
                     bdt_preset=bdt_preset,
                     **({"eps_b": tuple(eps_b)} if eps_b else {}))
    res = run_demo(out, cfg, progress=not quiet)
    best = res.scan.max_local()
    click.echo(f"largest local significance: Z = {float(np.nanmean(best.z)):.2f} in "
               f"{best.window.name} [{best.window.low:.2f}, {best.window.high:.2f}) TeV at "
               f"eps_b = {best.eps_b:g} ({best.method})")
    for name, path in res.files.items():
        click.echo(f"  {name}: {path}")
