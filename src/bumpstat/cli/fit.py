"""``bumpstat fit``: sideband fit of an m spectrum and the SR excess, as JSON."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from bumpstat.cli._common import bumpstat_errors, emit_json
from bumpstat.exceptions import InputError

__all__ = ["fit"]


def _load(path: str, what: str) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {what} file {path}: {exc}") from exc
    if isinstance(a, np.lib.npyio.NpzFile):
        raise InputError(f"{what} file {path} is an .npz archive; give a plain .npy array")
    return np.asarray(a, dtype=float).ravel()


@click.command("fit")
@click.argument("m_file", metavar="M.npy", type=click.Path(exists=True, dir_okay=False))
@click.option("--sr", nargs=2, type=float, required=True, metavar="LOW HIGH",
              help="Signal region in TeV (blinded in the fit).")
@click.option("--range", "fit_range", nargs=2, type=float, default=(2.8, 5.2), show_default=True,
              metavar="LOW HIGH", help="Fit range in TeV.")
@click.option("--bins", type=int, default=30, show_default=True,
              help="About this many log-uniform bins, SR edges aligned.")
@click.option("--edges", type=str, default=None,
              help="Explicit comma-separated bin edges in TeV (overrides --bins/--range).")
@click.option("--function", "function", default="dijet4", show_default=True,
              type=click.Choice(["dijet3", "dijet4", "dijet5", "linear"]))
@click.option("--sqrt-s", type=float, default=13.0, show_default=True, help="TeV.")
@click.option("--weights", "weights_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Per-event weights (.npy, same length as M.npy).")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON (default "
              "prints the main numbers as JSON too).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write JSON here.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Save the spectrum/fit/pull plot here.")
@bumpstat_errors
def fit(m_file, sr, fit_range, bins, edges, function, sqrt_s, weights_file, as_json, out, plot):
    """Fit the sidebands of the m values in M.npy (TeV) and test the SR excess."""
    from bumpstat.fit import bumphunt

    m = _load(m_file, "m")
    w = None if weights_file is None else _load(weights_file, "weights")
    e = None
    if edges is not None:
        try:
            e = np.array([float(v) for v in edges.split(",") if v.strip()])
        except ValueError as exc:
            raise InputError(f"--edges must be comma-separated numbers, got {edges!r}") from exc
    res = bumphunt(m, window=tuple(sr), fit_range=tuple(fit_range), bins=bins, edges=e,
                   function=function, sqrt_s=sqrt_s, weights=w)
    d = res.to_dict()
    if not as_json:
        keys = ("method", "function", "sr", "n_obs_sr", "n_pred_sr", "n_pred_sr_unc", "z",
                "p_value", "valid", "parameters", "chi2_ndof", "deviance_p_value", "ks_p_value",
                "message")
        d = {k: d[k] for k in keys}
    emit_json(d, out=out)
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from bumpstat.plotting.fit import plot_fit

        fig = plot_fit(res, path=Path(plot))
        plt.close(fig)
