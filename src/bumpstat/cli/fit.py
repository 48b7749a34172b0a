"""``bumpstat fit``: sideband fit of an m spectrum and the test of the SR excess.

Reads m from a ``.npy`` array, a named array of an ``.npz`` archive (``--key``), or a ROOT
file: a histogram (TH1, ``--key NAME``) or a branch of a tree (``--key tree/branch`` or
``FILE.root:tree/branch``); ``--mass-unit GeV`` divides masses and histogram edges by 1000. Fits
the sidebands, predicts and tests the signal region and sets an upper limit
(:func:`bumpstat.fit.hunt.bumphunt`). Prints a short summary, or the full result as strict
JSON with ``--json``; ``-o/--output FILE`` writes the full result JSON atomically, ``--plot
FILE`` the spectrum with the fit. Pickled data are never loaded.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import click
import numpy as np

from bumpstat.cli._common import (
    check_outputs,
    command_errors,
    emit_json,
    info,
    json_option,
    output_option,
    quiet_option,
    write_output_json,
)
from bumpstat.data.spectra import read_mass_array, read_root_masses
from bumpstat.exceptions import InputError
from bumpstat.fit.binning import MAX_BINS
from bumpstat.fit.gof import GOF_MIN_P
from bumpstat.windows import check_mass_unit

__all__ = ["fit"]


def _parse_edges(edges: str | None) -> np.ndarray | None:
    if edges is None:
        return None
    try:
        return np.array([float(v) for v in edges.split(",") if v.strip()])
    except ValueError as exc:
        raise InputError(f"--edges must be comma-separated numbers in TeV, got {edges!r}") from exc


def summary(res, source: str) -> str:
    """A few lines for the terminal: numbers, goodness of fit, validity and the reason."""
    lo, hi = res.sr
    f = res.fit_range
    lines = [
        f"{res.function} sideband fit of {source}: SR [{lo:g}, {hi:g}] TeV, fit range "
        f"[{f[0]:g}, {f[1]:g}] TeV, {len(res.bins) - 1} bins",
        f"  observed in SR      n_obs = {res.n_obs:.6g}",
        f"  fitted background   n_exp = {res.n_exp:.6g} +- {res.n_exp_unc:.4g} "
        f"(rel. {100 * res.rel_unc:.3g}%)",
        f"  significance        z = {res.z:+.3f}, p = Phi(-z) = {res.p_value:.4g}",
        f"  upper limit         {res.upper_limit:.4g} signal events at {100 * res.cl:g}% CL "
        f"(expected {res.expected_limits[2]:.4g}, "
        f"1 sigma [{res.expected_limits[1]:.4g}, {res.expected_limits[3]:.4g}])",
        f"  sideband GoF        chi2/ndof = {res.chi2_ndof:.3g} (ndof {res.ndof}), "
        f"deviance p = {res.deviance_p_value:.3g}",
        "  valid               yes" if res.valid else f"  valid               no: {res.reason}",
    ]
    return "\n".join(lines)


@click.command("fit")
@click.argument("m_file", metavar="M.npy|M.npz|M.root")
@click.option("--key", default=None, metavar="NAME",
              help="Array of m values in an .npz archive (default: its only array); in a ROOT "
                   "file a histogram (TH1) or tree/branch.")
@click.option("--mass-unit", type=click.Choice(["TeV", "GeV"]), default="TeV",
              show_default=True, help="Unit of the input masses (histogram edges).")
@click.option("--sr", nargs=2, type=float, required=True, metavar="LOW HIGH",
              help="Signal region in TeV (blinded in the fit).")
@click.option("--range", "fit_range", nargs=2, type=float, default=(2.8, 5.2), show_default=True,
              metavar="LOW HIGH", help="Fit range in TeV.")
@click.option("--bins", type=click.IntRange(min=1, max=MAX_BINS), default=30, show_default=True,
              help="About this many log-uniform bins, SR edges aligned.")
@click.option("--edges", type=str, default=None, metavar="E0,E1,...",
              help="Explicit comma-separated bin edges in TeV (overrides --bins/--range).")
@click.option("--function", "function", default="dijet4", show_default=True,
              type=click.Choice(["dijet3", "dijet4", "dijet5", "linear"]))
@click.option("--sqrt-s", type=float, default=13.0, show_default=True, help="TeV.")
@click.option("--weights", "weights_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Per-event weights (.npy or .npz, same length as m).")
@click.option("--weights-key", default=None, metavar="NAME",
              help="Array of weights in an .npz archive (default: its only array).")
@click.option("--cl", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Confidence level of the upper limit.")
@click.option("--min-gof-p", type=click.FloatRange(0, 1, max_open=True), default=GOF_MIN_P,
              show_default=True,
              help="Sideband deviance p-value below which the result is not valid (0: off).")
@json_option
@output_option(help="Write the full result as JSON to this file (atomically).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save the spectrum/fit/pull plot here (format from the suffix).")
@quiet_option
@command_errors
def fit(m_file, key, mass_unit, sr, fit_range, bins, edges, function, sqrt_s, weights_file,
        weights_key, cl, min_gof_p, as_json, output, plot, quiet):
    """Fit the sidebands of an m spectrum (events or a histogram) and test the SR excess."""
    from bumpstat.fit import FitWarning, bumphunt

    inputs = [m_file.split(".root:")[0] + (".root" if ".root:" in m_file else ""),
              weights_file]
    check_outputs(inputs, output=output, plot=plot)
    if ".root" in m_file.lower():
        m = read_root_masses(m_file, key=key, mass_unit=mass_unit)
    else:
        if not Path(m_file).is_file():
            raise InputError(f"m file {m_file!r} does not exist")
        m = read_mass_array(m_file, key=key) * (1e-3 if mass_unit == "GeV" else 1.0)
    try:
        check_mass_unit(m.axes[0].edges if hasattr(m, "axes") else m, f"m in {m_file!r}")
    except InputError as err:
        raise InputError(f"{err}, or pass --mass-unit GeV") from None
    w = None
    if hasattr(m, "axes") and weights_file is not None:
        raise InputError("--weights apply to events; a histogram is already weighted")
    if weights_file is not None:
        w = read_mass_array(weights_file, key=weights_key, what="--weights",
                       key_option="--weights-key")
        if w.size != m.size:
            raise InputError(f"--weights file {weights_file!r} has {w.size} values but "
                             f"{m_file!r} has {m.size} m values")
    elif weights_key is not None:
        raise InputError("--weights-key needs --weights")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitWarning)
        res = bumphunt(m, window=tuple(sr), fit_range=tuple(fit_range), bins=bins,
                       edges=_parse_edges(edges), function=function, sqrt_s=sqrt_s, weights=w,
                       cl=cl, min_gof_p=min_gof_p)
    for c in caught:
        info(f"warning: {c.message}", quiet=quiet)
    if as_json:
        emit_json(res)
    else:
        click.echo(summary(res, click.format_filename(m_file)))
    if output is not None:
        write_output_json(output, res, inputs=inputs)
        info(f"wrote {output}", quiet=quiet)
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from bumpstat.plotting.fit import plot_fit

        plt.close(plot_fit(res, path=plot))
        info(f"wrote {plot}", quiet=quiet)
