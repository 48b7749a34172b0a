"""Your own events in: a score file from tables (pandas, numpy, awkward) or a ROOT TTree.

An analysis keeps its scored events in a table: one row per event with the resonant mass, one
score column per classifier run (or per window and run), and optionally a truth label, an event
weight, the k-fold index of the model that scored the event and an event id. These functions
map such columns onto the score-file schema (:mod:`bumpstat.scores.schema`), one
:class:`~bumpstat.scores.schema.WindowScores` per signal-region window:

- **data** of every window: all data events (the window selects its SR as ``low <= m < high``;
  events outside it serve the fit-based method and the sidebands);
- **template** of a window: the background-template events, all of them (``template_select=
  "all"``, e.g. one oversampled CATHODE sample per window file), those inside the window
  (``"mass"``, needs template masses), or those whose value in a column equals the window's
  name (``template_select="column:<name>"``).

Scores per window: a score column name may contain ``{window}``, replaced by each window's
name (``"score_{window}"``), or ``scores`` may map window names to their columns.

Masses: declare the unit of the input with ``mass_unit`` (``"GeV"`` or ``"TeV"``); window edges
are in the same unit. Score files store TeV (the schema's rule), so GeV masses and edges are
divided by 1000. pandas, uproot and awkward are imported only when needed (the ``io`` extra).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> data = {"mjj": rng.uniform(3000, 4000, 500), "s0": rng.random(500), "s1": rng.random(500)}
>>> tmpl = {"s0": rng.random(2000), "s1": rng.random(2000)}
>>> sf = from_table(data, tmpl, m="mjj", scores=["s0", "s1"], windows=[(3300, 3700)],
...                 mass_unit="GeV", method="cwola")
>>> sf.n_runs, sf.windows[0].window.low, float(sf.windows[0].data.m.max()) < 4.0
(2, 3.3, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bumpstat.exceptions import InputError, ScoreFileError
from bumpstat.scores.schema import EventSet, ScoreFile, WindowScores
from bumpstat.windows import Window, sliding_windows

__all__ = ["MASS_UNITS", "from_arrays", "from_table", "from_dataframe", "from_root",
           "read_table", "make_windows"]

#: Accepted mass units and their factor to TeV.
MASS_UNITS: dict[str, float] = {"TeV": 1.0, "GeV": 1e-3}

_WindowSpec = Window | tuple[float, float] | tuple[float, float, str]


def _unit(mass_unit: str) -> float:
    if mass_unit not in MASS_UNITS:
        raise InputError(f"mass_unit must be one of {sorted(MASS_UNITS)}, got {mass_unit!r}")
    return MASS_UNITS[mass_unit]


def make_windows(windows: Sequence[_WindowSpec] | None, *, mass_unit: str = "TeV"
                 ) -> tuple[Window, ...]:
    """Windows in TeV from ``Window`` objects (TeV) or ``(low, high[, name])`` in ``mass_unit``.

    None gives the default sliding windows (:func:`bumpstat.windows.sliding_windows`).

    >>> [w.name for w in make_windows([(3300, 3700, "SR5")], mass_unit="GeV")]
    ['SR5']
    """
    if windows is None:
        return tuple(sliding_windows())
    scale = _unit(mass_unit)
    out = []
    for w in windows:
        if isinstance(w, Window):
            out.append(w)
            continue
        try:
            lo, hi, *rest = w
        except (TypeError, ValueError) as err:
            raise InputError(f"a window is (low, high) or (low, high, name), got {w!r}") from err
        out.append(Window(float(lo) * scale, float(hi) * scale, str(rest[0]) if rest else ""))
    if not out:
        raise InputError("no windows given")
    return tuple(out)


# -- tables -----------------------------------------------------------------------------------
def _column_names(table: Any) -> list[str]:
    if hasattr(table, "columns"):  # pandas
        return [str(c) for c in table.columns]
    if isinstance(table, np.ndarray) and table.dtype.names:
        return list(table.dtype.names)
    if isinstance(table, Mapping):
        return [str(k) for k in table]
    fields = getattr(table, "fields", None)  # awkward record array
    if fields is not None:
        return list(fields)
    raise InputError(f"cannot read columns from a {type(table).__name__}: give a pandas "
                     "DataFrame, a dict of arrays, a numpy structured array or an awkward "
                     "record array")


def _column(table: Any, name: str, what: str) -> np.ndarray:
    names = _column_names(table)
    if name not in names:
        raise InputError(f"{what}: no column {name!r}; the table has: {', '.join(names)}")
    col = table[name]
    if type(col).__module__.startswith("awkward"):
        ak = _require("awkward")
        try:
            col = ak.to_numpy(col)
        except ValueError as err:
            raise InputError(f"{what}: column {name!r} is jagged (several values per event); "
                             "give one value per event") from err
    arr = np.asarray(col)
    if arr.ndim != 1:
        raise InputError(f"{what}: column {name!r} must hold one value per event, got shape "
                         f"{arr.shape}")
    return arr


def _require(module: str):
    from bumpstat._extras import require

    return require(module)


def _n_rows(table: Any) -> int:
    names = _column_names(table)
    return int(np.asarray(_column(table, names[0], "table")).shape[0]) if names else 0


def _score_columns(scores: str | Sequence[str] | Mapping[str, Sequence[str] | str],
                   window: str) -> list[str]:
    if isinstance(scores, Mapping):
        if window not in scores:
            raise InputError(f"scores: no columns given for window {window!r}; given for "
                             f"{sorted(scores)}")
        cols = scores[window]
    else:
        cols = scores
    cols = [cols] if isinstance(cols, str) else list(cols)
    if not cols:
        raise InputError("scores: give at least one score column (one per classifier run)")
    return [c.replace("{window}", window) for c in cols]


def _optional(table: Any, name: str | None, what: str) -> np.ndarray | None:
    return None if name is None else _column(table, name, what)


def from_table(
    data: Any,
    template: Any,
    *,
    m: str = "m",
    scores: str | Sequence[str] | Mapping[str, Sequence[str] | str] = "score",
    label: str | None = None,
    weight: str | None = None,
    fold: str | None = None,
    event_id: str | None = None,
    template_scores: str | Sequence[str] | Mapping[str, Sequence[str] | str] | None = None,
    template_weight: str | None = None,
    template_m: str | None = None,
    template_event_id: str | None = None,
    template_select: str = "all",
    windows: Sequence[_WindowSpec] | None = None,
    mass_unit: str = "TeV",
    method: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> ScoreFile:
    """A :class:`ScoreFile` from a data table and a template table.

    Parameters
    ----------
    data, template : table
        pandas DataFrame, dict of 1-D arrays, numpy structured array or awkward record array;
        one row per event.
    m : str
        Column of the resonant mass of the data events, in ``mass_unit``.
    scores : str, sequence of str, or mapping window name -> columns
        Score column(s), one per classifier run (larger = more signal-like); ``{window}`` in a
        name is replaced by the window's name.
    label, weight, fold, event_id : str, optional
        Data columns: truth label (1 = signal, 0 = background), event weight, k-fold index of
        the model that scored the event (scores must be out of fold), integer event id.
    template_scores : optional
        Score columns of the template (default: the same names as ``scores``).
    template_weight, template_m, template_event_id : str, optional
        Template columns: weights (e.g. ``1 / oversampling`` for an oversampled CATHODE
        template: only the weighted efficiency matters), masses (``mass_unit``), ids.
    template_select : {"all", "mass"} or "column:<name>"
        Which template events belong to each window (module docstring).
    windows : sequence of Window or (low, high[, name]), optional
        Windows; tuples are in ``mass_unit``. Default: the 9 sliding windows (TeV).
    mass_unit : {"TeV", "GeV"}
        Unit of the masses and of tuple windows; converted to TeV.
    method, metadata
        Stored in the score file (``metadata`` gets ``mass_unit_in`` and the column mapping).

    Raises
    ------
    InputError
        A column is missing (the message lists the table's columns) or not one value per event.
    ScoreFileError
        The assembled arrays fail the schema's validation (NaN scores, negative weights, …).
    """
    scale = _unit(mass_unit)
    wins = make_windows(windows, mass_unit=mass_unit)
    t_scores = scores if template_scores is None else template_scores
    m_data = _column(data, m, "data").astype(np.float64) * scale
    d_opt = {"label": _optional(data, label, "data"),
             "weight": _optional(data, weight, "data"),
             "fold": _optional(data, fold, "data"),
             "event_id": _optional(data, event_id, "data")}
    t_weight = _optional(template, template_weight, "template")
    t_m = _optional(template, template_m, "template")
    t_m = None if t_m is None else t_m.astype(np.float64) * scale
    t_id = _optional(template, template_event_id, "template")
    select_col = None
    if template_select.startswith("column:"):
        select_col = _column(template, template_select.split(":", 1)[1], "template").astype(str)
    elif template_select == "mass":
        if t_m is None:
            raise InputError("template_select='mass' needs the template masses (template_m)")
    elif template_select != "all":
        raise InputError(f"template_select must be 'all', 'mass' or 'column:<name>', got "
                         f"{template_select!r}")
    out = []
    for w in wins:
        s_data = np.stack([_column(data, c, f"data, window {w.name!r}").astype(np.float64)
                           for c in _score_columns(scores, w.name)])
        s_tmpl = np.stack([_column(template, c, f"template, window {w.name!r}")
                           .astype(np.float64) for c in _score_columns(t_scores, w.name)])
        if template_select == "mass":
            keep = w.contains(t_m)
        elif select_col is not None:
            keep = select_col == w.name
        else:
            keep = np.ones(s_tmpl.shape[1], dtype=bool)
        if not keep.any():
            raise ScoreFileError(f"window {w.name!r}: no template events selected by "
                                 f"template_select={template_select!r}")
        tmpl = EventSet(scores=s_tmpl[:, keep],
                        weight=None if t_weight is None else t_weight[keep],
                        m=None if t_m is None else t_m[keep],
                        event_id=None if t_id is None else t_id[keep])
        out.append(WindowScores(w, EventSet(scores=s_data, m=m_data, **d_opt), tmpl))
    meta = {**dict(metadata or {}), "mass_unit_in": mass_unit,
            "columns": {k: v for k, v in {
                "m": m, "scores": scores if isinstance(scores, str | Mapping) else list(scores),
                "label": label, "weight": weight, "fold": fold, "event_id": event_id,
                "template_weight": template_weight, "template_m": template_m,
                "template_event_id": template_event_id}.items() if v is not None},
            "template_select": template_select}
    return ScoreFile(tuple(out), method=method, metadata=meta)


def from_dataframe(data: Any, template: Any, **mapping: Any) -> ScoreFile:
    """:func:`from_table` for pandas DataFrames (any table :func:`from_table` accepts)."""
    return from_table(data, template, **mapping)


def from_arrays(*, m: Any, scores: Any, template_scores: Any, windows: Any = None,
                label: Any = None, weight: Any = None, fold: Any = None, event_id: Any = None,
                template_weight: Any = None, template_m: Any = None,
                template_event_id: Any = None, mass_unit: str = "TeV", method: str = "",
                metadata: Mapping[str, Any] | None = None) -> ScoreFile:
    """A :class:`ScoreFile` from numpy (or awkward) arrays; the same scores in every window.

    ``scores`` and ``template_scores`` have shape ``(n_runs, n)`` (or ``(n,)`` for one run);
    the other arguments are as in :func:`from_table`.
    """
    def runs(a: Any, what: str) -> dict[str, np.ndarray]:
        arr = np.asarray(_to_numpy(a), dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise InputError(f"{what} must have shape (n_runs, n_events), got {arr.shape}")
        return {f"run{i}": arr[i] for i in range(arr.shape[0])}

    d = runs(scores, "scores")
    t = runs(template_scores, "template_scores")
    if len(d) != len(t):
        raise InputError(f"scores have {len(d)} run(s) but template_scores {len(t)}")
    data: dict[str, Any] = {**d, "m": _to_numpy(m)}
    tmpl: dict[str, Any] = dict(t)
    names: dict[str, str] = {}
    for key, val, table in (("label", label, data), ("weight", weight, data),
                            ("fold", fold, data), ("event_id", event_id, data),
                            ("template_weight", template_weight, tmpl),
                            ("template_m", template_m, tmpl),
                            ("template_event_id", template_event_id, tmpl)):
        if val is not None:
            table[key] = _to_numpy(val)
            names[key] = key
    return from_table(data, tmpl, m="m", scores=list(d), windows=windows, mass_unit=mass_unit,
                      method=method, metadata=metadata, **names)


def _to_numpy(a: Any) -> np.ndarray:
    if type(a).__module__.startswith("awkward"):
        return np.asarray(_require("awkward").to_numpy(a))
    return np.asarray(a)


# -- files ------------------------------------------------------------------------------------
def read_table(path: str | Path, *, tree: str | None = None,
               columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Columns of a file as a dict of 1-D numpy arrays.

    Formats by suffix: ``.root`` (a TTree through uproot: ``tree`` names it, optional when the
    file holds one tree; ``FILE.root:tree`` works too), ``.parquet`` and ``.csv`` (pandas),
    ``.npz`` (one named array per column). ``columns`` limits what is read.
    """
    text = str(path)
    if ".root:" in text and tree is None:
        text, tree = text.split(".root:", 1)
        text += ".root"
    p = Path(text)
    if not p.is_file():
        raise InputError(f"input file {text!r} does not exist")
    suffix = p.suffix.lower()
    cols = None if columns is None else list(dict.fromkeys(columns))
    if suffix == ".root":
        return _read_root(p, tree, cols)
    if tree is not None:
        raise InputError(f"--tree applies to ROOT files, not {p.name!r}")
    if suffix == ".npz":
        from bumpstat.npzfile import read_npz

        _, names = read_npz(p, what="input file", keys=())
        missing = [c for c in cols or [] if c not in names]
        if missing:
            raise InputError(f"file {text!r} has no array(s) {missing}; it holds: "
                             f"{', '.join(names)}")
        return read_npz(p, what="input file", keys=cols or names)[0]
    if suffix in (".parquet", ".pq", ".csv"):
        pd = _require("pandas")
        try:
            df = pd.read_csv(p) if suffix == ".csv" else pd.read_parquet(p, columns=cols)
        except ImportError as err:
            raise InputError(f"reading {p.name!r} needs a parquet engine: pip install pyarrow "
                             f"({err})") from err
        except (ValueError, OSError) as err:  # empty, binary or corrupt table
            raise InputError(f"input file {text!r} cannot be read as {suffix[1:]} "
                             f"({' '.join(str(err).split())})") from err
        missing = [c for c in cols or [] if c not in df.columns]
        if missing:
            raise InputError(f"file {text!r} has no column(s) {missing}; it has: "
                             f"{', '.join(map(str, df.columns))}")
        return {str(c): df[c].to_numpy() for c in (cols or df.columns)}
    raise InputError(f"input file {text!r}: unknown format {suffix!r}; use .root, .parquet, "
                     ".csv or .npz")


def _read_root(p: Path, tree: str | None, cols: list[str] | None) -> dict[str, np.ndarray]:
    uproot = _require("uproot")
    try:
        f = uproot.open(p)
    except Exception as err:
        raise InputError(f"file {str(p)!r} cannot be read as ROOT ({err})") from err
    with f:
        trees = [k.split(";")[0] for k, cls in f.classnames().items()
                 if cls in ("TTree", "ROOT::RNTuple")]
        if tree is None:
            if len(set(trees)) != 1:
                raise InputError(f"file {str(p)!r} holds {len(set(trees))} trees "
                                 f"({', '.join(sorted(set(trees))) or 'none'}); choose one "
                                 "with --tree")
            tree = trees[0]
        if tree not in f:
            raise InputError(f"file {str(p)!r} has no tree {tree!r}; trees: "
                             f"{', '.join(sorted(set(trees))) or 'none'}")
        t = f[tree]
        names = list(t.keys())
        missing = [c for c in cols or [] if c not in names]
        if missing:
            raise InputError(f"tree {tree!r} of {str(p)!r} has no branch(es) {missing}; it has: "
                             f"{', '.join(names)}")
        arrays = t.arrays(cols, library="np")
    return {k: np.asarray(v) for k, v in arrays.items()}


def from_root(path: str | Path, template_path: str | Path | None = None, *,
              tree: str | None = None, template_tree: str | None = None,
              **mapping: Any) -> ScoreFile:
    """A :class:`ScoreFile` from ROOT TTrees (or RNTuples) through uproot.

    Parameters
    ----------
    path : str or Path
        ROOT file with the data tree (``FILE.root:tree`` also works).
    template_path : str or Path, optional
        ROOT file of the template tree (default: ``path``).
    tree, template_tree : str, optional
        Tree names (optional when a file holds one tree).
    **mapping
        Column mapping, windows and units as in :func:`from_table`.

    >>> sf = from_root("events.root", tree="data", template_tree="template", m="mjj",
    ...                scores=["score_run0"], mass_unit="GeV")   # doctest: +SKIP
    """
    data = read_table(path, tree=tree)
    template = read_table(template_path or path, tree=template_tree)
    meta = {**dict(mapping.pop("metadata", None) or {}), "source": str(path),
            "template_source": str(template_path or path)}
    return from_table(data, template, metadata=meta, **mapping)
