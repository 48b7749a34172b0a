"""``bumpstat train-scores`` (score producers on an events file) and ``bumpstat metrics``
(AUC, SIC of labelled score files).

``train-scores`` reads the events (and ``--reference``, the independent background sample of
IAD), builds the producer with :func:`bumpstat.producers.get_producer` and writes the score file
to ``-o/--output`` (alias ``--out``). ``metrics`` prints a summary or ``--json``, writes the
JSON with ``-o`` and, with ``--out DIR``, SIC plots and ``metrics.json`` into ``DIR``.
"""

from __future__ import annotations

from pathlib import Path

import click

from bumpstat.cli._common import (
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

__all__ = ["train_scores", "metrics"]

_SCORE_SUFFIXES = (".h5", ".hdf5", ".hdf", ".npz")


def _check_scores_name(path: Path, option: str) -> None:
    if path.suffix.lower() not in _SCORE_SUFFIXES:
        raise InputError(f"{option} {str(path)!r}: a score file must end in .h5, .hdf5 or .npz")


@click.command("train-scores")
@click.argument("events", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--method", type=click.Choice(["iad", "cwola", "ranode", "cathode", "lacathode",
                                            "anode", "salad", "ae"]), required=True,
              help="Score producer (bumpstat.producers).")
@output_option(required=True, extra_names=("--out",),
               help="Score file to write (.h5/.hdf5 or .npz); --out is an alias.")
@click.option("--reference", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="IAD: events file of the independent background sample.")
@click.option("--simulation", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SALAD: events file of the simulated background sample.")
@click.option("--runs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Independent trainings.")
@click.option("--windows", "windows_spec", default="sliding", show_default=True,
              help="'sliding' (the 9 windows of Das et al., arXiv:2411.00085) or "
                   "comma-separated centres in TeV.")
@click.option("--width", type=float, default=0.4, show_default=True, help="Window width (TeV).")
@click.option("--preset", default=None,
              help="iad/cwola: fast|default|paper (2/10/50 BDTs per fold); ranode: "
                   "test|small|paper; cathode/lacathode/anode/salad/ae: test|fast|paper "
                   "(default fast).")
@click.option("--ensemble", type=click.IntRange(min=1), default=None,
              help="BDTs per fold (overrides the preset).")
@click.option("--folds", type=click.IntRange(min=2), default=None,
              help="k of the k-fold (default: the preset's).")
@click.option("--features", default=None,
              help="iad/cwola: comma-separated feature names (default: all in the file).")
@click.option("--sideband-width", type=float, default=None,
              help="Short-sideband width in TeV (cwola; ranode with short sidebands).")
@click.option("--score-range", default=None,
              help="'lo,hi' TeV: also score data in this range outside each window.")
@click.option("--threads", type=click.IntRange(min=0), default=None,
              help="Threads per fit (BDT: 0 = all cores; default 1 for BDTs, 2 for flows).")
@seed_option()
@json_option
@quiet_option
@command_errors
def train_scores(events, method, output, reference, simulation, runs, windows_spec, width,
                 preset, ensemble, folds, features, sideband_width, score_range, threads, seed,
                 as_json, quiet) -> None:
    """Score the events in EVENTS (.npz: m, x, feature_names, [label], [weight]) with a score
    producer and write the score file."""
    from bumpstat.data.files import read_events
    from bumpstat.outputs import check_not_input
    from bumpstat.producers import get_producer, parse_mass_range, parse_window_spec
    from bumpstat.scores.io import write_scores

    check_not_input(output, [events, reference, simulation], option="--output")
    _check_scores_name(output, "--output")
    if simulation is not None:
        if method != "salad":
            raise InputError(f"--simulation is for --method salad, not {method}")
        if reference is not None:
            raise InputError("--method salad takes the simulated sample as --simulation, "
                             "not --reference")
        reference = simulation
    elif method == "salad" and reference is not None:
        raise InputError("--method salad takes the simulated sample as --simulation FILE")
    if method in _NEW_CONFIGS:
        options: dict = {"config": _new_config(method, preset, ensemble, folds, threads)}
        if sideband_width is not None:
            options["sideband_width"] = sideband_width
    else:
        options = {"preset": preset}
        for key, value in (("n_models", ensemble), ("n_folds", folds),
                           ("sideband_width", sideband_width)):
            if value is not None:
                options[key] = value
        if threads is not None:
            options["n_threads"] = threads or None
    if features is not None:
        options["features"] = [f.strip() for f in features.split(",") if f.strip()]
    producer = get_producer(method, **options)
    windows = parse_window_spec(windows_spec, width=width)
    rng = None if score_range is None else parse_mass_range(score_range, "--score-range")
    if reference is not None and not producer.needs_reference:
        raise InputError(f"--method {method} builds its own template; drop --reference")
    if reference is None and producer.needs_reference:
        what = ("--simulation EVENTS (the simulated background sample)" if method == "salad"
                else "--reference EVENTS (an independent background sample)")
        raise InputError(f"--method {method} needs {what}")
    data = read_events(events)
    ref = None if reference is None else read_events(reference)
    sf = producer.produce(data, windows, runs=runs, seed=seed, reference=ref, score_range=rng,
                          progress=not quiet)
    sf = sf.with_metadata(events=str(events), reference_file=None if reference is None
                          else str(reference))
    write_scores(output, sf)
    summary = {"scores": str(output), "method": sf.method, "runs": sf.n_runs,
               "windows": list(sf.window_names), "features": sf.metadata["features"],
               "options": sf.metadata["options"], "seed": seed,
               "details": sf.metadata["windows"]}
    if as_json:
        emit_json(summary)
    info(f"wrote {output} ({sf.method}, {len(sf.windows)} window(s), {sf.n_runs} run(s))",
         quiet=quiet)


_NEW_CONFIGS = ("cathode", "lacathode", "anode", "salad", "ae")


def _new_config(method, preset, ensemble, folds, threads):
    """The configuration of the flow producers and the autoencoder from the CLI options."""
    if method == "ae":
        from bumpstat.flows.autoencoder import AEConfig as cls
    else:
        from bumpstat.producers import FlowMethodConfig as cls
    changes = {k: v for k, v in (("n_models", ensemble), ("n_folds", folds)) if v is not None}
    if threads is not None:
        changes["n_threads"] = threads or None
    try:
        return cls.preset(preset or "fast").with_(**changes)
    except InputError as err:
        raise InputError(f"--preset/--ensemble/--folds: {err}") from err


def _summary(rep) -> str:
    from bumpstat.metrics.report import sic_key

    key = sic_key(rep.eps_b_ref)
    lines = [f"{rep.source or 'scores'} ({rep.method}, {rep.n_runs} run(s)):"]
    for w in rep.to_dict()["windows"]:
        name = w["window"]["name"]
        if not w["has_signal"]:
            lines.append(f"  {name}: no signal events in the SR (labels all 0); AUC data vs "
                         f"template {w['auc_data_vs_template']:.4f}")
            continue
        lines.append(f"  {name}: AUC {w['auc']:.4f}  max SIC {w['max_sic']:.2f}  {key} "
                     f"{w[key]:.2f}  (signal {w['n_signal']}, background {w['n_background']})")
    return "\n".join(lines)


@click.command("metrics")
@click.argument("scores", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@json_option
@output_option(help="Write the metrics JSON to this file (atomically).")
@out_dir_option(required=False, help="Write SIC plots (sic_<method>_<window>.png) and "
                                     "metrics.json into this directory.")
@click.option("--eps-b", type=click.FloatRange(0, 1, min_open=True), default=1e-3,
              show_default=True, help="Working point of 'SIC at eps_B'.")
@click.option("--max-rel-error", type=click.FloatRange(0, min_open=True), default=0.2,
              show_default=True, help="SIC-curve cut on the relative statistical error of eps_B.")
@quiet_option
@command_errors
def metrics(scores, as_json, output, out, eps_b, max_rel_error, quiet) -> None:
    """AUC, max SIC and SIC at eps_B (median and 68% band over runs) per window of labelled
    score files. Signal = SR data with label 1, background = SR data with label 0."""
    from bumpstat.metrics.report import score_file_metrics
    from bumpstat.scores.io import read_scores

    if output is not None:
        from bumpstat.outputs import check_not_input

        check_not_input(output, scores, option="--output")
    files = [read_scores(p) for p in scores]
    reports = [score_file_metrics(sf, eps_b=eps_b, max_rel_error=max_rel_error) for sf in files]
    payload = reports[0].to_dict() if len(reports) == 1 else {
        "methods": [r.to_dict() for r in reports]}
    if as_json:
        emit_json(payload)
    else:
        click.echo("\n".join(_summary(r) for r in reports))
    if output is not None:
        write_output_json(output, payload, inputs=scores)
        info(f"wrote {output}", quiet=quiet)
    if out is not None:
        from bumpstat.outputs import OutputDir
        from bumpstat.plotting.metrics import write_sic_plots

        od = OutputDir(out, inputs=scores)
        for sf in files:
            write_sic_plots(sf, od, max_rel_error=max_rel_error)
        od.write_json("metrics.json", payload)
        od.finish()
        info(f"wrote {len(od.written)} file(s) to {out}", quiet=quiet)
