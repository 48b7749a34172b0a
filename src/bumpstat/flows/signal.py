"""The R-ANODE signal density ``p_sig(x, m)`` in the signal region: an RQS flow on the
preprocessed ``(x, m)`` of the SR events, trained with the R-ANODE loss
``-mean log(w p_sig + (1 - w) p_bg)`` with ``p_bg`` held fixed and w learnable or fixed
(Das, Kasieczka & Shih, arXiv:2312.11629, eq. 4 and App. A). m is mapped through the
logit of its position in the window, so ``p_sig`` is normalised in the SR and its samples stay
inside it. Densities are in physical units. Needs the ``flows`` extra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bumpstat.flows.config import FlowConfig
from bumpstat.flows.flow import TrainedFlow, fit_flow
from bumpstat.flows.preprocess import Preprocessor
from bumpstat.windows import Window

__all__ = ["SignalModel", "fit_signal"]


@dataclass(frozen=True)
class SignalModel:
    """``p_sig(x, m)`` in the SR (physical units), an RQS flow on preprocessed ``(x, m)``.

    Attributes
    ----------
    x_pre : Preprocessor
        The sideband feature preprocessing (shared with the background model).
    m_pre : Preprocessor
        m → logit of its position in the window, standardised on the SR events.
    flow : TrainedFlow
    """

    x_pre: Preprocessor
    m_pre: Preprocessor
    flow: TrainedFlow = field(repr=False)

    def _z(self, x: Any, m: Any) -> tuple[np.ndarray, np.ndarray]:
        zx, ldx = self.x_pre.transform(x)
        zm, ldm = self.m_pre.transform(np.asarray(m, dtype=np.float64)[:, None])
        return np.hstack([zx, zm]), ldx + ldm

    def log_p(self, x: Any, m: Any) -> np.ndarray:
        """``log p_sig(x, m)`` for SR events."""
        z, logdet = self._z(x, m)
        return self.flow.log_prob(z) + logdet

    @property
    def w_learned(self) -> float | None:
        """Mean learned w over the kept epochs (None for fixed w)."""
        return self.flow.w_mean

    def sample(self, n: int, *, seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(m, x)``: n events drawn from the learned signal density (m inside the SR)."""
        z = self.flow.sample(int(n), seed=seed)
        d = self.x_pre.n_features
        return self.m_pre.inverse(z[:, d:])[:, 0], self.x_pre.inverse(z[:, :d])


def fit_signal(
    m_sr: Any,
    x_sr: Any,
    log_p_bg_sr: Any,
    *,
    window: Window,
    x_pre: Preprocessor,
    config: FlowConfig | None = None,
    learn_w: bool = True,
    w_init: float = 0.01,
    w_lr: float = 2e-2,
    seed: Any = 0,
    progress: bool = True,
    n_threads: int | None = None,
) -> SignalModel:
    """Train the signal RQS flow with the R-ANODE loss, ``p_bg`` fixed.

    ``log_p_bg_sr`` is ``log p_bg(x, m)`` of the SR events in physical units (e.g. from
    :meth:`BackgroundModel.log_p`); it is moved to the preprocessed space with the same
    Jacobian as the signal flow, so the mixture is consistent.
    """
    cfg = config or FlowConfig.rqs_small()
    m_sr = np.asarray(m_sr, dtype=np.float64)
    eps = 1e-9 * window.width  # keep m == window.low strictly inside the logit support
    m_pre = Preprocessor.fit(m_sr[:, None], bounds=[(window.low - eps, window.high + eps)],
                             names=("m",))
    model = SignalModel(x_pre, m_pre, flow=None)  # type: ignore[arg-type]
    z, logdet = model._z(x_sr, m_sr)
    flow = fit_flow(z, config=cfg, log_p_bg=np.asarray(log_p_bg_sr) - logdet, w_init=w_init,
                    learn_w=learn_w, w_lr=w_lr, seed=seed, progress=progress,
                    desc="p_sig(x,m) RQS", n_threads=n_threads)
    return SignalModel(x_pre, m_pre, flow)
