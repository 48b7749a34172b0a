"""``bumpstat study``: signal-injection studies (``bumpstat study injection``)."""

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
from bumpstat.exceptions import InputError

__all__ = ["study", "injection"]


@click.group()
def study() -> None:
    """Studies over injected signal, seeds, score producers and background methods."""


def _opts(values: tuple[str, ...]) -> dict:
    out: dict = {}
    for text in values:
        key, sep, val = text.partition("=")
        if not sep or not key:
            raise InputError(f"--producer-option {text!r} must look like NAME=VALUE")
        try:
            out[key] = int(val)
        except ValueError:
            try:
                out[key] = float(val)
            except ValueError:
                out[key] = val
    return out


@study.command("injection")
@out_dir_option(help="Study directory: study.json, figures, timing.json and points/ (kept "
                     "for resuming and for larger studies).")
@click.option("--n-signal", "n_signal", type=int, cls=MultiValueOption,
              help="Injected signal events (one or more). Default: 0 100 200 300 500 1000.")
@click.option("--s-over-sqrt-b", "s_over_sqrt_b", type=float, cls=MultiValueOption,
              help="Injections given as S/sqrt(B) in the 3.3-3.7 TeV window instead of "
                   "--n-signal (converted with the --size background).")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Seeds (pseudo-data sets) per injection level.")
@click.option("--scores", "scores", cls=MultiValueOption,
              help="Score producers (one or more of bumpstat.producers.PRODUCERS, e.g. exact "
                   "iad cwola ranode). Default: exact.")
@click.option("--methods", "methods", cls=MultiValueOption,
              type=click.Choice(["direct", "fit"]),
              help="Background methods (one or more). Default: direct.")
@click.option("--size", type=click.Choice(["tiny", "small", "paper"]), default="small",
              show_default=True,
              help="tiny: 50k background events, 300 toys, test presets (checks, reduced "
                   "reproductions); small: 200k background events, 2 working points, 1000 "
                   "global toys (exact score ~3 s per point per core; BDTs ~1-2 min); paper: "
                   "1M events, 3 working points, 10000 toys, paper presets (hours per trained "
                   "point).")
@click.option("--windows", "windows_spec", default="sliding", show_default=True,
              help="'sliding' (the nine windows of Das et al., arXiv:2411.00085) or "
                   "comma-separated centres in TeV (the true window is the one centred nearest "
                   "3.5 TeV).")
@click.option("--global-toys", type=click.IntRange(min=0), default=None,
              help="Global-significance pseudo-experiments per point (default: the size's; "
                   "0: none).")
@click.option("--preset", default=None,
              help="Preset of the trained producers (overrides the size's choice).")
@click.option("--producer-option", "producer_option", multiple=True, metavar="NAME=VALUE",
              help="Option of the trained producers (repeatable), e.g. n_threads=1.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Run points in a local process pool of this size.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run points on a Dask cluster (e.g. tcp://host:8786).")
@click.option("--no-plots", is_flag=True, help="Write study.json only, no figures.")
@seed_option(0)
@json_option
@quiet_option
@command_errors
def injection(out, n_signal, s_over_sqrt_b, seeds, scores, methods, size, windows_spec,
              global_toys, preset, producer_option, workers, scheduler, no_plots, seed,
              as_json, quiet) -> None:
    """Signal-injection study: every point runs the whole chain (generate, scores,
    delta_sys^MC, scan, global significance, metrics); writes OUT/study.json with the points
    and the summary over seeds, and figures. Rerunning into OUT reuses the finished points."""
    from bumpstat.producers import parse_window_spec
    from bumpstat.study import SIZES, StudyConfig, n_signal_for_s_over_sqrt_b, run_study
    from bumpstat.study.runner import write_study

    if workers is not None and scheduler is not None:
        raise InputError("give --workers or --scheduler, not both")
    if n_signal and s_over_sqrt_b:
        raise InputError("give --n-signal or --s-over-sqrt-b, not both")
    if s_over_sqrt_b:
        n_signal = n_signal_for_s_over_sqrt_b(s_over_sqrt_b, size=size)
    options = _opts(producer_option)
    if preset is not None:
        options["preset"] = preset
    kwargs = {"n_signal": tuple(n_signal)} if n_signal else {}
    config = StudyConfig(seeds=seeds, seed=seed, score_methods=tuple(scores) or ("exact",),
                         methods=tuple(methods) or ("direct",), size=size,
                         global_toys=global_toys, producer_options=options,
                         windows=None if windows_spec == "sliding"
                         else parse_window_spec(windows_spec), **kwargs)
    n_points = len(config.n_signal) * config.seeds * len(config.score_methods)
    info(f"study: {n_points} points ({len(config.n_signal)} injections x {config.seeds} seeds "
         f"x {len(config.score_methods)} producers), methods {list(config.methods)}, size "
         f"{size}: {SIZES[size].compute}", quiet=quiet)
    for note in config.to_dict()["skipped"]:
        info(f"note: skipped {note}", quiet=quiet)
    executor = scheduler if scheduler is not None else ("process" if workers else None)
    result = run_study(config, out=out, executor=executor, max_workers=workers,
                       progress=not quiet)
    write_study(result, out, plots=not no_plots)
    if as_json:
        emit_json(result)
    info(f"wrote {out / 'study.json'}; {result!r}", quiet=quiet)


@study.command("sculpting")
@out_dir_option(help="Directory for sculpting.json, sculpting.png and timing.json.")
@click.option("--scores", "scores", cls=MultiValueOption,
              help="Producers that score the whole fit range. Default: cathode lacathode.")
@click.option("--n-background", type=click.IntRange(min=1000), default=300_000,
              show_default=True, help="Background events (shifted generator).")
@click.option("--preset", default="fast", show_default=True,
              help="Producer preset: test (seconds), fast (minutes), paper (hours).")
@click.option("--eps-sel", "eps_sel", type=float, cls=MultiValueOption,
              help="Selection efficiencies in the SR. Default: 0.5 0.2 0.1 0.05 0.02.")
@click.option("--bins", "n_bins", type=click.IntRange(min=2), default=100, show_default=True,
              help="Equal-content m bins of the chi2/ndof (Hallin et al. [arXiv:2210.14924]: 300).")
@click.option("--no-plots", is_flag=True, help="Write sculpting.json only, no figure.")
@seed_option(0)
@json_option
@quiet_option
@command_errors
def sculpting(out, scores, n_background, preset, eps_sel, n_bins, no_plots, seed, as_json,
              quiet) -> None:
    """Sculpting of the m_JJ spectrum by a cut on each producer's score, background only with
    m-correlated features (Hallin et al., arXiv:2210.14924, eq. 5 and Fig. 7): chi2/ndof
    against the SR selection efficiency, with the band of random selections."""
    from bumpstat.study.sculpting import SculptingConfig, run_sculpting, write_sculpting

    kw: dict = {"eps_sel": tuple(eps_sel)} if eps_sel else {}
    if scores:
        kw["score_methods"] = tuple(scores)
    config = SculptingConfig(n_background=n_background, preset=preset, n_bins=n_bins,
                             seed=seed, **kw)
    info(f"sculpting: {list(config.score_methods)} on {n_background} shifted background "
         f"events, preset {preset} (test: seconds, fast: a few minutes per producer on 2 "
         "cores, paper: hours)", quiet=quiet)
    result = run_sculpting(config, progress=not quiet)
    write_sculpting(result, out, plots=not no_plots)
    if as_json:
        emit_json(result)
    info(f"wrote {out / 'sculpting.json'}", quiet=quiet)


@study.command("interplay")
@out_dir_option(help="Directory for interplay.json, interplay.png and timing.json.")
@click.option("--scores", "scores", cls=MultiValueOption,
              help="Two or more producers. Default: iad cwola cathode.")
@click.option("--n-background", type=click.IntRange(min=1000), default=200_000,
              show_default=True, help="Background events per data set.")
@click.option("--n-signal", type=click.IntRange(min=1), default=200, show_default=True,
              help="Injected signal events per data set.")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Data sets (seeds).")
@click.option("--size", type=click.Choice(["tiny", "small", "paper"]), default="small",
              show_default=True, help="Whose producer presets to use (see study injection).")
@click.option("--no-plots", is_flag=True, help="Write interplay.json only, no figure.")
@seed_option(0)
@json_option
@quiet_option
@command_errors
def interplay(out, scores, n_background, n_signal, seeds, size, no_plots, seed, as_json,
              quiet) -> None:
    """Overlap of the events selected by several producers against the random baseline, and
    the score-level combinations against the single methods (Golling et al.,
    arXiv:2307.11157): one data set per seed, every producer in the 3.3-3.7 TeV window."""
    from bumpstat.study.interplay import InterplayConfig, run_interplay, write_interplay

    kw: dict = {"score_methods": tuple(scores)} if scores else {}
    config = InterplayConfig(n_background=n_background, n_signal=n_signal, seeds=seeds,
                             size=size, seed=seed, **kw)
    info(f"interplay: {list(config.score_methods)} x {seeds} data set(s) of {n_background} "
         f"background + {n_signal} signal events, presets of size {size}", quiet=quiet)
    result = run_interplay(config, progress=not quiet)
    write_interplay(result, out, plots=not no_plots)
    if as_json:
        emit_json(result)
    info(f"wrote {out / 'interplay.json'}", quiet=quiet)
