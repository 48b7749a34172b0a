"""The R-ANODE pipeline: background flow on the sidebands, signal flows in the SR, the w fit.

Steps (Das, Kasieczka & Shih, arXiv:2312.11629, §II–III, App. A):

1. ``p_bg(x | m)`` on the sidebands and ``p_bg(m)`` from the SR masses
   (:func:`~bumpstat.flows.background.fit_background`);
2. ``p_sig(x, m)``, an RQS flow trained on the SR events with the R-ANODE loss, w learnable or
   fixed (:func:`~bumpstat.flows.signal.fit_signal`);
3. ``n_runs`` independent signal-flow trainings (splits and seeds); a run whose learned w falls
   below ``w_threshold`` (or whose flow gives no likelihood gain over ``w = 0``) is flagged
   "undetected signal" (Das, Kasieczka & Shih App. B) and left out of the ensemble;
4. the ensemble-averaged ``p_sig`` and ``p_bg`` of the SR events go to the stats layer,
   :func:`bumpstat.stats.mixture.fit_signal_fraction`; the anomaly score is
   ``log R = log p_sig - log p_bg``.

All densities are in physical units (TeV⁻¹ × feature units⁻¹). The w fit uses the same SR
events the signal flows were trained on, so ŵ inherits the flows' fit to those events; its
intervals do not include the flows' training uncertainty (``w_runs`` shows part of it). For
anomaly scores with every event scored out of fold use the producer
:class:`bumpstat.producers.ranode.RanodeProducer`.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError, WindowError
from bumpstat.flows.background import BackgroundModel, fit_background
from bumpstat.flows.config import FlowConfig
from bumpstat.flows.signal import fit_signal
from bumpstat.results import Result
from bumpstat.serialize import jsonable
from bumpstat.stats.mixture import MixtureFitResult, ensemble_log_density, fit_signal_fraction
from bumpstat.windows import Window

__all__ = ["RanodeConfig", "RanodeResult", "run_ranode", "PRESET_NOTES", "W_MAX_PLAUSIBLE",
           "background_reference_nll"]

#: What each preset is for; presets other than "paper" are not meant for physics results.
PRESET_NOTES: dict[str, str] = {
    "test": "preset 'test': tiny flows trained for seconds, for unit tests only; its densities "
            "are not good enough for a physics result",
    "small": "preset 'small': CPU-sized flows for demonstrations; use the 'paper' preset "
             "(Das, Kasieczka and Shih, arXiv:2312.11629, App. A) for physics results",
}

#: Largest plausible fitted signal fraction: a signal that makes up more than this fraction of
#: the SR would stand out as a bump in m alone; a larger w_hat means mis-modelled densities.
W_MAX_PLAUSIBLE = 0.1


def background_reference_nll(n_features: int) -> float:
    """Per-event NLL of a standard normal in ``n_features`` standardised dimensions,
    ``d (ln 2π + 1) / 2``: what the background flow must beat on its sideband validation events
    (the preprocessing standardises the sidebands), else it has learned nothing."""
    return 0.5 * n_features * (math.log(2.0 * math.pi) + 1.0)


def _validity(cfg: RanodeConfig, fit: MixtureFitResult,
              background: BackgroundModel | None = None) -> tuple[bool, str | None]:
    """Whether an R-ANODE result can be trusted, and why not."""
    why = []
    if cfg.preset_name == "test":
        why.append(PRESET_NOTES["test"])
    if background is not None:
        ref = background_reference_nll(background.flow.n_features)
        best = min(background.flow.val_losses, default=math.inf)
        if not best < ref:
            why.append(f"the background flow did not learn: its best sideband validation NLL "
                       f"{best:.4g} per event is not below {ref:.4g}, that of a standard "
                       "normal in the preprocessed space")
    if not fit.valid:
        why.append(f"w fit not valid: {fit.reason}")
    if np.isfinite(fit.w_hat) and fit.w_hat > W_MAX_PLAUSIBLE:
        why.append(f"fitted signal fraction w_hat = {fit.w_hat:.3g} exceeds "
                   f"{W_MAX_PLAUSIBLE:g} of the SR, more than the data can hold without a "
                   "visible bump: the learned densities are mis-modelled")
    return (not why), ("; ".join(why) if why else None)


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
        Runs whose learned w ends below this are "undetected signal" (Das, Kasieczka & Shih App. B).
    m_bins : int
        Bins of the SR mass histogram ``p_bg(m)``.
    margin : float
        Preprocessing margin (fraction of the SB range of each feature).
    n_threads : int
        torch threads.
    n_folds : int
        k of the out-of-fold scoring of :class:`bumpstat.producers.ranode.RanodeProducer`
        (the signal flow is trained k times, each on k - 1 folds of the SR data); not used by
        :func:`run_ranode`.
    preset_name : str
        The preset it came from (``"test"``, ``"small"``, ``"paper"``) or ``"custom"``; results
        of presets not meant for physics say so (:data:`PRESET_NOTES`).
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
    n_folds: int = 3
    preset_name: str = "custom"

    def __post_init__(self) -> None:
        for bad, msg in ((self.n_runs < 1, f"n_runs must be >= 1, got {self.n_runs}"),
                         (not 0 < self.w_init < 1, f"w_init must be in (0, 1), got {self.w_init}"),
                         (self.n_threads < 1, f"n_threads must be >= 1, got {self.n_threads}"),
                         (self.n_folds < 2, f"n_folds must be >= 2, got {self.n_folds}")):
            if bad:
                raise InputError(f"RanodeConfig: {msg}")

    @classmethod
    def small(cls) -> RanodeConfig:
        """CPU default: small MAF/RQS, 2 runs, 3 folds for scores (≈ 2 min of training for the
        1000-signal demo on 2 free cores; much longer when other torch processes share them)."""
        return cls(preset_name="small")

    @classmethod
    def paper(cls) -> RanodeConfig:
        """Paper 002 App. A sizes: MAF 15×128 (100 epochs), RQS 6×2×64 (300 epochs), 20 runs,
        learning rate of w equal to the flow's (3e-4), 5 folds for scores. Many hours on CPU."""
        return cls(FlowConfig.maf_paper(), FlowConfig.rqs_paper(), n_runs=20, w_lr=3e-4,
                   m_bins=50, n_folds=5, preset_name="paper")

    @classmethod
    def test(cls) -> RanodeConfig:
        """Tiny flows for unit tests (seconds)."""
        return cls(FlowConfig.maf_test(), FlowConfig.rqs_test(), n_runs=1, m_bins=20,
                   preset_name="test")

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
        return jsonable(asdict(self))


@dataclass(frozen=True, repr=False)
class RanodeResult(Result):
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
    sr_index: np.ndarray = field(repr=False, metadata={"json": False})
    m: np.ndarray = field(repr=False, metadata={"json": False})
    x: np.ndarray = field(repr=False, metadata={"json": False})
    log_p_sig: np.ndarray = field(repr=False, metadata={"json": False})
    log_p_bg: np.ndarray = field(repr=False, metadata={"json": False})
    background: BackgroundModel = field(repr=False, metadata={"json": False})
    signals: list = field(repr=False, metadata={"json": False})
    seconds: dict = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """The result can be trusted (see :attr:`reason`)."""
        return _validity(self.config, self.fit, self.background)[0]

    @property
    def reason(self) -> str | None:
        """Why the result is not valid: a preset for tests, a background flow that did not
        beat a standard normal on its sideband validation events, an invalid w fit, or a fitted
        signal fraction above :data:`W_MAX_PLAUSIBLE`; None when valid."""
        return _validity(self.config, self.fit, self.background)[1]

    @property
    def preset_note(self) -> str | None:
        """What the configuration's preset is meant for (None for "paper" and custom ones)."""
        return PRESET_NOTES.get(self.config.preset_name)

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
        from bumpstat.data.densities import write_density_file

        return write_density_file(path, self.log_p_sig, self.log_p_bg, **extra)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no per-event arrays; strict: non-finite values are null)."""
        return jsonable({
            "window": self.window, "n_sr": len(self.m), "w_learned": self.w_learned,
            "w_runs": self.w_runs, "undetected": self.undetected, "q0_runs": self.q0_runs,
            "signal_detected": self.valid and not all(self.undetected), "fit": self.fit,
            "valid": self.valid, "reason": self.reason, "preset": self.config.preset_name,
            "preset_note": self.preset_note,
            "config": self.config, "seconds": self.seconds,
        })


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
