"""Ensembles of small fully connected autoencoders (torch), Collins et al. [arXiv:2104.02092] §3.2.

Each ensemble member is an autoencoder ``d → hidden × n_layers → latent → hidden × n_layers → d``
(ReLU, batch normalisation after the first encoder layer, linear bottleneck and output) trained
briefly (``epochs``, 1 in the paper) with the MSE loss and Adam on a random subsample of
``subsample`` events of its training pool, inputs standardised. The anomaly score of an event is
the reconstruction MSE averaged over the members. Training on little data for one epoch keeps the
members general: Collins et al. found that longer training on more events lost discrimination.

Needs the ``flows`` extra (torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from bumpstat._extras import require
from bumpstat.exceptions import InputError
from bumpstat.serialize import jsonable

__all__ = ["AEConfig", "fit_autoencoder", "reconstruction_error"]


@dataclass(frozen=True)
class AEConfig:
    """Architecture and training of the autoencoder ensemble.

    Attributes
    ----------
    n_models : int
        Members per fold (Collins et al.: 50).
    hidden, n_layers, latent : int
        Hidden width, hidden layers of the encoder (and of the decoder), bottleneck size.
    batch_norm : bool
        Batch normalisation after the first encoder layer.
    epochs, batch_size, lr : int, int, float
        Training of each member.
    subsample : int
        Training events drawn for each member.
    n_folds : int
        Events are split into k folds; the members of fold f train on the other folds and score
        fold f, so no event is scored by a member trained on it.
    n_threads : int or None
        torch threads (``None``: :func:`bumpstat.parallel.available_cpus`).
    """

    n_models: int = 10
    hidden: int = 64
    n_layers: int = 2
    latent: int = 2
    batch_norm: bool = True
    epochs: int = 1
    batch_size: int = 128
    lr: float = 1e-3
    subsample: int = 50_000
    n_folds: int = 2
    n_threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("n_models", "hidden", "n_layers", "latent", "epochs", "batch_size",
                     "subsample"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"AEConfig.{name} must be >= 1, got {getattr(self, name)}")
        if int(self.n_folds) < 2:
            raise InputError(f"AEConfig.n_folds must be >= 2, got {self.n_folds}")
        if not self.lr > 0:
            raise InputError(f"AEConfig.lr must be positive, got {self.lr}")

    @classmethod
    def paper(cls) -> AEConfig:
        """Paper 004 §3.2: 50 members, 2 × 512 hidden, bottleneck 2, batch norm, Adam 1e-4,
        batch 128, one epoch on 50k events each (per fold here: 2 × 50 members)."""
        return cls(n_models=50, hidden=512, n_layers=2, latent=2, lr=1e-4, batch_size=128,
                   subsample=50_000)

    @classmethod
    def fast(cls) -> AEConfig:
        """10 members per fold, 2 × 64 hidden, Adam 1e-3, one epoch on 50k events each."""
        return cls()

    @classmethod
    def test(cls) -> AEConfig:
        """4 members per fold, 2 × 16 hidden, one epoch on 5k events each (seconds)."""
        return cls(n_models=4, hidden=16, subsample=5_000, lr=3e-3)

    @classmethod
    def preset(cls, name: str) -> AEConfig:
        """``"test"``, ``"fast"`` or ``"paper"``."""
        presets = {"test": cls.test, "fast": cls.fast, "paper": cls.paper}
        if name not in presets:
            raise InputError(f"unknown autoencoder preset {name!r}; choose one of "
                             f"{sorted(presets)}")
        return presets[name]()

    def with_(self, **changes: Any) -> AEConfig:
        """A copy with fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return jsonable(asdict(self))


def _build(cfg: AEConfig, d: int) -> Any:
    torch = require("torch")
    nn = torch.nn
    enc: list[Any] = []
    width = d
    for i in range(cfg.n_layers):
        enc.append(nn.Linear(width, cfg.hidden))
        enc.append(nn.ReLU())
        if i == 0 and cfg.batch_norm:
            enc.append(nn.BatchNorm1d(cfg.hidden))
        width = cfg.hidden
    enc.append(nn.Linear(width, cfg.latent))
    dec: list[Any] = []
    width = cfg.latent
    for _ in range(cfg.n_layers):
        dec += [nn.Linear(width, cfg.hidden), nn.ReLU()]
        width = cfg.hidden
    dec.append(nn.Linear(width, d))
    return nn.Sequential(*enc, *dec)


def fit_autoencoder(x: Any, *, config: AEConfig, seed: Any = 0) -> Any:
    """Train one member on standardised events ``x`` (all of them; subsample beforehand)."""
    torch = require("torch")
    xx = np.asarray(x, dtype=np.float32)
    if xx.ndim != 2 or len(xx) < 2:
        raise InputError(f"autoencoder training data must have shape (n >= 2, d), got {xx.shape}")
    rng = np.random.default_rng(seed)
    ts = int(rng.integers(0, 2**31 - 1))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ts)
        model = _build(config, xx.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.999))
    gen = torch.Generator().manual_seed(ts)
    xt = torch.as_tensor(xx)
    model.train()
    for _ in range(config.epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), config.batch_size):
            b = perm[i : i + config.batch_size]
            if b.numel() < 2:
                continue
            loss = ((model(xt[b]) - xt[b]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model


def reconstruction_error(model: Any, x: Any, *, batch_size: int = 65_536) -> np.ndarray:
    """Per-event MSE of the reconstruction of standardised ``x``, shape ``(n,)``."""
    torch = require("torch")
    xx = np.asarray(x, dtype=np.float32)
    out = np.empty(len(xx))
    with torch.no_grad():
        for i in range(0, len(xx), batch_size):
            xb = torch.as_tensor(xx[i : i + batch_size])
            out[i : i + batch_size] = ((model(xb) - xb) ** 2).mean(1).double().numpy()
    return out
