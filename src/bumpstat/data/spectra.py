"""Masses to fit, read from files: a 1-D array (``.npy``, or a named array of an ``.npz``
archive) or a ROOT histogram or tree branch through uproot (lazily imported).

Files are recognised by their content and read by the bounded, pickle-free reader
(:mod:`bumpstat.npzfile`); every error names the file, what it should hold and the problem.
Used by ``bumpstat fit``; the fit itself takes arrays or histograms
(:func:`bumpstat.fit.bumphunt`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bumpstat.exceptions import InputError

__all__ = ["read_mass_array", "read_root_masses"]


_NPY_MAGIC, _ZIP_MAGIC, _HDF5_MAGIC = b"\x93NUMPY", b"PK", b"\x89HDF\r\n\x1a\n"


def _not_numpy(magic: bytes) -> str:
    """What a file that is neither .npy nor .npz is, from its first bytes."""
    if not magic:
        return "is empty (0 bytes)"
    if magic == _HDF5_MAGIC:
        return "is an HDF5 file"
    if magic[:1] == b"\x80" and 2 <= magic[1] <= 5:
        return "is a Python pickle (pickled data), which bumpstat never loads"
    return "is not a NumPy .npy or .npz file"


def read_mass_array(path: str | Path, *, key: str | None, what: str = "m",
               key_option: str = "--key") -> np.ndarray:
    """A 1-D float array from ``path`` (.npy, or the array ``key`` of an .npz archive).

    ``key`` may be omitted for an archive holding exactly one array. The file is recognised by
    its content, read by the bounded, pickle-free reader (:mod:`bumpstat.npzfile`) and its
    values checked before any cast; errors name the file, what it should hold, the option that
    selects the array and the problem.
    """
    from bumpstat.npzfile import read_npy, read_npz

    src = f"{what} file {str(path)!r}"
    try:
        with open(path, "rb") as fh:
            magic = fh.read(8)
    except OSError as err:
        raise InputError(f"{src} cannot be opened ({err.strerror or err})") from err
    if magic.startswith(_NPY_MAGIC):
        if key is not None:
            raise InputError(f"{src} is a single .npy array; {key_option} applies to .npz "
                             "archives")
        arr, where = read_npy(path, what=f"{what} file"), src
    elif magic.startswith(_ZIP_MAGIC):
        _, names = read_npz(path, what=f"{what} file", keys=())
        if key is None:
            if len(names) != 1:
                raise InputError(f"{src} holds {len(names)} arrays "
                                 f"({', '.join(names) or 'none'}); choose one with {key_option}")
            key = names[0]
        elif key not in names:
            raise InputError(f"{src} has no array {key!r}; it holds: "
                             f"{', '.join(names) or 'no arrays'}")
        arr, where = read_npz(path, what=f"{what} file", keys=[key])[0][key], f"{src} array {key!r}"
    else:
        found = _not_numpy(magic)
        hint = ("give the masses as a .npy array, an .npz archive or a ROOT file (a score "
                "file is fitted by 'bumpstat scan --methods fit')" if what == "m"
                else "give a .npy array or an .npz archive")
        raise InputError(f"{src} {found}; {hint}")
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{where} must hold real numbers, found dtype {arr.dtype}")
    if arr.ndim != 1:
        raise InputError(f"{where} must be a 1-D array (one value per event), got shape "
                         f"{arr.shape}")
    return arr.astype(float)


def read_root_masses(spec: str, *, key: str | None, mass_unit: str = "TeV"):
    """m values (array, TeV) or a histogram (UHI object) from a ROOT file through uproot.

    ``spec`` is ``FILE.root`` with ``key`` naming a histogram or ``tree/branch``, or
    ``FILE.root:key``.
    """
    from bumpstat._extras import require

    path, _, inner = spec.partition(".root:")
    path = path + ".root" if inner else spec
    if inner and key is not None:
        raise InputError(f"give the object either in {spec!r} or with --key, not both")
    key = inner or key
    if not Path(path).is_file():
        raise InputError(f"m file {path!r} does not exist")
    uproot = require("uproot")
    try:
        f = uproot.open(path)
    except Exception as err:
        raise InputError(f"m file {path!r} cannot be read as ROOT ({err})") from err
    scale = 1e-3 if mass_unit == "GeV" else 1.0
    with f:
        names = sorted({k.split(";")[0] for k in f.keys()})
        if key is None:
            raise InputError(f"m file {path!r}: choose a histogram or tree/branch with --key "
                             f"(or FILE.root:NAME); it holds: {', '.join(names) or 'nothing'}")
        obj_name, _, branch = key.partition("/")
        if obj_name not in f:
            raise InputError(f"m file {path!r} has no object {obj_name!r}; it holds: "
                             f"{', '.join(names) or 'nothing'}")
        obj = f[obj_name]
        if branch:
            keys = list(obj.keys())
            if branch not in keys:
                raise InputError(f"tree {obj_name!r} of {path!r} has no branch {branch!r}; "
                                 f"branches: {', '.join(keys)}")
            arr = np.asarray(obj[branch].array(library="np"))
            if arr.dtype.kind not in "biuf" or arr.ndim != 1:
                raise InputError(f"branch {key!r} must hold one number per event")
            return np.asarray(arr, dtype=float) * scale
        if not hasattr(obj, "to_boost"):
            raise InputError(f"{obj_name!r} in {path!r} is a {type(obj).__name__}, not a "
                             "histogram; for a tree give --key tree/branch")
        h = obj.to_boost()
        if scale != 1.0:
            import boost_histogram as bh

            edges = np.asarray(h.axes[0].edges) * scale
            scaled = bh.Histogram(bh.axis.Variable(edges), storage=h.storage_type())
            scaled.view()[...] = h.view()
            h = scaled
        return h
