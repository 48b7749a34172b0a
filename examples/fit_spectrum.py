"""Draw a dijet spectrum with a small resonance, fit the sidebands and test the SR excess.

Usage: python examples/fit_spectrum.py [OUT_DIR]   (default: a temporary directory)
"""

import json
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bumpstat.fit import bumphunt, get_function  # noqa: E402
from bumpstat.plotting.fit import plot_fit  # noqa: E402

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
rng = np.random.default_rng(1)

# background: 4-parameter dijet function over [2.8, 5.2] TeV, drawn by inverse CDF on a fine grid
grid = np.linspace(2.8, 5.2, 4001)
cdf = np.concatenate([[0], np.cumsum(get_function("dijet4").bin_integrals(grid, [1, 10, 5, 0.1]))])
m_bkg = np.interp(rng.random(300_000), cdf / cdf[-1], grid)
# signal: 600 events at 3.5 TeV; a score that prefers signal
m_sig = rng.normal(3.5, 0.07, 600)
m = np.concatenate([m_bkg, m_sig])
score = np.concatenate([rng.random(m_bkg.size), rng.beta(50, 1, m_sig.size)])

for eps in (1.0, 0.02):
    res = bumphunt(m, score, window=(3.3, 3.7), eps_b=eps, fit_range=(2.8, 5.2), bins=30)
    d = res.to_dict()
    print(json.dumps({k: d[k] for k in ("eps_b", "n_obs_sr", "n_pred_sr", "n_pred_sr_unc", "z",
                                        "p_value", "valid", "chi2_ndof", "parameters")}))
    fig = plot_fit(res, path=out / f"fit_eps{eps:g}.png", title=f"eps_B = {eps:g} (SR data)")
    plt.close(fig)
print(f"plots in {out}")
