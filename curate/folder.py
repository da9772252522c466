"""The curation folder: ``curation.json`` (settings and identity), the plan, the writer lock, where the shards lie.

Nothing here opens LMDB: the shards' contents are the store's (:mod:`.shards`). The folder knows its shard files only
as paths and by their headers (:func:`~.lmdb_file.check_data_file`: the last transaction id, read with ``pread``),
which is all its identity and its fingerprint need.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import uuid
from pathlib import Path

from .atomic import write_json_atomic
from .errors import CurationError
from .lmdb_file import DATA_FILE, check_data_file
from .paths import check_folder
from .schema import SETTINGS_FILE, CurationSettings, shard_name, shard_of

PLAN_FILE = "plan.json"
LOCK_FILE = ".lock"
IDENTITY_KEY = "identity"  # in curation.json, beside the settings: see CurationLayout


class CurationLayout:
    """A curation root folder: its settings, its identity, its plan, its lock and its shard paths.

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
        root = check_folder(root)  # a file given: "is a file, not a folder"
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

    def remove_from_plan(self, snippet_ids: set[str]) -> None:
        """Take ``snippet_ids`` out of the plan (nothing is written when the plan holds none of them, or is lost)."""
        planned = self.planned_snippets()
        if planned is not None and planned & snippet_ids:
            write_json_atomic(self.root / PLAN_FILE, sorted(planned - snippet_ids))

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
