"""The account of every file under a dataset root: what a curation run did with it.

Each file under the root is, after a run's search, exactly one of:

- **read**: an input file of a sequence of the run (annotations, frames, and the lists the search read);
- **reported**: named in a report: a stray file of a sequence (``not_a_frame``) or a file under a folder that the
  search passed over with a line;
- **outside the layout**, by kind: a sequence of a split not asked for or past ``--max-snippets``, a file the
  format leaves alone by design (its ``outside`` rule: LaSOT's ``nlp.txt``, VID's ``ImageSets``), or anything else
  (``not in the layout``).

A folder holding frame images of which no sequence reads one, and which no line already names, is named as passed
over: a dataset folder cannot disappear without a word, whatever the source's rules missed. The walk lists every
folder once (symbolic links followed, loops and aliases not), so its cost grows with the number of files.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .base import FRAME_SUFFIXES, Sequence

NOT_IN_LAYOUT = "not in the layout"
IMAGE_SUFFIXES = FRAME_SUFFIXES | {".png", ".bmp"}


@dataclass
class FileAccount:
    """What became of the files under a root (see the module docstring)."""

    files: int = 0
    read: int = 0
    reported: int = 0
    outside: dict[str, int] = field(default_factory=dict)  # kind -> files
    unused: list[tuple[str, str]] = field(default_factory=list)  # (path, kind) of the files outside the layout
    folders: list[str] = field(default_factory=list)  # passed-over lines for folders of images nothing reads
    seconds: float = 0.0

    @property
    def outside_total(self) -> int:
        return sum(self.outside.values())

    def line(self) -> str:
        """The summary's line."""
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.outside.items(), key=lambda i: (-i[1], i[0])))
        outside = f"{self.outside_total} outside the layout ({kinds}; --list-unused names them)" if kinds else \
            "0 outside the layout"
        return f"{self.files} files under the root: {self.read} read, {self.reported} reported, {outside}"


def account_files(root: Path, taken: list[Sequence], left: dict[str, list[Sequence]], passed_over: list[str],
                  read: list[Path], outside_kind: object = None, keep_paths: bool = False) -> FileAccount:
    """Account for every file under ``root``.

    ``taken``: the run's sequences; ``left``: sequences found but not in the run, by the kind they count as;
    ``passed_over``: the search's lines (each starts with the path it names); ``read``: other files the search read
    (split lists); ``outside_kind(root, path)``: the format's kind for a file it leaves alone by design, or None.
    ``keep_paths`` keeps every unused path (for ``--list-unused``)."""
    start = time.perf_counter()
    used = {os.fspath(p) for s in taken for p in s.input_files()} | {os.fspath(p) for p in read}
    strays = {os.fspath(p) for s in taken for p in s.stray_files()}
    left_kind = {os.fspath(p): kind for kind, seqs in left.items() for s in seqs for p in s.input_files()}
    named = {line.split(": ", 1)[0] for line in passed_over}
    result = FileAccount()
    outside: Counter[str] = Counter()
    images_unread: dict[str, int] = {}  # folder -> images counted NOT_IN_LAYOUT
    folders_read: set[str] = set()
    for dirpath, files, under_named in _walk(os.fspath(root), named):
        for name in files:
            path = os.path.join(dirpath, name)
            result.files += 1
            if path in strays or under_named or path in named:
                result.reported += 1
                continue
            if path in used:
                result.read += 1
                folders_read.add(dirpath)
                continue
            kind = left_kind.get(path) or (outside_kind(root, Path(path)) if outside_kind else None) or NOT_IN_LAYOUT
            outside[kind] += 1
            if kind == NOT_IN_LAYOUT and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                images_unread[dirpath] = images_unread.get(dirpath, 0) + 1
            if keep_paths:
                result.unused.append((path, kind))
    result.outside = dict(outside)
    result.folders = [f"{folder}: {n} image{'s' if n > 1 else ''} that no sequence reads (not in the layout); not "
                      "curated"
                      for folder, n in sorted(images_unread.items()) if folder not in folders_read]
    result.seconds = time.perf_counter() - start
    return result


def _walk(top: str, named: set[str]):  # noqa: ANN202 - a generator of (folder, file names, under a named folder)
    """Every folder under ``top`` once, with its file names and whether it lies under a folder that a passed-over
    line names. Folders reached without a link come first; links are followed afterwards to folders not yet
    walked (the sources, too, prefer the plain path of a folder reached both ways)."""
    seen: set[tuple[int, int]] = set()
    plain, linked = [(top, top in named)], []
    while plain or linked:
        folder, under_named = plain.pop() if plain else linked.pop()
        try:
            st = os.stat(folder)
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        files = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir:
                files.append(entry.name)
            else:
                (linked if entry.is_symlink() else plain).append((entry.path, under_named or entry.path in named))
        yield folder, files, under_named
