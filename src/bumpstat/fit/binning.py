"""Binning of the m spectrum: log-uniform edges with the signal region aligned, histograms.

Paper 004 fits 30 bins uniform in log m over [2.8, 5.2] TeV (:func:`log_uniform_edges`).
:func:`make_edges` shares about that many log-uniform bins between the lower sideband, the
signal region (SR) and the upper sideband, so that the SR is an exact union of bins;
:func:`sr_mask` marks those bins and :func:`histogram` fills (weighted) counts with
boost-histogram. All masses are in TeV.

>>> edges = make_edges((2.8, 5.2), 30, sr=(3.3, 3.7))
>>> len(edges) - 1, int(sr_mask(edges, (3.3, 3.7)).sum())
(30, 6)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError, WindowError
from bumpstat.windows import MAX_MASS_TEV, check_mass_unit

#: Most bins a fit accepts (Collins et al. [arXiv:2104.02092] uses 30): a larger count is a typo,
#: not a binning.
MAX_BINS = 10_000

__all__ = [
    "MAX_BINS",
    "check_bins",
    "spectrum",
    "check_masses",
    "check_range",
    "check_sr",
    "histogram",
    "histogram_data",
    "is_histogram",
    "log_uniform_edges",
    "make_edges",
    "sr_mask",
]


def check_range(fit_range: Any) -> tuple[float, float]:
    """``fit_range`` as ``(low, high)`` floats in TeV; InputError unless ``0 < low < high``."""
    try:
        lo, hi = (float(v) for v in fit_range)
    except (TypeError, ValueError) as exc:
        raise InputError(f"fit range must be (low, high) in TeV, got {fit_range!r}") from exc
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo < hi):
        raise InputError(f"fit range must satisfy 0 < low < high (TeV), got ({lo}, {hi})")
    _check_tev("fit range", lo, hi, InputError)
    return lo, hi


def _check_tev(what: str, lo: float, hi: float, error: type[Exception]) -> None:
    """Edges above :data:`~bumpstat.windows.MAX_MASS_TEV` were almost surely given in GeV."""
    if hi > MAX_MASS_TEV:
        raise error(f"{what} ({lo:g}, {hi:g}) TeV: edges above {MAX_MASS_TEV:g} TeV are "
                    f"probably in GeV; bumpstat expects TeV, e.g. ({lo / 1000:g}, {hi / 1000:g})")


def check_masses(m: Any) -> np.ndarray:
    """``m`` as a 1-D float array in TeV: finite, and not in GeV (checked before any cast)."""
    arr = np.asarray(m)
    if arr.dtype.kind not in "iuf":
        raise InputError(f"m must hold real numbers (TeV), found dtype {arr.dtype}")
    if arr.ndim != 1:
        raise InputError(f"m must be a 1-D array of masses (TeV), got shape {arr.shape}")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"m contains {int(np.sum(~np.isfinite(arr)))} non-finite values")
    check_mass_unit(arr, "m")
    return arr


def check_sr(sr: Any, fit_range: tuple[float, float]) -> tuple[float, float]:
    """``sr`` as ``(low, high)`` in TeV, inside ``fit_range`` and leaving a sideband.

    Raises :class:`~bumpstat.exceptions.WindowError` otherwise.
    """
    try:
        s_lo, s_hi = (float(v) for v in sr)
    except (TypeError, ValueError) as exc:
        raise WindowError(f"signal region must be (low, high) in TeV, got {sr!r}") from exc
    lo, hi = fit_range
    if not (np.isfinite(s_lo) and np.isfinite(s_hi) and s_lo < s_hi):
        raise WindowError(f"signal region ({s_lo}, {s_hi}) TeV must have low < high")
    _check_tev("signal region", s_lo, s_hi, WindowError)
    if s_lo < lo or s_hi > hi or (s_lo <= lo and s_hi >= hi):
        raise WindowError(
            f"signal region ({s_lo}, {s_hi}) TeV must lie inside the fit range ({lo}, {hi}) TeV "
            "and leave a sideband"
        )
    return s_lo, s_hi


def log_uniform_edges(fit_range: tuple[float, float], bins: int) -> np.ndarray:
    """``bins`` bins uniform in log m over ``fit_range`` (TeV), as in Collins et al..

    Returns
    -------
    ndarray (bins + 1,)
        Bin edges in TeV.
    """
    lo, hi = check_range(fit_range)
    return np.geomspace(lo, hi, check_bins(bins) + 1)


def check_bins(bins: Any) -> int:
    """``bins`` as an int in ``[1, MAX_BINS]`` (a huge count would exhaust memory or time)."""
    try:
        ok = not isinstance(bins, bool) and float(bins).is_integer() and 1 <= bins <= MAX_BINS
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise InputError(f"number of bins must be an integer from 1 to {MAX_BINS}, got {bins!r}")
    return int(bins)


def make_edges(fit_range: tuple[float, float], bins: int,
               sr: tuple[float, float] | None = None) -> np.ndarray:
    """About ``bins`` log-uniform bins over ``fit_range`` with the SR edges as bin edges.

    The bins are shared between lower sideband, SR and upper sideband in proportion to their
    width in log m (at least one bin each), so every bin is close to the same log width and the
    signal region is an exact union of bins.

    Parameters
    ----------
    fit_range : (float, float)
        Fit range in TeV.
    bins : int
        Number of bins.
    sr : (float, float), optional
        Signal region in TeV; without it the edges are :func:`log_uniform_edges`.

    Returns
    -------
    ndarray (bins + 1,)
        Bin edges in TeV.

    >>> e = make_edges((2.8, 5.2), 30, sr=(3.3, 3.7))
    >>> len(e) - 1, bool(np.isclose(e, 3.3).any() and np.isclose(e, 3.7).any())
    (30, True)
    """
    lo, hi = check_range(fit_range)
    bins = check_bins(bins)
    if sr is None:
        return log_uniform_edges((lo, hi), bins)
    s_lo, s_hi = check_sr(sr, (lo, hi))
    pieces = [(lo, s_lo), (s_lo, s_hi), (s_hi, hi)]
    pieces = [(a, b) for a, b in pieces if b > a * (1 + 1e-12)]
    if bins < len(pieces):
        raise InputError(f"need at least {len(pieces)} bins for the sidebands and SR, got {bins}")
    logw = np.array([math.log(b / a) for a, b in pieces])
    raw = logw / logw.sum() * bins
    n = np.maximum(np.floor(raw).astype(int), 1)
    while n.sum() < bins:
        n[np.argmax(raw - n)] += 1
    while n.sum() > bins:
        i = np.argmax(np.where(n > 1, n - raw, -np.inf))
        n[i] -= 1
    parts = [np.geomspace(a, b, k + 1)[:-1] for (a, b), k in zip(pieces, n, strict=True)]
    return np.concatenate(parts + [np.array([hi])])


def sr_mask(edges: np.ndarray, sr: tuple[float, float]) -> np.ndarray:
    """Boolean mask of the bins forming the SR; the SR edges (TeV) must be bin edges.

    Raises :class:`~bumpstat.exceptions.WindowError` naming the nearest edges otherwise.
    """
    edges = np.asarray(edges, dtype=float)
    if (edges.ndim != 1 or edges.size < 2 or not np.all(np.isfinite(edges))
            or np.any(np.diff(edges) <= 0)):
        shown = edges.ravel()[:8].tolist()
        raise InputError(f"bin edges must be two or more finite, increasing values in TeV, got "
                         f"{shown}{' ...' if edges.size > 8 else ''}")
    check_range((edges[0], edges[-1]))
    s_lo, s_hi = check_sr(sr, (edges[0], edges[-1]))
    tol = 1e-9 * max(1.0, abs(edges[-1]))
    idx = []
    for v in (s_lo, s_hi):
        i = int(np.argmin(np.abs(edges - v)))
        if abs(edges[i] - v) > tol:
            raise WindowError(
                f"signal-region edge {v} TeV is not a bin edge; nearest edges are "
                f"{edges[max(i - 1, 0)]:.6g}, {edges[i]:.6g}, "
                f"{edges[min(i + 1, len(edges) - 1)]:.6g} TeV "
                "(use make_edges(fit_range, bins, sr) to align them)"
            )
        idx.append(i)
    mask = np.zeros(len(edges) - 1, bool)
    mask[idx[0] : idx[1]] = True
    return mask


def histogram(m: np.ndarray, edges: np.ndarray, *,
              weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Histogram ``m`` (TeV) with boost-histogram.

    Events outside the edges are not counted (they are outside the fit range by definition).

    Parameters
    ----------
    m : array (N,)
        Resonant variable in TeV.
    edges : array (n_bins + 1,)
        Bin edges in TeV.
    weights : array (N,), optional
        Event weights.

    Returns
    -------
    counts : ndarray (n_bins,)
        Events (sum of weights) per bin.
    variances : ndarray (n_bins,) or None
        Sum of squared weights per bin; None without weights.
    """
    import boost_histogram as bh

    m = np.asarray(m, dtype=float).ravel()
    if not np.all(np.isfinite(m)):
        raise InputError(f"m contains {int(np.sum(~np.isfinite(m)))} non-finite values")
    axis = bh.axis.Variable(np.asarray(edges, dtype=float))
    if weights is None:
        h = bh.Histogram(axis, storage=bh.storage.Double())
        h.fill(m)
        return h.values().astype(float), None
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape != m.shape:
        raise InputError(f"weights have {w.size} entries but m has {m.size}")
    if not np.all(np.isfinite(w)):
        raise InputError("weights contain non-finite values")
    h = bh.Histogram(axis, storage=bh.storage.Weight())
    h.fill(m, weight=w)
    return h.values().astype(float), h.variances().astype(float)


def is_histogram(obj: Any) -> bool:
    """Whether ``obj`` is a UHI plottable histogram (boost-histogram, hist, uproot TH1, …)."""
    return all(hasattr(obj, a) for a in ("axes", "values", "variances", "kind"))


def spectrum(counts: Any, edges: Any, variances: Any = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(counts, edges, variances)`` as float arrays from arrays or from a UHI histogram (TeV).

    >>> import boost_histogram as bh
    >>> h = bh.Histogram(bh.axis.Regular(2, 3.0, 4.0)).fill([3.1, 3.2, 3.7])
    >>> [a.tolist() for a in spectrum(h, None)[:2]]
    [[2.0, 1.0], [3.0, 3.5, 4.0]]
    """
    if is_histogram(counts):
        if edges is not None or variances is not None:
            raise InputError("give either a histogram or counts with edges (and variances), "
                             "not both")
        return histogram_data(counts)
    if edges is None:
        raise InputError("edges are needed with an array of counts (or pass a histogram)")
    return (np.asarray(counts, dtype=float), np.asarray(edges, dtype=float),
            None if variances is None else variances)


def histogram_data(h: Any, *, mass_unit: str = "TeV"
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Counts, edges (TeV) and variances of a 1-D UHI plottable histogram.

    Any object following the UHI ``PlottableHistogram`` protocol works: boost-histogram and
    hist ``Histogram``, an uproot ``TH1``. Flow bins are ignored. Variances are returned only
    for a weighted histogram (variances that differ from the counts); an unweighted one gives
    None, as :func:`histogram` does for unweighted events.

    Parameters
    ----------
    h : PlottableHistogram
        One axis of masses.
    mass_unit : {"TeV", "GeV"}
        Unit of the histogram's axis; GeV edges are divided by 1000.

    >>> import boost_histogram as bh
    >>> h = bh.Histogram(bh.axis.Regular(4, 3.0, 4.0)).fill([3.1, 3.2, 3.7])
    >>> counts, edges, var = histogram_data(h)
    >>> counts.tolist(), edges.tolist(), var
    ([2.0, 0.0, 1.0, 0.0], [3.0, 3.25, 3.5, 3.75, 4.0], None)
    """
    if not is_histogram(h):
        raise InputError(f"expected a histogram following the UHI PlottableHistogram protocol "
                         f"(boost-histogram, hist, uproot TH1), got {type(h).__name__}")
    scale = {"TeV": 1.0, "GeV": 1e-3}.get(mass_unit)
    if scale is None:
        raise InputError(f"mass_unit must be 'TeV' or 'GeV', got {mass_unit!r}")
    if len(h.axes) != 1:
        raise InputError(f"the fit takes a 1-D histogram of m, got {len(h.axes)} axes")
    kind = str(getattr(h.kind, "value", h.kind)).upper()
    if kind not in ("COUNT", "KIND.COUNT"):
        raise InputError(f"the histogram must hold counts (UHI kind COUNT), got {h.kind}")
    ax = h.axes[0]
    try:
        bins = [ax[i] for i in range(len(ax))]
        edges = np.array([float(b[0]) for b in bins] + [float(bins[-1][1])])
    except (TypeError, IndexError, ValueError) as err:
        raise InputError("the histogram axis must be numeric (bins with low and high edges)"
                         ) from err
    edges = edges * scale
    counts = np.asarray(h.values(), dtype=float)
    var = h.variances()
    if counts.shape != (len(ax),):
        raise InputError(f"histogram values have shape {counts.shape}, expected ({len(ax)},)")
    if not np.all(np.isfinite(counts)):
        raise InputError("histogram counts contain non-finite values")
    if var is not None:
        var = np.asarray(var, dtype=float)
        if var.shape != counts.shape or np.allclose(var, counts, rtol=1e-12, atol=0):
            var = None
    if np.any(np.diff(edges) <= 0):
        raise InputError("histogram edges must increase")
    return counts, edges, var
