"""A synthetic, LHC-Olympics-R&D-like dijet data set with exact densities.

The generator plays the role of the LHCO R&D sample (1M QCD dijets, a W' -> X(-> qq) Y(-> qq)
signal at m_JJ = 3.5 TeV with m_X = 500 GeV, m_Y = 100 GeV) and knows every density in closed
form (up to a numerically exact normalisation of the background mass spectrum), so the optimal
anomaly score ``log p_sig(x|m) - log p_bg(x|m)`` and exact-density fits are available.
See ``docs/data.md`` for the distributions, parameters and the facts reproduced.

All masses are in TeV. Features, in this order::

    mj1       lighter-jet mass m_J1                       (TeV)
    delta_mj  m_J2 - m_J1 >= 0                            (TeV)
    tau21_j1  N-subjettiness ratio tau2/tau1 of J1        in (0, 1)
    tau21_j2  N-subjettiness ratio tau2/tau1 of J2        in (0, 1)
    delta_r   Delta R_JJ (only with ``delta_r=True``)

>>> gen = SyntheticLHCO()
>>> ev = gen.sample(n_background=1000, n_signal=10, seed=1)
>>> len(ev), ev.feature_names
(1010, ('mj1', 'delta_mj', 'tau21_j1', 'tau21_j2'))
>>> round(gen.fraction_in(3.3, 3.7), 3), round(gen.fraction_in(3.3, 3.7, component="signal"), 2)
(0.12, 0.76)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special, stats

from bumpstat.data._shapes import VARIANTS, TabulatedMassDensity, log_diff_ndtr
from bumpstat.events import Events
from bumpstat.exceptions import InputError
from bumpstat.windows import window_edges

__all__ = [
    "SyntheticLHCO",
    "M_LO",
    "M_HI",
    "SQRT_S",
    "BASELINE_FEATURES",
    "DELTA_R_FEATURE",
]

#: Lower edge of the generated m_JJ range (TeV).
M_LO: float = 1.5
#: Upper edge of the generated m_JJ range (TeV).
M_HI: float = 8.0
#: Centre-of-mass energy (TeV) used to scale the dijet function, x = m / sqrt(s).
SQRT_S: float = 13.0
#: Names of the baseline auxiliary features, in column order.
BASELINE_FEATURES: tuple[str, ...] = ("mj1", "delta_mj", "tau21_j1", "tau21_j2")
#: Name of the optional Delta R_JJ feature (last column when present).
DELTA_R_FEATURE: str = "delta_r"

#: Slope of the percent-level m dependence of the background feature shapes (1/TeV).
_M_SLOPE = 0.03
#: Reference mass of that dependence (TeV).
_M_REF = 3.5
#: Shift coefficient of the "shifted" variant: m_J1 -> m_J1 + 0.1 m, delta m -> delta m + 0.1 m.
_SHIFT = 0.1


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
def _check_count(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise InputError(f"{what} must be a non-negative integer, got {n!r}")
    if n < 0:
        raise InputError(f"{what} must be a non-negative integer, got {n}")
    return int(n)


# ----------------------------------------------------------------------------------------------
# The generator
# ----------------------------------------------------------------------------------------------
class SyntheticLHCO:
    """Synthetic LHCO-R&D-like dijet events with exact densities.

    Parameters
    ----------
    variant : {"nominal", "alternative"}
        ``"nominal"`` plays Pythia; ``"alternative"`` plays Herwig: the same structure with
        feature shapes changed by a few percent and a slightly softer m spectrum (for
        delta_sys^MC studies).
    shifted : bool
        Replace m_J1 and delta m by ``m_J1 + 0.1 m`` and ``delta m + 0.1 m`` (the strongly
        m-correlated features of LaCATHODE). The Jacobian is 1.
    delta_r : bool
        Append Delta R_JJ, whose location moves strongly with m (about 4 widths across
        3.1-3.9 TeV).
    sqrt_s : float
        Centre-of-mass energy in TeV for the dijet function variable ``x = m / sqrt_s``.
    m_range : (float, float)
        Generated range of m_JJ in TeV; all densities are normalised on it.

    Notes
    -----
    Background: ``p_bg(m) ∝ (1 - x)^p1 / x^(p2 + p3 ln x) * Φ((m - 2.6) / (0.15 / √2))`` with
    ``x = m / √s`` (an erf trigger turn-on, 50% at 2.6 TeV). Features given m are independent:
    m_J1 ~ Gamma, Δm ~ Gamma with scales ∝ ``1 + 0.03 (m - 3.5)``; τ21 ~ Beta with the first
    shape parameter ∝ ``1 + 0.03 (m - 3.5)``. Signal: m ~ Normal(3.5, 0.17) truncated to
    ``m_range``; m_J1 ~ Gamma (mean 0.1 TeV, 5% width), Δm ~ Gamma (mean 0.4 TeV, 5% width),
    τ21 ~ Beta (means 0.30, 0.32), independent of m.
    """

    def __init__(
        self,
        *,
        variant: str = "nominal",
        shifted: bool = False,
        delta_r: bool = False,
        sqrt_s: float = SQRT_S,
        m_range: tuple[float, float] = (M_LO, M_HI),
    ) -> None:
        if variant not in VARIANTS:
            raise InputError(f"unknown variant {variant!r}; choose one of {sorted(VARIANTS)}")
        lo, hi = (float(v) for v in m_range)
        sqrt_s = float(sqrt_s)
        if not (np.isfinite(sqrt_s) and sqrt_s > 0):
            raise InputError(f"sqrt_s must be a positive number of TeV, got {sqrt_s}")
        if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi < sqrt_s):
            raise InputError(
                f"m_range must satisfy 0 < low < high < sqrt_s = {sqrt_s} TeV, got ({lo}, {hi})"
            )
        self.variant = variant
        self.shifted = bool(shifted)
        self.delta_r = bool(delta_r)
        self.sqrt_s = sqrt_s
        self.m_range = (lo, hi)
        self._p = VARIANTS[variant]
        self.feature_names: tuple[str, ...] = BASELINE_FEATURES + (
            (DELTA_R_FEATURE,) if self.delta_r else ()
        )
        n_cells = max(1000, int(np.ceil((hi - lo) / 1e-4)))
        self._bg_m = TabulatedMassDensity(self._log_f_bg_m_unnorm, lo, hi, n_cells)
        p = self._p
        self._sig_a = (lo - p.sig_m_mu) / p.sig_m_sigma
        self._sig_b = (hi - p.sig_m_mu) / p.sig_m_sigma
        self._sig_log_z = float(log_diff_ndtr(self._sig_a, self._sig_b))

    def __repr__(self) -> str:
        return (
            f"SyntheticLHCO(variant={self.variant!r}, shifted={self.shifted}, "
            f"delta_r={self.delta_r}, sqrt_s={self.sqrt_s}, m_range={self.m_range})"
        )

    @property
    def n_features(self) -> int:
        """Number of auxiliary features ``d``."""
        return len(self.feature_names)

    # ---------------------------------------------------------------- m densities
    def _log_f_bg_m_unnorm(self, m: np.ndarray) -> np.ndarray:
        p = self._p
        x = m / self.sqrt_s
        lx = np.log(x)
        return (
            p.p1 * np.log1p(-x)
            - (p.p2 + p.p3 * lx) * lx
            + special.log_ndtr((m - p.turn_on_m) * (np.sqrt(2.0) / p.turn_on_w))
        )

    def log_p_bg_m(self, m: Any) -> np.ndarray:
        """Log density of the background m_JJ spectrum (1/TeV), normalised on ``m_range``.

        ``-inf`` outside ``m_range``.
        """
        return self._bg_m.logpdf(self._as_m(m))

    def log_p_sig_m(self, m: Any) -> np.ndarray:
        """Log density of the signal m_JJ (truncated Gaussian), normalised on ``m_range``."""
        m = self._as_m(m)
        p = self._p
        lo, hi = self.m_range
        out = np.full(m.shape, -np.inf)
        inside = (m >= lo) & (m <= hi)
        z = (m[inside] - p.sig_m_mu) / p.sig_m_sigma
        out[inside] = (
            -0.5 * z**2 - 0.5 * np.log(2 * np.pi) - np.log(p.sig_m_sigma) - self._sig_log_z
        )
        return out

    def cdf_bg_m(self, m: Any) -> np.ndarray:
        """Exact CDF of the background m_JJ spectrum on ``m_range``."""
        return self._bg_m.cdf(self._as_m(m))

    def cdf_sig_m(self, m: Any) -> np.ndarray:
        """Exact CDF of the signal m_JJ on ``m_range``."""
        m = np.clip(self._as_m(m), *self.m_range)
        p = self._p
        z = (m - p.sig_m_mu) / p.sig_m_sigma
        return np.clip(np.exp(log_diff_ndtr(self._sig_a, z) - self._sig_log_z), 0.0, 1.0)

    def fraction_in(self, low: float, high: float, *, component: str = "background") -> float:
        """Exact probability that an event of ``component`` has ``low <= m < high`` (TeV)."""
        low, high = window_edges((low, high))
        cdf = self._cdf_of(component)
        lo_hi = cdf(np.array([low, high]))
        return float(max(lo_hi[1] - lo_hi[0], 0.0))

    def _cdf_of(self, component: str) -> Callable[[Any], np.ndarray]:
        if component == "background":
            return self.cdf_bg_m
        if component == "signal":
            return self.cdf_sig_m
        raise InputError(f"component must be 'background' or 'signal', got {component!r}")

    # ---------------------------------------------------------------- feature densities
    def _base_features(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Undo the ``shifted`` transform (Jacobian 1)."""
        if not self.shifted:
            return x
        base = x.copy()
        base[:, 0] -= _SHIFT * m
        base[:, 1] -= _SHIFT * m
        return base

    def _dr_mu(self, m: np.ndarray, c: float) -> np.ndarray:
        deta = 2.0 * np.arcsinh(m / (2.0 * self._p.dr_pt0))
        return np.sqrt(np.pi**2 + (c * deta) ** 2)

    def _bg_feature_params(self, m: np.ndarray) -> dict[str, Any]:
        p = self._p
        s = 1.0 + _M_SLOPE * (m - _M_REF)
        return {
            "mj1": (p.bg_mj1[0], p.bg_mj1[1] * s),
            "dm": (p.bg_dm[0], p.bg_dm[1] * s),
            "t1": (p.bg_t1[0] * s, p.bg_t1[1]),
            "t2": (p.bg_t2[0] * s, p.bg_t2[1]),
            "dr": (self._dr_mu(m, 1.0), p.dr_sigma_bg),
        }

    def _sig_feature_params(self, m: np.ndarray) -> dict[str, Any]:
        p = self._p
        return {
            "mj1": p.sig_mj1,
            "dm": p.sig_dm,
            "t1": p.sig_t1,
            "t2": p.sig_t2,
            "dr": (self._dr_mu(m, p.dr_c_sig), p.dr_sigma_sig),
        }

    def _log_p_x(self, x: Any, m: Any, params_of: Callable[[np.ndarray], dict]) -> np.ndarray:
        x, m = self._as_xm(x, m)
        base = self._base_features(x, m)
        q = params_of(m)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (
                stats.gamma.logpdf(base[:, 0], q["mj1"][0], scale=q["mj1"][1])
                + stats.gamma.logpdf(base[:, 1], q["dm"][0], scale=q["dm"][1])
                + stats.beta.logpdf(base[:, 2], q["t1"][0], q["t1"][1])
                + stats.beta.logpdf(base[:, 3], q["t2"][0], q["t2"][1])
            )
            if self.delta_r:
                out = out + stats.norm.logpdf(base[:, 4], q["dr"][0], q["dr"][1])
        return np.where(np.isnan(out), -np.inf, out)

    def log_p_bg_x(self, x: Any, m: Any) -> np.ndarray:
        """Log of the conditional background density ``p_bg(x | m)`` (features in TeV units).

        ``x`` has shape ``(n, d)`` with ``d = len(feature_names)``, ``m`` shape ``(n,)``
        (a scalar m is broadcast).
        """
        return self._log_p_x(x, m, self._bg_feature_params)

    def log_p_sig_x(self, x: Any, m: Any) -> np.ndarray:
        """Log of the conditional signal density ``p_sig(x | m)``."""
        return self._log_p_x(x, m, self._sig_feature_params)

    def log_p_bg(self, x: Any, m: Any, *, window: Any = None) -> np.ndarray:
        """Log joint background density ``p_bg(x, m)``.

        Normalised on ``m_range``, or within ``window`` = ``(low, high)`` / ``Window`` when
        given (``-inf`` for m outside it).
        """
        return self._log_joint(x, m, window, self.log_p_bg_m, self.log_p_bg_x, "background")

    def log_p_sig(self, x: Any, m: Any, *, window: Any = None) -> np.ndarray:
        """Log joint signal density ``p_sig(x, m)``, optionally normalised within ``window``."""
        return self._log_joint(x, m, window, self.log_p_sig_m, self.log_p_sig_x, "signal")

    def _log_joint(self, x, m, window, log_pm, log_px, component) -> np.ndarray:
        x, m = self._as_xm(x, m)
        out = log_pm(m) + log_px(x, m)
        if window is None:
            return out
        low, high = window_edges(window)
        frac = self.fraction_in(low, high, component=component)
        if frac <= 0.0:
            raise InputError(
                f"window [{low}, {high}) TeV holds no {component} probability "
                f"(m_range = {self.m_range} TeV)"
            )
        inside = (m >= low) & (m < high)
        return np.where(inside, out - np.log(frac), -np.inf)

    def log_likelihood_ratio(self, x: Any, m: Any) -> np.ndarray:
        """``log p_sig(x|m) - log p_bg(x|m)``: the optimal anomaly score at fixed m."""
        return self.log_p_sig_x(x, m) - self.log_p_bg_x(x, m)

    # ---------------------------------------------------------------- sampling
    def sample_x(
        self, m: Any, *, component: str = "background", seed: int | np.random.Generator | None
    ) -> np.ndarray:
        """Features ``(n, d)`` drawn from ``p(x | m)`` at the given masses ``m`` (TeV)."""
        m = self._as_m(m)
        if m.ndim != 1:
            raise InputError(f"m must be 1-D, got shape {m.shape}")
        rng = np.random.default_rng(seed)
        if component == "background":
            q = self._bg_feature_params(m)
        elif component == "signal":
            q = self._sig_feature_params(m)
        else:
            raise InputError(f"component must be 'background' or 'signal', got {component!r}")
        n = m.shape[0]
        cols = [
            rng.gamma(q["mj1"][0], q["mj1"][1], size=n),
            rng.gamma(q["dm"][0], q["dm"][1], size=n),
            rng.beta(q["t1"][0], q["t1"][1], size=n),
            rng.beta(q["t2"][0], q["t2"][1], size=n),
        ]
        if self.delta_r:
            cols.append(q["dr"][0] + q["dr"][1] * rng.standard_normal(n))
        x = np.column_stack(cols) if n else np.empty((0, self.n_features))
        if self.shifted:
            x[:, 0] += _SHIFT * m
            x[:, 1] += _SHIFT * m
        return x

    def sample_background(self, n: int, *, seed: int | np.random.Generator | None) -> Events:
        """``n`` background events (label 0), m from the dijet spectrum, x from ``p_bg(x|m)``."""
        n = _check_count(n, "n")
        rng = np.random.default_rng(seed)
        m = self._bg_m.ppf(rng.random(n))
        x = self.sample_x(m, component="background", seed=rng)
        return Events(m, x, self.feature_names, label=np.zeros(n, dtype=np.int8))

    def sample_signal(self, n: int, *, seed: int | np.random.Generator | None) -> Events:
        """``n`` signal events (label 1): the 3.5 TeV resonance with two-prong jets."""
        n = _check_count(n, "n")
        rng = np.random.default_rng(seed)
        p = self._p
        u = rng.random(n)
        lo_c, hi_c = special.ndtr(self._sig_a), special.ndtr(self._sig_b)
        m = p.sig_m_mu + p.sig_m_sigma * special.ndtri(lo_c + u * (hi_c - lo_c))
        m = np.clip(m, *self.m_range)
        x = self.sample_x(m, component="signal", seed=rng)
        return Events(m, x, self.feature_names, label=np.ones(n, dtype=np.int8))

    def sample(
        self,
        *,
        n_background: int = 1_000_000,
        n_signal: int = 0,
        seed: int | np.random.Generator | None,
    ) -> Events:
        """A shuffled mixture of ``n_background`` background and ``n_signal`` signal events."""
        n_background = _check_count(n_background, "n_background")
        n_signal = _check_count(n_signal, "n_signal")
        rng = np.random.default_rng(seed)
        bg = self.sample_background(n_background, seed=rng)
        sig = self.sample_signal(n_signal, seed=rng)
        return Events.concatenate(bg, sig).shuffled(rng)

    # ---------------------------------------------------------------- input checks
    @staticmethod
    def _as_m(m: Any) -> np.ndarray:
        arr = np.asarray(m, dtype=np.float64)
        if np.isnan(arr).any():
            raise InputError(f"m has {int(np.isnan(arr).sum())} NaN values")
        return arr

    def _as_xm(self, x: Any, m: Any) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1 and x.shape[0] == self.n_features:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise InputError(
                f"x must have shape (n, {self.n_features}) for features {self.feature_names}, "
                f"got {x.shape}"
            )
        m = self._as_m(m)
        if m.ndim == 0:
            m = np.full(x.shape[0], float(m))
        if m.shape != (x.shape[0],):
            raise InputError(f"m must have shape ({x.shape[0]},) to match x, got {m.shape}")
        if np.isnan(x).any():
            raise InputError(f"x has {int(np.isnan(x).sum())} NaN values")
        return x, m
