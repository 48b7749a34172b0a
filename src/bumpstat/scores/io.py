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

Reading trusts nothing in the file: the header's types are checked, window names must be safe
file names (:data:`bumpstat.outputs.SAFE_NAME`), an NPZ array that no window of the header
claims is an error (never silently dropped), HDF5 soft and external links are refused (a score
file cannot pull data from another file), NPZ members are read only as far as their ``.npy``
header declares and never unpickled (:func:`bumpstat.npzfile.read_npz`), and every failure of
the underlying libraries becomes a :class:`~bumpstat.exceptions.ScoreFileError` naming the file.
Writing is atomic (:func:`bumpstat.outputs.atomic_path`).
"""

from __future__ import annotations

import json
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.exceptions import BumpstatError, InputError, ScoreFileError
from bumpstat.h5file import h5_child
from bumpstat.scores.schema import (
    EVENT_FIELDS,
    SCHEMA_NAME,
    SCHEMA_VERSION,
    EventSet,
    ScoreFile,
    WindowScores,
)
from bumpstat.windows import MAX_MASS_TEV, Window

__all__ = ["read_scores", "write_scores"]

_HDF5_SUFFIXES = {".h5", ".hdf5", ".hdf"}
#: Units a score file may store masses in, and how many of them make one TeV (the unit held in
#: memory). Reading divides by the factor (3300 GeV / 1000 is exactly 3.3; 3300 * 1e-3 is not).
MASS_PER_TEV = {"TeV": 1.0, "GeV": 1000.0}


def _fmt(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _HDF5_SUFFIXES:
        return "hdf5"
    if suffix == ".npz":
        return "npz"
    raise ScoreFileError(
        f"file {str(path)!r}: unknown score-file format {suffix!r}; use .h5/.hdf5 or .npz"
    )


def write_scores(path: str | Path, scores: ScoreFile, *, mass_unit: str = "TeV") -> Path:
    """Write ``scores`` to ``path`` (.h5/.hdf5 or .npz) atomically.

    Parameters
    ----------
    path : path
        The file; its suffix selects the format.
    scores : ScoreFile
        Masses and window edges in TeV, as every :class:`ScoreFile` holds them.
    mass_unit : {"TeV", "GeV"}
        Unit of the stored masses (``data/m``, ``template/m``) and window edges, named by the
        header's ``mass_unit``: ``"GeV"`` multiplies them by 1000; :func:`read_scores` divides
        again, so what is read is in TeV (within one unit in the last place).
    """
    from bumpstat.outputs import atomic_path

    if not isinstance(mass_unit, str) or mass_unit not in MASS_PER_TEV:
        raise InputError(f"mass_unit must be one of {sorted(MASS_PER_TEV)}, got {mass_unit!r}")
    per_tev = MASS_PER_TEV[mass_unit]
    path = Path(path)
    fmt = _fmt(path)
    header = {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "method": scores.method,
        "mass_unit": mass_unit,
        "metadata": dict(scores.metadata),
    }

    def value(es: EventSet, name: str) -> np.ndarray:
        arr = getattr(es, name)
        return arr * per_tev if name == "m" and per_tev != 1.0 else arr

    if fmt == "npz":
        arrays: dict[str, Any] = {}
        for ws in scores.windows:
            for part in ("data", "template"):
                es: EventSet = getattr(ws, part)
                for name in es.present_fields():
                    arrays[f"{ws.window.name}/{part}/{name}"] = value(es, name)
        header["windows"] = [
            {"name": w.window.name, "low": w.window.low * per_tev,
             "high": w.window.high * per_tev}
            for w in scores.windows
        ]
        arrays["__schema__"] = np.array(json.dumps(header))
        with atomic_path(path) as tmp:
            np.savez_compressed(tmp, **arrays)
        return path

    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for k in ("schema", "schema_version", "method", "mass_unit"):
            f.attrs[k] = header[k]
        f.attrs["metadata"] = json.dumps(header["metadata"])
        for i, ws in enumerate(scores.windows):
            g = f.create_group(f"windows/{ws.window.name}")
            g.attrs.update({"low": ws.window.low * per_tev, "high": ws.window.high * per_tev,
                            "index": i})
            for part in ("data", "template"):
                es = getattr(ws, part)
                gp = g.create_group(part)
                for name in es.present_fields():
                    gp.create_dataset(name, data=value(es, name), compression="gzip",
                                      compression_opts=1)
    return path


def _number(value: Any, what: str, src: str, *, integer: bool = False) -> float:
    """A finite real number from a header field (bool, str, null and arrays refused)."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and not math.isfinite(value):
        ok = False
    if ok and integer and not float(value).is_integer():
        ok = False
    if not ok:
        kind = "an integer" if integer else "a finite number"
        raise ScoreFileError(f"file {src!r}: {what} must be {kind}, found {value!r}")
    return float(value)


def _check_header(header: Any, src: str) -> tuple[str, float]:
    if not isinstance(header, dict):
        raise ScoreFileError(f"file {src!r}: the schema header must be a JSON object, found "
                             f"{type(header).__name__}")
    if header.get("schema") != SCHEMA_NAME:
        raise ScoreFileError(
            f"file {src!r}: not a bumpstat score file (schema attribute is "
            f"{header.get('schema')!r}, expected {SCHEMA_NAME!r})"
        )
    if "schema_version" not in header:
        raise ScoreFileError(f"file {src!r}: no schema_version (this bumpstat reads version "
                             f"{SCHEMA_VERSION})")
    version = _number(header["schema_version"], "schema_version", src, integer=True)
    if version != SCHEMA_VERSION:
        raise ScoreFileError(
            f"file {src!r}: schema_version {header['schema_version']!r} is not supported (this "
            f"bumpstat reads version {SCHEMA_VERSION})"
        )
    unit = header.get("mass_unit", "")
    if not isinstance(unit, str) or unit not in MASS_PER_TEV:
        raise ScoreFileError(
            f"file {src!r}: mass_unit {unit!r} is not one of {sorted(MASS_PER_TEV)}"
        )
    for key in ("method",):
        if key in header and not isinstance(header[key], str):
            raise ScoreFileError(f"file {src!r}: {key} must be a string, found {header[key]!r}")
    return unit, MASS_PER_TEV[unit]


def _metadata(value: Any, src: str) -> dict:
    if not isinstance(value, dict):
        raise ScoreFileError(f"file {src!r}: metadata must be a JSON object, found "
                             f"{type(value).__name__}")
    return value


def _window(name: Any, low: Any, high: Any, per_tev: float, src: str) -> Window:
    if not isinstance(name, str):
        raise ScoreFileError(f"file {src!r}: window name must be a string, found {name!r}")
    lo = _number(low, f"window {name!r} attribute 'low'", src) / per_tev
    hi = _number(high, f"window {name!r} attribute 'high'", src) / per_tev
    try:
        return Window(lo, hi, name)
    except InputError as err:
        raise ScoreFileError(f"file {src!r}: {err}") from None


def _event_set(get, present: set[str], prefix: str, src: str, window: str, part: str,
               per_tev: float) -> EventSet:
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
    if kw["scores"].ndim != 2:
        raise ScoreFileError(
            f"file {src!r}, window {window!r}, field '{part}/scores': expected shape "
            f"(n_runs, n_events), got {kw['scores'].shape}"
        )
    if "m" in kw:
        if kw["m"].dtype.kind not in "iuf":
            raise ScoreFileError(f"file {src!r}, window {window!r}, field '{part}/m': expected "
                                 f"real numbers, found dtype {kw['m'].dtype}")
        m = kw["m"].astype(np.float64, copy=False)
        kw["m"] = m if per_tev == 1.0 else m / per_tev
    return EventSet(**kw)


def _check_mass_plausible(sf: ScoreFile, unit: str) -> None:
    for ws in sf.windows:
        for part in ("data", "template"):
            m = getattr(ws, part).m
            if m is None:
                continue
            med = float(np.median(m))
            if not 0.01 < med < MAX_MASS_TEV:
                hint = (f"probably GeV ({med:g} GeV = {med / 1000:g} TeV)" if med >= MAX_MASS_TEV
                        else "not in the unit it names")
                raise ScoreFileError(
                    f"file {sf.source!r}, window {ws.window.name!r}: field '{part}/m' has "
                    f"median {med:g} TeV after reading it as {unit}; the file's mass_unit is "
                    f"probably wrong (these masses are {hint}); store every mass in the unit "
                    "mass_unit names"
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
    reader = _read_npz if fmt == "npz" else _read_hdf5
    try:
        windows, method, metadata, unit = reader(path, src)
        sf = ScoreFile(tuple(windows), method=method, metadata=metadata, source=src)
    except BumpstatError as err:
        if isinstance(err, ScoreFileError):
            raise
        raise ScoreFileError(f"file {src!r}: {err}") from None
    _check_mass_plausible(sf, unit)
    return sf


def _read_npz(path: Path, src: str) -> tuple[list[WindowScores], str, dict, str]:
    from bumpstat.npzfile import read_npz

    arrays, members = read_npz(path, what="file")
    if "__schema__" not in arrays:
        raise ScoreFileError(
            f"file {src!r}: no '__schema__' entry, so not a bumpstat score file "
            f"(keys: {members[:10]})"
        )
    raw = arrays.pop("__schema__")
    if raw.shape != () or raw.dtype.kind not in "US":
        raise ScoreFileError(f"file {src!r}: '__schema__' must hold one JSON string, found "
                             f"dtype {raw.dtype} shape {raw.shape}")
    try:
        text = raw.item()
        header = json.loads(text.decode() if isinstance(text, bytes) else text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ScoreFileError(f"file {src!r}: '__schema__' is not valid JSON ({err})") from err
    unit, per_tev = _check_header(header, src)
    entries = header.get("windows")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ScoreFileError(f"file {src!r}: '__schema__' windows must be a list of "
                             "{'name', 'low', 'high'} objects")
    windows = []
    claimed: set[str] = set()
    for i, wd in enumerate(entries):
        missing = [k for k in ("name", "low", "high") if k not in wd]
        if missing:
            raise ScoreFileError(f"file {src!r}: '__schema__' window entry {i} lacks "
                                 f"{missing} (has {sorted(wd)})")
        win = _window(wd["name"], wd["low"], wd["high"], per_tev, src)
        parts = {}
        for part in ("data", "template"):
            prefix = f"{win.name}/{part}"
            keys = {k for k in arrays if k.startswith(prefix + "/")}
            claimed |= keys
            present = {k[len(prefix) + 1:] for k in keys}
            parts[part] = _event_set(arrays.__getitem__, present, prefix, src, win.name, part,
                                     per_tev)
        windows.append(WindowScores(win, **parts))
    unclaimed = sorted(set(arrays) - claimed)
    if unclaimed:
        raise ScoreFileError(
            f"file {src!r}: {len(unclaimed)} array(s) belong to no window of '__schema__' "
            f"(e.g. {unclaimed[:3]}); the header lists windows "
            f"{[w.window.name for w in windows]}. Nothing is dropped silently: fix the header"
        )
    return windows, header.get("method", ""), _metadata(header.get("metadata", {}), src), unit


def _read_hdf5(path: Path, src: str) -> tuple[list[WindowScores], str, dict, str]:
    import h5py

    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as err:
        raise ScoreFileError(f"file {src!r}: cannot be read as HDF5 ({err})") from err
    try:
        with f:
            return _hdf5_contents(f, src)
    except BumpstatError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, MemoryError,
            zlib.error) as err:
        msg = " ".join(str(err).split())
        raise ScoreFileError(f"file {src!r}: corrupt or unreadable HDF5 content ({msg})") from err


def _attr(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _hdf5_contents(f: Any, src: str) -> tuple[list[WindowScores], str, dict, str]:
    header = {k: _attr(v) for k, v in f.attrs.items()}
    unit, per_tev = _check_header(header, src)
    where = f"file {src!r}"
    top = h5_child(f, "windows", "group", where)
    named = []
    for name in top:
        g = h5_child(top, name, "group", where)
        if name != "" and "index" in g.attrs:
            index = _number(_attr(g.attrs["index"]), f"window {name!r} attribute 'index'", src,
                            integer=True)
        else:
            index = 0.0
        named.append((index, name, g))
    named.sort(key=lambda t: t[0])
    windows = []
    for _, name, g in named:
        for a in ("low", "high"):
            if a not in g.attrs:
                raise ScoreFileError(
                    f"file {src!r}, window {name!r}: missing attribute {a!r} "
                    f"(attributes: {sorted(g.attrs)})"
                )
        win = _window(name, _attr(g.attrs["low"]), _attr(g.attrs["high"]), per_tev, src)
        parts = {}
        for part in ("data", "template"):
            gp = h5_child(g, part, "group", f"file {src!r}, window {name!r}")
            present = set(gp.keys())
            for k in present:
                h5_child(gp, k, "dataset", f"file {src!r}, window {name!r}, group {part!r}")
            parts[part] = _event_set(lambda k, g=g: g[k][()], present, part, src, name, part,
                                     per_tev)
        windows.append(WindowScores(win, **parts))
    raw = header.get("metadata", "{}")
    try:
        metadata = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as err:
        raise ScoreFileError(f"file {src!r}: attribute 'metadata' is not JSON ({err})") from err
    return windows, header.get("method", ""), _metadata(metadata, src), unit
