"""Checking a path that must be an existing folder (a dataset root, a curation, a folder of frames): one line.

``<path>: no such folder`` when nothing is there, ``<path>: is a file, not a folder`` when a file is: a file given
where a folder is expected must not read as a missing folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CurationError


def check_folder(path: str | Path) -> Path:
    """``path`` as a Path when it is a folder (or a link to one); CurationError naming it otherwise."""
    path = Path(path)
    if path.is_dir():
        return path
    if path.is_file():
        raise CurationError(f"{path}: is a file, not a folder")
    if path.exists():  # a device, a pipe, a socket
        raise CurationError(f"{path}: is not a folder")
    if os.path.lexists(path):
        raise CurationError(f"{path}: no such folder (a link to {os.readlink(path)}, which does not exist)")
    for parent in path.parents:  # a/b/c where a/b is a file: say which part is the file
        if parent.exists() and not parent.is_dir():
            raise CurationError(f"{path}: no such folder ({parent} is a file, not a folder)")
    raise CurationError(f"{path}: no such folder")
