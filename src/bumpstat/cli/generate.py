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


#: Peak memory per generated event (measured: 1M and 2M events need 294 and 467 MB).
_BYTES_PER_EVENT = 200


def _check_memory(n_events: int) -> None:
    """Refuse up front a sample that cannot fit in the available memory (no OOM kill)."""
    from bumpstat.parallel import available_memory

    avail = available_memory()
    need = n_events * _BYTES_PER_EVENT
    if avail is not None and need > avail:
        raise InputError(f"--n-background/--n-signal/--n-template ask for {n_events:.3g} events, "
                         f"about {need / 1e9:.3g} GB of memory; {avail / 1e9:.3g} GB are "
                         "available")


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
    from bumpstat.outputs import check_output

    check_output(check_events_name(output), "--output")
    if scores is not None:
        if scores.resolve() == output.resolve():
            raise InputError(f"--scores and --output name the same file {str(output)!r}; "
                             "choose two names")
        if scores.suffix.lower() not in (".h5", ".hdf5", ".hdf", ".npz"):
            raise InputError(f"--scores {str(scores)!r}: a score file must end in .h5, .hdf5 "
                             "or .npz")
        check_output(scores, "--scores")
    _check_memory(n_background + n_signal + (n_template if scores is not None else 0))
    gen = SyntheticLHCO(variant=variant, shifted=shifted, delta_r=delta_r)
    ev = gen.sample(n_background=n_background, n_signal=n_signal, seed=seed)
    summary = {"events": str(output), "n_events": len(ev), "n_signal": ev.n_signal,
               "features": list(ev.feature_names), "variant": variant, "seed": seed}
    sf = None
    if scores is not None:  # scored before anything is written: a failure leaves no file
        from bumpstat.producers.exact import ExactProducer
        from bumpstat.windows import sliding_windows

        tmpl = gen.sample_background(n_template, seed=seed + 1)
        sf = ExactProducer(gen).produce(ev, sliding_windows(), reference=tmpl,
                                        progress=not quiet)
        summary["scores"] = str(scores)
    write_events(output, ev)
    if sf is not None:
        from bumpstat.scores.io import write_scores

        write_scores(scores, sf)
    if as_json:
        emit_json(summary)
    info(f"wrote {output}" + (f" and {scores}" if scores is not None else ""), quiet=quiet)
