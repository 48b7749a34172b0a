"""``bumpstat significance``: eq. 6, eq. 7, the one-bin CLs limit and pyhf, for one count."""

from __future__ import annotations

import click

from bumpstat.cli._common import command_errors, emit_json, json_option

__all__ = ["significance"]


@click.command()
@click.option("--n-obs", type=float, required=True, help="Observed events N_obs (>= 0).")
@click.option("--n-exp", type=float, required=True, help="Expected background N_exp (> 0).")
@click.option("--rel-unc", type=float, default=0.0, show_default=True,
              help="Relative uncertainty sigma_exp on N_exp (>= 0).")
@click.option("--cl", type=float, default=0.95, show_default=True,
              help="Confidence level of the upper limit.")
@click.option("--no-pyhf", is_flag=True, help="Skip the pyhf reference (faster).")
@json_option
@command_errors
def significance(n_obs: float, n_exp: float, rel_unc: float, cl: float, no_pyhf: bool,
                 as_json: bool) -> None:
    """Significance of N_obs over N_exp ± rel_unc: eq. 6 (signed), eq. 7, the CLs limit, and
    pyhf's shapesys model as a reference."""
    from bumpstat.stats.onebin import one_bin_test

    res = one_bin_test(n_obs, n_exp, rel_unc, cl=cl, pyhf=not no_pyhf).to_dict()
    if as_json:
        emit_json(res)
        return
    click.echo(f"Z (eq. 6, signed)    = {res['z']:+.4f}   p = Phi(-Z) = {res['p_value']:.4g}")
    click.echo(f"Z_G (eq. 7, Gauss)   = {res['z_gaussian']:+.4f}")
    if res.get("z_pyhf") is not None:
        click.echo(f"Z (pyhf shapesys)    = {res['z_pyhf']:+.4f}")
    lo, med, hi = res["expected_limits"][1:4]
    click.echo(f"{100 * cl:g}% CL upper limit  = {res['upper_limit']:.4g} signal events "
               f"(expected {med:.4g}, ±1σ [{lo:.4g}, {hi:.4g}])")
