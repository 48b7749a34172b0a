"""Events files: ``.npz`` with arrays ``m`` (n,) TeV, ``x`` (n, d), optional ``label`` (n,) and
``feature_names`` (d,) strings. Written by ``bumpstat generate``, read by ``train-scores`` etc.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from bumpstat.data.synthetic import Events
from bumpstat.exceptions import ScoreFileError

__all__ = ["write_events", "read_events"]


def write_events(path: str | Path, events: Events) -> Path:
    """Write ``events`` to an ``.npz`` events file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, m=events.m, x=events.x, label=events.label,
                        feature_names=np.array(events.feature_names, dtype=str))
    return path


def read_events(path: str | Path) -> Events:
    """Read an ``.npz`` events file; errors name the file and field and list its contents."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise ScoreFileError(f"events file {src!r}: does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise ScoreFileError(f"events file {src!r}: cannot be read as NPZ ({err})") from err
    for key in ("m", "x"):
        if key not in arrays:
            raise ScoreFileError(
                f"events file {src!r}: missing field {key!r} (present: {sorted(arrays)})"
            )
    m = np.asarray(arrays["m"], dtype=np.float64)
    x = np.asarray(arrays["x"], dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n = m.shape[0]
    if m.ndim != 1 or x.ndim != 2 or x.shape[0] != n:
        raise ScoreFileError(
            f"events file {src!r}: 'm' has shape {m.shape} and 'x' {x.shape}; expected (n,), (n, d)"
        )
    for key, arr in (("m", m), ("x", x)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ScoreFileError(
                f"events file {src!r}: field {key!r} has {int(bad.sum())} non-finite value(s), "
                f"first at index {np.argwhere(bad)[0].tolist()}"
            )
    label = arrays.get("label")
    label = np.zeros(n, dtype=np.int8) if label is None else np.asarray(label)
    if label.shape != (n,) or not np.isin(label, (0, 1)).all():
        raise ScoreFileError(f"events file {src!r}: field 'label' must be (n,) of 0/1")
    names = arrays.get("feature_names")
    names = tuple(f"x{i}" for i in range(x.shape[1])) if names is None else tuple(
        str(s) for s in names)
    if len(names) != x.shape[1]:
        raise ScoreFileError(
            f"events file {src!r}: {len(names)} feature_names for {x.shape[1]} feature columns"
        )
    return Events(m=m, x=x, label=label.astype(np.int8), feature_names=names)
