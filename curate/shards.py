"""LMDB shard access: the curation root (settings, plan), the single writer, the lazy read-only reader.

The byte format lives in :mod:`.format`; this module only moves those bytes in and out of LMDB.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import lmdb
import numpy as np

from .atomic import write_json_atomic
from .errors import CurationError
from .format import (
    CROPS_DB,
    SETTINGS_FILE,
    SNIPPETS_DB,
    CurationSettings,
    SnippetMeta,
    checksum,
    decode_crop,
    decode_snippet_meta,
    name_bytes,
    name_text,
    parse_key,
    shard_name,
    shard_of,
)
from .geometry import exemplar_from_search
from .lmdb_file import DATA_FILE, check_data_file, check_values

PLAN_FILE = "plan.json"
LOCK_FILE = ".lock"
IDENTITY_KEY = "identity"  # in curation.json, beside the settings: see CurationLayout
DAMAGED_SUFFIX = ".damaged"  # a shard set aside by ``siamfc curate --repair`` is renamed shard-NNN.lmdb.damaged-*
DEFAULT_MAP_SIZE = 1 << 30  # initial map per shard; doubled whenever a snippet does not fit


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
    """Every committed snippet of a curation, and what could not be read."""

    metas: dict[str, SnippetMeta] = field(default_factory=dict)
    damaged_shards: dict[int, str] = field(default_factory=dict)  # shard index -> cause
    damaged_snippets: dict[str, str] = field(default_factory=dict)  # snippet id -> cause (its record is unreadable)
    unfinished: set[int] = field(default_factory=set)  # of the damaged shards, those that never held anything

    def problem_lines(self, layout: CurationLayout) -> list[str]:
        """One line per damaged shard or snippet record."""
        return ([f"{layout.shard_path(i)}: {cause}" for i, cause in sorted(self.damaged_shards.items())]
                + [f"{layout.shard_path(layout.shard_for(s))}: snippet {s}: {cause}"
                   for s, cause in sorted(self.damaged_snippets.items())])


class CurationLayout:
    """A curation root folder: its settings, its identity, its plan and its shard paths.

    The identity (``curation.json``'s ``identity``) names the curation wherever its folder is moved or copied: a
    random one is written when the curation is created. A curation written before identities were recorded gets
    one derived from its settings and its shards' contents (:meth:`content_identity`), written into its
    ``curation.json`` the next time ``siamfc curate`` opens it, so it stays the same as more snippets commit."""

    def __init__(self, root: Path, settings: CurationSettings, identity: str | None = None):
        self.root = root
        self.settings = settings
        self._identity = identity

    @property
    def identity(self) -> str:
        """The recorded identity, else the one derived from the contents (:meth:`content_identity`)."""
        return self._identity if self._identity is not None else self.content_identity()

    def content_identity(self) -> str:
        """``content-<digest>`` of the settings and each shard's last transaction id and size: the same for a
        moved or copied curation, another one once a shard commits or is replaced."""
        parts = [json.dumps(self.settings.to_json(), sort_keys=True)]
        for i in self.existing_shards():
            data = self.shard_path(i) / DATA_FILE
            try:
                parts.append(f"{i}:{check_data_file(data).txnid}:{data.stat().st_size}")
            except OSError as err:
                parts.append(f"{i}:unreadable:{err.errno}")
        return "content-" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]

    @classmethod
    def open(cls, root: str | Path) -> CurationLayout:
        """An existing curation; CurationError when ``root`` is not one."""
        root = Path(root)
        path = root / SETTINGS_FILE
        if not path.is_file():
            raise CurationError(f"{root}: not a siamfc curation (no {SETTINGS_FILE}); run `siamfc curate` first")
        try:
            stored = json.loads(path.read_text())
            settings = CurationSettings.from_json(stored)  # keys it does not know (the identity) are ignored
            identity = stored.get(IDENTITY_KEY)
            if identity is not None and not (isinstance(identity, str) and identity):
                raise ValueError(f"{IDENTITY_KEY} must be a non-empty string, got {identity!r}")
        except (OSError, ValueError, TypeError, AttributeError) as err:
            raise CurationError(f"{path}: unreadable settings ({err})") from None
        return cls(root, settings, identity)

    @classmethod
    def create(cls, root: str | Path, settings: CurationSettings) -> CurationLayout:
        """Open ``root`` for writing with ``settings``: a new curation (with a new identity), or a resumable one
        written with the same settings (CurationError otherwise); one without a recorded identity gets its
        content identity recorded now, before anything more is written."""
        root = Path(root)
        if (root / SETTINGS_FILE).is_file():
            layout = cls.open(root)
            # the format version records the oldest snippet records present; newer code adds current ones
            if dataclasses.replace(layout.settings, format_version=settings.format_version) != settings:
                old, new = layout.settings.to_json(), settings.to_json()
                diff = ", ".join(f"{k}: {old[k]!r} on disk vs {new[k]!r} asked" for k in old if old[k] != new[k])
                raise CurationError(f"{root}: existing curation has other settings ({diff}); "
                                    "use the same options to resume, or another output folder")
            if layout._identity is None:
                layout._identity = layout.content_identity()
                layout._write_settings()
            return layout
        if root.exists() and not root.is_dir():
            raise CurationError(f"{root}: exists and is not a folder")
        if root.exists() and any(root.iterdir()):
            raise CurationError(f"{root}: folder exists, is not empty and is not a siamfc curation")
        layout = cls(root, settings, uuid.uuid4().hex)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise CurationError(f"{err.filename or root}: cannot write the curation here ({err.strerror})") from None
        layout._write_settings()
        return layout

    def _write_settings(self) -> None:
        """``curation.json``: the settings and the identity."""
        try:
            write_json_atomic(self.root / SETTINGS_FILE, {**self.settings.to_json(), IDENTITY_KEY: self._identity})
        except OSError as err:
            where = err.filename or self.root
            raise CurationError(f"{where}: cannot write the curation here ({err.strerror})") from None

    def shard_path(self, index: int) -> Path:
        return self.root / shard_name(index)

    def existing_shards(self) -> list[int]:
        """Shards with something at their path: a data file (a dangling link included), or a path that is not a
        folder (damaged). A folder without a data file never held anything and is left out."""
        return [i for i in range(self.settings.shards) if os.path.lexists(self.shard_path(i) / DATA_FILE)
                or os.path.lexists(self.shard_path(i)) and not self.shard_path(i).is_dir()]

    def shard_for(self, snippet_id: str) -> int:
        return shard_of(snippet_id, self.settings.shards)

    def snippet_values(self, index: int) -> Iterator[tuple[str, bytes]]:
        """(snippet id, stored snippet record) of every snippet committed in shard ``index``; ShardError when the
        shard cannot be read."""
        path = self.shard_path(index)
        env = read_env(path)
        with lmdb_errors(path, "cannot read"):
            db = open_named_db(env, SNIPPETS_DB)
            if db is None:
                return
            with env.begin(db=db) as txn:
                for key, value in txn.cursor():
                    yield name_text(key), value

    def scan(self) -> ShardScan:
        """Every committed snippet with its manifest rows and report; damaged shards and snippet records are
        collected in the result, never raised."""
        scan = ShardScan()
        for i in self.existing_shards():
            metas, damaged = {}, {}
            try:
                check_shard(self.shard_path(i), values=True)
                for snippet_id, value in self.snippet_values(i):
                    try:
                        metas[snippet_id] = decode_snippet_meta(value, snippet_id)
                    except (ValueError, KeyError, TypeError) as err:
                        damaged[snippet_id] = str(err)
            except ShardError as err:  # none of a damaged shard counts as intact
                scan.damaged_shards[i] = err.cause
                if err.unfinished:
                    scan.unfinished.add(i)
                continue
            scan.metas.update(metas)
            scan.damaged_snippets.update(damaged)
        return scan

    def iter_snippet_meta(self) -> Iterator[tuple[str, SnippetMeta]]:
        """Every committed snippet whose record is intact, with its manifest rows and report."""
        yield from self.scan().metas.items()

    def committed_snippets(self) -> set[str]:
        """Ids of the snippets committed with an intact record (resume skips exactly these)."""
        return set(self.scan().metas)

    def fingerprint(self) -> str:
        """Changes whenever any shard commits (the shards' last transaction ids) or its file is modified, damaged
        or replaced."""
        parts = []
        for i in self.existing_shards():
            data = self.shard_path(i) / DATA_FILE
            try:
                check, stat = check_data_file(data), data.stat()
                parts.append(f"{i}:{check.txnid}:{stat.st_size}:{stat.st_ino}:{stat.st_mtime_ns}:{check.problem or ''}")
            except OSError as err:
                parts.append(f"{i}:unreadable:{err.errno}")
        return ",".join(parts)

    def planned_snippets(self) -> set[str] | None:
        """Snippet ids that runs into this root set out to curate (None before any plan, or when plan.json is
        unreadable: it is rewritten by the next ``siamfc curate``)."""
        path = self.root / PLAN_FILE
        try:
            plan = json.loads(path.read_text())
        except (OSError, ValueError):  # missing or unreadable
            return None
        return set(plan) if isinstance(plan, list) and all(isinstance(s, str) for s in plan) else None

    def add_to_plan(self, snippet_ids: list[str]) -> None:
        plan = (self.planned_snippets() or set()) | set(snippet_ids)
        write_json_atomic(self.root / PLAN_FILE, sorted(plan))

    def set_aside(self, index: int) -> Path:
        """Rename a damaged shard out of the way (kept for the user to inspect or delete); returns its new path."""
        path = self.shard_path(index)
        release_read_env(path)
        target = path.with_name(f"{path.name}{DAMAGED_SUFFIX}-{time.strftime('%Y%m%d-%H%M%S')}")
        n = 1
        while target.exists():
            target = target.with_name(f"{path.name}{DAMAGED_SUFFIX}-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
            n += 1
        os.rename(path, target)
        return target

    def lock(self) -> int:
        """Take the writer lock (one curation process per root); returns the fd to keep open.

        The lock is on the root folder itself, which cannot be deleted while it holds the curation (a lock file
        can be, after a crash, by habit, letting a second writer in); where the file system cannot lock a folder
        (some network file systems), on the ``.lock`` file."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        if _try_lock(fd, self.root):
            return fd
        try:  # this file system cannot lock a folder: the lock file
            fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise CurationError(f"{self.root / LOCK_FILE}: cannot write here ({err.strerror})") from err
        if _try_lock(fd, self.root):
            return fd
        raise CurationError(f"{self.root / LOCK_FILE}: this file system cannot lock it")


def _try_lock(fd: int, root: Path) -> bool:
    """Take an exclusive lock on ``fd``: True when taken; False, with ``fd`` closed, when the file system cannot
    lock it; CurationError when another writer holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        os.close(fd)
        raise CurationError(f"{root}: another siamfc curate is writing here") from None
    except OSError:
        os.close(fd)
        return False


class ShardWriter:
    """The one writer of a curation's shards: one LMDB write transaction per snippet.

    Environments are opened without LMDB's lock file: the curation's own lock (:meth:`CurationLayout.lock`)
    already makes this the only writer, and a memory-mapped lock file on a full disk ends in SIGBUS."""

    def __init__(self, layout: CurationLayout, map_size: int = DEFAULT_MAP_SIZE):
        self.layout = layout
        self.map_size = map_size
        self._envs: dict[int, tuple[lmdb.Environment, object, object]] = {}

    def _env(self, index: int) -> tuple[lmdb.Environment, object, object]:
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

    def commit(self, snippet_id: str, crops: list[tuple[bytes, bytes]], meta: bytes) -> None:
        """Write a snippet's crops and its meta atomically, replacing whatever the snippet held before;
        grow the map when it is full."""
        index = self.layout.shard_for(snippet_id)
        path = self.layout.shard_path(index)
        try:
            env, crops_db, snippets_db = self._env(index)
            while True:
                try:
                    with env.begin(write=True) as txn:
                        drop_snippet(txn, snippet_id, crops_db, snippets_db)
                        for key, value in crops:
                            txn.put(key, value, db=crops_db)
                        txn.put(name_bytes(snippet_id), meta, db=snippets_db)
                    return
                except lmdb.MapFullError:
                    with lmdb_errors(path, "growing the map"):
                        env.set_mapsize(env.info()["map_size"] * 2)
                except lmdb.Error as err:
                    raise ShardError(path, lmdb_cause(err)) from None
        except ShardError as err:
            needed = sum(len(v) for _, v in crops) + len(meta)
            raise CurationError(
                f"{path}: writing snippet {snippet_id} failed ({err.cause}{_disk_full(path, needed)}); committed "
                "snippets are intact: fix the cause (e.g. free disk space) and rerun the same command to resume"
            ) from None

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
