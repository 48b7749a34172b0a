"""``bumpstat train-scores`` (IAD / CWoLa BDT ensembles) and ``bumpstat metrics`` (AUC, SIC)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from bumpstat.cli._common import bumpstat_errors, emit_json
from bumpstat.exceptions import InputError

__all__ = ["train_scores", "metrics"]


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise InputError(f"{what}: expected comma-separated numbers, got {text!r}") from err


def _windows(spec: str, width: float):
    from bumpstat.windows import sliding_windows

    if spec == "sliding":
        return sliding_windows(width=width) if width != 0.4 else sliding_windows()
    return sliding_windows(_floats(spec, "--windows"), width=width)


def _has_labels(path: str) -> bool:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            return "label" in z.files
    except (OSError, ValueError):
        return True  # read_events reports the problem


@click.command("train-scores")
@click.argument("events", type=click.Path(dir_okay=False))
@click.option("--method", type=click.Choice(["iad", "cwola"]), required=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="Score file to write (.h5/.hdf5 or .npz).")
@click.option("--template", type=click.Path(dir_okay=False), default=None,
              help="IAD: events file of the independent background sample.")
@click.option("--runs", type=int, default=1, show_default=True, help="Independent trainings.")
@click.option("--windows", "windows_spec", default="sliding", show_default=True,
              help="'sliding' (paper 003's 9 windows) or comma-separated centres in TeV.")
@click.option("--width", type=float, default=0.4, show_default=True, help="Window width (TeV).")
@click.option("--preset", type=click.Choice(["fast", "default", "paper"]), default="default",
              show_default=True, help="BDT ensemble preset (2 / 10 / 50 BDTs per fold).")
@click.option("--ensemble", type=int, default=None, help="BDTs per fold (overrides --preset).")
@click.option("--folds", type=int, default=5, show_default=True, help="k of the k-fold.")
@click.option("--features", default=None,
              help="Comma-separated feature names to use (default: all in the file).")
@click.option("--sideband-width", type=float, default=0.2, show_default=True,
              help="CWoLa short-sideband width (TeV).")
@click.option("--score-range", default=None,
              help="'lo,hi' TeV: also score data in this range outside each window.")
@click.option("--threads", type=int, default=1, show_default=True,
              help="OpenMP threads per BDT fit (0: all cores).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--progress/--no-progress", default=True, show_default=True)
@bumpstat_errors
def train_scores(events, method, out, template, runs, windows_spec, width, preset, ensemble, folds,
                 features, sideband_width, score_range, threads, seed, progress) -> None:
    """Train IAD or CWoLa BDT ensembles on EVENTS (.npz: m, x, [label], [feature_names]) and
    write a score file; prints a JSON summary."""
    from bumpstat.classifiers.bdt import BDTConfig
    from bumpstat.data.files import read_events
    from bumpstat.methods.cwola import cwola_score_file
    from bumpstat.methods.iad import iad_score_file
    from bumpstat.scores.io import write_scores

    config = BDTConfig.preset(preset).with_(n_folds=folds, n_threads=threads or None)
    if ensemble is not None:
        config = config.with_(n_models=ensemble)
    feats = None if features is None else [f.strip() for f in features.split(",") if f.strip()]
    rng = None
    if score_range is not None:
        vals = _floats(score_range, "--score-range")
        if len(vals) != 2:
            raise InputError(f"--score-range needs 'lo,hi', got {score_range!r}")
        rng = (vals[0], vals[1])
    wins = _windows(windows_spec, width)
    data = read_events(events)
    kw = dict(runs=runs, config=config, seed=seed, features=feats, score_range=rng,
              progress=progress)
    if method == "iad":
        if template is None:
            raise InputError("--method iad needs --template EVENTS (an independent background "
                             "sample)")
        sf = iad_score_file(data, read_events(template), wins, **kw)
    else:
        if template is not None:
            raise InputError("--method cwola takes its template from the sidebands; drop "
                             "--template")
        sf = cwola_score_file(data, wins, sideband_width=sideband_width, **kw)
    if not _has_labels(events):
        sf = replace(sf, windows=tuple(
            replace(w, data=replace(w.data, label=None)) for w in sf.windows))
    sf = sf.with_metadata(events=str(events), template_file=template)
    write_scores(out, sf)
    emit_json({
        "scores": str(out),
        "method": sf.method,
        "runs": sf.n_runs,
        "windows": list(sf.window_names),
        "features": sf.metadata["features"],
        "config": config.to_dict(),
        "train_seconds": {k: v["train_seconds"] for k, v in sf.metadata["windows"].items()},
    })


@click.command("metrics")
@click.argument("scores", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the only output format).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the JSON.")
@click.option("--plot", "plot_dir", type=click.Path(file_okay=False), default=None,
              help="Write SIC plots (sic_<method>_<window>.png) to this directory.")
@click.option("--eps-b", type=float, default=1e-3, show_default=True,
              help="Working point of 'SIC at eps_B'.")
@click.option("--max-rel-error", type=float, default=0.2, show_default=True,
              help="SIC-curve cut on the relative statistical error of eps_B.")
@bumpstat_errors
def metrics(scores, as_json, out, plot_dir, eps_b, max_rel_error) -> None:
    """AUC, max SIC and SIC at eps_B (median and 68% band over runs) per window of labelled
    score files. Signal = SR data with label 1, background = SR data with label 0."""
    from bumpstat.metrics.roc import score_file_metrics
    from bumpstat.scores.io import read_scores

    reports = []
    for path in scores:
        sf = read_scores(path)
        rep = score_file_metrics(sf, eps_b=eps_b, max_rel_error=max_rel_error).to_dict()
        rep["scores"] = str(path)
        reports.append(rep)
        if plot_dir is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from bumpstat.plotting.metrics import plot_sic

            for ws in sf.windows:
                sr = ws.signal_region()
                if sr.label is None or not (sr.label == 1).any() or not (sr.label == 0).any():
                    continue
                name = f"sic_{sf.method or 'scores'}_{ws.window.name}.png"
                fig = plot_sic(ws, label=f"{sf.method} {ws.window.name}",
                               max_rel_error=max_rel_error, path=Path(plot_dir) / name)
                plt.close(fig)
    emit_json(reports[0] if len(reports) == 1 else {"methods": reports}, out=out)
