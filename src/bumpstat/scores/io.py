"""Read and write score files as HDF5 (h5py) or NPZ; the format follows the file suffix.

HDF5 layout (schema ``bumpstat-scores`` v1)::

    /                      attrs: schema, schema_version, method, mass_unit ("TeV"|"GeV"),
                                  metadata (JSON)
    /windows/<name>        attrs: low, high (mass_unit), index (order)
    /windows/<name>/data/      scores (n_runs, n), m (n,), [weight, label, fold]
    /windows/<name>/template/  scores (n_runs, n_t), [weight, m]

NPZ layout: the same arrays under keys ``"<name>/data/scores"`` etc., and a key ``__schema__``
holding a JSON string with ``schema``, ``schema_version``, ``method``, ``mass_unit``,
``metadata`` and ``windows`` (a list of ``{"name", "low", "high"}``).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.exceptions import ScoreFileError
from bumpstat.scores.schema import (
    EVENT_FIELDS,
    SCHEMA_NAME,
    SCHEMA_VERSION,
    EventSet,
    ScoreFile,
    WindowScores,
)
from bumpstat.windows import Window

__all__ = ["read_scores", "write_scores"]

_HDF5_SUFFIXES = {".h5", ".hdf5", ".hdf"}
_MASS_SCALE = {"TeV": 1.0, "GeV": 1e-3}


def _fmt(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _HDF5_SUFFIXES:
        return "hdf5"
    if suffix == ".npz":
        return "npz"
    raise ScoreFileError(
        f"file {str(path)!r}: unknown score-file format {suffix!r}; use .h5/.hdf5 or .npz"
    )


def write_scores(path: str | Path, scores: ScoreFile) -> Path:
    """Write ``scores`` to ``path`` (.h5/.hdf5 or .npz); masses are written in TeV."""
    path = Path(path)
    fmt = _fmt(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "method": scores.method,
        "mass_unit": "TeV",
        "metadata": dict(scores.metadata),
    }
    if fmt == "npz":
        arrays: dict[str, Any] = {}
        for ws in scores.windows:
            for part in ("data", "template"):
                es: EventSet = getattr(ws, part)
                for name in es.present_fields():
                    arrays[f"{ws.window.name}/{part}/{name}"] = getattr(es, name)
        header["windows"] = [
            {"name": w.window.name, "low": w.window.low, "high": w.window.high}
            for w in scores.windows
        ]
        arrays["__schema__"] = np.array(json.dumps(header))
        np.savez_compressed(path, **arrays)
        return path

    import h5py

    with h5py.File(path, "w") as f:
        for k in ("schema", "schema_version", "method", "mass_unit"):
            f.attrs[k] = header[k]
        f.attrs["metadata"] = json.dumps(header["metadata"])
        for i, ws in enumerate(scores.windows):
            g = f.create_group(f"windows/{ws.window.name}")
            g.attrs.update({"low": ws.window.low, "high": ws.window.high, "index": i})
            for part in ("data", "template"):
                es = getattr(ws, part)
                gp = g.create_group(part)
                for name in es.present_fields():
                    gp.create_dataset(name, data=getattr(es, name), compression="gzip",
                                      compression_opts=1)
    return path


def _check_header(header: dict, src: str) -> tuple[str, float]:
    if header.get("schema") != SCHEMA_NAME:
        raise ScoreFileError(
            f"file {src!r}: not a bumpstat score file (schema attribute is "
            f"{header.get('schema')!r}, expected {SCHEMA_NAME!r})"
        )
    version = int(header.get("schema_version", -1))
    if version != SCHEMA_VERSION:
        raise ScoreFileError(
            f"file {src!r}: schema_version {version} is not supported (this bumpstat reads "
            f"version {SCHEMA_VERSION})"
        )
    unit = str(header.get("mass_unit", ""))
    if unit not in _MASS_SCALE:
        raise ScoreFileError(
            f"file {src!r}: mass_unit {unit!r} is not one of {sorted(_MASS_SCALE)}"
        )
    return unit, _MASS_SCALE[unit]


def _event_set(get, present: set[str], prefix: str, src: str, window: str, part: str,
               scale: float) -> EventSet:
    if "scores" not in present:
        raise ScoreFileError(
            f"file {src!r}, window {window!r}: missing field '{part}/scores' "
            f"(present in '{part}': {sorted(present) or 'nothing'})"
        )
    unknown = present - set(EVENT_FIELDS)
    if unknown:
        raise ScoreFileError(
            f"file {src!r}, window {window!r}: unknown field(s) {sorted(unknown)} in '{part}' "
            f"(allowed: {list(EVENT_FIELDS)})"
        )
    kw = {k: np.asarray(get(f"{prefix}/{k}")) for k in EVENT_FIELDS if k in present}
    if "m" in kw:
        kw["m"] = kw["m"].astype(np.float64) * scale
    return EventSet(**kw)


def _check_mass_plausible(sf: ScoreFile, unit: str) -> None:
    for ws in sf.windows:
        m = ws.data.m
        assert m is not None
        med = float(np.median(m))
        if not 0.01 < med < 100:
            raise ScoreFileError(
                f"file {sf.source!r}, window {ws.window.name!r}: field 'data/m' has median "
                f"{med:g} TeV after reading it as {unit}; the file's mass_unit is probably wrong"
            )


def read_scores(path: str | Path) -> ScoreFile:
    """Read and validate a score file (.h5/.hdf5 or .npz).

    Raises
    ------
    ScoreFileError
        If the file is missing, unreadable, not of this schema, or any field is invalid;
        the message names the file, window and field and lists what the file contains.
    """
    path = Path(path)
    src = str(path)
    fmt = _fmt(path)
    if not path.is_file():
        raise ScoreFileError(f"file {src!r}: does not exist")
    if fmt == "npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            raise ScoreFileError(f"file {src!r}: cannot be read as NPZ ({err})") from err
        if "__schema__" not in arrays:
            raise ScoreFileError(
                f"file {src!r}: no '__schema__' entry, so not a bumpstat score file "
                f"(keys: {sorted(arrays)[:10]})"
            )
        try:
            header = json.loads(str(arrays.pop("__schema__")))
        except json.JSONDecodeError as err:
            raise ScoreFileError(f"file {src!r}: '__schema__' is not valid JSON ({err})") from err
        unit, scale = _check_header(header, src)
        windows = []
        for wd in header.get("windows", []):
            name = wd["name"]
            win = Window(float(wd["low"]) * scale, float(wd["high"]) * scale, name)
            parts = {}
            for part in ("data", "template"):
                prefix = f"{name}/{part}"
                present = {k[len(prefix) + 1:] for k in arrays if k.startswith(prefix + "/")}
                parts[part] = _event_set(arrays.__getitem__, present, prefix, src, name, part,
                                         scale)
            windows.append(WindowScores(win, **parts))
        sf = ScoreFile(tuple(windows), method=str(header.get("method", "")),
                       metadata=header.get("metadata", {}), source=src)
        _check_mass_plausible(sf, unit)
        return sf

    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise ScoreFileError(f"file {src!r}: cannot be read as HDF5 ({err})") from err
    with f:
        header = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        unit, scale = _check_header(header, src)
        if "windows" not in f:
            raise ScoreFileError(
                f"file {src!r}: no 'windows' group (top level holds {sorted(f.keys())})"
            )
        groups = sorted(f["windows"].items(), key=lambda kv: int(kv[1].attrs.get("index", 0)))
        windows = []
        for name, g in groups:
            for a in ("low", "high"):
                if a not in g.attrs:
                    raise ScoreFileError(
                        f"file {src!r}, window {name!r}: missing attribute {a!r} "
                        f"(attributes: {sorted(g.attrs)})"
                    )
            win = Window(float(g.attrs["low"]) * scale, float(g.attrs["high"]) * scale, name)
            parts = {}
            for part in ("data", "template"):
                if part not in g:
                    raise ScoreFileError(
                        f"file {src!r}, window {name!r}: missing group {part!r} "
                        f"(window holds {sorted(g.keys())})"
                    )
                present = set(g[part].keys())
                parts[part] = _event_set(lambda k, g=g: g[k][()], present, part, src, name, part,
                                         scale)
            windows.append(WindowScores(win, **parts))
        try:
            metadata = json.loads(header.get("metadata", "{}"))
        except json.JSONDecodeError as err:
            raise ScoreFileError(f"file {src!r}: attribute 'metadata' is not JSON ({err})") from err
    sf = ScoreFile(tuple(windows), method=str(header.get("method", "")), metadata=metadata,
                   source=src)
    _check_mass_plausible(sf, unit)
    return sf
