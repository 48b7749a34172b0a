"""Draw a dijet spectrum with a small resonance, fit the sidebands and test the SR excess.

For a loose and a tight cut on a signal-enriching score: the SR prediction and its uncertainty,
the signed significance, the CLs upper limit, the goodness of fit, whether the result is valid
(and why not); then the same spectrum with a trigger-like turn-on inside the fit range, which
the goodness-of-fit gate flags. Plots go to OUT_DIR.

Usage: python examples/fit_spectrum.py [OUT_DIR]   (default: a temporary directory)
"""

import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bumpstat.fit import bumphunt, get_function  # noqa: E402
from bumpstat.plotting.fit import plot_fit  # noqa: E402
from bumpstat.serialize import dumps  # noqa: E402

KEYS = ("eps_b", "n_obs", "n_exp", "n_exp_unc", "z", "p_value", "upper_limit", "chi2_ndof",
        "deviance_p_value", "valid", "reason")

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
rng = np.random.default_rng(1)

# background: 4-parameter dijet function over [2.8, 5.2] TeV, drawn by inverse CDF on a fine grid
grid = np.linspace(2.8, 5.2, 4001)
dens = get_function("dijet4").bin_integrals(grid, [1, 10, 5, 0.1])
cdf = np.concatenate([[0], np.cumsum(dens)])
m_bkg = np.interp(rng.random(300_000), cdf / cdf[-1], grid)
# signal: 600 events at 3.5 TeV; a score that prefers signal
m_sig = rng.normal(3.5, 0.07, 600)
m = np.concatenate([m_bkg, m_sig])
score = np.concatenate([rng.random(m_bkg.size), rng.beta(50, 1, m_sig.size)])

for eps in (1.0, 0.02):
    res = bumphunt(m, score, window=(3.3, 3.7), eps_b=eps, fit_range=(2.8, 5.2), bins=30)
    d = res.to_dict()
    print(dumps({k: d[k] for k in KEYS}, indent=None))
    fig = plot_fit(res, path=out / f"fit_eps{eps:g}.png", title=f"eps_B = {eps:g} (SR data)")
    plt.close(fig)

# a steep turn-on at 3.0 TeV inside the fit range: the dijet function cannot follow it, the
# sideband goodness of fit fails and the result is not valid (numbers kept for inspection)
centres = 0.5 * (grid[1:] + grid[:-1])
cdf_on = np.concatenate([[0], np.cumsum(dens / (1 + np.exp(-(centres - 3.0) / 0.05)))])
m_on = np.interp(rng.random(100_000), cdf_on / cdf_on[-1], grid)
res = bumphunt(m_on, window=(3.3, 3.7), fit_range=(2.8, 5.2), bins=30)
assert not res.valid
print(dumps({k: res.to_dict()[k] for k in KEYS}, indent=None))
plt.close(plot_fit(res, path=out / "fit_turn_on.png", title="turn-on at 3.0 TeV"))
print(f"plots in {out}")
