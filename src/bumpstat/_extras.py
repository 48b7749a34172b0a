"""Lazy imports of optional heavy dependencies (torch, nflows, scikit-learn, dask, pandas,
uproot, awkward)."""

from __future__ import annotations

import importlib
from types import ModuleType

from bumpstat.exceptions import MissingExtraError

_EXTRA_OF = {
    "torch": "flows",
    "nflows": "flows",
    "sklearn": "ml",
    "dask": "dask",
    "distributed": "dask",
    "pandas": "io",
    "uproot": "io",
    "awkward": "io",
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.split(".")[0]
        extra = _EXTRA_OF.get(top, "all")
        hint = (
            "pip install torch==2.13.0 && pip install 'bumpstat[flows]'"
            if extra == "flows"
            else f"pip install 'bumpstat[{extra}]'"
        )
        raise MissingExtraError(
            f"{module!r} is needed for this feature but cannot be imported ({err}); "
            f"install the '{extra}' extra: {hint}"
        ) from err
