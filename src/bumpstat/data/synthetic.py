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
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from bumpstat.exceptions import InputError
from bumpstat.windows import window_edges

__all__ = [
    "Events",
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
# Events container
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Events:
    """A set of dijet events: resonant variable, auxiliary features and truth labels.

    Attributes
    ----------
    m : numpy.ndarray
        ``(n,)`` dijet invariant mass m_JJ in TeV, float64.
    x : numpy.ndarray
        ``(n, d)`` auxiliary features, float64 (masses in TeV), columns named by ``feature_names``.
    label : numpy.ndarray
        ``(n,)`` int8 truth label, 1 = signal, 0 = background.
    feature_names : tuple of str
        The ``d`` column names of ``x``.

    Examples
    --------
    >>> ev = Events(np.array([3.4, 3.8]), np.zeros((2, 1)), np.array([1, 0]), ("a",))
    >>> len(ev), ev.in_range(3.3, 3.7).tolist(), ev.n_signal
    (2, [True, False], 1)
    """

    m: np.ndarray
    x: np.ndarray
    label: np.ndarray
    feature_names: tuple[str, ...]

    def __post_init__(self) -> None:
        m = np.asarray(self.m, dtype=np.float64)
        x = np.asarray(self.x, dtype=np.float64)
        label_in = np.asarray(self.label)
        names = tuple(str(n) for n in self.feature_names)
        if m.ndim != 1:
            raise InputError(f"Events.m must be 1-D, got shape {m.shape}")
        n = m.shape[0]
        if x.ndim == 1 and n == 0 and x.size == 0:
            x = x.reshape(0, len(names))
        if x.ndim != 2 or x.shape[0] != n:
            raise InputError(f"Events.x must have shape (n={n}, d), got {x.shape}")
        if x.shape[1] != len(names):
            raise InputError(
                f"Events.x has {x.shape[1]} columns but {len(names)} feature names {names}"
            )
        if label_in.shape != (n,):
            raise InputError(f"Events.label must have shape ({n},), got {label_in.shape}")
        if n and not np.isin(label_in, (0, 1)).all():
            bad = np.unique(label_in[~np.isin(label_in, (0, 1))])[:5]
            raise InputError(f"Events.label must be 0 or 1, found values {bad.tolist()}")
        if not np.isfinite(m).all():
            raise InputError(f"Events.m has {int((~np.isfinite(m)).sum())} non-finite values")
        if not np.isfinite(x).all():
            bad_cols = [names[j] for j in np.flatnonzero(~np.isfinite(x).all(axis=0))]
            raise InputError(f"Events.x has non-finite values in feature(s) {bad_cols}")
        object.__setattr__(self, "m", m)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "label", label_in.astype(np.int8))
        object.__setattr__(self, "feature_names", names)

    def __len__(self) -> int:
        return int(self.m.shape[0])

    def __repr__(self) -> str:
        return (
            f"Events(n={len(self)}, n_signal={self.n_signal}, feature_names={self.feature_names})"
        )

    @property
    def n_signal(self) -> int:
        """Number of events with ``label == 1``."""
        return int(np.count_nonzero(self.label == 1))

    @property
    def n_background(self) -> int:
        """Number of events with ``label == 0``."""
        return len(self) - self.n_signal

    def select(self, mask: Any) -> Events:
        """Events picked by a boolean mask of length ``n`` or an integer index array."""
        sel = np.asarray(mask)
        if sel.dtype == bool:
            if sel.shape != (len(self),):
                raise InputError(f"boolean mask must have shape ({len(self)},), got {sel.shape}")
        elif sel.size == 0:
            sel = sel.astype(np.intp)
        elif not np.issubdtype(sel.dtype, np.integer):
            raise InputError(f"select() needs a boolean mask or integer indices, got {sel.dtype}")
        return Events(self.m[sel], self.x[sel], self.label[sel], self.feature_names)

    def in_range(self, low: float, high: float) -> np.ndarray:
        """Boolean mask of ``low <= m < high`` (TeV)."""
        return (self.m >= low) & (self.m < high)

    @staticmethod
    def concatenate(*events: Events) -> Events:
        """Join event sets that have the same ``feature_names``, in the order given."""
        if len(events) == 1 and not isinstance(events[0], Events):
            events = tuple(events[0])  # a single list/tuple of Events
        if not events:
            raise InputError("Events.concatenate needs at least one Events")
        names = events[0].feature_names
        for ev in events[1:]:
            if ev.feature_names != names:
                raise InputError(
                    f"cannot concatenate Events with features {names} and {ev.feature_names}"
                )
        return Events(
            np.concatenate([e.m for e in events]),
            np.concatenate([e.x for e in events], axis=0),
            np.concatenate([e.label for e in events]),
            names,
        )

    def shuffled(self, seed: int | np.random.Generator | None) -> Events:
        """The same events in a random order (``np.random.default_rng(seed)``)."""
        perm = np.random.default_rng(seed).permutation(len(self))
        return self.select(perm)


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
def _check_count(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise InputError(f"{what} must be a non-negative integer, got {n!r}")
    if n < 0:
        raise InputError(f"{what} must be a non-negative integer, got {n}")
    return int(n)


class _TabulatedMassDensity:
    """A 1-D density on ``[lo, hi]`` known up to normalisation, made exact numerically.

    The range is cut into ``n_cells`` equal cells; each cell's mass is an 8-point Gauss-Legendre
    integral (exact to machine precision for the smooth spectra used here). The CDF at any point
    is the tabulated CDF at the cell edge plus a Gauss-Legendre integral over the partial cell.
    Sampling inverts the tabulated CDF linearly within a cell (cell masses exact; the CDF of the
    samples differs from the exact one by < 1e-8).
    """

    _T, _W = np.polynomial.legendre.leggauss(8)

    def __init__(
        self, log_f: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, n_cells: int
    ) -> None:
        self.log_f, self.lo, self.hi = log_f, lo, hi
        self.edges = np.linspace(lo, hi, n_cells + 1)
        self.h = (hi - lo) / n_cells
        nodes = self.edges[:-1, None] + 0.5 * (self._T + 1.0) * self.h
        lf = log_f(nodes)
        shift = float(lf.max())
        masses = (np.exp(lf - shift) @ self._W) * 0.5 * self.h
        total = float(np.sum(masses))
        self.log_norm = np.log(total) + shift
        cdf = np.concatenate([[0.0], np.cumsum(masses)])
        self.cdf_edges = cdf / cdf[-1]

    def logpdf(self, m: np.ndarray) -> np.ndarray:
        inside = (m >= self.lo) & (m <= self.hi)
        out = np.full(m.shape, -np.inf)
        out[inside] = self.log_f(m[inside]) - self.log_norm
        return out

    def cdf(self, m: np.ndarray) -> np.ndarray:
        mc = np.clip(m, self.lo, self.hi)
        k = np.clip(np.floor((mc - self.lo) / self.h).astype(np.intp), 0, len(self.edges) - 2)
        a = self.edges[k]
        width = mc - a
        nodes = a[..., None] + 0.5 * (self._T + 1.0) * width[..., None]
        part = (np.exp(self.log_f(nodes) - self.log_norm) @ self._W) * 0.5 * width
        return np.clip(self.cdf_edges[k] + part, 0.0, 1.0)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.cdf_edges, self.edges)


# ----------------------------------------------------------------------------------------------
# Parameters of the two "simulators"
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Params:
    # background m spectrum: dijet function times erf turn-on
    p1: float
    p2: float
    p3: float
    turn_on_m: float  # TeV, 50% point
    turn_on_w: float  # TeV
    # signal m: Gaussian, truncated to m_range
    sig_m_mu: float
    sig_m_sigma: float
    # background features (gamma shape k, scale theta in TeV; beta a, b)
    bg_mj1: tuple[float, float]
    bg_dm: tuple[float, float]
    bg_t1: tuple[float, float]
    bg_t2: tuple[float, float]
    # signal features
    sig_mj1: tuple[float, float]
    sig_dm: tuple[float, float]
    sig_t1: tuple[float, float]
    sig_t2: tuple[float, float]
    # Delta R: Normal(mu(m), sigma), mu(m) = sqrt(pi^2 + (c * 2 asinh(m / (2 pT0)))^2)
    dr_pt0: float
    dr_sigma_bg: float
    dr_sigma_sig: float
    dr_c_sig: float


_NOMINAL = _Params(
    p1=10.0,
    p2=3.74,
    p3=0.0,
    turn_on_m=2.6,
    turn_on_w=0.15,
    sig_m_mu=3.5,
    sig_m_sigma=0.17,
    bg_mj1=(2.0, 0.05),
    bg_dm=(1.3, 0.11),
    bg_t1=(6.0, 3.5),
    bg_t2=(5.5, 3.5),
    sig_mj1=(400.0, 0.1 / 400.0),
    sig_dm=(400.0, 0.4 / 400.0),
    sig_t1=(3.0, 7.0),
    sig_t2=(3.2, 6.8),
    dr_pt0=1.3,
    dr_sigma_bg=0.05,
    dr_sigma_sig=0.05,
    dr_c_sig=0.8,
)

_ALTERNATIVE = _Params(
    p1=10.0,
    p2=3.74 * 1.02,
    p3=0.0,
    turn_on_m=2.6,
    turn_on_w=0.15,
    sig_m_mu=3.5,
    sig_m_sigma=0.17,
    bg_mj1=(2.0 * 1.04, 0.05 * 0.97),
    bg_dm=(1.3 * 0.96, 0.11 * 1.05),
    bg_t1=(6.3, 3.5),
    bg_t2=(5.8, 3.5),
    sig_mj1=(400.0 / 1.21, 0.1 * 1.21 / 400.0),
    sig_dm=(400.0 / 1.21, 0.4 * 1.21 / 400.0),
    sig_t1=(3.2, 6.8),
    sig_t2=(3.4, 6.6),
    dr_pt0=1.3 * 1.02,
    dr_sigma_bg=0.05 * 1.05,
    dr_sigma_sig=0.05 * 1.05,
    dr_c_sig=0.8,
)

_VARIANTS = {"nominal": _NOMINAL, "alternative": _ALTERNATIVE}


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
        if variant not in _VARIANTS:
            raise InputError(f"unknown variant {variant!r}; choose one of {sorted(_VARIANTS)}")
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
        self._p = _VARIANTS[variant]
        self.feature_names: tuple[str, ...] = BASELINE_FEATURES + (
            (DELTA_R_FEATURE,) if self.delta_r else ()
        )
        n_cells = max(1000, int(np.ceil((hi - lo) / 1e-4)))
        self._bg_m = _TabulatedMassDensity(self._log_f_bg_m_unnorm, lo, hi, n_cells)
        p = self._p
        self._sig_a = (lo - p.sig_m_mu) / p.sig_m_sigma
        self._sig_b = (hi - p.sig_m_mu) / p.sig_m_sigma
        self._sig_log_z = float(_log_diff_ndtr(self._sig_a, self._sig_b))

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
        return np.clip(np.exp(_log_diff_ndtr(self._sig_a, z) - self._sig_log_z), 0.0, 1.0)

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
        return Events(m, x, np.zeros(n, dtype=np.int8), self.feature_names)

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
        return Events(m, x, np.ones(n, dtype=np.int8), self.feature_names)

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


def _log_diff_ndtr(a: Any, b: Any) -> np.ndarray:
    """``log(Φ(b) - Φ(a))`` for ``a <= b``, stable in both tails."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    # use the upper tail when both are positive: Φ(b) - Φ(a) = Φ(-a) - Φ(-b)
    flip = a > 0
    lo = np.where(flip, -b, a)
    hi = np.where(flip, -a, b)
    lhi = special.log_ndtr(hi)
    llo = special.log_ndtr(lo)
    with np.errstate(divide="ignore"):
        return lhi + np.log1p(-np.exp(np.minimum(llo - lhi, 0.0)))
