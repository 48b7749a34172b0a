"""The R-ANODE background density ``p_bg(x, m) = p_bg(x | m) p_bg(m)`` in the signal region.

``p_bg(x | m)``: a conditional MAF trained on the sideband (SB) events, features preprocessed
with SB parameters (:class:`~bumpstat.flows.preprocess.Preprocessor`), conditioned on the
standardised m and interpolated into the SR (Das, Kasieczka & Shih, arXiv:2312.11629,
§II–III and App. A). ``p_bg(m)``: a histogram of the SR masses normalised in the SR
(``scipy.stats.rv_histogram``). Densities are in physical units (TeV⁻¹ × feature units⁻¹), the
preprocessing Jacobian included. The same flow samples CATHODE templates
(:mod:`bumpstat.flows.cathode`). Needs the ``flows`` extra to train and evaluate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from bumpstat.exceptions import InputError, WindowError
from bumpstat.flows.config import FlowConfig
from bumpstat.flows.flow import TrainedFlow, fit_flow
from bumpstat.flows.preprocess import Preprocessor
from bumpstat.windows import Window

__all__ = ["BackgroundModel", "fit_background"]


@dataclass(frozen=True)
class BackgroundModel:
    """``p_bg(x, m) = p_bg(x | m) p_bg(m)`` for the SR, in physical units.

    Attributes
    ----------
    window : Window
    x_pre : Preprocessor
        Feature preprocessing fitted on the sidebands.
    m_mean, m_std : float
        Standardisation of the conditioning mass (SB events), TeV.
    flow : TrainedFlow
        Conditional MAF in the preprocessed space.
    m_edges, m_density : numpy.ndarray
        SR mass histogram (TeV) and its density (TeV⁻¹), normalised in the SR.
    """

    window: Window
    x_pre: Preprocessor
    m_mean: float
    m_std: float
    flow: TrainedFlow = field(repr=False)
    m_edges: np.ndarray = field(repr=False)
    m_density: np.ndarray = field(repr=False)

    def _ctx(self, m: np.ndarray) -> np.ndarray:
        return ((np.asarray(m, dtype=np.float64) - self.m_mean) / self.m_std)[:, None]

    def log_p_x_given_m(self, x: Any, m: Any) -> np.ndarray:
        """``log p_bg(x | m)`` (any m, interpolated/extrapolated by the flow)."""
        z, logdet = self.x_pre.transform(x)
        return self.flow.log_prob(z, self._ctx(m)) + logdet

    def log_p_m(self, m: Any) -> np.ndarray:
        """``log p_bg(m)`` from the SR histogram, TeV⁻¹; m must lie in the window."""
        m = np.asarray(m, dtype=np.float64)
        if not np.all(self.window.contains(m)):
            raise WindowError(
                f"{int((~self.window.contains(m)).sum())} mass value(s) outside the SR "
                f"[{self.window.low}, {self.window.high}) TeV for p_bg(m)"
            )
        i = np.clip(np.searchsorted(self.m_edges, m, side="right") - 1, 0,
                    len(self.m_density) - 1)
        with np.errstate(divide="ignore"):
            return np.log(self.m_density[i])

    def log_p(self, x: Any, m: Any) -> np.ndarray:
        """``log p_bg(x, m)`` for SR events."""
        return self.log_p_x_given_m(x, m) + self.log_p_m(m)

    def sample_x(self, m: Any, *, seed: Any = 0) -> np.ndarray:
        """One feature vector per mass in ``m`` drawn from ``p_bg(x | m)`` (physical units)."""
        z = self.flow.sample(0, self._ctx(m), seed=seed)
        return self.x_pre.inverse(z)


def fit_background(
    m_sb: Any,
    x_sb: Any,
    m_sr: Any,
    *,
    window: Window,
    x_sr: Any = None,
    config: FlowConfig | None = None,
    m_bins: int = 40,
    margin: float = 0.05,
    seed: Any = 0,
    progress: bool = True,
    n_threads: int | None = None,
) -> BackgroundModel:
    """Train ``p_bg(x | m)`` on the sideband events and histogram ``p_bg(m)`` in the SR.

    Parameters
    ----------
    m_sb, x_sb : arrays (n_sb,), (n_sb, d)
        Sideband masses (TeV) and features.
    m_sr : array (n_sr,)
        SR masses (TeV) for the mass histogram.
    x_sr : array (n_sr, d), optional
        SR features: their range is included in the preprocessing support (min/max), so every
        SR event lies inside it; the logit standardisation uses the SB only.
    window : Window
        The SR.
    config : FlowConfig
        MAF configuration (default :meth:`FlowConfig.maf_small`).
    """
    cfg = config or FlowConfig.maf_small()
    m_sb = np.asarray(m_sb, dtype=np.float64)
    m_sr = np.asarray(m_sr, dtype=np.float64)
    if len(m_sb) < 10:
        raise InputError(f"only {len(m_sb)} sideband events: too few to train the background")
    if len(m_sr) < 2:
        raise WindowError(f"only {len(m_sr)} events in the SR {window.name}")
    # min/max over SB and SR (support only; logit mean/std from the SB as in the paper)
    pre = Preprocessor.fit(x_sb, margin=margin, support=x_sr)
    z, _ = pre.transform(x_sb)
    mu, sd = float(m_sb.mean()), float(m_sb.std())
    flow = fit_flow(z, config=cfg, context=((m_sb - mu) / sd)[:, None], seed=seed,
                    progress=progress, desc="p_bg(x|m) MAF", n_threads=n_threads)
    edges = np.linspace(window.low, window.high, int(m_bins) + 1)
    counts, _ = np.histogram(m_sr, edges)
    if np.any(counts == 0):
        raise WindowError(
            f"the SR mass histogram has {int((counts == 0).sum())} empty bin(s) of {m_bins}; "
            "use fewer m_bins"
        )
    dens = stats.rv_histogram((counts, edges), density=False).pdf(0.5 * (edges[1:] +
                                                                         edges[:-1]))
    return BackgroundModel(window, pre, mu, sd, flow, edges, np.asarray(dens))
