"""The R-ANODE pipeline: background flow on the sidebands, signal flow in the SR, the w fit.

Steps (paper 002 §II–III, App. A):

1. ``p_bg(x | m)``: a conditional MAF trained on the sideband events (:func:`fit_background`),
   features preprocessed with SB parameters (:class:`~bumpstat.ranode.preprocess.Preprocessor`),
   conditioned on the standardised m; interpolated into the SR.
2. ``p_bg(m)``: a histogram of the SR masses normalised in the SR (``scipy.stats.rv_histogram``).
3. ``p_sig(x, m)``: an RQS flow on ``(x, m)`` of the SR events, trained with the R-ANODE loss
   ``-mean log(w p_sig + (1 - w) p_bg)`` with ``p_bg`` held fixed and w learnable or fixed
   (:func:`fit_signal`). m is mapped to the SR with a logit so ``p_sig`` is normalised in the SR.
4. Runs over independent train/validation splits; a run whose learned w falls below
   ``w_threshold`` (or whose flow does not improve the likelihood over ``w = 0``) is flagged
   "undetected signal" (paper 002 App. B) and left out of the ensemble.
5. The ensemble-averaged ``p_sig`` and ``p_bg`` of the SR events go to the stats core,
   :func:`~bumpstat.ranode.likelihood.fit_signal_fraction`; the anomaly score is
   ``log R = log p_sig - log p_bg``.

All densities are in physical units (TeV⁻¹ × feature units⁻¹); the preprocessing Jacobian is
included. The w fit uses the same SR events the signal flow was trained on, so it inherits the
flow's fit to those events: ŵ is a point estimate from a data-driven model, its intervals do not
include the flow's training uncertainty (the ensemble spread ``w_runs`` shows part of it).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from bumpstat.exceptions import InputError, WindowError
from bumpstat.ranode.flows import FlowConfig, TrainedFlow, fit_flow
from bumpstat.ranode.likelihood import (
    MixtureFitResult,
    ensemble_log_density,
    fit_signal_fraction,
    write_density_file,
)
from bumpstat.ranode.preprocess import Preprocessor
from bumpstat.windows import Window

__all__ = [
    "RanodeConfig",
    "BackgroundModel",
    "SignalModel",
    "RanodeResult",
    "fit_background",
    "fit_signal",
    "run_ranode",
]


@dataclass(frozen=True)
class RanodeConfig:
    """Configuration of an R-ANODE run.

    Attributes
    ----------
    background : FlowConfig
        Conditional MAF for ``p_bg(x | m)`` (sidebands).
    signal : FlowConfig
        RQS flow for ``p_sig(x, m)`` (SR).
    n_runs : int
        Independent signal-flow trainings (train/validation splits and seeds) in the ensemble.
    learn_w : bool
        Learn w with the flow (True) or hold it fixed at ``w_init``.
    w_init : float
        Initial (or fixed) signal fraction.
    w_lr : float
        Adam learning rate of ``logit(w)``.
    w_threshold : float
        Runs whose learned w ends below this are "undetected signal" (paper 002 App. B).
    m_bins : int
        Bins of the SR mass histogram ``p_bg(m)``.
    margin : float
        Preprocessing margin (fraction of the SB range of each feature).
    n_threads : int
        torch threads.
    """

    background: FlowConfig = field(default_factory=FlowConfig.maf_small)
    signal: FlowConfig = field(default_factory=FlowConfig.rqs_small)
    n_runs: int = 2
    learn_w: bool = True
    w_init: float = 0.01
    w_lr: float = 2e-2
    w_threshold: float = 1e-4
    m_bins: int = 40
    margin: float = 0.05
    n_threads: int = 2

    def __post_init__(self) -> None:
        if self.n_runs < 1:
            raise InputError(f"n_runs must be >= 1, got {self.n_runs}")
        if not 0 < self.w_init < 1:
            raise InputError(f"w_init must be in (0, 1), got {self.w_init}")

    @classmethod
    def small(cls) -> RanodeConfig:
        """CPU default: small MAF/RQS, 2 runs (≈ 2 min of training for the 1000-signal demo on
        2 free cores; much longer when other torch processes share them)."""
        return cls()

    @classmethod
    def paper(cls) -> RanodeConfig:
        """Paper 002 App. A sizes: MAF 15×128 (100 epochs), RQS 6×2×64 (300 epochs), 20 runs,
        learning rate of w equal to the flow's (3e-4). Many hours on CPU."""
        return cls(FlowConfig.maf_paper(), FlowConfig.rqs_paper(), n_runs=20, w_lr=3e-4,
                   m_bins=50)

    @classmethod
    def test(cls) -> RanodeConfig:
        """Tiny flows for unit tests (seconds)."""
        return cls(FlowConfig.maf_test(), FlowConfig.rqs_test(), n_runs=1, m_bins=20)

    @classmethod
    def preset(cls, name: str) -> RanodeConfig:
        """``"small"``, ``"paper"`` or ``"test"``."""
        presets = {"small": cls.small, "paper": cls.paper, "test": cls.test}
        if name not in presets:
            raise InputError(f"unknown R-ANODE config {name!r}; choose from {sorted(presets)}")
        return presets[name]()

    def replace(self, **changes: Any) -> RanodeConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


# ----------------------------------------------------------------------------------------------
# background
# ----------------------------------------------------------------------------------------------


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
    n_threads: int = 2,
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


# ----------------------------------------------------------------------------------------------
# signal
# ----------------------------------------------------------------------------------------------


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
    n_threads: int = 2,
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


# ----------------------------------------------------------------------------------------------
# the full run
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RanodeResult:
    """Outcome of :func:`run_ranode`.

    Attributes
    ----------
    config : RanodeConfig
    window : Window
    fit : MixtureFitResult
        The stats-core fit of w with the ensemble-averaged densities of the SR events.
    w_learned : float
        Mean learned w over the kept (detected) runs (``w_init`` when w is fixed; NaN if no
        run was kept).
    w_runs : list of float
        Learned w of every run.
    undetected : list of bool
        Per run: flagged "undetected signal" (learned w < ``w_threshold`` or no likelihood
        gain over ``w = 0``).
    q0_runs : list of float
        Per run: q0 of the stats-core fit with that run's ``p_sig`` alone.
    sr_index : numpy.ndarray
        Indices of the SR events in the input arrays.
    m, x : numpy.ndarray
        The SR events (TeV, features).
    log_p_sig, log_p_bg : numpy.ndarray
        Ensemble-averaged log-densities of the SR events (physical units).
    background : BackgroundModel
    signals : list of SignalModel
        All runs (kept and flagged).
    seconds : dict
        Wall-clock times of the steps.
    """

    config: RanodeConfig
    window: Window
    fit: MixtureFitResult
    w_learned: float
    w_runs: list
    undetected: list
    q0_runs: list
    sr_index: np.ndarray = field(repr=False)
    m: np.ndarray = field(repr=False)
    x: np.ndarray = field(repr=False)
    log_p_sig: np.ndarray = field(repr=False)
    log_p_bg: np.ndarray = field(repr=False)
    background: BackgroundModel = field(repr=False)
    signals: list = field(repr=False)
    seconds: dict = field(default_factory=dict)

    @property
    def score(self) -> np.ndarray:
        """Anomaly score ``log R = log p_sig - log p_bg`` of the SR events."""
        return self.log_p_sig - self.log_p_bg

    @property
    def kept_signals(self) -> list:
        """Signal models of the runs not flagged undetected (all runs if none survives)."""
        kept = [s for s, u in zip(self.signals, self.undetected, strict=True) if not u]
        return kept or list(self.signals)

    def log_p_sig_of(self, x: Any, m: Any) -> np.ndarray:
        """Ensemble ``log p_sig(x, m)`` of other SR events (e.g. a test set)."""
        return ensemble_log_density([s.log_p(x, m) for s in self.kept_signals])

    def log_r(self, x: Any, m: Any) -> np.ndarray:
        """Anomaly score ``log p_sig - log p_bg`` of other SR events."""
        return self.log_p_sig_of(x, m) - self.background.log_p(x, m)

    def sample_signal(self, n: int, *, seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(m, x)`` from the ensemble of kept signal flows (equal-weight mixture)."""
        rng = np.random.default_rng(seed)
        models = self.kept_signals
        pick = rng.integers(0, len(models), int(n))
        ms, xs = [], []
        for k, model in enumerate(models):
            nk = int((pick == k).sum())
            if nk:
                m, x = model.sample(nk, seed=int(rng.integers(0, 2**31 - 1)))
                ms.append(m)
                xs.append(x)
        return np.concatenate(ms), np.vstack(xs)

    def write_densities(self, path: str | Path, *, label: Any = None) -> Path:
        """Write the SR events' densities (readable by ``bumpstat ranode fit``)."""
        extra: dict[str, Any] = {"m": self.m, "x": self.x, "score": self.score,
                                 "sr_index": self.sr_index}
        if label is not None:
            extra["label"] = np.asarray(label)[self.sr_index]
        return write_density_file(path, self.log_p_sig, self.log_p_bg, **extra)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-event arrays)."""
        return {
            "window": self.window.to_dict(),
            "n_sr": int(len(self.m)),
            "w_learned": float(self.w_learned),
            "w_runs": [float(w) for w in self.w_runs],
            "undetected": [bool(u) for u in self.undetected],
            "q0_runs": [float(q) for q in self.q0_runs],
            "signal_detected": not all(self.undetected),
            "fit": self.fit.to_dict(),
            "config": self.config.to_dict(),
            "seconds": {k: float(v) for k, v in self.seconds.items()},
        }


def run_ranode(
    m: Any,
    x: Any,
    *,
    window: Window,
    sideband: str = "full",
    sb_width: float = 0.2,
    fit_range: tuple[float, float] = (2.8, 5.2),
    config: RanodeConfig | None = None,
    background: BackgroundModel | None = None,
    seed: Any = 0,
    progress: bool = True,
) -> RanodeResult:
    """Run R-ANODE on events ``(m, x)``: background flow, signal flows, the w fit.

    Parameters
    ----------
    m : array (n,)
        Resonant mass, TeV.
    x : array (n, d)
        Auxiliary features.
    window : Window
        The signal region.
    sideband, sb_width, fit_range
        Sidebands for the background flow (see :meth:`Window.sideband_mask`).
    config : RanodeConfig
        Default :meth:`RanodeConfig.small`.
    background : BackgroundModel, optional
        Reuse a trained background model (the paper uses one for all injections).
    seed : int
        Seeds every step (same seed, same numbers on the same machine and thread count).
    progress : bool
        tqdm progress bars.

    Returns
    -------
    RanodeResult
    """
    cfg = config or RanodeConfig.small()
    m = np.asarray(m, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if m.ndim != 1 or len(m) != len(x):
        raise InputError(f"m has shape {m.shape} and x {x.shape}: expected (n,) and (n, d)")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(x))):
        raise InputError("m or x contains NaN or inf")
    sr = window.contains(m)
    sb = window.sideband_mask(m, kind=sideband, width=sb_width, fit_range=fit_range)
    if sr.sum() < 10:
        raise WindowError(f"only {int(sr.sum())} events in the SR {window.name}")
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31 - 1, 1 + cfg.n_runs)
    secs: dict[str, float] = {}
    t0 = time.perf_counter()
    bg = background or fit_background(
        m[sb], x[sb], m[sr], window=window, x_sr=x[sr], config=cfg.background, m_bins=cfg.m_bins,
        margin=cfg.margin, seed=int(seeds[0]), progress=progress, n_threads=cfg.n_threads)
    secs["background"] = time.perf_counter() - t0
    m_sr, x_sr = m[sr], x[sr]
    t0 = time.perf_counter()
    log_p_bg = bg.log_p(x_sr, m_sr)
    secs["background_eval"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    signals, lps, w_runs, q0s, undetected = [], [], [], [], []
    for k in range(cfg.n_runs):
        sig = fit_signal(m_sr, x_sr, log_p_bg, window=window, x_pre=bg.x_pre,
                         config=cfg.signal, learn_w=cfg.learn_w, w_init=cfg.w_init,
                         w_lr=cfg.w_lr, seed=int(seeds[1 + k]), progress=progress,
                         n_threads=cfg.n_threads)
        lp = sig.log_p(x_sr, m_sr)
        w_k = sig.w_learned if cfg.learn_w else cfg.w_init
        q0_k = fit_signal_fraction(lp, log_p_bg).q0
        signals.append(sig)
        lps.append(lp)
        w_runs.append(float(w_k))
        q0s.append(float(q0_k))
        undetected.append(bool((cfg.learn_w and w_k < cfg.w_threshold) or q0_k <= 0))
    secs["signal"] = time.perf_counter() - t0
    keep = [i for i, u in enumerate(undetected) if not u] or list(range(cfg.n_runs))
    log_p_sig = ensemble_log_density(np.stack([lps[i] for i in keep]))
    t0 = time.perf_counter()
    res = fit_signal_fraction(log_p_sig, log_p_bg)
    secs["w_fit"] = time.perf_counter() - t0
    kept_w = [w_runs[i] for i, u in enumerate(undetected) if not u]
    w_learned = float(np.mean(kept_w)) if kept_w else float("nan")
    return RanodeResult(cfg, window, res, w_learned, w_runs, undetected, q0s,
                        np.flatnonzero(sr), m_sr, x_sr, log_p_sig, log_p_bg, bg, signals, secs)

