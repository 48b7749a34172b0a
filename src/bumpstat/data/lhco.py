"""Loader for the LHC Olympics 2020 R&D high-level-features file.

The R&D file ``events_anomalydetection_v2.features.h5`` is a pandas ``DataFrame`` written with
``to_hdf(..., format="fixed")``: an HDF5 group (``df``) holding ``axis0`` (column names as byte
strings), ``axis1`` (the row index) and one or more blocks ``block<i>_items`` (names) /
``block<i>_values`` (``(n, n_items)`` values). The 15 columns, in GeV, are::

    pxj1 pyj1 pzj1 mj1 tau1j1 tau2j1 tau3j1 pxj2 pyj2 pzj2 mj2 tau1j2 tau2j2 tau3j2 label

It is read with h5py only (pandas is not needed). The same columns are also accepted as a plain
``(n, 15)`` HDF5 dataset or ``.npz`` array named by ``key`` (columns in the order above), or as an
``.npz`` with one array per column name. Nothing in the file is trusted: HDF5 objects are opened
through :func:`bumpstat.h5file.h5_child` (no soft or external links, no external storage, no
dataset declaring more than it stores) and NPZ members through the bounded, pickle-free
:func:`bumpstat.npzfile.read_npz`; every failure is a ``ScoreFileError`` naming the file.

Derived quantities (:func:`derive_features`): m_JJ from the two four-vectors with
``E = sqrt(|p|^2 + m^2)``; jets ordered so that J1 is the lighter; m_J1, Δm = m_J2 - m_J1,
τ21 = τ2/τ1 per jet; ΔR_JJ = sqrt(Δφ^2 + Δη^2) with Δφ wrapped into [-π, π]. GeV -> TeV.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from bumpstat.data.synthetic import BASELINE_FEATURES, DELTA_R_FEATURE
from bumpstat.events import Events
from bumpstat.exceptions import BumpstatError, InputError, ScoreFileError

__all__ = ["load_lhco_rnd", "derive_features", "LHCO_COLUMNS"]

#: Column names of the R&D high-level-features file, in their stored order.
LHCO_COLUMNS: tuple[str, ...] = (
    "pxj1",
    "pyj1",
    "pzj1",
    "mj1",
    "tau1j1",
    "tau2j1",
    "tau3j1",
    "pxj2",
    "pyj2",
    "pzj2",
    "mj2",
    "tau1j2",
    "tau2j2",
    "tau3j2",
    "label",
)

_GEV_PER_TEV = 1000.0


def load_lhco_rnd(
    path: str | Path, *, features: str = "baseline", key: str | None = None
) -> Events:
    """Read an LHCO R&D high-level-features file into :class:`~bumpstat.events.Events`.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.h5`` file (pandas "fixed" layout, or a plain dataset named by ``key``) or an
        ``.npz`` file.
    features : {"baseline", "delta_r"}
        ``"baseline"``: (m_J1, Δm, τ21^J1, τ21^J2); ``"delta_r"``: the same plus ΔR_JJ.
    key : str, optional
        HDF5: the pandas group (default ``"df"``, or the only group present) or a plain
        ``(n, 15)`` dataset. NPZ: the name of an ``(n, 15)`` array; without ``key`` the ``.npz``
        must hold one array per column name.

    Returns
    -------
    Events
        m_JJ and features in TeV, ``label`` as int8.

    Raises
    ------
    ScoreFileError
        The file is missing or unreadable, or lacks the expected columns; the message names the
        file and lists what it does contain.
    InputError
        An event has τ1 = 0, a jet with zero transverse momentum, a non-finite value or a label
        other than 0/1.
    """
    if features not in ("baseline", "delta_r"):
        raise InputError(f"features must be 'baseline' or 'delta_r', got {features!r}")
    path = Path(path)
    if not path.is_file():
        raise ScoreFileError(f"LHCO file {str(path)!r} does not exist or is not a file")
    if path.suffix.lower() == ".npz":
        columns = _read_npz(path, key)
    else:
        columns = _read_hdf5(path, key)
    try:
        return derive_features(columns, features=features)
    except InputError as err:
        raise InputError(f"{path}: {err}") from err


def derive_features(columns: Mapping[str, np.ndarray], *, features: str = "baseline") -> Events:
    """Derive m_JJ (TeV) and the features from the raw per-jet columns (GeV).

    ``columns`` maps each name in :data:`LHCO_COLUMNS` to a 1-D array.

    Examples
    --------
    Two back-to-back jets with |p| = 1000 GeV and m = 100, 500 GeV:

    >>> cols = dict(pxj1=[1000.0], pyj1=[0.0], pzj1=[0.0], mj1=[500.0], tau1j1=[0.5],
    ...             tau2j1=[0.2], tau3j1=[0.1], pxj2=[-1000.0], pyj2=[0.0], pzj2=[0.0],
    ...             mj2=[100.0], tau1j2=[0.4], tau2j2=[0.3], tau3j2=[0.2], label=[1])
    >>> ev = derive_features(cols, features="delta_r")
    >>> round(float(ev.m[0]), 6)  # sqrt(1000^2 + 500^2) + sqrt(1000^2 + 100^2) GeV
    2.123022
    >>> ev.x[0].round(4).tolist()  # J1 is the lighter jet
    [0.1, 0.4, 0.75, 0.4, 3.1416]
    """
    if features not in ("baseline", "delta_r"):
        raise InputError(f"features must be 'baseline' or 'delta_r', got {features!r}")
    missing = [c for c in LHCO_COLUMNS if c not in columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; have {sorted(columns)}")
    c = {name: np.asarray(columns[name], dtype=np.float64) for name in LHCO_COLUMNS}
    n = c["label"].shape[0]
    for name, arr in c.items():
        if arr.shape != (n,):
            raise InputError(f"column {name!r} has shape {arr.shape}, expected ({n},)")
        if not np.isfinite(arr).all():
            raise InputError(
                f"column {name!r} has {int((~np.isfinite(arr)).sum())} non-finite value(s)"
            )
    for j in ("j1", "j2"):
        zero = c[f"tau1{j}"] == 0
        if zero.any():
            raise InputError(
                f"tau1{j} = 0 in {int(zero.sum())} of {n} events: tau21 = tau2/tau1 is undefined"
            )
    label_f = c["label"]
    if not np.isin(label_f, (0.0, 1.0)).all():
        bad = np.unique(label_f[~np.isin(label_f, (0.0, 1.0))])[:5]
        raise InputError(f"label must be 0 or 1, found {bad.tolist()}")

    p1 = np.stack([c["pxj1"], c["pyj1"], c["pzj1"]])
    p2 = np.stack([c["pxj2"], c["pyj2"], c["pzj2"]])
    e1 = np.sqrt(np.sum(p1**2, axis=0) + c["mj1"] ** 2)
    e2 = np.sqrt(np.sum(p2**2, axis=0) + c["mj2"] ** 2)
    psum = p1 + p2
    m2 = (e1 + e2) ** 2 - np.sum(psum**2, axis=0)
    mjj = np.sqrt(np.maximum(m2, 0.0)) / _GEV_PER_TEV

    tau21_1 = c["tau2j1"] / c["tau1j1"]
    tau21_2 = c["tau2j2"] / c["tau1j2"]
    swap = c["mj2"] < c["mj1"]
    m_light = np.where(swap, c["mj2"], c["mj1"]) / _GEV_PER_TEV
    m_heavy = np.where(swap, c["mj1"], c["mj2"]) / _GEV_PER_TEV
    t21_light = np.where(swap, tau21_2, tau21_1)
    t21_heavy = np.where(swap, tau21_1, tau21_2)
    cols = [m_light, m_heavy - m_light, t21_light, t21_heavy]
    names = BASELINE_FEATURES
    if features == "delta_r":
        pt1 = np.hypot(p1[0], p1[1])
        pt2 = np.hypot(p2[0], p2[1])
        zero_pt = (pt1 == 0) | (pt2 == 0)
        if zero_pt.any():
            raise InputError(
                f"a jet has zero transverse momentum in {int(zero_pt.sum())} of {n} events: "
                "its pseudorapidity (and Delta R) is undefined"
            )
        eta1 = np.arcsinh(p1[2] / pt1)
        eta2 = np.arcsinh(p2[2] / pt2)
        dphi = np.arctan2(p1[1], p1[0]) - np.arctan2(p2[1], p2[0])
        dphi = (dphi + np.pi) % (2.0 * np.pi) - np.pi
        cols.append(np.hypot(dphi, eta1 - eta2))
        names = names + (DELTA_R_FEATURE,)
    return Events(mjj, np.column_stack(cols), names, label=label_f)


# ----------------------------------------------------------------------------------------------
# Readers
# ----------------------------------------------------------------------------------------------
def _decode(names: np.ndarray) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(names).ravel()]


def _columns_from_matrix(values: np.ndarray, where: str) -> dict[str, np.ndarray]:
    if values.ndim != 2 or values.shape[1] != len(LHCO_COLUMNS):
        raise ScoreFileError(
            f"{where} has shape {values.shape}; expected (n, {len(LHCO_COLUMNS)}) with columns "
            f"{list(LHCO_COLUMNS)}"
        )
    return {name: values[:, j] for j, name in enumerate(LHCO_COLUMNS)}


def _child(group: h5py.Group, key: str, kind: str, where: str) -> Any:
    from bumpstat.h5file import h5_child

    return h5_child(group, key, kind, where, what="LHCO files")


def _has(group: h5py.Group, key: str) -> bool:
    """Whether ``group`` has a link ``key`` (``key in group`` would follow it to resolve it)."""
    return group.get(key, getlink=True) is not None


def _read_hdf5(path: Path, key: str | None) -> dict[str, np.ndarray]:
    src = repr(str(path))
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as err:
        raise ScoreFileError(f"cannot read {src} as HDF5: {err}") from err
    try:
        with f:
            return _hdf5_columns(f, src, key)
    except BumpstatError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, MemoryError,
            zlib.error) as err:
        msg = " ".join(str(err).split())
        raise ScoreFileError(f"{src}: corrupt or unreadable HDF5 content ({msg})") from err


def _hdf5_columns(f: h5py.File, src: str, key: str | None) -> dict[str, np.ndarray]:
    top = sorted(f.keys())
    if key is None:
        # entries that may be the table: hard-linked groups, and links (refused when opened)
        groups = [k for k in top if not isinstance(f.get(k, getlink=True), h5py.HardLink)
                  or isinstance(f[k], h5py.Group)]
        if _has(f, "df"):
            key = "df"
        elif len(groups) == 1:
            key = groups[0]
        else:
            raise ScoreFileError(
                f"{src}: no pandas table group 'df'; the file contains {top}. "
                "Pass key=<group or (n, 15) dataset>."
            )
    if not _has(f, key):
        raise ScoreFileError(f"{src} has no entry {key!r}; it contains {top}")
    obj = _child(f, key, "any", src)
    where = f"{src}[{key!r}]"
    if isinstance(obj, h5py.Dataset):
        return _columns_from_matrix(obj[()], where)
    return _read_pandas_fixed(obj, where)


def _read_pandas_fixed(group: h5py.Group, where: str) -> dict[str, np.ndarray]:
    """Columns of a pandas ``to_hdf(format="fixed")`` DataFrame group."""
    contents = sorted(group.keys())
    n_blocks = 0
    while _has(group, f"block{n_blocks}_values"):
        n_blocks += 1
    if n_blocks == 0:
        raise ScoreFileError(
            f"{where} is not a pandas 'fixed' table (no block0_values); it contains {contents}"
        )
    columns: dict[str, np.ndarray] = {}
    for i in range(n_blocks):
        if not _has(group, f"block{i}_items"):
            raise ScoreFileError(f"{where} has block{i}_values but no block{i}_items")
        items = _decode(_child(group, f"block{i}_items", "dataset", where)[()])
        values = np.asarray(_child(group, f"block{i}_values", "dataset", where)[()])
        if values.ndim != 2:
            raise ScoreFileError(f"{where}/block{i}_values has shape {values.shape}, not 2-D")
        if values.shape[1] != len(items) and values.shape[0] == len(items):
            values = values.T
        if values.shape[1] != len(items):
            raise ScoreFileError(
                f"{where}/block{i}_values has shape {values.shape} but block{i}_items names "
                f"{len(items)} columns"
            )
        for j, name in enumerate(items):
            columns[name] = values[:, j]
    if _has(group, "axis0"):
        names = _decode(_child(group, "axis0", "dataset", where)[()])
        if len(names) != len(LHCO_COLUMNS):
            raise ScoreFileError(
                f"{where} has {len(names)} columns {names}; expected {len(LHCO_COLUMNS)}: "
                f"{list(LHCO_COLUMNS)}"
            )
    missing = [c for c in LHCO_COLUMNS if c not in columns]
    if missing:
        raise ScoreFileError(f"{where} lacks column(s) {missing}; it has columns {sorted(columns)}")
    lengths = {name: arr.shape[0] for name, arr in columns.items()}
    if len(set(lengths.values())) != 1:
        raise ScoreFileError(f"{where} blocks have different row counts: {lengths}")
    return columns


def _read_npz(path: Path, key: str | None) -> dict[str, Any]:
    """Through the one bounded, pickle-free NPZ reader (:func:`bumpstat.npzfile.read_npz`)."""
    from bumpstat.npzfile import read_npz

    where = repr(str(path))
    arrays, names = read_npz(path, what="LHCO file", keys=[key] if key else LHCO_COLUMNS)
    if key is not None:
        if key not in arrays:
            raise ScoreFileError(f"{where} has no array {key!r}; it contains {names}")
        return _columns_from_matrix(arrays[key], f"{where}[{key!r}]")
    missing = [c for c in LHCO_COLUMNS if c not in arrays]
    if missing:
        raise ScoreFileError(
            f"{where} lacks column(s) {missing}; it contains {names}. "
            "Pass key=<name of an (n, 15) array> for a single matrix."
        )
    return arrays
