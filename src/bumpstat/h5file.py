"""The one guard of bumpstat's HDF5 readers (score, density and LHCO files).

:func:`h5_child` returns a group's member only if it is a hard link to the expected kind of
object whose data live in this file and whose declared size compression could produce from
what it stores; anything else is a :class:`~bumpstat.exceptions.ScoreFileError` naming the
file and the member. h5py is imported when a file is read.
"""

from __future__ import annotations

from typing import Any

from bumpstat.exceptions import ScoreFileError
from bumpstat.npzfile import MAX_DEFLATE_RATIO

__all__ = ["h5_child"]


def h5_child(group: Any, key: str, kind: str, where: str, *, what: str = "score files") -> Any:
    """``group[key]`` if it is a hard link to a ``kind`` ("group", "dataset", "any"), else
    :class:`ScoreFileError` (``where`` names the file, ``what`` the kind of file).

    The one guard of bumpstat's HDF5 readers (score, density, LHCO files): no soft or external
    links, no external or virtual storage, no dataset declaring more bytes than compression can
    expand from what it stores (the HDF5 twin of an NPZ decompression bomb).
    """
    import h5py

    link = group.get(key, getlink=True)
    if link is None:
        raise ScoreFileError(f"{where}: missing {kind} {key!r} (holds {sorted(group.keys())})")
    if not isinstance(link, h5py.HardLink):
        raise ScoreFileError(f"{where}: {key!r} is a {type(link).__name__}; {what} may "
                             "not link to other objects or files")
    node = group[key]
    cls = {"group": h5py.Group, "dataset": h5py.Dataset}.get(kind, (h5py.Group, h5py.Dataset))
    if not isinstance(node, cls):
        found = "group" if isinstance(node, h5py.Group) else type(node).__name__.lower()
        raise ScoreFileError(f"{where}: {key!r} must be a {kind}, found a {found}")
    if isinstance(node, h5py.Dataset):
        if node.external or node.is_virtual:
            raise ScoreFileError(f"{where}: dataset {key!r} keeps its data in other files "
                                 f"(external or virtual storage), which {what} may not do")
        nbytes, stored = node.size * node.dtype.itemsize, node.id.get_storage_size()
        if nbytes > MAX_DEFLATE_RATIO * stored + (1 << 20):
            raise ScoreFileError(f"{where}: dataset {key!r} declares shape {node.shape} "
                                 f"({nbytes} bytes) but stores {stored} bytes, more than "
                                 "compression can expand; the file is corrupt or hostile")
    return node
