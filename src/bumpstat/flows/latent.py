"""The latent space of the conditional background flow (LaCATHODE, Hallin et al. [arXiv:2210.14924]
§II.C).

The SB-trained flow of :class:`~bumpstat.flows.background.BackgroundModel` is an invertible map
``z = f(x; m)`` from the (preprocessed) features to a space where the background is standard
normal for every m. :func:`to_latent` applies it to any events (SR or SB). As in Hallin et al.
(App. A), the map uses one set of weights, the epoch with the lowest validation loss, not the
best-epoch ensemble (an ensemble of maps has no single latent space). Needs the ``flows`` extra.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bumpstat._extras import require

__all__ = ["to_latent"]


def to_latent(background: Any, x: Any, m: Any, *, batch_size: int = 65_536) -> np.ndarray:
    """``z = f(pre(x); m)``, shape ``(n, d)``: the background flow's latent coordinates.

    Parameters
    ----------
    background : BackgroundModel
        The trained conditional background flow with its preprocessing.
    x : array (n, d)
        Features inside the preprocessing support.
    m : array (n,)
        Masses in TeV (any value: the flow interpolates and extrapolates in m).
    """
    torch = require("torch")
    zpre, _ = background.x_pre.transform(x)
    ctx = ((np.asarray(m, dtype=np.float64) - background.m_mean) / background.m_std)[:, None]
    flow = background.flow.flow
    flow.load_state_dict(background.flow.states[0])
    flow.eval()
    out = np.empty(zpre.shape)
    with torch.no_grad():
        for i in range(0, len(zpre), batch_size):
            zb = torch.as_tensor(zpre[i : i + batch_size], dtype=torch.float32)
            cb = torch.as_tensor(ctx[i : i + batch_size], dtype=torch.float32)
            out[i : i + batch_size] = flow.transform_to_noise(zb, context=cb).double().numpy()
    return out
