"""Writing files: atomically (the one helper every stage uses for files a crash must not tear), and checking up
front that an output folder can take them.

The content goes to a hidden temporary sibling, is flushed and fsynced, then renamed over the target, so a
reader (or a rerun after ``kill -9``, a full disk or a power cut) sees the old file or the new one, never a
mix. On any error the temporary file is removed and the target is left as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import UserError


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """A file object (``mode`` ``"wb"`` or ``"w"``) whose content replaces ``path`` when the block ends normally."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write writes whole files: mode 'w' or 'wb', not {mode!r}")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_folder(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (a power cut could otherwise lose it); best effort where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Replace ``path`` with ``text`` atomically."""
    with atomic_write(path, "w") as f:
        f.write(text)
    return Path(path)


def write_json_atomic(path: str | Path, data: Any, indent: int | None = 1) -> Path:
    """Replace ``path`` with ``data`` as JSON atomically."""
    return write_text_atomic(path, json.dumps(data, indent=indent) + "\n")


def writable_folder(folder: str | Path, what: str = "output folder") -> Path:
    """Create ``folder`` (with its parents) and check a file can be written in it; UserError naming it otherwise."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: the {what} exists and is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{folder}: the {what} cannot be created ({err.strerror or err})") from None
    try:
        with tempfile.TemporaryFile(dir=folder):  # permissions alone do not tell: root, read-only mounts
            pass
    except OSError as err:
        raise UserError(f"{folder}: the {what} is not writable ({err.strerror or err})") from None
    return folder
