"""The one output writer: atomic files, safe names, outputs confined to their directory.

Every file bumpstat writes goes to a temporary file in the destination directory and is renamed
into place (:func:`atomic_path`), so an interrupted run never leaves a truncated file and never
destroys the previous valid one. Names that become file names (windows, methods) must match
:data:`SAFE_NAME` (:func:`check_name`). A command that writes several files does so through an
:class:`OutputDir`, which refuses paths outside its root and over the command's inputs, removes
what an earlier bumpstat run wrote there (its manifest says what) and writes the manifest.

>>> check_name("SR5"), check_name("SR_3.500")
('SR5', 'SR_3.500')
>>> check_name("../x")
Traceback (most recent call last):
...
bumpstat.exceptions.InputError: window name '../x' is not allowed: use 1-64 characters ...
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bumpstat.exceptions import InputError
from bumpstat.serialize import dumps, loads

__all__ = [
    "SAFE_NAME",
    "OutputDir",
    "atomic_path",
    "check_name",
    "check_output",
    "check_not_input",
    "write_json",
    "write_text",
]

#: Names that may become file names: 1-64 of ``A-Z a-z 0-9 _ . + -``, not starting with
#: ``.`` or ``-`` (so no hidden files, options, ``..``, separators, NUL or absolute paths).
SAFE_NAME = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,63}")

_NAME_RULE = "use 1-64 characters from A-Z a-z 0-9 _ . + - that do not start with '.' or '-'"


def check_name(name: Any, what: str = "window name") -> str:
    """Return ``name`` if it is safe as a file name (:data:`SAFE_NAME`), else raise InputError."""
    if not isinstance(name, str) or SAFE_NAME.fullmatch(name) is None:
        raise InputError(f"{what} {name!r} is not allowed: {_NAME_RULE}")
    return name


def _umask() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _prepare_dir(path: Path) -> None:
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise InputError(f"cannot write {str(path)!r}: {str(parent)!r} is a file, not a directory")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot create the directory {str(parent)!r}: "
                         f"{err.strerror or err}") from err


def check_output(path: str | Path, option: str = "output") -> Path:
    """Check up front, before any work, that ``path`` can be written; return it.

    Nothing is left behind: raises InputError if ``path`` is a directory, or if its nearest
    existing ancestor is a file or cannot be written into (a probe file is created there and
    removed at once, so that read-only mounts and ``/proc`` are caught whoever runs).
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{option} {str(path)!r} is a directory; give a file name")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option} {str(path)!r}: {str(parent)!r} is a file, not a directory")
    probe = parent / f".bumpstat-probe.{secrets.token_hex(8)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as err:
        raise InputError(f"{option} {str(path)!r}: cannot write into {str(parent)!r} "
                         f"({err.strerror or err})") from err
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` when the block succeeds.

    The temporary name keeps the suffix of ``path`` (numpy, h5py and matplotlib choose the
    format from it). On any exception (KeyboardInterrupt included) the temporary file is
    removed and ``path`` is left as it was.
    """
    path = Path(path)
    if path.exists() and path.is_dir():
        raise InputError(f"cannot write {str(path)!r}: it is a directory")
    _prepare_dir(path)
    tmp_path: Path | None = None
    try:
        fd = -1
        while fd < 0:
            # the name is ours before the file exists: an interrupt at any point finds it
            tmp_path = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp{path.suffix}"
            try:
                fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            except OSError as err:
                tmp_path = None
                raise InputError(f"cannot write {str(path)!r} into {str(path.parent)!r}: "
                                 f"{err.strerror or err}") from err
        os.close(fd)
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        if tmp_path is not None:
            with contextlib.suppress(OSError):
                tmp_path.unlink()
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as strict JSON (:func:`bumpstat.serialize.dumps`) atomically."""
    return write_text(path, dumps(obj) + "\n")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_not_input(path: str | Path, inputs: Iterable[str | Path], *,
                    option: str = "output") -> None:
    """Raise InputError if ``path`` is one of ``inputs`` (same file or same resolved path)."""
    p = Path(path)
    for src in inputs:
        if src is None:
            continue
        s = Path(src)
        if _same_file(p, s) or p.resolve() == s.resolve():
            raise InputError(f"{option} {str(p)!r} is also an input of this command; "
                             "choose another name so that the input is not overwritten")


class OutputDir:
    """A directory a command writes several files into.

    Parameters
    ----------
    root : path
        Created if needed; must not be a file.
    inputs : paths
        The command's input files: refused as outputs.

    Files are requested with :meth:`file`, which takes plain names (each part checked with
    :func:`check_name`) and refuses anything that would land outside ``root``. What an earlier
    bumpstat run recorded in ``root``'s manifest is removed when the first file is requested,
    so outputs of two runs never mix, while a run that stops before its first output (bad
    input found up front) leaves the earlier results as they were; the command's inputs and
    files not in the manifest are never removed. The manifest (``bumpstat-manifest.json``)
    lists the files written; it says ``"complete": true`` only after :meth:`finish`, so an
    interrupted run never looks complete.
    """

    MANIFEST = "bumpstat-manifest.json"

    def __init__(self, root: str | Path, *, inputs: Iterable[str | Path | None] = ()) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"output directory {str(self.root)!r} is a file")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"cannot create the output directory {str(self.root)!r}: "
                             f"{err.strerror or err}") from err
        self._inputs = [Path(p) for p in inputs if p is not None]
        for p in self._inputs:
            if p.resolve() == self.root.resolve():
                raise InputError(f"output directory {str(self.root)!r} is also an input")
        self.written: list[str] = []
        self._previous = self._manifest_path().is_file()
        if not self._previous:
            self._write_manifest(complete=False)

    # -- paths --------------------------------------------------------------------------------
    def file(self, *parts: str) -> Path:
        """``root/part/…/part``, every part a safe name; refuses inputs and escapes."""
        if not parts:
            raise InputError("no output file name given")
        for part in parts:
            check_name(part, "output file name")
        path = self.root.joinpath(*parts)
        root = self.root.resolve()
        if root not in path.resolve().parents:
            raise InputError(f"output {str(path)!r} would be outside {str(self.root)!r}")
        check_not_input(path, self._inputs)
        if self._previous:
            self._remove_previous()
            self._previous = False
        rel = "/".join(parts)
        if rel not in self.written:
            self.written.append(rel)
            self._write_manifest(complete=False)
        return path

    # -- writers ------------------------------------------------------------------------------
    def write_json(self, name: str, obj: Any) -> Path:
        """Write strict JSON to ``root/name`` atomically."""
        return write_json(self.file(name), obj)

    def write_text(self, name: str, text: str) -> Path:
        """Write text to ``root/name`` atomically."""
        return write_text(self.file(name), text)

    def finish(self) -> Path:
        """Write the manifest with ``"complete": true`` (call once, after the last output)."""
        if self._previous:  # nothing was written: the earlier run's files are not ours
            self._remove_previous()
            self._previous = False
        return self._write_manifest(complete=True)

    # -- manifest -----------------------------------------------------------------------------
    def _manifest_path(self) -> Path:
        return self.root / self.MANIFEST

    def _write_manifest(self, *, complete: bool) -> Path:
        return write_json(self._manifest_path(), {"schema": "bumpstat-manifest", "version": 1,
                                                  "complete": complete, "files": self.written})

    def _remove_previous(self) -> None:
        path = self._manifest_path()
        if not path.is_file():
            return
        try:
            old = loads(path.read_text())
            files = [str(f) for f in old.get("files", [])]
        except (OSError, ValueError, TypeError, AttributeError, InputError):
            return  # not ours to interpret: leave everything in place
        root = self.root.resolve()
        for rel in files:
            parts = rel.split("/")
            if not all(SAFE_NAME.fullmatch(p) for p in parts):
                continue
            target = self.root.joinpath(*parts)
            if any(_same_file(target, p) for p in self._inputs):
                continue  # an earlier output that this run reads: keep it
            if root in target.resolve().parents and target.is_file():
                with contextlib.suppress(OSError):
                    target.unlink()
                if len(parts) > 1:  # a sub-directory it emptied goes too
                    with contextlib.suppress(OSError):
                        target.parent.rmdir()
        path.unlink(missing_ok=True)
