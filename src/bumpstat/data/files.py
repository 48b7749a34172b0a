"""Events files: ``.npz`` archives of plain arrays, written and read without pickle.

Fields: ``m`` (n,) in TeV and ``x`` (n, d), required; ``feature_names`` (d,) strings (default
``x0 … x{d-1}``); ``label`` (n,) 0/1 and ``weight`` (n,) >= 0, each only when known. A file
without ``label`` is read with ``label = None`` — no labels are invented — so metrics on such
events say "no truth labels". Written by ``bumpstat generate``, read by ``train-scores`` and
``ranode train``.

Every value is checked before it is cast (a label 256 is refused, not wrapped to 0); an error
is one line naming the file and the field. Object (pickled) members are never loaded, and each
member is read only as far as its ``.npy`` header declares (:func:`bumpstat.npzfile.read_npz`).
Masses must be in TeV: a median above 100 TeV is refused as probably GeV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.events import Events, check_labels, check_weights
from bumpstat.exceptions import InputError, ScoreFileError
from bumpstat.windows import check_mass_unit

__all__ = ["EVENT_FILE_FIELDS", "check_events_name", "write_events", "read_events"]

#: The fields an events file may hold (others are ignored and never loaded).
EVENT_FILE_FIELDS: tuple[str, ...] = ("m", "x", "feature_names", "label", "weight")


def check_events_name(path: str | Path) -> Path:
    """``path`` if it ends in ``.npz`` (an events file is written under exactly that name)."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise InputError(f"events file {str(path)!r}: the name must end in .npz (the file is a "
                         "NumPy .npz archive)")
    return path


def write_events(path: str | Path, events: Events) -> Path:
    """Write ``events`` to exactly ``path`` (which must end in ``.npz``), atomically.

    ``label`` and ``weight`` are written only when present.
    """
    from bumpstat.outputs import atomic_path

    path = check_events_name(path)
    arrays: dict[str, Any] = {"m": events.m, "x": events.x,
                              "feature_names": np.array(events.feature_names, dtype=str)}
    if events.label is not None:
        arrays["label"] = events.label
    if events.weight is not None:
        arrays["weight"] = events.weight
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def _load(path: Path, src: str) -> tuple[dict[str, np.ndarray], list[str]]:
    from bumpstat.npzfile import read_npz

    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as err:
        raise ScoreFileError(f"events file {src!r}: cannot be opened ({err.strerror or err})"
                             ) from err
    if magic == b"\x93NUMPY":
        raise ScoreFileError(f"events file {src!r}: holds one array, not an .npz archive of "
                             "fields")
    arrays, present = read_npz(path, what="events file", keys=EVENT_FILE_FIELDS)
    return arrays, present


def _numeric(arr: np.ndarray, key: str, src: str) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise ScoreFileError(f"events file {src!r}: field {key!r} must be numeric, got dtype "
                             f"{arr.dtype}")
    out = arr.astype(np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        raise ScoreFileError(
            f"events file {src!r}: field {key!r} has {int(bad.sum())} non-finite value(s), "
            f"first at index {np.argwhere(bad)[0].tolist()}"
        )
    return out


def read_events(path: str | Path) -> Events:
    """Read an ``.npz`` events file; errors name the file and field and list its contents.

    Raises
    ------
    ScoreFileError
        Missing or unreadable file, a missing or malformed field, a pickled member.
    """
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise ScoreFileError(f"events file {src!r}: does not exist")
    arrays, present = _load(path, src)
    for key in ("m", "x"):
        if key not in arrays:
            raise ScoreFileError(
                f"events file {src!r}: missing field {key!r} (present: {present})"
            )
    m = _numeric(arrays["m"], "m", src)
    try:
        check_mass_unit(m, "field 'm'")
    except InputError as err:
        raise ScoreFileError(f"events file {src!r}: {err}") from None
    x = _numeric(arrays["x"], "x", src)
    if x.ndim == 1:
        x = x[:, None]
    n = m.shape[0] if m.ndim == 1 else -1
    if m.ndim != 1 or x.ndim != 2 or x.shape[0] != n:
        raise ScoreFileError(f"events file {src!r}: 'm' has shape {m.shape} and 'x' "
                             f"{x.shape}; expected (n,) and (n, d)")
    names_raw = arrays.get("feature_names")
    if names_raw is None:
        names = tuple(f"x{i}" for i in range(x.shape[1]))
    elif names_raw.dtype.kind not in "US" or names_raw.ndim != 1:
        raise ScoreFileError(f"events file {src!r}: field 'feature_names' must be a 1-D array "
                             f"of strings, got dtype {names_raw.dtype} shape {names_raw.shape}")
    else:
        names = tuple(v.decode() if isinstance(v, bytes) else str(v) for v in names_raw)
    if len(names) != x.shape[1]:
        raise ScoreFileError(
            f"events file {src!r}: {len(names)} feature_names for {x.shape[1]} feature columns"
        )
    try:
        label = None if "label" not in arrays else check_labels(arrays["label"], n,
                                                                "field 'label'")
        weight = None if "weight" not in arrays else check_weights(arrays["weight"], n,
                                                                   "field 'weight'")
        return Events(m, x, names, label=label, weight=weight)
    except InputError as err:
        raise ScoreFileError(f"events file {src!r}: {err}") from err
