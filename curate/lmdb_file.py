"""Checking an LMDB ``data.mdb`` before it is memory-mapped, so a damaged file is an error, never a SIGBUS.

LMDB maps the whole file and trusts it: a page beyond the end of a truncated file (an interrupted copy) kills
the process with SIGBUS when touched. The file's own header says how large it must be: the two meta pages at
its start each hold the last page number in use and a transaction id, and the meta with the larger id is the
current one. Only that header is read here, with plain ``pread``.

Layout of a meta page (LMDB 0.9, 64-bit): a 16-byte page header, then ``mm_magic`` (u32 0xBEEFC0DE),
``mm_version`` (u32), ``mm_address`` and ``mm_mapsize`` (u64 each), two 48-byte ``MDB_db`` records (the
first one's leading u32 holds the page size), ``mm_last_pg`` and ``mm_txnid`` (u64 each).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = "data.mdb"
_MAGIC = 0xBEEFC0DE
_MIN_PAGE = 4096
_META_AT = 16  # the meta follows the page header
_PSIZE_AT = _META_AT + 24  # the free-page DB record's md_pad holds the page size
_LAST_PG_AT = _META_AT + 24 + 2 * 48


@dataclass(frozen=True)
class FileCheck:
    """What the header of a ``data.mdb`` says: ``problem`` is None when the file can be mapped safely."""

    size: int  # bytes on disk
    problem: str | None = None
    unfinished: bool = False  # shorter than its two meta pages: created, never committed to (holds nothing)
    txnid: int = 0  # the current meta's transaction id


def check_data_file(path: str | Path) -> FileCheck:
    """Check ``path`` (a ``data.mdb``) against the size its own header claims."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = os.pread(f.fileno(), 2 * 65536, 0)
    metas = [m for m in (_meta(head, 0), _meta(head, None)) if m is not None]
    if not metas:
        if size < 2 * _MIN_PAGE:
            return FileCheck(size, f"unfinished: {size} bytes, not even its two header pages", unfinished=True)
        return FileCheck(size, "not an LMDB file (no valid header page)")
    psize, last_pg, txnid = max(metas, key=lambda m: m[2])
    needed = (last_pg + 1) * psize
    if size < needed and txnid == 0:
        return FileCheck(size, f"unfinished: {size} bytes, never committed to", unfinished=True)
    if size < needed:
        return FileCheck(size, f"truncated: {size} bytes on disk, its header needs {needed} "
                               "(an interrupted copy or a full disk?)", txnid=txnid)
    return FileCheck(size, txnid=txnid)


def _meta(head: bytes, offset: int | None) -> tuple[int, int, int] | None:
    """(page size, last page, txnid) of the meta page at ``offset`` (None: the second page, after the first's
    page size), or None when it is not a valid meta page."""
    if offset is None:
        first = _meta(head, 0)
        offsets = [first[0]] if first else [p for p in (4096, 8192, 16384, 65536) if p < len(head)]
        for off in offsets:
            meta = _meta(head, off)
            if meta is not None:
                return meta
        return None
    if len(head) < offset + _LAST_PG_AT + 16:
        return None
    magic, version = struct.unpack_from("<II", head, offset + _META_AT)
    (psize,) = struct.unpack_from("<I", head, offset + _PSIZE_AT)
    last_pg, txnid = struct.unpack_from("<QQ", head, offset + _LAST_PG_AT)
    if magic != _MAGIC or version != 1 or psize < 512 or psize & (psize - 1):
        return None
    return psize, last_pg, txnid
