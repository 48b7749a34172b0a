"""``bumpstat significance``: eq. 6, eq. 7 and pyhf's shapesys Z for one counting experiment."""

from __future__ import annotations

import click

from bumpstat.cli._common import bumpstat_errors, emit_json


@click.command()
@click.option("--n-obs", type=float, required=True, help="Observed events N_obs.")
@click.option("--n-exp", type=float, required=True, help="Expected background N_exp.")
@click.option("--rel-unc", type=float, default=0.0, show_default=True,
              help="Relative uncertainty sigma_exp on N_exp.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--no-pyhf", is_flag=True, help="Skip the pyhf reference (faster).")
@bumpstat_errors
def significance(n_obs: float, n_exp: float, rel_unc: float, as_json: bool, no_pyhf: bool) -> None:
    """Significance of N_obs over N_exp ± rel_unc: eq. 6 (signed), eq. 7, and pyhf (q0)."""
    from bumpstat.stats.cutcount import cut_and_count
    from bumpstat.stats.significance import asimov_significance, gaussian_significance

    res = {
        "n_obs": n_obs,
        "n_exp": n_exp,
        "rel_unc": rel_unc,
        "z_asimov": float(asimov_significance(n_obs, n_exp, rel_unc)),
        "z_gaussian": float(gaussian_significance(n_obs, n_exp, rel_unc)),
    }
    cc = cut_and_count(n_obs, n_exp, rel_unc)
    res["p_value"] = float(cc.p_value)
    res["upper_limit_95"] = float(cc.upper_limit)
    if not no_pyhf:
        from bumpstat.stats.pyhf_models import pyhf_discovery

        res["z_pyhf"] = float(pyhf_discovery(n_obs, n_exp, rel_unc).z)
    if as_json:
        emit_json(res)
    else:
        click.echo(f"Z (eq. 6, Asimov)   = {res['z_asimov']:+.4f}")
        click.echo(f"Z_G (eq. 7, Gauss)  = {res['z_gaussian']:+.4f}")
        if "z_pyhf" in res:
            click.echo(f"Z (pyhf shapesys q0) = {res['z_pyhf']:+.4f}  (one-sided: 0 for a deficit)")
        click.echo(f"p-value = {res['p_value']:.4g}, 95% CL upper limit = "
                   f"{res['upper_limit_95']:.4g} signal events")
