"""``bumpstat convert``: a score file from your own scored events (ROOT, parquet, CSV, NPZ).

Thin layer over :func:`bumpstat.scores.convert.from_table`: reads the data table from INPUT
and the background template from ``--template`` (default: INPUT, another ``--template-tree``),
maps the columns, and writes the score file atomically (``.h5`` or ``.npz``).
"""

from __future__ import annotations

from pathlib import Path

import click

from bumpstat.cli._common import (
    MultiValueOption,
    command_errors,
    info,
    json_option,
    output_option,
    quiet_option,
)
from bumpstat.exceptions import InputError

__all__ = ["convert"]


def _windows(specs: tuple[str, ...]) -> list[tuple[float, float, str]] | None:
    """``NAME:LOW:HIGH`` or ``LOW:HIGH`` strings -> window tuples."""
    if not specs:
        return None
    out = []
    for i, spec in enumerate(specs):
        parts = spec.split(":")
        try:
            if len(parts) == 3:
                out.append((float(parts[1]), float(parts[2]), parts[0]))
            elif len(parts) == 2:
                out.append((float(parts[0]), float(parts[1]), f"SR{i + 1}"))
            else:
                raise ValueError(spec)
        except ValueError as err:
            raise InputError(f"--window must be NAME:LOW:HIGH or LOW:HIGH (in --mass-unit), "
                             f"got {spec!r}") from err
    return out


@click.command("convert")
@click.argument("input_file", metavar="INPUT", type=click.Path(exists=True, dir_okay=False))
@output_option(required=True, help="Score file to write (.h5 or .npz).")
@click.option("--tree", default=None, metavar="NAME",
              help="Data tree in a ROOT INPUT (default: its only tree).")
@click.option("--template", "template_file", default=None,
              type=click.Path(exists=True, dir_okay=False),
              help="File with the background-template events (default: INPUT).")
@click.option("--template-tree", default=None, metavar="NAME",
              help="Template tree in a ROOT file (default: its only tree).")
@click.option("--m", "m_col", default="m", show_default=True, metavar="COL",
              help="Column of the resonant mass of the data events (in --mass-unit).")
@click.option("--score", "score_cols", cls=MultiValueOption, required=True, metavar="COL",
              help="Score column(s), one per classifier run; '{window}' in a name becomes "
                   "the window's name.")
@click.option("--template-score", "template_score_cols", cls=MultiValueOption, metavar="COL",
              help="Template score columns (default: the --score names).")
@click.option("--label", default=None, metavar="COL", help="Truth label column (1 = signal).")
@click.option("--weight", default=None, metavar="COL", help="Data event-weight column.")
@click.option("--fold", default=None, metavar="COL",
              help="k-fold index of the model that scored each event (scores out of fold).")
@click.option("--event-id", default=None, metavar="COL", help="Integer event-id column.")
@click.option("--template-weight", default=None, metavar="COL",
              help="Template weight column (e.g. 1/oversampling for a CATHODE template).")
@click.option("--template-m", default=None, metavar="COL", help="Template mass column.")
@click.option("--template-event-id", default=None, metavar="COL",
              help="Template event-id column.")
@click.option("--template-select", default="all", show_default=True,
              metavar="all|mass|column:COL",
              help="Template events of each window: all, those inside the window (mass), or "
                   "those whose COL equals the window name.")
@click.option("--window", "window_specs", multiple=True, metavar="NAME:LOW:HIGH",
              help="A signal-region window in --mass-unit (repeat; default: the 9 sliding "
                   "windows 3.1-3.9 TeV).")
@click.option("--mass-unit", type=click.Choice(["TeV", "GeV"]), default="TeV", show_default=True,
              help="Unit of the masses and --window edges; the score file stores TeV.")
@click.option("--method", default="", metavar="NAME",
              help="Name of the method that produced the scores (stored in the file).")
@json_option
@quiet_option
@command_errors
def convert(input_file, output, tree, template_file, template_tree, m_col, score_cols,
            template_score_cols, label, weight, fold, event_id, template_weight, template_m,
            template_event_id, template_select, window_specs, mass_unit, method, as_json,
            quiet):
    """Write a score file from scored events in a ROOT tree, parquet, CSV or NPZ table."""
    from bumpstat.outputs import check_not_input
    from bumpstat.scores.convert import from_table, read_table
    from bumpstat.scores.io import write_scores
    from bumpstat.serialize import dumps

    check_not_input(output, [input_file, template_file], option="--output")
    if template_file is None and tree is not None and template_tree is None:
        raise InputError("the template is read from INPUT: name its tree with --template-tree")
    if Path(output).suffix.lower() not in (".h5", ".hdf5", ".hdf", ".npz"):
        raise InputError(f"--output {str(output)!r} must end in .h5 or .npz")
    data = read_table(input_file, tree=tree)
    template = read_table(template_file or input_file, tree=template_tree)
    sf = from_table(
        data, template, m=m_col, scores=list(score_cols),
        template_scores=list(template_score_cols) or None, label=label, weight=weight,
        fold=fold, event_id=event_id, template_weight=template_weight, template_m=template_m,
        template_event_id=template_event_id, template_select=template_select,
        windows=_windows(window_specs), mass_unit=mass_unit, method=method,
        metadata={"source": str(input_file), "template_source": str(template_file or input_file)},
    )
    path = write_scores(output, sf)
    summary = {"output": str(path), "method": sf.method, "n_runs": sf.n_runs,
               "windows": [{"name": w.window.name, "low": w.window.low, "high": w.window.high,
                            "n_data_sr": int(w.window.contains(w.data.m).sum()),
                            "n_template": w.template.n_events} for w in sf.windows]}
    if as_json:
        click.echo(dumps(summary))
    info(f"wrote {path}: {len(sf.windows)} window(s), {sf.n_runs} run(s), "
         f"{sf.windows[0].data.n_events} data events, masses in TeV", quiet=quiet)
