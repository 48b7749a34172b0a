"""The package's shape: no import cycles (function-level imports included), small modules,
and no heavy optional dependency imported by ``import bumpstat``."""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "src" / "bumpstat"
MAX_LINES = 500


def _modules() -> dict[str, pathlib.Path]:
    mods = {}
    for p in ROOT.rglob("*.py"):
        rel = p.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts[:-1]) if rel.name == "__init__" else ".".join(rel.parts)
        mods[name] = p
    return mods


def _edges(mods: dict[str, pathlib.Path]) -> dict[str, set[str]]:
    """module -> bumpstat modules it imports anywhere in its body (a package's __init__ is
    not counted as imported by its own submodules)."""
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(p.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                           for a in node.names]
            for t in targets:
                while t and t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in mods and t != m and not (m.startswith(t + ".")
                                                  and mods[t].name == "__init__.py"):
                    edges[m].add(t)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles(_edges(_modules())) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_no_module_over_500_lines():
    long = {m: len(p.read_text().splitlines()) for m, p in _modules().items()}
    assert {m: n for m, n in long.items() if n > MAX_LINES} == {}


@pytest.mark.parametrize("heavy", ["torch", "nflows", "sklearn", "distributed", "pandas"])
def test_import_bumpstat_does_not_import_heavy_extras(heavy):
    code = f"import bumpstat, sys; print({heavy!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_no_name_shadows_a_subpackage():
    """``import bumpstat.a.b as m`` works for every package: no function or class exported by a
    package has the name of one of its subpackages or modules (checked in a fresh interpreter:
    pytest's own imports of the doctest modules do not set package attributes)."""
    code = """
import importlib, sys
bad = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:  # an optional extra is missing
        continue
    obj = importlib.import_module(name.split(".")[0])
    for part in name.split(".")[1:]:
        obj = getattr(obj, part)
    if obj is not sys.modules[name]:
        bad.append(f"{name} is shadowed by {obj!r}")
print("\\n".join(bad))
"""
    out = subprocess.run([sys.executable, "-c", code, *sorted(_modules())], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == ""
