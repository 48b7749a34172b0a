"""The result contract shared by every bumpstat result.

Every result is a frozen dataclass deriving from :class:`Result`, which gives it one
serialisation (:meth:`Result.to_dict` → strict JSON through :mod:`bumpstat.serialize`), an
atomic :meth:`Result.write_json`, :meth:`Result.records` (one flat row per point) with
:meth:`Result.to_dataframe`, a short ``repr`` and an HTML table for notebooks. Subclasses are
declared ``@dataclass(frozen=True, repr=False)`` so that the short ``repr`` is kept.

Test results (direct, sideband fit, R-ANODE mixture fit, global significance) share the names
and meanings of :data:`TEST_FIELDS`:

``n_obs``, ``n_exp``
    Observed events and expected background events (counting tests).
``n_exp_unc``, ``rel_unc``
    Uncertainty on ``n_exp``: absolute (events) and relative (``n_exp_unc / n_exp``).
``z``
    Significance in standard deviations, **signed**: negative for a deficit.
``p_value``
    One-sided ``Φ(−z)`` for every method (above 0.5 for a deficit). A p-value in pyhf's
    convention (0.5 for any deficit) is called ``p_value_q0``.
``upper_limit``, ``cl``, ``limit_method``
    Upper limit on the number of signal events at confidence level ``cl`` and how it was
    obtained (e.g. ``"CLs asymptotic (qtilde)"``).
``valid``, ``reason``
    Whether the numbers can be trusted; ``reason`` says why not whenever ``valid`` is false
    (the numbers are kept for inspection).
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy import stats

from bumpstat.serialize import dumps, jsonable

__all__ = ["Result", "TEST_FIELDS", "p_value_of_z", "flatten"]

#: The names every test result uses with the same meaning (see the module docstring).
TEST_FIELDS: tuple[str, ...] = (
    "n_obs", "n_exp", "n_exp_unc", "rel_unc", "z", "p_value", "upper_limit", "cl",
    "limit_method", "valid", "reason",
)

_REPR_MAX = 600


def p_value_of_z(z: Any) -> Any:
    """One-sided ``p = Φ(−z)`` (NaN stays NaN); float for scalar input.

    >>> round(p_value_of_z(2.0), 5), p_value_of_z(0.0), round(p_value_of_z(-1.0), 4)
    (0.02275, 0.5, 0.8413)
    """
    out = stats.norm.sf(np.asarray(z, dtype=np.float64))
    return float(out) if np.ndim(out) == 0 else out


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts into ``a.b`` keys; lists stay as they are.

    >>> flatten({"window": {"name": "SR5", "low": 3.3}, "z": 1.0})
    {'window.name': 'SR5', 'window.low': 3.3, 'z': 1.0}
    """
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        if v.size == 1:
            return _short(v.reshape(-1)[0])
        return f"array{tuple(v.shape)}"
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}"
    if isinstance(v, list | tuple) and len(v) > 4:
        return f"[{len(v)} items]"
    if isinstance(v, list | tuple) and all(isinstance(x, float | int | np.number) for x in v):
        inner = ", ".join(_short(x) for x in v)
        return f"({inner})" if isinstance(v, tuple) else f"[{inner}]"
    if isinstance(v, dict):
        return f"{{{len(v)} keys}}"
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        name = getattr(v, "name", None)
        return f"{type(v).__name__}({name})" if isinstance(name, str) else type(v).__name__
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


class Result:
    """Mixin of every bumpstat result (a frozen dataclass).

    Override :meth:`to_dict` for a custom JSON layout and :meth:`records` when the result holds
    several points (one record per point).
    """

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of the dataclass fields (strict: non-finite → ``None``)."""
        return {f.name: jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)  # type: ignore[arg-type]
                if f.metadata.get("json", True)}

    def to_json(self, *, indent: int | None = 2) -> str:
        """Strict JSON text of :meth:`to_dict` (no NaN/Infinity)."""
        return dumps(self.to_dict(), indent=indent)

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` to ``path`` as strict JSON, atomically."""
        from bumpstat.outputs import write_json

        return write_json(path, self.to_dict())

    #: Keys of :meth:`to_dict` that hold one value per point (e.g. per working point): a
    #: result that sets them gets one record per point from the default :meth:`records`.
    point_fields: ClassVar[tuple[str, ...]] = ()

    def records(self) -> list[dict[str, Any]]:
        """Flat JSON-ready rows, one per point (one row for a single result).

        The default gives one row per index of the :attr:`point_fields` lists (the other
        entries repeated in every row), or one row of the whole result when there are none;
        lists longer than 5 that are not point fields are left out.
        """
        d = self.to_dict()
        cols = {k: d[k] for k in self.point_fields if k in d}
        lengths = {len(v) if isinstance(v, list) else -1 for v in cols.values()}
        if not cols or len(lengths) != 1 or -1 in lengths:  # a single point (scalar fields)
            return [flatten({k: v for k, v in d.items()
                             if not isinstance(v, list) or len(v) <= 5})]
        common = flatten({k: v for k, v in d.items() if k not in cols
                          and (not isinstance(v, list) or len(v) <= 5)})
        return [{**common, **{k: v[i] for k, v in cols.items()}} for i in range(lengths.pop())]

    def to_dataframe(self) -> Any:
        """:meth:`records` as a :class:`pandas.DataFrame` (pandas is imported lazily)."""
        from bumpstat._extras import require

        pd = require("pandas")
        return pd.DataFrame.from_records(self.records())

    def __repr__(self) -> str:
        parts = []
        names = set()
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            names.add(f.name)
            if not f.repr:
                continue
            parts.append(f"{f.name}={_short(getattr(self, f.name))}")
        for name in ("valid", "reason"):  # validity given by a property, not a field
            if name not in names and isinstance(getattr(type(self), name, None), property):
                parts.append(f"{name}={_short(getattr(self, name))}")
        text = f"{type(self).__name__}({', '.join(parts)})"
        return text if len(text) <= _REPR_MAX else text[: _REPR_MAX - 4] + "...)"

    def _repr_html_(self) -> str:
        rows = self.records()
        if not rows:
            return f"<p>{html.escape(type(self).__name__)}: empty</p>"
        cols = list(dict.fromkeys(k for r in rows for k in r))
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)

        def cell(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:.4g}"
            return html.escape("" if v is None else str(v))

        body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in cols) + "</tr>"
                       for r in rows[:200])
        more = f"<p>… {len(rows) - 200} more rows</p>" if len(rows) > 200 else ""
        return (f"<p><b>{html.escape(type(self).__name__)}</b></p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}")
