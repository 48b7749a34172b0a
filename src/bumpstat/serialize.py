"""The one way results become JSON: strict (no NaN/Infinity), plain types only.

:func:`jsonable` turns any bumpstat result (a dataclass with ``to_dict``), numpy array or
scalar, :class:`~pathlib.Path`, mapping or sequence into plain Python types. A number that is
not finite becomes ``null``: the result that holds it carries ``valid: false`` and a ``reason``
saying why. :func:`dumps` writes that with ``allow_nan=False``, so nothing bumpstat writes or
prints can contain ``NaN`` or ``Infinity``; :func:`loads` is the matching strict reader.

>>> import numpy as np
>>> dumps({"z": np.float64(2.5), "p": float("nan"), "n": np.arange(2)}, indent=None)
'{"z": 2.5, "p": null, "n": [0, 1]}'
>>> loads('{"z": NaN}')
Traceback (most recent call last):
...
bumpstat.exceptions.InputError: JSON text is not strict: NaN is not a number in JSON
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError

__all__ = ["jsonable", "dumps", "loads"]


def jsonable(obj: Any) -> Any:
    """``obj`` as strict-JSON-ready plain types (non-finite floats become ``None``).

    Objects with a ``to_dict()`` method are converted through it; other dataclasses field by
    field. Raises :class:`TypeError` for anything else that JSON cannot hold.
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, float | np.floating):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, enum.Enum):
        return jsonable(obj.value)
    if isinstance(obj, PurePath):
        return str(obj)
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    raise TypeError(f"cannot turn {type(obj).__name__} into JSON")


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    """Strict JSON text of ``obj`` (see :func:`jsonable`)."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False)


def _reject(name: str) -> Any:
    raise InputError(f"JSON text is not strict: {name} is not a number in JSON")


def loads(text: str | bytes) -> Any:
    """Parse JSON, rejecting ``NaN``, ``Infinity`` and ``-Infinity``.

    Raises :class:`~bumpstat.exceptions.InputError` for invalid or non-strict JSON.
    """
    try:
        return json.loads(text, parse_constant=_reject)
    except json.JSONDecodeError as err:
        raise InputError(f"invalid JSON: {err}") from err
