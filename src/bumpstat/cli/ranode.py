"""``bumpstat ranode``: the R-ANODE signal-fraction fit and flow training.

``bumpstat ranode fit DENSITIES`` reads per-event ``log_p_sig``/``log_p_bg`` (``.npz`` or HDF5,
see :func:`bumpstat.ranode.likelihood.read_density_file`) and prints/writes the fit as JSON.
``bumpstat ranode train EVENTS`` trains the flows (needs the ``flows`` extra) and writes the
density file plus the fit JSON.
"""

from __future__ import annotations

from pathlib import Path

import click

from bumpstat.cli._common import emit_json
from bumpstat.exceptions import BumpstatError

__all__ = ["ranode"]


def _emit(payload: dict, *, as_json: bool, out: Path | None, summary: str) -> None:
    emit_json(payload, out=out, echo=as_json)
    if not as_json:
        click.echo(summary)
        if out is not None:
            click.echo(f"wrote {out}")


def _summary(fit: dict) -> str:
    lo, hi = fit["w_interval_68"]
    return (
        f"w_hat = {fit['w_hat']:.6g}  68% [{lo:.6g}, {hi:.6g}]  w_upper_95 = "
        f"{fit['w_upper_95']:.6g}\n"
        f"N_sig,SR = {fit['n_sig_hat']:.1f} of {fit['sum_weights']:.0f}  "
        f"q0 = {fit['q0']:.4g}  Z = {fit['z']:.3f}  p = {fit['p_value']:.3g}"
        + ("" if fit["converged"] else "  (NOT CONVERGED)")
    )


@click.group()
def ranode() -> None:
    """R-ANODE mixture-likelihood fit of the signal fraction w (paper 002)."""


@ranode.command("fit")
@click.argument("densities", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the JSON result to this file.")
@click.option("--group", default=None, help="HDF5 group holding the arrays (default: root).")
@click.option("--w-min", type=float, default=0.0, show_default=True, help="Lower bound on w.")
@click.option("--w-max", type=float, default=1.0, show_default=True, help="Upper bound on w.")
def fit_cmd(
    densities: Path, as_json: bool, out: Path | None, group: str | None, w_min: float,
    w_max: float,
) -> None:
    """Fit w from per-event log-densities in DENSITIES (.npz or .h5 with log_p_sig, log_p_bg,
    optional weights)."""
    from bumpstat.ranode.likelihood import fit_signal_fraction, read_density_file

    try:
        data = read_density_file(densities, group=group)
        res = fit_signal_fraction(
            data["log_p_sig"], data["log_p_bg"], weights=data.get("weights"),
            w_bounds=(w_min, w_max),
        )
    except BumpstatError as err:
        raise click.ClickException(f"{densities}: {err}") from err
    payload = {"file": str(densities), **res.to_dict()}
    _emit(payload, as_json=as_json, out=out, summary=_summary(payload))


@ranode.command("train")
@click.argument("events", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--window", nargs=2, type=float, default=(3.3, 3.7), show_default=True,
              help="Signal region low high in TeV.")
@click.option("--sideband", type=click.Choice(["full", "short"]), default="full",
              show_default=True, help="Sidebands the background flow is trained on.")
@click.option("--sb-width", type=float, default=0.2, show_default=True,
              help="Width of short sidebands (TeV).")
@click.option("--range", "fit_range", nargs=2, type=float, default=(2.8, 5.2),
              show_default=True, help="Analysis range in m (TeV) for full sidebands.")
@click.option("--config", "config_name", type=click.Choice(["test", "small", "paper"]),
              default="small", show_default=True, help="Preset of flow sizes and training.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--fixed-w", type=float, default=None,
              help="Hold w fixed at this value during training (default: learnable w).")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("ranode_out"), show_default=True)
@click.option("--no-progress", is_flag=True, help="Disable progress bars.")
@click.option("--json", "as_json", is_flag=True, help="Print the result JSON to stdout.")
def train_cmd(
    events: Path, window: tuple[float, float], sideband: str, sb_width: float,
    fit_range: tuple[float, float], config_name: str, seed: int, fixed_w: float | None,
    out_dir: Path, no_progress: bool, as_json: bool,
) -> None:
    """Train R-ANODE flows on EVENTS (.npz/.h5 with m [TeV], x [n, d], optional label).

    Writes OUT_DIR/densities.npz (log_p_sig, log_p_bg, score = log R, m, x[, label] for the SR
    events; readable by `bumpstat ranode fit`) and OUT_DIR/ranode.json (config, learned w,
    undetected-signal flags, the w fit, timings).
    """
    from bumpstat.data.files import read_events
    from bumpstat.ranode.train import RanodeConfig, run_ranode
    from bumpstat.windows import Window

    try:
        ev = read_events(events)
        cfg = RanodeConfig.preset(config_name)
        if fixed_w is not None:
            cfg = cfg.replace(learn_w=False, w_init=fixed_w)
        res = run_ranode(
            ev.m, ev.x, window=Window(*window), sideband=sideband, sb_width=sb_width,
            fit_range=fit_range, config=cfg, seed=seed, progress=not no_progress,
        )
    except BumpstatError as err:
        raise click.ClickException(f"{events}: {err}") from err
    out_dir.mkdir(parents=True, exist_ok=True)
    dens = out_dir / "densities.npz"
    res.write_densities(dens, label=ev.label)
    payload = {"events": str(events), "densities": str(dens), **res.to_dict()}
    _emit(payload, as_json=as_json, out=out_dir / "ranode.json",
          summary=_summary(payload["fit"]) + f"\nlearned w (training) = {res.w_learned:.4g}")
