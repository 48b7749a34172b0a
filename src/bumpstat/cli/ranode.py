"""``bumpstat ranode``: the R-ANODE signal-fraction fit and flow training.

``bumpstat ranode fit DENSITIES`` reads per-event ``log_p_sig``/``log_p_bg`` (``.npz`` or HDF5,
:func:`bumpstat.data.densities.read_density_file`) and fits w
(:func:`bumpstat.stats.mixture.fit_signal_fraction`): a summary, or the result as strict JSON
with ``--json``; ``-o/--output FILE`` writes the JSON. ``bumpstat ranode train EVENTS --out
DIR`` trains the flows (the ``flows`` extra, :func:`bumpstat.flows.ranode.run_ranode`) and
writes ``DIR/densities.npz`` and ``DIR/ranode.json``.
"""

from __future__ import annotations

from pathlib import Path

import click

from bumpstat.cli._common import (
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

__all__ = ["ranode"]


def _summary(fit: dict) -> str:
    def num(v, fmt):
        return "inf/undefined" if v is None else format(v, fmt)

    lo, hi = fit["w_interval_68"]
    lines = [
        f"w_hat = {fit['w_hat']:.6g}  68% [{lo:.6g}, {hi:.6g}]  upper limit "
        f"({100 * fit['cl']:g}% CL) w < {fit['upper_limit_w']:.6g}, "
        f"N_sig < {fit['upper_limit']:.1f}",
        f"N_sig,SR = {fit['n_sig_hat']:.1f} of {fit['sum_weights']:.0f}  "
        f"q0 = {num(fit['q0'], '.4g')}  z = {num(fit['z'], '+.3f')}  "
        f"p = Phi(-z) = {fit['p_value']:.3g}",
    ]
    if not fit["valid"]:
        lines.append(f"NOT VALID: {fit['reason']}")
    return "\n".join(lines)


@click.group()
def ranode() -> None:
    """R-ANODE mixture-likelihood fit of the signal fraction w (Das, Kasieczka and Shih,
    arXiv:2312.11629)."""


@ranode.command("fit")
@click.argument("densities", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@output_option(help="Write the JSON result to this file (atomically).")
@click.option("--group", default=None, help="HDF5 group holding the arrays (HDF5 files only).")
@click.option("--w-min", type=float, default=0.0, show_default=True, help="Lower bound on w.")
@click.option("--w-max", type=float, default=1.0, show_default=True, help="Upper bound on w.")
@click.option("--cl", type=click.FloatRange(0.5, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Confidence level of the upper limit.")
@quiet_option
@command_errors
def fit_cmd(densities, as_json, output, group, w_min, w_max, cl, quiet) -> None:
    """Fit w from per-event log-densities in DENSITIES (.npz or .h5 with log_p_sig, log_p_bg,
    optional weights)."""
    from bumpstat.data.densities import read_density_file
    from bumpstat.exceptions import InputError
    from bumpstat.serialize import jsonable
    from bumpstat.stats.mixture import fit_signal_fraction

    check_outputs([densities], output=output)
    data = read_density_file(densities, group=group)
    try:
        res = fit_signal_fraction(data["log_p_sig"], data["log_p_bg"],
                                  weights=data.get("weights"), w_bounds=(w_min, w_max), cl=cl)
    except InputError as err:
        raise InputError(f"density file {str(densities)!r}: {err}") from err
    payload = jsonable({"file": str(densities), **res.to_dict()})
    if as_json:
        emit_json(payload)
    else:
        click.echo(_summary(payload))
    if output is not None:
        write_output_json(output, payload, inputs=[densities])
        info(f"wrote {output}", quiet=quiet)


@ranode.command("train")
@click.argument("events", type=click.Path(dir_okay=False, path_type=Path))
@out_dir_option(help="Directory for densities.npz and ranode.json.")
@click.option("--window", nargs=2, type=float, default=(3.3, 3.7), show_default=True,
              help="Signal region low high in TeV.")
@click.option("--sideband", type=click.Choice(["full", "short"]), default="full",
              show_default=True, help="Sidebands the background flow is trained on.")
@click.option("--sb-width", type=float, default=0.2, show_default=True,
              help="Width of short sidebands (TeV).")
@click.option("--range", "fit_range", nargs=2, type=float, default=(2.8, 5.2),
              show_default=True, help="Analysis range in m (TeV) for full sidebands.")
@click.option("--preset", "--config", "preset", type=click.Choice(["test", "small", "paper"]),
              default="small", show_default=True,
              help="Flow sizes and training: test (seconds, for unit tests: its results are "
                   "marked not valid), small (CPU demonstrations), paper (the sizes of Das, "
                   "Kasieczka and Shih, arXiv:2312.11629, App. A; hours on CPU).")
@seed_option()
@click.option("--fixed-w", type=float, default=None,
              help="Hold w fixed at this value during training (default: learnable w).")
@json_option
@quiet_option
@command_errors
def train_cmd(events, out, window, sideband, sb_width, fit_range, preset, seed, fixed_w,
              as_json, quiet) -> None:
    """Train R-ANODE flows on EVENTS (.npz with m [TeV], x [n, d], optional label).

    Writes DIR/densities.npz (log_p_sig, log_p_bg, score = log R, m, x, sr_index[, label] of
    the SR events; readable by `bumpstat ranode fit`) and DIR/ranode.json (config, learned w,
    undetected-signal flags, the w fit, timings).
    """
    from bumpstat.data.files import read_events
    from bumpstat.flows.ranode import RanodeConfig, run_ranode
    from bumpstat.outputs import OutputDir
    from bumpstat.windows import Window

    cfg = RanodeConfig.preset(preset)
    if fixed_w is not None:
        cfg = cfg.replace(learn_w=False, w_init=fixed_w)
    win = Window(*window)
    ev = read_events(events)  # bad input ends here, before the output directory is touched
    od = OutputDir(out, inputs=[events])
    res = run_ranode(ev.m, ev.x, window=win, sideband=sideband, sb_width=sb_width,
                     fit_range=tuple(fit_range), config=cfg, seed=seed, progress=not quiet)
    dens = res.write_densities(od.file("densities.npz"), label=ev.label)
    payload = {"events": str(events), "densities": str(dens), **res.to_dict()}
    od.write_json("ranode.json", payload)
    od.finish()
    if as_json:
        emit_json(payload)
    else:
        click.echo(_summary(payload["fit"]) + f"\nlearned w (training) = {res.w_learned:.4g}")
    if not res.valid and res.reason != payload["fit"].get("reason"):
        # the whole result (preset, learned densities), beyond the w fit's own validity
        info(f"NOT VALID: {res.reason}", quiet=False)
    info(f"wrote {dens} and {od.root / 'ranode.json'}", quiet=quiet)
