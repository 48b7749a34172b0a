"""The one NPZ reader: bounded, pickle-free, every failure a :class:`ScoreFileError`.

``numpy.load`` trusts an archive: it decompresses a member for as long as the stream lasts
(a few kilobytes can expand to gigabytes), and a corrupt deflate stream ends in ``zlib.error``
or ``EOFError``. :func:`read_npz` reads each ``.npy`` member's header first and then exactly
the number of bytes the header declares (``prod(shape) * itemsize``), after checking that the
archive's own size fields agree with it; object (pickled) members are refused before any byte
of data is read. Any failure names the file and the member.

>>> import io, numpy as np
>>> buf = io.BytesIO(); np.savez(buf, a=np.arange(3)); _ = buf.seek(0)
>>> arrays, members = read_npz(buf, what="test file")
>>> arrays["a"].tolist(), members
([0, 1, 2], ['a'])
"""

from __future__ import annotations

import math
import tokenize
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np

from bumpstat.exceptions import ScoreFileError

__all__ = ["MAX_DEFLATE_RATIO", "read_npz", "read_npy"]

#: Largest expansion of a deflate stream (RFC 1951 allows about 1032:1), with slack.
MAX_DEFLATE_RATIO = 1100
_CHUNK = 1 << 24
# tokenize.TokenError: numpy tokenizes a corrupt legacy header (and does not wrap the error)
_READ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error,
                NotImplementedError, RuntimeError, SyntaxError, tokenize.TokenError)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _header(fp: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(fp)
        else:
            raise ScoreFileError(f"{where}: .npy format version {version} is not supported")
    except ScoreFileError:
        raise
    except _READ_ERRORS as err:
        raise ScoreFileError(f"{where}: not a valid .npy array ({_one_line(err)})") from err
    if dtype.hasobject:
        raise ScoreFileError(f"{where} holds Python objects (pickled data), which bumpstat "
                             "never loads; store plain numeric or string arrays")
    return tuple(int(d) for d in shape), bool(fortran), dtype


def _read_body(fp: IO[bytes], shape: tuple[int, ...], fortran: bool, dtype: np.dtype,
               where: str) -> np.ndarray:
    nbytes = math.prod(shape) * dtype.itemsize
    try:
        buf = bytearray(nbytes)
    except (MemoryError, OverflowError) as err:
        raise ScoreFileError(f"{where}: declares {nbytes} bytes, more than can be loaded") from err
    view = memoryview(buf)
    pos = 0
    try:
        while pos < nbytes:
            got = fp.readinto(view[pos:pos + _CHUNK])  # type: ignore[attr-defined]
            if not got:
                break
            pos += got
        extra = fp.read(1)  # also makes zipfile check the CRC at the end of the member
    except _READ_ERRORS as err:
        raise ScoreFileError(f"{where}: corrupt data ({_one_line(err)})") from err
    if pos != nbytes or extra:
        found = f"end after {pos} bytes" if pos < nbytes else "are longer"
        raise ScoreFileError(f"{where}: header declares shape {shape} {dtype} ({nbytes} bytes) "
                             f"but the data {found}")
    arr = np.frombuffer(buf, dtype=dtype)
    return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


def read_npy(path: str | Path, *, what: str = "file") -> np.ndarray:
    """Read one ``.npy`` array, bounded by its header; errors are :class:`ScoreFileError`."""
    where = f"{what} {str(path)!r}"
    try:
        fp = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as err:
        raise ScoreFileError(f"{where}: cannot be opened ({err.strerror or err})") from err
    with fp:
        shape, fortran, dtype = _header(fp, where)
        return _read_body(fp, shape, fortran, dtype, where)


def read_npz(path: str | Path | IO[bytes], *, what: str = "file",
             keys: Iterable[str] | None = None) -> tuple[dict[str, np.ndarray], list[str]]:
    """Read the members of an ``.npz`` archive, bounded by what each header declares.

    Parameters
    ----------
    path : path or binary file object
        The archive.
    what : str
        How the file is named in errors (``"score file"``, ``"events file"``).
    keys : iterable of str, optional
        Only these members are read (missing ones are simply absent); default all.

    Returns
    -------
    arrays : dict
        ``name -> array`` of the members read.
    members : list of str
        Names of all members of the archive, sorted.

    Raises
    ------
    ScoreFileError
        Not a zip archive, a member that is not a ``.npy`` array, duplicate members, a pickled
        (object) member, size fields that disagree with the ``.npy`` header, a corrupt or
        truncated stream.
    """
    src = f"{what} {str(path)!r}" if isinstance(path, (str, Path)) else what
    try:
        zf = zipfile.ZipFile(path)
    except _READ_ERRORS as err:
        raise ScoreFileError(f"{src}: cannot be read as NPZ ({_one_line(err)})") from err
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ScoreFileError(f"{src}: duplicate archive member(s) {dup}")
        not_npy = [n for n in names if not n.endswith(".npy")]
        if not_npy:
            raise ScoreFileError(f"{src}: member(s) {not_npy[:5]} are not .npy arrays; an NPZ "
                                 "file holds only .npy members")
        members = sorted(n[:-4] for n in names)
        wanted = set(members) if keys is None else set(keys) & set(members)
        arrays: dict[str, np.ndarray] = {}
        for info in infos:
            key = info.filename[:-4]
            if key not in wanted:
                continue
            arrays[key] = _read_member(zf, info, f"{src}, field {key!r}")
    return arrays, members


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> np.ndarray:
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise ScoreFileError(f"{where}: stored member sizes disagree ({info.compress_size} vs "
                             f"{info.file_size} bytes)")
    if info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 1024:
        raise ScoreFileError(f"{where}: claims {info.file_size} bytes from "
                             f"{info.compress_size} compressed bytes, more than deflate can "
                             "expand; the archive is corrupt or hostile")
    try:
        fp: Any = zf.open(info)
    except _READ_ERRORS as err:
        raise ScoreFileError(f"{where}: cannot be opened ({_one_line(err)})") from err
    with fp:
        shape, fortran, dtype = _header(fp, where)
        declared = fp.tell() + math.prod(shape) * dtype.itemsize
        if declared != info.file_size:
            raise ScoreFileError(
                f"{where}: header declares shape {shape} {dtype} ({declared} bytes with the "
                f"header) but the archive says {info.file_size} bytes; refusing to read it"
            )
        return _read_body(fp, shape, fortran, dtype, where)
