"""``bumpstat significance``: eq. 6, eq. 7, the one-bin CLs limit and pyhf, for one count;
toy-based p-value and limits with ``--toys``; Z_Bi with ``--n-off``."""

from __future__ import annotations

import click

from bumpstat.cli._common import command_errors, emit_json, json_option, seed_option
from bumpstat.exceptions import InputError

__all__ = ["significance"]


@click.command()
@click.option("--n-obs", type=float, required=True, help="Observed events N_obs (>= 0).")
@click.option("--n-exp", type=float, default=None,
              help="Expected background N_exp (> 0); may be omitted with --n-off and --tau "
                   "(N_exp = n_off / tau).")
@click.option("--rel-unc", type=float, default=None,
              help="Relative uncertainty sigma_exp on N_exp (>= 0). Default: 0, or "
                   "1/sqrt(n_off) with --n-off.")
@click.option("--cl", type=float, default=0.95, show_default=True,
              help="Confidence level of the upper limit.")
@click.option("--no-pyhf", is_flag=True, help="Skip the pyhf reference (faster).")
@click.option("--toys", "n_toys", type=click.IntRange(min=0), default=0, show_default=True,
              help="Toy-based p-value and CLs limit from N pseudo-experiments per hypothesis, "
                   "thrown at the conditional MLE of the nuisance (0: asymptotic formulas; "
                   "else >= 100).")
@seed_option(0)
@click.option("--n-off", type=float, default=None,
              help="Off measurement for Z_Bi (Cousins, Linnemann & Tucker 2008): template "
                   "events passing the cut (> 0).")
@click.option("--tau", type=float, default=None,
              help="Off/on background ratio for Z_Bi, N_BT / N_SR (> 0). Default: n_off / n_exp.")
@json_option
@command_errors
def significance(n_obs: float, n_exp: float | None, rel_unc: float | None, cl: float,
                 no_pyhf: bool, n_toys: int, seed: int, n_off: float | None, tau: float | None,
                 as_json: bool) -> None:
    """Significance of N_obs over N_exp ± rel_unc: eq. 6 (signed), eq. 7, the CLs limit, and
    pyhf's shapesys model as a reference; toy-based p-value and limits with --toys, and the
    on/off significance Z_Bi with --n-off."""
    from bumpstat.stats.onebin import one_bin_test

    if 0 < n_toys < 100:
        raise InputError(f"--toys must be 0 (asymptotic) or at least 100, got {n_toys}")
    if n_exp is None and (n_off is None or tau is None):
        raise InputError("--n-exp is required (or both --n-off and --tau)")
    res = one_bin_test(n_obs, n_exp, rel_unc, cl=cl, pyhf=not no_pyhf,
                       method="toys" if n_toys else "asymptotic", n_toys=n_toys or 10_000,
                       seed=seed, n_off=n_off, tau=tau)
    if as_json:
        emit_json(res.to_dict())
        return
    if n_toys:
        p = (f"p < {res.p_value:.3g} (no toy as extreme: Z is a lower bound)"
             if res.p_value_bound else f"p = {res.p_value:.4g} ± {res.p_value_unc:.2g}")
        click.echo(f"Z (toys, signed)      = {res.z:+.4f}   {p}   [{n_toys} toys, seed {seed}]")
        click.echo(f"Z (eq. 6, asymptotic) = {res.z_asymptotic:+.4f}")
    else:
        click.echo(f"Z (eq. 6, signed)     = {res.z:+.4f}   p = Phi(-Z) = {res.p_value:.4g}")
    click.echo(f"Z_G (eq. 7, Gauss)    = {res.z_gaussian:+.4f}")
    if res.z_pyhf is not None:
        click.echo(f"Z (pyhf shapesys)     = {res.z_pyhf:+.4f}")
    if res.n_off is not None:
        click.echo(f"Z_Bi (on/off)         = {res.z_bi:+.4f}   p = {res.p_value_bi:.4g}   "
                   f"[n_off {res.n_off:g}, tau {res.tau:.4g}]")
    lo, med, hi = res.expected_limits[1:4]
    click.echo(f"{100 * cl:g}% CL upper limit   = {res.upper_limit:.4g} signal events "
               f"(CLs {res.method}; expected {med:.4g}, ±1σ [{lo:.4g}, {hi:.4g}])")
    if not res.valid:
        click.echo(f"not valid: {res.reason}")
