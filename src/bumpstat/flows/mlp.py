"""A small fully connected classifier (torch) with event weights, smooth in its inputs.

Used by SALAD (:mod:`bumpstat.producers.salad`) to learn ``p_data(x, m) / p_sim(x, m)`` in the
sidebands with m as an input, so that the learned ratio is interpolated smoothly into the signal
region (a tree ensemble would be piecewise constant across the gap). Inputs are standardised
with the training sample's mean and standard deviation; the epoch with the lowest weighted
validation loss is kept. Needs the ``flows`` extra (torch).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bumpstat._extras import require
from bumpstat.exceptions import InputError

__all__ = ["MLPClassifier", "fit_mlp_classifier"]


@dataclass(frozen=True)
class MLPClassifier:
    """A trained classifier: :meth:`logit` gives ``log P(1|x) / P(0|x)``.

    Attributes
    ----------
    model : torch.nn.Module
    mean, std : numpy.ndarray
        Input standardisation.
    history : dict
        ``train_loss``, ``val_loss`` per epoch, ``best_epoch``, ``seconds``,
        ``events_per_second``.
    """

    model: Any = field(repr=False)
    mean: np.ndarray = field(repr=False)
    std: np.ndarray = field(repr=False)
    history: dict = field(repr=False)

    def logit(self, x: Any, *, batch_size: int = 65_536) -> np.ndarray:
        """Log-odds of class 1, shape ``(n,)``."""
        torch = require("torch")
        xs = ((np.asarray(x, dtype=np.float64) - self.mean) / self.std).astype(np.float32)
        out = np.empty(len(xs))
        self.model.eval()
        with torch.no_grad():
            for i in range(0, len(xs), batch_size):
                out[i : i + batch_size] = self.model(
                    torch.as_tensor(xs[i : i + batch_size]))[:, 0].double().numpy()
        return out


def fit_mlp_classifier(x: Any, y: Any, weight: Any = None, *, hidden: int = 64,
                       n_layers: int = 3, epochs: int = 10, batch_size: int = 1024,
                       lr: float = 1e-3, max_train_events: int | None = None,
                       val_fraction: float = 0.2, seed: Any = 0, progress: bool = True,
                       desc: str = "classifier") -> MLPClassifier:
    """Train ``n_layers`` ReLU layers of ``hidden`` units with the weighted cross-entropy.

    Parameters
    ----------
    x : array (n, d)
    y : array (n,)
        Labels 0/1.
    weight : array (n,), optional
        Event weights (default 1).
    seed : int or numpy.random.Generator
        Seeds the split, the shuffling and the initialisation.
    """
    torch = require("torch")
    from tqdm.auto import tqdm

    xx = np.asarray(x, dtype=np.float64)
    yy = np.asarray(y, dtype=np.float64)
    ww = np.ones(len(yy)) if weight is None else np.asarray(weight, dtype=np.float64)
    if xx.ndim != 2 or len(xx) < 10 or yy.shape != (len(xx),) or ww.shape != (len(xx),):
        raise InputError(f"classifier inputs must be x (n >= 10, d), y (n,), weight (n,); got "
                         f"{xx.shape}, {yy.shape}, {ww.shape}")
    if not (np.all(np.isfinite(xx)) and np.all(np.isfinite(ww)) and np.all(ww >= 0)):
        raise InputError("classifier inputs contain NaN/inf or negative weights")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(xx))
    if max_train_events is not None and idx.size > max_train_events:
        idx = idx[: int(max_train_events)]
    n_val = max(1, int(round(val_fraction * idx.size)))
    va, tr = idx[:n_val], idx[n_val:]
    mean, std = xx[tr].mean(0), xx[tr].std(0)
    std = np.where(std > 0, std, 1.0)
    xs = ((xx - mean) / std).astype(np.float32)
    ww = ww / ww[tr].mean()
    t = {k: (torch.as_tensor(xs[s]), torch.as_tensor(yy[s], dtype=torch.float32),
             torch.as_tensor(ww[s], dtype=torch.float32)) for k, s in (("tr", tr), ("va", va))}
    torch_seed = int(rng.integers(0, 2**31 - 1))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed)
        layers: list[Any] = []
        width = xs.shape[1]
        for _ in range(int(n_layers)):
            layers += [torch.nn.Linear(width, int(hidden)), torch.nn.ReLU()]
            width = int(hidden)
        model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    bce = torch.nn.BCEWithLogitsLoss(reduction="none")
    gen = torch.Generator().manual_seed(torch_seed)

    def loss(xb, yb, wb):
        return (bce(model(xb)[:, 0], yb) * wb).sum() / wb.sum()

    hist: dict[str, Any] = {"train_loss": [], "val_loss": []}
    best, best_state = np.inf, copy.deepcopy(model.state_dict())
    t0 = time.perf_counter()
    n_tr = len(tr)
    for _ in tqdm(range(int(epochs)), desc=desc, disable=not progress, leave=False):
        model.train()
        perm = torch.randperm(n_tr, generator=gen)
        tot = 0.0
        for i in range(0, n_tr, int(batch_size)):
            b = perm[i : i + int(batch_size)]
            lo = loss(t["tr"][0][b], t["tr"][1][b], t["tr"][2][b])
            opt.zero_grad()
            lo.backward()
            opt.step()
            tot += float(lo.detach()) * b.numel()
        model.eval()
        with torch.no_grad():
            vl = float(loss(*t["va"]))
        hist["train_loss"].append(tot / max(n_tr, 1))
        hist["val_loss"].append(vl)
        if vl < best:
            best, best_state = vl, copy.deepcopy(model.state_dict())
            hist["best_epoch"] = len(hist["val_loss"]) - 1
    secs = time.perf_counter() - t0
    hist["seconds"] = secs
    hist["events_per_second"] = int(epochs) * n_tr / secs if secs > 0 else float("inf")
    model.load_state_dict(best_state)
    model.eval()
    return MLPClassifier(model, mean, std, hist)
