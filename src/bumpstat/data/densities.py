"""Density files: per-event log-densities of signal-region events, for the R-ANODE w fit.

A density file holds 1-D arrays ``log_p_sig`` and ``log_p_bg`` (natural-log densities, one
entry per SR event, in the same units) and optionally ``weights``; other arrays (``m``, ``x``,
``label``, ``score``, ``sr_index``) may be stored alongside and are ignored by the fit. Format by
suffix: ``.npz`` (arrays at the top level) or HDF5 ``.h5``/``.hdf5`` (datasets at the root or in
a ``group``). Written by ``bumpstat ranode train``, read by ``bumpstat ranode fit``.

Writes are atomic. Reads trust nothing in the file: NPZ members go through the bounded,
pickle-free :func:`bumpstat.npzfile.read_npz`; HDF5 objects through
:func:`bumpstat.h5file.h5_child` (soft and external links, external or virtual storage and
datasets declaring more than they store are refused); names, shapes and dtypes are checked (the
values — NaN, ``+inf`` — are judged by :class:`bumpstat.stats.mixture.MixtureNLL`).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError, ScoreFileError

__all__ = ["DENSITY_FIELDS", "read_density_file", "write_density_file"]

#: Names of the arrays the fit reads (``log_p_sig``, ``log_p_bg`` required).
DENSITY_FIELDS: tuple[str, ...] = ("log_p_sig", "log_p_bg", "weights")

_HDF5 = (".h5", ".hdf5", ".hdf")


def _read_hdf5(path: Path, group: str | None) -> tuple[dict[str, Any], list[str]]:
    import h5py

    from bumpstat.h5file import h5_child

    where = f"density file {str(path)!r}"
    with h5py.File(path, "r") as f:
        node = f
        for part in (group or "").strip("/").split("/") if group else ():
            if node.get(part, getlink=True) is None:  # `in` would follow a link to resolve it
                raise ScoreFileError(f"{where} has no group {group!r}; it contains: "
                                     f"{', '.join(sorted(f.keys())) or '(nothing)'}")
            node = h5_child(node, part, "group", where, what="density files")
        contents = sorted(node.keys())
        data = {k: h5_child(node, k, "dataset", where, what="density files")[()]
                for k in DENSITY_FIELDS if node.get(k, getlink=True) is not None}
    return data, contents


def _read_npz(path: Path) -> tuple[dict[str, Any], list[str]]:
    from bumpstat.npzfile import read_npz

    return read_npz(path, what="density file", keys=DENSITY_FIELDS)


def read_density_file(path: str | Path, *, group: str | None = None) -> dict[str, np.ndarray]:
    """Read per-event densities of SR events from ``.npz`` or HDF5.

    Parameters
    ----------
    path : path
        ``.npz`` or ``.h5``/``.hdf5`` file.
    group : str, optional
        HDF5 group holding the arrays (default: the root). NPZ files have no groups: a
        ``group`` for them is an error, never ignored.

    Returns
    -------
    dict
        ``{"log_p_sig": ..., "log_p_bg": ...}`` as float64, plus ``"weights"`` when stored.

    Raises
    ------
    bumpstat.exceptions.ScoreFileError
        Unreadable file, a missing field (the message lists what the file holds), a field that
        is not a 1-D array of real numbers, mismatched lengths, a group for an NPZ file, an
        HDF5 link or external storage, an NPZ member that is pickled or a decompression bomb.
    """
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise ScoreFileError(f"density file {src!r} does not exist")
    hdf5 = path.suffix.lower() in _HDF5
    if group is not None and not hdf5:
        raise ScoreFileError(f"density file {src!r}: --group/group applies to HDF5 files only; "
                             "an .npz file has no groups")
    try:
        data, contents = _read_hdf5(path, group) if hdf5 else _read_npz(path)
    except ScoreFileError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, MemoryError,
            zlib.error) as err:
        msg = " ".join(str(err).split())
        raise ScoreFileError(f"cannot read density file {src!r}: {msg}") from err
    missing = [k for k in ("log_p_sig", "log_p_bg") if k not in data]
    if missing:
        where = f" (group {group!r})" if group else ""
        raise ScoreFileError(
            f"density file {src!r}{where} has no field(s) {', '.join(map(repr, missing))}; "
            f"it contains: {', '.join(contents) if contents else '(nothing)'}. Expected 1-D "
            "arrays 'log_p_sig' and 'log_p_bg' (optional 'weights')"
        )
    out: dict[str, np.ndarray] = {}
    for k, v in data.items():
        arr = np.asarray(v)
        if arr.dtype.kind not in "iuf" or arr.ndim != 1:  # checked before the cast
            raise ScoreFileError(f"density file {src!r}: field {k!r} must be a 1-D array of "
                                 f"real numbers, got dtype {arr.dtype} shape {arr.shape}")
        out[k] = arr.astype(np.float64, copy=False)
    sizes = {k: v.size for k, v in out.items()}
    if len(set(sizes.values())) != 1:
        raise ScoreFileError(f"density file {src!r}: fields have different lengths {sizes}; "
                             "expected one entry per SR event in each")
    return out


def write_density_file(
    path: str | Path,
    log_p_sig: Any,
    log_p_bg: Any,
    *,
    weights: Any = None,
    group: str | None = None,
    **extra: Any,
) -> Path:
    """Write a density file readable by :func:`read_density_file`, atomically.

    The format follows the suffix (``.npz`` or ``.h5``/``.hdf5``; anything else is an error,
    so exactly ``path`` is written). ``extra`` arrays (``m``, ``x``, ``label``, ``score``, …)
    are stored alongside; ``group`` (HDF5 only) puts the arrays in that group.
    """
    from bumpstat.outputs import atomic_path

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _HDF5 + (".npz",):
        raise InputError(f"density file {str(path)!r}: use a .npz, .h5 or .hdf5 name")
    if group is not None and suffix == ".npz":
        raise InputError(f"density file {str(path)!r}: groups apply to HDF5 files only")
    arrays = {"log_p_sig": np.asarray(log_p_sig), "log_p_bg": np.asarray(log_p_bg)}
    if weights is not None:
        arrays["weights"] = np.asarray(weights)
    arrays.update({k: np.asarray(v) for k, v in extra.items()})
    with atomic_path(path) as tmp:
        if suffix == ".npz":
            np.savez(tmp, **arrays)
        else:
            import h5py

            with h5py.File(tmp, "w") as f:
                node = f.create_group(group) if group else f
                for k, v in arrays.items():
                    node.create_dataset(k, data=v)
    return path
