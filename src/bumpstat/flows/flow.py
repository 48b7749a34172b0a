"""Normalising flows (torch + nflows) for R-ANODE and CATHODE, with best-epoch ensembles.

Needs the ``flows`` extra; torch and nflows are imported inside the functions through
:func:`bumpstat._extras.require`. Two kinds of flows (Das, Kasieczka & Shih [arXiv:2312.11629],
App. A):

* ``transform="affine"``: a masked autoregressive flow (MAF) of affine MADE blocks, used for the
  conditional background density ``p_bg(x | m)`` trained on the sidebands;
* ``transform="rqs"``: an autoregressive flow of piecewise rational-quadratic splines (RQS,
  linear tails), used for the signal density ``p_sig(x, m)`` in the SR.

Blocks are separated by :class:`nflows.transforms.ReversePermutation` (nflows' ``NaiveLinear``
calls the removed ``torch.solve`` and ``LULinear`` warns, so neither is used). Training keeps the
``n_best`` epochs with the lowest validation loss; their densities are averaged (an equal-weight
mixture), and sampling draws from that mixture. All densities here are in the *preprocessed*
space; :mod:`bumpstat.flows.background` and :mod:`bumpstat.flows.signal` add the Jacobian.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bumpstat._extras import require
from bumpstat.exceptions import InputError
from bumpstat.flows.config import FlowConfig
from bumpstat.parallel import available_cpus, torch_threads

__all__ = ["TrainedFlow", "build_flow", "fit_flow", "set_torch_threads"]


def set_torch_threads(n: int | None = None) -> None:
    """Set torch's process-wide intra-op thread count (default :func:`available_cpus`).

    This changes the setting for the whole process; library code uses
    :func:`bumpstat.parallel.torch_threads`, which restores it.
    """
    torch = require("torch")
    want = int(n) if n else available_cpus()
    if torch.get_num_threads() != want:
        torch.set_num_threads(want)


def build_flow(cfg: FlowConfig, n_features: int, n_context: int = 0):
    """An ``nflows.flows.Flow`` with ``cfg.n_blocks`` MADE blocks and a unit-normal base."""
    require("torch")
    require("nflows")
    from nflows.distributions.normal import StandardNormal
    from nflows.flows.base import Flow
    from nflows.transforms.autoregressive import (
        MaskedAffineAutoregressiveTransform,
        MaskedPiecewiseRationalQuadraticAutoregressiveTransform,
    )
    from nflows.transforms.base import CompositeTransform
    from nflows.transforms.permutations import ReversePermutation

    ctx = n_context or None
    layers = []
    for i in range(cfg.n_blocks):
        if cfg.transform == "affine":
            t = MaskedAffineAutoregressiveTransform(
                features=n_features, hidden_features=cfg.hidden, context_features=ctx,
                num_blocks=cfg.n_layers, use_residual_blocks=False,
                dropout_probability=cfg.dropout, use_batch_norm=cfg.batch_norm,
            )
        else:
            t = MaskedPiecewiseRationalQuadraticAutoregressiveTransform(
                features=n_features, hidden_features=cfg.hidden, context_features=ctx,
                num_bins=cfg.num_bins, tails="linear", tail_bound=cfg.tail_bound,
                num_blocks=cfg.n_layers, use_residual_blocks=False,
                dropout_probability=cfg.dropout, use_batch_norm=cfg.batch_norm,
            )
        layers.append(t)
        if i < cfg.n_blocks - 1:
            layers.append(ReversePermutation(features=n_features))
    return Flow(CompositeTransform(layers), StandardNormal([n_features]))


@dataclass
class _Snapshot:
    val_loss: float
    epoch: int
    state: dict
    w: float | None


@dataclass(frozen=True)
class TrainedFlow:
    """A trained flow and its best-epoch ensemble (densities in the preprocessed space).

    Attributes
    ----------
    config : FlowConfig
    n_features, n_context : int
    flow : nflows.flows.Flow
        The module (its weights are swapped in per snapshot when evaluating).
    states : list of dict
        ``state_dict`` copies of the ``n_best`` epochs with the lowest validation loss.
    epochs : list of int
        Their epoch numbers (0-based), best first.
    val_losses : list of float
        Their validation losses.
    w : list of float or None
        The learned signal fraction at each kept epoch (mixture training only).
    history : dict
        ``{"train_loss": [...], "val_loss": [...], "w": [...], "seconds": float,
        "events_per_second": float}`` per epoch.
    """

    config: FlowConfig
    n_features: int
    n_context: int
    flow: Any = field(repr=False)
    states: list = field(repr=False)
    epochs: list
    val_losses: list
    w: list | None
    history: dict = field(repr=False)

    def log_prob(self, z: Any, context: Any = None, *, batch_size: int = 65_536) -> np.ndarray:
        """log of the ensemble-averaged density at ``z`` (preprocessed space), numpy ``(n,)``."""
        torch = require("torch")
        zt = torch.as_tensor(np.asarray(z, dtype=np.float32))
        ct = None if context is None else torch.as_tensor(
            np.asarray(context, dtype=np.float32).reshape(len(zt), -1))
        out = np.empty((len(self.states), len(zt)))
        self.flow.eval()
        with torch.no_grad():
            for k, state in enumerate(self.states):
                self.flow.load_state_dict(state)
                for i in range(0, len(zt), batch_size):
                    c = None if ct is None else ct[i : i + batch_size]
                    out[k, i : i + batch_size] = (
                        self.flow.log_prob(zt[i : i + batch_size], context=c).double().numpy()
                    )
        from scipy.special import logsumexp

        return logsumexp(out, axis=0) - math.log(len(self.states))

    def sample(self, n: int, context: Any = None, *, seed: int = 0) -> np.ndarray:
        """Draw from the ensemble mixture (each draw from a uniformly chosen kept epoch).

        Without context: ``n`` samples, shape ``(n, d)``. With context ``(n_ctx, c)``: one
        sample per context row, shape ``(n_ctx, d)`` (``n`` is ignored).
        """
        torch = require("torch")
        rng = np.random.default_rng(seed)
        n_out = n if context is None else len(context)
        pick = rng.integers(0, len(self.states), n_out)
        out = np.empty((n_out, self.n_features))
        ctx = None if context is None else np.asarray(context, dtype=np.float32).reshape(n_out, -1)
        self.flow.eval()
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(int(rng.integers(0, 2**31 - 1)))
            for k, state in enumerate(self.states):
                idx = np.flatnonzero(pick == k)
                if idx.size == 0:
                    continue
                self.flow.load_state_dict(state)
                for i in range(0, idx.size, 65_536):
                    sel = idx[i : i + 65_536]
                    if ctx is None:
                        s = self.flow.sample(sel.size)
                    else:
                        s = self.flow.sample(1, context=torch.as_tensor(ctx[sel]))[:, 0, :]
                    out[sel] = s.double().numpy()
        return out

    @property
    def w_mean(self) -> float | None:
        """Mean learned w over the kept epochs (mixture training only)."""
        return None if self.w is None else float(np.mean(self.w))


def _to_rng_seed(seed: Any) -> tuple[np.random.Generator, int]:
    rng = np.random.default_rng(seed)
    return rng, int(rng.integers(0, 2**31 - 1))


def fit_flow(
    z: Any,
    *,
    config: FlowConfig,
    context: Any = None,
    log_p_bg: Any = None,
    w_init: float = 0.01,
    learn_w: bool = True,
    w_lr: float = 2e-2,
    seed: Any = 0,
    progress: bool = True,
    desc: str = "flow",
    n_threads: int | None = None,
    flow: Any = None,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> TrainedFlow:
    """Train a flow on preprocessed data ``z`` and keep its best epochs.

    Parameters
    ----------
    z : array, shape (n, d)
        Training sample in the preprocessed space (split internally into train/validation).
    config : FlowConfig
    context : array, shape (n, c), optional
        Conditioning variables (a conditional flow ``p(z | context)``).
    log_p_bg : array, shape (n,), optional
        If given, train the **R-ANODE** mixture: the loss is
        ``-mean log(w p_flow(z) + (1 - w) p_bg(z))`` with ``p_bg`` fixed (log-density in the same
        preprocessed space). Otherwise plain maximum likelihood.
    w_init, learn_w, w_lr : float, bool, float
        Mixture only: initial signal fraction; whether w is learned (parametrised as
        ``sigmoid(theta)``, with its own Adam learning rate ``w_lr`` on theta) or fixed.
    seed : int or numpy.random.Generator
        Seeds the split, the shuffling and the torch initialisation.
    progress : bool
        Show a tqdm progress bar over epochs.
    n_threads : int, optional
        Upper bound on torch's intra-op threads while training (default
        :func:`bumpstat.parallel.available_cpus`; fewer when other processes keep CPUs busy,
        :func:`bumpstat.parallel.torch_threads`). The caller's torch setting is restored.
    flow : nflows Flow, optional
        Start from this module instead of a fresh :func:`build_flow`.

    Returns
    -------
    TrainedFlow
    """
    with torch_threads(n_threads):
        return _fit_flow(z, config=config, context=context, log_p_bg=log_p_bg, w_init=w_init,
                         learn_w=learn_w, w_lr=w_lr, seed=seed, progress=progress, desc=desc,
                         flow=flow, on_epoch=on_epoch)


def _fit_flow(z, *, config, context, log_p_bg, w_init, learn_w, w_lr, seed, progress, desc,
              flow, on_epoch) -> TrainedFlow:
    torch = require("torch")
    from tqdm.auto import tqdm

    cfg = config
    zz = np.asarray(z, dtype=np.float32)
    if zz.ndim != 2 or len(zz) < 4:
        raise InputError(f"training data must have shape (n >= 4, d), got {zz.shape}")
    if not np.all(np.isfinite(zz)):
        raise InputError("training data contain NaN or inf")
    cc = None if context is None else np.asarray(context, dtype=np.float32).reshape(len(zz), -1)
    lb = None if log_p_bg is None else np.asarray(log_p_bg, dtype=np.float64)
    if lb is not None and lb.shape != (len(zz),):
        raise InputError(f"log_p_bg must have shape ({len(zz)},), got {lb.shape}")
    if lb is not None and not np.all(np.isfinite(lb)):
        raise InputError("log_p_bg contains NaN or inf for training events")
    if lb is not None and not 0 < w_init < 1:
        raise InputError(f"w_init must be in (0, 1), got {w_init}")

    rng, torch_seed = _to_rng_seed(seed)
    n = len(zz)
    idx = rng.permutation(n)
    if cfg.max_train_events is not None and n > cfg.max_train_events:
        idx = idx[: cfg.max_train_events]
    n_val = max(1, int(round(cfg.val_fraction * idx.size)))
    val_idx, tr_idx = idx[:n_val], idx[n_val:]

    def tensors(sel):
        out = [torch.as_tensor(zz[sel])]
        out.append(None if cc is None else torch.as_tensor(cc[sel]))
        out.append(None if lb is None else torch.as_tensor(lb[sel], dtype=torch.float32))
        return out

    tr, va = tensors(tr_idx), tensors(val_idx)
    gen = torch.Generator().manual_seed(torch_seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed)
        model = flow if flow is not None else build_flow(cfg, zz.shape[1], 0 if cc is None
                                                         else cc.shape[1])
    theta = None
    params = [{"params": list(model.parameters()), "lr": cfg.lr}]
    if lb is not None:
        theta = torch.nn.Parameter(torch.tensor(math.log(w_init / (1 - w_init))),
                                   requires_grad=learn_w)
        if learn_w:
            params.append({"params": [theta], "lr": w_lr, "weight_decay": 0.0})
    opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    opt = opt_cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def loss_of(zb, cb, lbb):
        lp = model.log_prob(zb, context=cb)
        if lbb is None:
            return -lp.mean()
        log_w = torch.nn.functional.logsigmoid(theta)
        log_1mw = torch.nn.functional.logsigmoid(-theta)
        return -torch.logaddexp(log_w + lp, log_1mw + lbb).mean()

    def evaluate(ts):
        model.eval()
        tot, cnt = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(ts[0]), 65_536):
                zb = ts[0][i : i + 65_536]
                cb = None if ts[1] is None else ts[1][i : i + 65_536]
                lbb = None if ts[2] is None else ts[2][i : i + 65_536]
                tot += float(loss_of(zb, cb, lbb).detach()) * len(zb)
                cnt += len(zb)
        return tot / cnt

    import time

    snaps: list[_Snapshot] = []
    hist: dict[str, Any] = {"train_loss": [], "val_loss": [], "w": []}
    t0 = time.perf_counter()
    n_tr = len(tr[0])
    bar = tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        perm = torch.randperm(n_tr, generator=gen)
        tot = 0.0
        for i in range(0, n_tr, cfg.batch_size):
            b = perm[i : i + cfg.batch_size]
            if b.numel() < 2:
                continue
            loss = loss_of(tr[0][b], None if tr[1] is None else tr[1][b],
                           None if tr[2] is None else tr[2][b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * b.numel()
        vl = evaluate(va)
        w_now = None if theta is None else float(torch.sigmoid(theta.detach()))
        hist["train_loss"].append(tot / n_tr)
        hist["val_loss"].append(vl)
        hist["w"].append(w_now)
        if not math.isfinite(vl):
            vl = math.inf
        snaps.append(_Snapshot(vl, epoch, copy.deepcopy(model.state_dict()), w_now))
        snaps.sort(key=lambda s: s.val_loss)
        del snaps[cfg.n_best :]
        bar.set_postfix(val=f"{vl:.4f}", **({} if w_now is None else {"w": f"{w_now:.2e}"}))
        if on_epoch is not None:
            on_epoch(epoch, tot / n_tr, vl)
    secs = time.perf_counter() - t0
    hist["seconds"] = secs
    hist["events_per_second"] = cfg.epochs * n_tr / secs if secs > 0 else float("inf")
    model.eval()
    return TrainedFlow(
        config=cfg, n_features=zz.shape[1], n_context=0 if cc is None else cc.shape[1],
        flow=model, states=[s.state for s in snaps], epochs=[s.epoch for s in snaps],
        val_losses=[s.val_loss for s in snaps],
        w=None if theta is None else [s.w for s in snaps], history=hist,
    )
