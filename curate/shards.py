"""LMDB shard access: the curation root (settings, plan), the single writer, the lazy read-only reader.

The byte format lives in :mod:`.format`; this module only moves those bytes in and out of LMDB.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

import lmdb
import numpy as np

from .errors import CurationError
from .format import (
    CROPS_DB,
    SETTINGS_FILE,
    SNIPPETS_DB,
    CurationSettings,
    SnippetMeta,
    decode_crop,
    decode_snippet_meta,
    parse_key,
    shard_name,
    shard_of,
)
from .geometry import exemplar_from_search

PLAN_FILE = "plan.json"
LOCK_FILE = ".lock"
DEFAULT_MAP_SIZE = 1 << 30  # initial map per shard; doubled whenever a snippet does not fit


# LMDB allows one handle per environment per process, so read-only handles are shared through this
# per-process cache (keyed by pid: a forked child never touches its parent's handles).
_READ_ENVS: dict[tuple[int, str], lmdb.Environment] = {}


def read_env(path: Path) -> lmdb.Environment:
    """The process's read-only handle on a shard (no lock file needed, so read-only storage works)."""
    pid = os.getpid()
    for inherited in [k for k in _READ_ENVS if k[0] != pid]:  # a forked child may not reopen its parent's envs
        _READ_ENVS.pop(inherited).close()  # closes the child's copy only
    key = (pid, str(Path(path).resolve()))
    env = _READ_ENVS.get(key)
    if env is None:
        env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, max_dbs=2)
        _READ_ENVS[key] = env
    return env


def release_read_env(path: Path) -> None:
    """Close this process's read-only handle on a shard, if any (before opening it for writing)."""
    env = _READ_ENVS.pop((os.getpid(), str(Path(path).resolve())), None)
    if env is not None:
        env.close()


class CurationLayout:
    """A curation root folder: its settings, its plan and its shard paths."""

    def __init__(self, root: Path, settings: CurationSettings):
        self.root = root
        self.settings = settings

    @classmethod
    def open(cls, root: str | Path) -> CurationLayout:
        """An existing curation; CurationError when ``root`` is not one."""
        root = Path(root)
        path = root / SETTINGS_FILE
        if not path.is_file():
            raise CurationError(f"{root}: not a siamfc curation (no {SETTINGS_FILE}); run `siamfc curate` first")
        try:
            settings = CurationSettings.from_json(json.loads(path.read_text()))
        except (ValueError, TypeError) as err:
            raise CurationError(f"{path}: unreadable settings ({err})") from None
        return cls(root, settings)

    @classmethod
    def create(cls, root: str | Path, settings: CurationSettings) -> CurationLayout:
        """Open ``root`` for writing with ``settings``: a new curation, or a resumable one written
        with the same settings (CurationError otherwise)."""
        root = Path(root)
        if (root / SETTINGS_FILE).is_file():
            layout = cls.open(root)
            if layout.settings != settings:
                old, new = layout.settings.to_json(), settings.to_json()
                diff = ", ".join(f"{k}: {old[k]!r} on disk vs {new[k]!r} asked" for k in old if old[k] != new[k])
                raise CurationError(f"{root}: existing curation has other settings ({diff}); "
                                    "use the same options to resume, or another output folder")
            return layout
        if root.exists() and any(root.iterdir()):
            raise CurationError(f"{root}: folder exists, is not empty and is not a siamfc curation")
        root.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(root / SETTINGS_FILE, settings.to_json())
        return cls(root, settings)

    def shard_path(self, index: int) -> Path:
        return self.root / shard_name(index)

    def existing_shards(self) -> list[int]:
        return [i for i in range(self.settings.shards) if (self.shard_path(i) / "data.mdb").exists()]

    def shard_for(self, snippet_id: str) -> int:
        return shard_of(snippet_id, self.settings.shards)

    def iter_snippet_meta(self) -> Iterator[tuple[str, SnippetMeta]]:
        """Every committed snippet with its manifest rows and report."""
        for i in self.existing_shards():
            env = read_env(self.shard_path(i))
            with env.begin(db=env.open_db(SNIPPETS_DB, create=False), buffers=True) as txn:
                for key, value in txn.cursor():
                    yield bytes(key).decode(), decode_snippet_meta(value)

    def committed_snippets(self) -> set[str]:
        done = set()
        for i in self.existing_shards():
            env = read_env(self.shard_path(i))
            with env.begin(db=env.open_db(SNIPPETS_DB, create=False)) as txn:
                done.update(bytes(k).decode() for k in txn.cursor().iternext(keys=True, values=False))
        return done

    def fingerprint(self) -> str:
        """Changes whenever any shard commits: the shards' last transaction ids."""
        return ",".join(f"{i}:{read_env(self.shard_path(i)).info()['last_txnid']}" for i in self.existing_shards())

    def planned_snippets(self) -> set[str] | None:
        """Snippet ids that runs into this root set out to curate (None before any plan)."""
        path = self.root / PLAN_FILE
        return set(json.loads(path.read_text())) if path.is_file() else None

    def add_to_plan(self, snippet_ids: list[str]) -> None:
        plan = (self.planned_snippets() or set()) | set(snippet_ids)
        _write_json_atomic(self.root / PLAN_FILE, sorted(plan))

    def lock(self) -> int:
        """Take the writer lock (one curation process per root); returns the fd to keep open."""
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CurationError(f"{self.root}: another siamfc curate is writing here") from None
        return fd


class ShardWriter:
    """The one writer of a curation's shards: one LMDB write transaction per snippet."""

    def __init__(self, layout: CurationLayout, map_size: int = DEFAULT_MAP_SIZE):
        self.layout = layout
        self.map_size = map_size
        self._envs: dict[int, tuple[lmdb.Environment, object, object]] = {}

    def _env(self, index: int) -> tuple[lmdb.Environment, object, object]:
        if index not in self._envs:
            path = self.layout.shard_path(index)
            release_read_env(path)
            env = lmdb.open(str(path), map_size=self.map_size, max_dbs=2, readahead=False, meminit=False)
            self._envs[index] = (env, env.open_db(CROPS_DB), env.open_db(SNIPPETS_DB))
        return self._envs[index]

    def commit(self, snippet_id: str, crops: list[tuple[bytes, bytes]], meta: bytes) -> None:
        """Write a snippet's crops and its meta atomically; grow the map when it is full."""
        index = self.layout.shard_for(snippet_id)
        env, crops_db, snippets_db = self._env(index)
        while True:
            try:
                with env.begin(write=True) as txn:
                    for key, value in crops:
                        txn.put(key, value, db=crops_db)
                    txn.put(snippet_id.encode(), meta, db=snippets_db)
                return
            except lmdb.MapFullError:
                env.set_mapsize(env.info()["map_size"] * 2)
            except lmdb.Error as err:
                raise CurationError(
                    f"{self.layout.shard_path(index)}: writing snippet {snippet_id} failed ({err}); "
                    "committed snippets are intact: fix the cause (e.g. free disk space) and rerun the "
                    "same command to resume"
                ) from None

    def close(self) -> None:
        for env, _, _ in self._envs.values():
            env.close()
        self._envs.clear()

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ShardReader:
    """Read-only access to stored crops. Handles open lazily in the process that reads (through
    :func:`read_env`), so a reader built in a parent works in forked or spawned DataLoader workers."""

    def __init__(self, root: str | Path):
        self.layout = CurationLayout.open(root)
        self._dbs: dict[tuple[int, int], tuple[lmdb.Environment, object]] = {}  # (pid, shard) -> handles

    def _db(self, index: int) -> tuple[lmdb.Environment, object]:
        handles = self._dbs.get((os.getpid(), index))
        if handles is None:
            path = self.layout.shard_path(index)
            if not (path / "data.mdb").exists():
                raise CurationError(f"{path}: shard missing")
            env = read_env(path)
            handles = self._dbs[(os.getpid(), index)] = (env, env.open_db(CROPS_DB, create=False))
        return handles

    def get(self, key: bytes) -> bytes:
        """Stored value of a record key; KeyError when absent."""
        return self.get_in(self.layout.shard_for(parse_key(key)[0]), key)

    def get_in(self, shard: int, key: bytes) -> bytes:
        """Stored value of ``key`` in a known ``shard`` (the manifest's ``shard`` column); KeyError when absent."""
        env, db = self._db(shard)
        with env.begin(db=db) as txn:
            value = txn.get(key)
        if value is None:
            raise KeyError(f"{self.layout.shard_path(shard)}: no crop {key.decode()}")
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
        env, db = self._db(shard)
        with env.begin(db=db) as txn:
            yield from (bytes(k) for k in txn.cursor().iternext(keys=True, values=False))

    def close(self) -> None:
        """Release this process's handles on the curation's shards."""
        self._dbs.clear()
        for i in range(self.layout.settings.shards):
            release_read_env(self.layout.shard_path(i))

    def __getstate__(self) -> dict:  # handles never travel to another process
        return {"layout": self.layout, "_dbs": {}}


def _write_json_atomic(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)
