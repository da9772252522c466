"""The shard store: LMDB access to a curation's shards (the per-process read handles, the scan of every snippet
record, the single writer, the lazy read-only reader) and the checks that keep a damaged shard an error.

The byte format lives in :mod:`.schema` and the curation folder (paths, settings, identity, plan, lock) in
:mod:`.folder`; this module only moves bytes in and out of the shards the folder names.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import lmdb
import numpy as np

from .errors import CurationError
from .folder import CurationLayout
from .geometry import exemplar_from_search
from .lmdb_file import DATA_FILE, check_data_file, check_values
from .schema import (
    CROPS_DB,
    SNIPPETS_DB,
    SnippetMeta,
    checksum,
    decode_crop,
    decode_snippet_meta,
    name_bytes,
    name_text,
    parse_key,
)

DAMAGED_SUFFIX = ".damaged"  # a shard set aside by ``siamfc curate --repair`` is renamed shard-NNN.lmdb.damaged-*
DEFAULT_MAP_SIZE = 1 << 30  # initial map per shard; doubled whenever a snippet does not fit
T = TypeVar("T")


class ShardError(CurationError):
    """A shard that cannot be opened or read: truncated, not LMDB, corrupted, or an I/O or memory failure."""

    def __init__(self, path: Path, cause: str, unfinished: bool = False):
        super().__init__(f"{path}: {cause}")
        self.path, self.cause = Path(path), cause
        self.unfinished = unfinished  # created but never committed to: it holds nothing


class RecordDamaged(CurationError):
    """A stored value whose checksum differs from its manifest row."""


class RecordMissing(RecordDamaged, KeyError):
    """No value under a key the manifest lists (also a KeyError, for lookups of keys that may be absent)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@contextlib.contextmanager
def lmdb_errors(path: Path, doing: str = "") -> Iterator[None]:
    """Turn any LMDB failure inside the block into a :class:`ShardError` naming the shard."""
    try:
        yield
    except lmdb.Error as err:
        raise ShardError(path, f"{doing}{': ' if doing else ''}{lmdb_cause(err)}") from None


def lmdb_cause(err: lmdb.Error) -> str:
    """One line for an LMDB error, without the C function name python-lmdb puts first."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text.split(": ", 1)[1] if text.startswith("mdb_") and ": " in text else text


def check_shard(path: Path, values: bool = False) -> None:
    """ShardError when the shard's data file is missing, unfinished, truncated or not LMDB (no mapping is made);
    with ``values``, also when a B-tree node places a value beyond the end of the file
    (:func:`~.lmdb_file.check_values`: a walk of the trees, for whole-shard reads such as scans and checks)."""
    if os.path.lexists(path) and not path.is_dir():
        raise ShardError(path, "not a folder")
    try:
        check = check_data_file(path / DATA_FILE)
        problem = check.problem or (check_values(path / DATA_FILE) if values else None)
    except FileNotFoundError:
        raise ShardError(path, f"no {DATA_FILE}") from None
    except OSError as err:
        raise ShardError(path, f"cannot read {DATA_FILE}: {err.strerror}") from None
    if problem:
        raise ShardError(path, problem, check.unfinished)


# LMDB allows one handle per environment per process, so read-only handles are shared through this
# per-process cache (keyed by pid: a forked child never touches its parent's handles).
_READ_ENVS: dict[tuple[int, str], lmdb.Environment] = {}


def read_env(path: Path) -> lmdb.Environment:
    """The process's read-only handle on a shard (no lock file needed, so read-only storage works).

    The data file is checked against its header first (:func:`check_shard`), so a truncated shard raises
    :class:`ShardError` instead of crashing the process when a missing page is touched. A damaged node inside
    the trees is found only by the walk of whole-shard reads (``check_shard(values=True)``): python-lmdb touches
    every page of a value before returning it, so no check after a read could come in time."""
    pid = os.getpid()
    for inherited in [k for k in _READ_ENVS if k[0] != pid]:  # a forked child may not reopen its parent's envs
        _READ_ENVS.pop(inherited).close()  # closes the child's copy only
    key = (pid, str(Path(path).resolve()))
    env = _READ_ENVS.get(key)
    if env is None:
        check_shard(Path(path))
        with lmdb_errors(Path(path), "cannot open"):
            env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, max_dbs=2)
        _READ_ENVS[key] = env
    return env


def release_read_env(path: Path) -> None:
    """Close this process's read-only handle on a shard, if any (before opening it for writing)."""
    env = _READ_ENVS.pop((os.getpid(), str(Path(path).resolve())), None)
    if env is not None:
        env.close()


def open_named_db(env: lmdb.Environment, name: bytes, txn: lmdb.Transaction | None = None) -> object | None:
    """A named database of a read-only shard, or None when the shard never had one (nothing committed)."""
    try:
        return env.open_db(name, txn=txn, create=False)
    except lmdb.NotFoundError:
        return None


@dataclass
class ShardScan:
    """Every committed snippet of a curation, and what could not be read, as one :func:`scan_shards` found them."""

    token: str = ""  # the folder's fingerprint just before the scan (:meth:`~.folder.CurationLayout.fingerprint`)
    metas: dict[str, SnippetMeta] = field(default_factory=dict)
    damaged_shards: dict[int, str] = field(default_factory=dict)  # shard index -> cause
    damaged_snippets: dict[str, str] = field(default_factory=dict)  # snippet id -> cause (its record is unreadable)
    unfinished: set[int] = field(default_factory=set)  # of the damaged shards, those that never held anything
    problems: list[str] = field(default_factory=list)  # one line per damaged shard or snippet record, naming it


def snippet_values(layout: CurationLayout, index: int) -> Iterator[tuple[str, bytes]]:
    """(snippet id, stored snippet record) of every snippet committed in shard ``index``; ShardError when the
    shard cannot be read."""
    path = layout.shard_path(index)
    env = read_env(path)
    with lmdb_errors(path, "cannot read"):
        db = open_named_db(env, SNIPPETS_DB)
        if db is None:
            return
        with env.begin(db=db) as txn:
            for key, value in txn.cursor():
                yield name_text(key), value


def scan_shards(layout: CurationLayout) -> ShardScan:
    """Every committed snippet of the curation with its manifest rows and report; damaged shards and snippet
    records are collected in the result, never raised."""
    scan = ShardScan(token=layout.fingerprint())
    snippet_lines = {}
    for i in layout.existing_shards():
        path = layout.shard_path(i)
        metas, damaged = {}, {}
        try:
            check_shard(path, values=True)
            for snippet_id, value in snippet_values(layout, i):
                try:
                    metas[snippet_id] = decode_snippet_meta(value, snippet_id)
                except (ValueError, KeyError, TypeError) as err:
                    damaged[snippet_id] = str(err)
        except ShardError as err:  # none of a damaged shard counts as intact
            scan.damaged_shards[i] = err.cause
            scan.problems.append(f"{path}: {err.cause}")
            if err.unfinished:
                scan.unfinished.add(i)
            continue
        scan.metas.update(metas)
        scan.damaged_snippets.update(damaged)
        snippet_lines |= {s: f"{layout.shard_path(layout.shard_for(s))}: snippet {s}: {cause}"
                          for s, cause in damaged.items()}
    scan.problems += [line for _, line in sorted(snippet_lines.items())]
    return scan


def set_aside_shard(layout: CurationLayout, index: int) -> Path:
    """Rename a damaged shard out of the way (kept for the user to inspect or delete); returns its new path."""
    path = layout.shard_path(index)
    release_read_env(path)
    target = path.with_name(f"{path.name}{DAMAGED_SUFFIX}-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while target.exists():
        target = target.with_name(f"{path.name}{DAMAGED_SUFFIX}-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        n += 1
    os.rename(path, target)
    return target


class ShardWriter:
    """The one writer of a curation's shards: one LMDB write transaction per snippet (:meth:`commit`), or per
    shard for a batch of deletions (:meth:`drop`).

    Environments are opened without LMDB's lock file: the curation's own lock (:meth:`CurationLayout.lock`)
    already makes this the only writer, and a memory-mapped lock file on a full disk ends in SIGBUS."""

    def __init__(self, layout: CurationLayout, map_size: int = DEFAULT_MAP_SIZE):
        self.layout = layout
        self.map_size = map_size
        self._envs: dict[int, tuple[lmdb.Environment, object, object]] = {}

    def _env(self, index: int) -> tuple[lmdb.Environment, object, object]:
        """The writer's own handle on shard ``index`` (one per environment and process) and its two databases."""
        if index not in self._envs:
            path = self.layout.shard_path(index)
            release_read_env(path)
            clear_unfinished(path)
            with lmdb_errors(path, "cannot open for writing"):
                env = lmdb.open(str(path), map_size=self.map_size, max_dbs=2, readahead=False, meminit=False,
                                lock=False)
                try:
                    self._envs[index] = (env, env.open_db(CROPS_DB), env.open_db(SNIPPETS_DB))
                except lmdb.Error:
                    env.close()
                    raise
        return self._envs[index]

    def _write(self, index: int, change: Callable[[lmdb.Transaction, object, object], T]) -> T:
        """Run ``change(txn, crops_db, snippets_db)`` in one write transaction of shard ``index``, again on a map
        grown twice as large whenever it is full; ShardError naming the shard on any LMDB failure."""
        path = self.layout.shard_path(index)
        env, crops_db, snippets_db = self._env(index)
        while True:
            try:
                with env.begin(write=True) as txn:
                    return change(txn, crops_db, snippets_db)
            except lmdb.MapFullError:  # deleting copies pages too
                with lmdb_errors(path, "growing the map"):
                    env.set_mapsize(env.info()["map_size"] * 2)
            except lmdb.Error as err:
                raise ShardError(path, lmdb_cause(err)) from None

    def commit(self, snippet_id: str, crops: list[tuple[bytes, bytes]], meta: bytes) -> None:
        """Write a snippet's crops and its meta atomically, replacing whatever the snippet held before;
        grow the map when it is full."""
        index = self.layout.shard_for(snippet_id)

        def put(txn: lmdb.Transaction, crops_db: object, snippets_db: object) -> None:
            drop_snippet(txn, snippet_id, crops_db, snippets_db)
            for key, value in crops:
                txn.put(key, value, db=crops_db)
            txn.put(name_bytes(snippet_id), meta, db=snippets_db)

        try:
            self._write(index, put)
        except ShardError as err:
            path = self.layout.shard_path(index)
            needed = sum(len(v) for _, v in crops) + len(meta)
            raise CurationError(
                f"{path}: writing snippet {snippet_id} failed ({err.cause}{_disk_full(path, needed)}); committed "
                "snippets are intact: fix the cause (e.g. free disk space) and rerun the same command to resume"
            ) from None

    def drop(self, index: int, snippet_ids: list[str]) -> int:
        """Drop the records (crops and snippet record) of ``snippet_ids``, all of shard ``index``, in one write
        transaction: all of them or, on a ShardError, none; returns how many were there."""

        def delete(txn: lmdb.Transaction, crops_db: object, snippets_db: object) -> int:
            present = [s for s in snippet_ids if txn.get(name_bytes(s), db=snippets_db) is not None]
            for snippet_id in present:
                drop_snippet(txn, snippet_id, crops_db, snippets_db)
            return len(present)

        return self._write(index, delete)

    def close(self) -> None:
        for env, _, _ in self._envs.values():
            env.close()
        self._envs.clear()

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _disk_full(path: Path, needed: int) -> str:
    """", the disk is full (...)" when the shard's file system has less room than a write needs (LMDB reports a
    full disk as a plain I/O error), else ""."""
    try:
        st = os.statvfs(path if path.exists() else path.parent)
    except OSError:
        return ""
    free = st.f_bavail * st.f_frsize
    return f", the disk is full: {free // 1024} KiB free" if free < needed + (1 << 20) else ""


def clear_unfinished(path: Path) -> bool:
    """Remove a shard's data file when nothing in it can be read (a full disk at its creation, or a copy cut
    short within its header): LMDB cannot open it, and the snippets it was to hold are redone anyway. A damaged
    shard that may hold data raises ShardError instead. True when a file was removed."""
    data = path / DATA_FILE
    if not os.path.lexists(data) and not (os.path.lexists(path) and not path.is_dir()):
        return False
    try:
        check_shard(path)
    except ShardError as err:
        if not err.unfinished:
            raise ShardError(path, f"{err.cause}; `siamfc curate --repair` sets it aside and redoes its snippets"
                             ) from None
        data.unlink()
        (path / "lock.mdb").unlink(missing_ok=True)
        return True
    return False


def drop_snippet(txn: lmdb.Transaction, snippet_id: str, crops_db: object, snippets_db: object) -> None:
    """Delete a committed snippet's record and crops (its crop keys start with ``<snippet_id>/``)."""
    if txn.get(name_bytes(snippet_id), db=snippets_db) is None:
        return
    txn.delete(name_bytes(snippet_id), db=snippets_db)
    prefix = name_bytes(snippet_id + "/")
    cursor = txn.cursor(db=crops_db)
    found = cursor.set_range(prefix)
    while found and cursor.key().startswith(prefix):
        if parse_key(cursor.key())[0] == snippet_id:  # not a nested snippet's key
            found = cursor.delete()
        else:
            found = cursor.next()


class ShardReader:
    """Read-only access to stored crops. Handles open lazily in the process that reads (through
    :func:`read_env`), so a reader built in a parent works in forked or spawned DataLoader workers.
    Every LMDB failure is a :class:`ShardError` naming the shard."""

    def __init__(self, root: str | Path):
        self.layout = CurationLayout.open(root)
        self._dbs: dict[tuple[int, int], tuple[lmdb.Environment, object, Path]] = {}  # (pid, shard) -> handles

    def _db(self, index: int) -> tuple[lmdb.Environment, object, Path]:
        handles = self._dbs.get((os.getpid(), index))
        if handles is None:
            path = self.layout.shard_path(index)
            env = read_env(path)
            with lmdb_errors(path, "cannot read"):
                db = open_named_db(env, CROPS_DB)
            if db is None:
                raise ShardError(path, "shard holds no crops")
            handles = self._dbs[(os.getpid(), index)] = (env, db, path)
        return handles

    def get(self, key: bytes) -> bytes:
        """Stored value of a record key; KeyError when absent."""
        return self.get_in(self.layout.shard_for(parse_key(key)[0]), key)

    def get_in(self, shard: int, key: bytes, crc: int | None = None) -> bytes:
        """Stored value of ``key`` in a known ``shard`` (the manifest's ``shard`` column); RecordMissing (a KeyError)
        when absent, RecordDamaged when ``crc`` (the manifest's ``crc`` column) is given and does not match."""
        env, db, path = self._db(shard)
        with lmdb_errors(path, "cannot read"), env.begin(db=db) as txn:
            value = txn.get(key)
        if value is None:
            raise RecordMissing(f"{path}: no crop {name_text(key)}")
        if crc is not None and checksum(value) != crc:
            raise RecordDamaged(f"{path}: crop {name_text(key)} is damaged (checksum mismatch); "
                                "`siamfc stats --verify` lists every damaged record")
        return value

    def search_crop(self, key: bytes) -> np.ndarray:
        """The 255x255 BGR search crop of a record."""
        return decode_crop(self.get(key))

    def crops(self, key: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(exemplar 127x127, search 255x255) BGR crops of a record."""
        x = self.search_crop(key)
        return exemplar_from_search(x), x

    def keys(self, shard: int) -> Iterator[bytes]:
        """Every crop key stored in one shard, in key order."""
        env, db, path = self._db(shard)
        with lmdb_errors(path, "cannot read"), env.begin(db=db) as txn:
            yield from (bytes(k) for k in txn.cursor().iternext(keys=True, values=False))

    def close(self) -> None:
        """Release this process's handles on the curation's shards."""
        self._dbs.clear()
        for i in range(self.layout.settings.shards):
            release_read_env(self.layout.shard_path(i))

    def __getstate__(self) -> dict:  # handles never travel to another process
        return {"layout": self.layout, "_dbs": {}}
