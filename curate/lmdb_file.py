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


_P_BRANCH, _P_LEAF, _P_OVERFLOW, _P_LEAF2 = 0x01, 0x02, 0x04, 0x20
_F_BIGDATA, _F_SUBDATA = 0x01, 0x02
_PAGE_HEADER = 16
_DB_ROOT_AT = 40  # md_root within a 48-byte MDB_db record


def check_values(path: str | Path) -> str | None:
    """Walk every B-tree of a ``data.mdb`` (header checked first) with plain reads and return a problem, or None
    when every large value lies inside the file. A damaged node size or page number would otherwise make LMDB
    read past the end of the mapped file (SIGBUS): python-lmdb touches each page of a value it returns."""
    check = check_data_file(path)
    if check.problem:
        return check.problem
    with open(path, "rb") as f:
        head = os.pread(f.fileno(), 2 * 65536, 0)
        psize, last_pg, _ = max((m for m in (_meta(head, 0), _meta(head, None)) if m), key=lambda m: m[2])
        main_root = _current_main_root(head, psize)
        pages = last_pg + 1
        subdbs = []
        for problem, node in _leaf_nodes(f.fileno(), main_root, psize, pages):
            if problem:
                return problem
            flags, _, data, _ = node
            if flags & _F_SUBDATA and len(data) >= 48:
                (root,) = struct.unpack_from("<Q", data, _DB_ROOT_AT)
                subdbs.append(root)
        for root in subdbs:
            for problem, node in _leaf_nodes(f.fileno(), root, psize, pages):
                if problem:
                    return problem
                flags, size, data, page = node
                if flags & _F_BIGDATA:
                    (first,) = struct.unpack_from("<Q", data, 0)
                    span = -(-(size + _PAGE_HEADER) // psize)
                    if first + span > pages:
                        return (f"damaged B-tree: a value in page {page} claims pages {first}..{first + span - 1}, "
                                f"beyond the file's {pages}")
    return None


def _current_main_root(head: bytes, psize: int) -> int:
    metas = []
    for off in (0, psize):
        (txnid,) = struct.unpack_from("<Q", head, off + _LAST_PG_AT + 8)
        (root,) = struct.unpack_from("<Q", head, off + _META_AT + 24 + 48 + _DB_ROOT_AT)
        metas.append((txnid, root))
    return max(metas)[1]


_NO_PAGE = 2**64 - 1  # P_INVALID: an empty tree


def _leaf_nodes(fd: int, root: int, psize: int, pages: int):
    """(problem, None) or (None, (flags, size, data, page)) for every node of every leaf of the tree at ``root``."""
    stack, seen = ([] if root == _NO_PAGE else [root]), set()
    while stack:
        pgno = stack.pop()
        if pgno >= pages or pgno in seen:
            yield f"damaged B-tree: page {pgno} {'is beyond the file' if pgno >= pages else 'is linked twice'}", None
            return
        seen.add(pgno)
        page = os.pread(fd, psize, pgno * psize)
        _, _, flags, lower, _ = struct.unpack_from("<QHHHH", page, 0)
        if flags & _P_LEAF2 or not flags & (_P_BRANCH | _P_LEAF) or lower > psize:
            yield f"damaged B-tree: page {pgno} is not a tree page (flags {flags:#x})", None
            return
        for k in range((lower - _PAGE_HEADER) // 2):
            (at,) = struct.unpack_from("<H", page, _PAGE_HEADER + 2 * k)
            if at + 8 > psize:
                yield f"damaged B-tree: node {k} of page {pgno} lies outside its page", None
                return
            lo, hi, node_flags, ksize = struct.unpack_from("<HHHH", page, at)
            if flags & _P_BRANCH:
                stack.append(lo | hi << 16 | node_flags << 32)
            else:
                yield None, (node_flags, lo | hi << 16, page[at + 8 + ksize:at + 8 + ksize + 48], pgno)
