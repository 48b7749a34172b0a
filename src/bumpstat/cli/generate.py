"""``bumpstat generate``: synthetic LHCO-like events, optionally scored with the exact ratio.

Writes exactly ``-o/--output`` (an ``.npz`` events file: ``m``, ``x``, ``feature_names``,
``label``) and, with ``--scores``, an exact-likelihood-ratio score file for the nine sliding
windows of Das et al. (arXiv:2411.00085) with an independent background template (seed + 1).
"""

from __future__ import annotations

from pathlib import Path

import click

from bumpstat.cli._common import (
    command_errors,
    emit_json,
    info,
    json_option,
    output_option,
    quiet_option,
    seed_option,
)
from bumpstat.exceptions import InputError

__all__ = ["generate"]


@click.command()
@output_option(required=True, extra_names=("--out",),
               help="Events file to write (.npz: m, x, label, feature_names).")
@click.option("--n-background", type=click.IntRange(min=0), default=1_000_000, show_default=True)
@click.option("--n-signal", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--variant", type=click.Choice(["nominal", "alternative"]), default="nominal",
              show_default=True, help="alternative plays a second simulator (for delta_sys^MC).")
@click.option("--shifted", is_flag=True, help="Strongly m-correlated features (x + 0.1 m).")
@click.option("--delta-r", is_flag=True, help="Add the m-correlated Delta R_JJ feature.")
@seed_option(default=1)
@click.option("--scores", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write an exact-likelihood-ratio score file (.h5/.npz) for the 9 "
                   "sliding windows, with an independent background template.")
@click.option("--n-template", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Template size for --scores.")
@json_option
@quiet_option
@command_errors
def generate(output, n_background, n_signal, variant, shifted, delta_r, seed, scores,
             n_template, as_json, quiet) -> None:
    """Generate synthetic events (and optionally exact-ratio scores)."""
    from bumpstat.data import SyntheticLHCO
    from bumpstat.data.files import check_events_name, write_events
    check_events_name(output)
    if scores is not None:
        if scores.resolve() == output.resolve():
            raise InputError(f"--scores and --output name the same file {str(output)!r}; "
                             "choose two names")
        if scores.suffix.lower() not in (".h5", ".hdf5", ".hdf", ".npz"):
            raise InputError(f"--scores {str(scores)!r}: a score file must end in .h5, .hdf5 "
                             "or .npz")
    gen = SyntheticLHCO(variant=variant, shifted=shifted, delta_r=delta_r)
    ev = gen.sample(n_background=n_background, n_signal=n_signal, seed=seed)
    write_events(output, ev)
    summary = {"events": str(output), "n_events": len(ev), "n_signal": ev.n_signal,
               "features": list(ev.feature_names), "variant": variant, "seed": seed}
    if scores is not None:
        from bumpstat.producers.exact import ExactProducer
        from bumpstat.scores.io import write_scores
        from bumpstat.windows import sliding_windows

        tmpl = gen.sample_background(n_template, seed=seed + 1)
        write_scores(scores, ExactProducer(gen).produce(ev, sliding_windows(), reference=tmpl,
                                                        progress=not quiet))
        summary["scores"] = str(scores)
    if as_json:
        emit_json(summary)
    info(f"wrote {output}" + (f" and {scores}" if scores is not None else ""), quiet=quiet)
