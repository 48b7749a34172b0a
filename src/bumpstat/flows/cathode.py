"""CATHODE background templates from the conditional background flow (Hallin et al.,
arXiv:2109.00546; Hallin et al. [arXiv:2210.14924] §II).

The SB-trained conditional flow ``p_bg(x | m)`` of
:class:`~bumpstat.flows.background.BackgroundModel` is sampled

* in the **SR**, with masses drawn from a Gaussian KDE of the SR mass distribution
  (``scipy.stats.gaussian_kde``, seeded; built on ``logit`` of the position in the window so
  that samples stay inside it without boundary bias), oversampled
  ``oversample`` × (default 4) the number of SR events: the background template (BT) a
  classifier is trained against, or the ``N_BT`` of a direct background estimate;
* in the **sidebands**, at the observed SB masses: a template to compare with SB data, from
  which the data-driven ``δ_sys^SB`` of Das et al. [arXiv:2411.00085] is computed.

Needs the ``flows`` extra (through the trained model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from bumpstat.exceptions import InputError, WindowError

__all__ = ["Template", "sr_template", "sideband_template"]


@dataclass(frozen=True)
class Template:
    """Flow-generated background events.

    Attributes
    ----------
    m : numpy.ndarray
        ``(n,)`` masses, TeV.
    x : numpy.ndarray
        ``(n, d)`` features.
    region : str
        ``"SR"`` or ``"SB"``.
    oversample : float
        ``n`` divided by the number of data events the template stands for.
    """

    m: np.ndarray = field(repr=False)
    x: np.ndarray = field(repr=False)
    region: str = "SR"
    oversample: float = 1.0

    def __len__(self) -> int:
        return len(self.m)

    @property
    def weight(self) -> float:
        """Per-event weight ``1/oversample`` that normalises the template to the data count."""
        return 1.0 / self.oversample

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (counts, not arrays)."""
        return {"n": len(self), "region": self.region, "oversample": float(self.oversample),
                "n_features": int(self.x.shape[1])}


def _sample_kde_in_window(m_sr: np.ndarray, n: int, low: float, high: float,
                          rng: np.random.Generator, bw_method: Any) -> np.ndarray:
    # KDE of logit((m - low)/(high - low)): the samples stay inside the window and the
    # boundary bias of a KDE cut at the window edges is avoided
    eps = 1e-9 * (high - low)
    span = high - low + 2 * eps
    u = (m_sr - low + eps) / span
    kde = stats.gaussian_kde(special.logit(u), bw_method=bw_method)
    draw = special.expit(kde.resample(n, seed=rng)[0])
    return np.clip(low + draw * span - eps, low, np.nextafter(high, low))


def sr_template(
    background: Any,
    m_sr: Any,
    *,
    oversample: float = 4.0,
    bw_method: Any = None,
    seed: Any = 0,
) -> Template:
    """SR background template: m from a KDE of the SR masses, x from ``p_bg(x | m)``.

    Parameters
    ----------
    background : BackgroundModel
        Trained conditional background flow (its ``window`` is the SR).
    m_sr : array (n_sr,)
        Masses of the SR data events, TeV.
    oversample : float
        Template size in units of ``n_sr`` (default 4).
    bw_method
        Passed to ``scipy.stats.gaussian_kde`` (default Scott's rule).
    seed : int or numpy.random.Generator

    Returns
    -------
    Template
        ``round(oversample * n_sr)`` events with m inside the window.
    """
    m_sr = np.asarray(m_sr, dtype=np.float64)
    win = background.window
    if m_sr.ndim != 1 or m_sr.size < 2:
        raise WindowError(f"need at least two SR masses for the KDE, got shape {m_sr.shape}")
    if not np.all(win.contains(m_sr)):
        raise WindowError(
            f"{int((~win.contains(m_sr)).sum())} SR mass value(s) lie outside the window "
            f"[{win.low}, {win.high}) TeV"
        )
    if not oversample > 0:
        raise InputError(f"oversample must be positive, got {oversample}")
    rng = np.random.default_rng(seed)
    n = int(round(oversample * m_sr.size))
    m = _sample_kde_in_window(m_sr, n, win.low, win.high, rng, bw_method)
    x = background.sample_x(m, seed=rng)
    return Template(m, x, "SR", n / m_sr.size)


def sideband_template(
    background: Any, m_sb: Any, *, oversample: int = 1, seed: Any = 0
) -> Template:
    """Sideband template: ``p_bg(x | m)`` sampled at the SB data masses (each ``oversample``
    times), to compare with the SB data for ``δ_sys^SB``."""
    m_sb = np.asarray(m_sb, dtype=np.float64)
    if m_sb.ndim != 1 or m_sb.size == 0:
        raise InputError(f"need SB masses, got shape {m_sb.shape}")
    if int(oversample) < 1:
        raise InputError(f"oversample must be a positive integer, got {oversample}")
    m = np.repeat(m_sb, int(oversample))
    x = background.sample_x(m, seed=seed)
    return Template(m, x, "SB", float(int(oversample)))
