"""GOT-10k (``--format got10k``): one target per sequence, per-frame text annotations.

Layout: ``<root>/<split>/GOT-10k_Train_000001/00000001.jpg ...`` with, per sequence folder, ``groundtruth.txt`` (one
``x,y,w,h`` line per frame, comma-separated, e.g. ``347.0000,443.0000,429.0000,272.0000``), ``absence.label``
(0/1 per line), ``cover.label`` (visible-ratio class 0..8 per line, 0 = not visible), ``cut_by_image.label`` (0/1
per line) and ``meta_info.ini`` (a ``[METAINFO]`` section of ``key: value`` lines: url, begin, end, anno_fps,
object_class, motion_class, major_class, root_class, motion_adverb, ``resolution: (1920, 1080)``); each split
folder has a ``list.txt`` of its sequence folders. Splits: ``train`` and ``val`` (``test`` annotates only the
first frame: not curatable). The root is the dataset root (holding ``train/``, ``val/``, ``test/``) or one split
folder itself (pytracking's ``got10k_dir`` points at ``train/``); in a split folder a sequence's split comes from
its name (``GOT-10k_Train_*``, ``GOT-10k_Val_*``), so the ids are the same either way.

Sequences: the folders ``list.txt`` names (as the got10k toolkit's ``GOT10k`` and pytracking's ``Got10k`` read
them); a listed folder that does not exist, and a sequence folder the list does not name, are passed over with a
line each (the list defines the split). Without ``list.txt``, every sub-folder holding ``groundtruth.txt``. Snippet
ids are ``<split>/<folder>``, e.g. ``train/GOT-10k_Train_000001``; the target is track 0.

Box convention (checked against the got10k toolkit, ``got10k/utils/metrics.py``, and pytracking,
``ltr/dataset/got10k.py``): ``x, y`` is the 0-based top-left pixel and ``w, h`` the size in pixels; the toolkit's
``rect_iou`` takes ``[x, x + w)`` as the extent and its ``center_error`` puts the centre at ``x + (w - 1) / 2``, and
neither tool shifts the values: ``xyxy = (x, y, x + w - 1, y + h - 1)``
(:func:`siamfc.curate.boxes.xywh_to_xyxy`, ``one_based=False``), as :mod:`siamfc.model.eval_sequences` reads
GOT-10k too. Boxes annotate the part of the target inside the frame (``cut_by_image`` says the frame's edge cuts
it; the maintainers call boxes beyond the frame inconsistent annotations, toolkit issue #10); the few that reach a
little beyond it are kept as annotated (the crop geometry is continuous); only a box wholly outside the frame is
bad input.

Frames: the number in the file name (``00000001.jpg`` is frame 1, GOT-10k counts from 1; the suffix ``.jpg``
or ``.jpeg`` in any case, :func:`~.base.list_frame_files`); line ``n`` of each per-frame file belongs to frame ``n``
(pytracking opens ``{n + 1:08}.jpg`` for row ``n`` counted from 0). Any other file beside the annotation files
(``notes.txt``, ``00000003 (copy).jpg``) is reported as ``not_a_frame`` and left alone; so is ``00000000.jpg``
(GOT-10k has no frame 0: a dump numbered from 0 has every box one frame off).

Visibility (as pytracking's ``_read_target_visible``): the target is visible when ``absence`` is 0 and ``cover``
above 0. Visible frames give one record with ``cover`` (1..8) and ``cut`` (cut_by_image) kept; the others are
listed as hidden with the flags ABSENT and/or NO_COVER, and their box line is not read (GOT-10k writes
placeholders there: ``-1,-1,-1,-1`` or zero sizes). Class: ``meta_info.ini``'s ``object_class`` (e.g.
``crocodilian reptile``), as found; a missing ``meta_info.ini`` or ``object_class`` gives class ``""`` (shown as
``(none)``) and one note in the run's summary, not a skip: the boxes do not depend on it and nothing is dropped.
Frame size: ``meta_info.ini``'s ``resolution`` is the size of the video the boxes were drawn on (the toolkit
bounds every box by it), so it is the frames' stated size: boxes are
checked against it here and each JPEG against it when decoded (SIZE_MISMATCH: e.g. a resized copy of the dataset
whose boxes no longer fit its frames); without a resolution the JPEG decides.

Bad input, reported with the file and line, never fatal: a frame without a line in one of the four per-frame files
(GT_LINE_COUNT for ``groundtruth.txt``, LABEL_MALFORMED for a label file) is skipped; lines beyond the last frame
file are reported once per file; a box line that is not 4 finite numbers (BOX_MALFORMED), a box at most one pixel
wide or high (BOX_EMPTY: its ``xyxy`` has no extent), a box wholly outside the frame (BOX_OUTSIDE_FRAME) or a label
value the dataset does not write (LABEL_MALFORMED) skips that frame; a missing frame file is FRAME_MISSING when the
frame is decoded (frames where the target is not visible are never decoded, so their files are not looked at). A
missing or unreadable ``groundtruth.txt`` or label file skips the sequence with one LABEL_MISSING line: without
``absence``/``cover`` the frames whose box is a placeholder cannot be told apart from the others, and ``cut`` would
be stored as a guess. Trailing blank lines are ignored.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import (
    CLASS_UNKNOWN,
    GT_LINE_COUNT,
    LABEL_MALFORMED,
    NOT_A_FRAME,
    BadInput,
    CurationError,
)
from ..paths import check_folder
from ..schema import ABSENT, NO_COVER, key_fits
from .base import (
    FrameFiles,
    Sequence,
    SequenceRead,
    SequenceSearch,
    SourceFormat,
    SourceFrame,
    SourceObject,
    check_in_frame,
    check_splits,
    list_frame_files,
    not_asked,
)
from .text_files import content_lines, read_box, read_lines

SPLITS = ("train", "val")
GROUNDTRUTH, ABSENCE, COVER, CUT, META, LIST = (
    "groundtruth.txt", "absence.label", "cover.label", "cut_by_image.label", "meta_info.ini", "list.txt")
LABELS = {ABSENCE: frozenset("01"), COVER: frozenset("012345678"), CUT: frozenset("01")}  # file -> values
NAME_SPLITS = {"GOT-10k_Train_": "train", "GOT-10k_Val_": "val", "GOT-10k_Test_": "test"}  # name prefix -> split
ANNOTATIONS = frozenset({GROUNDTRUTH, ABSENCE, COVER, CUT, META})  # the files of a sequence folder beside its frames
_FRAME = re.compile(r"[0-9]{8}")  # a frame file's name without its suffix
_RESOLUTION = re.compile(r"\(\s*([0-9]+)\s*,\s*([0-9]+)\s*\)")


@dataclass(frozen=True)
class Got10kSequence(Sequence):
    """One GOT-10k sequence folder."""

    id: str
    split: str
    folder: Path

    def frame_files(self) -> dict[int, Path]:
        """Frame number -> JPEG, for the ``<8 digits>.jpg`` files in the folder (frame 0 included)."""
        return self._listing

    def frame_path(self, index: int) -> Path:
        """The JPEG of frame ``index`` (its expected name when the file is missing)."""
        return self._listing.get(index, self.folder / f"{index:08d}.jpg")

    def last_frame(self) -> int:
        return max(self._listing, default=0)

    def frame_count(self) -> int:
        return self.last_frame()

    def input_files(self) -> list[Path]:
        """The annotation files, then every frame file from 1 to the last (a missing one included: its
        appearance changes the fingerprint) and a frame 0 file when there is one."""
        notes = [self.folder / name for name in (GROUNDTRUTH, ABSENCE, COVER, CUT, META)]
        frames = [self.frame_path(i) for i in range(0 if 0 in self._listing else 1, self.last_frame() + 1)]
        return notes + frames + self.stray_files()

    def read(self) -> SequenceRead:
        last = self.last_frame()
        result = SequenceRead(seen=last)
        if 0 in self._listing:
            result.skipped.append((0, None, BadInput(NOT_A_FRAME, f"{self._listing[0]}: GOT-10k numbers frames from "
                                                                   "1 (line 1 is 00000001.jpg); left alone")))
        for path in self.stray_files():
            result.skipped.append((None, None, BadInput(NOT_A_FRAME, f"{path}: not a frame (<8 digits>.jpg) nor a "
                                                                     "GOT-10k annotation file; left alone")))
        try:
            files = {name: content_lines(self.folder / name) for name in (GROUNDTRUTH, ABSENCE, COVER, CUT)}
        except BadInput as bad:
            result.skipped.append((None, None, bad))
            return result
        cls, size, problem = read_meta(self.folder / META)
        if problem is not None:  # the boxes do not depend on it: nothing is dropped
            result.notes.append(problem.detail)
        for name, lines in files.items():
            if len(lines) > last:
                reason = GT_LINE_COUNT if name == GROUNDTRUTH else LABEL_MALFORMED
                files_note = f"the last frame file is {last:08d}.jpg" if last else "the folder has no frame file"
                result.skipped.append((None, None, BadInput(reason, (
                    f"{self.folder / name}: {len(lines)} lines for {last} frames; lines {last + 1}-{len(lines)} "
                    f"have no frame ({files_note})"))))
        for index in range(1, last + 1):
            try:
                result.frames.append(self._frame(index, files, cls, size))
            except BadInput as bad:
                track = 0 if bad.reason not in (GT_LINE_COUNT, LABEL_MALFORMED) else None
                result.skipped.append((index, track, bad))
        return result

    def _frame(self, index: int, files: dict[str, list[str]], cls: str, size: tuple[int, int] | None) -> SourceFrame:
        """Frame ``index`` from line ``index`` of each per-frame file; BadInput when it cannot be used."""
        for name, lines in files.items():
            if len(lines) < index:
                reason = GT_LINE_COUNT if name == GROUNDTRUTH else LABEL_MALFORMED
                raise BadInput(reason, f"{self.folder / name}: {len(lines)} lines for {self.last_frame()} frames; "
                                       f"frame {index} ({self.frame_path(index).name}) has no line")
        absent, cover, cut = (_label(self.folder / name, files[name][index - 1], index) for name in LABELS)
        flags = ABSENT * (absent == 1) | NO_COVER * (cover == 0)
        path = self.frame_path(index)
        if flags:
            return SourceFrame(index, path, hidden=((0, flags, cls),))
        box = read_box(files[GROUNDTRUTH][index - 1], self.folder / GROUNDTRUTH, index)
        if size is not None:
            box = check_in_frame(box, *size, f"{self.folder / GROUNDTRUTH}, line {index}", tolerance=None)
        return SourceFrame(index, path, (SourceObject(0, cls, box, cover=cover, cut=cut),), size=size)

    def stray_files(self) -> list[Path]:
        """Files in the folder that are neither ``<8 digits>.jpg`` frames nor the sequence's annotation files."""
        return self._files.strays

    @property
    def _listing(self) -> dict[int, Path]:
        return self._files.frames

    @functools.cached_property
    def _files(self) -> FrameFiles:
        return list_frame_files(self.folder, _FRAME, known=ANNOTATIONS)


def _label(path: Path, line: str, number: int) -> int:
    value = line.strip()
    if value not in LABELS[path.name]:
        shown = repr(value) if value else "an empty line"
        raise BadInput(LABEL_MALFORMED, f"{path}, line {number}: {shown} is not one of "
                                        f"{', '.join(sorted(LABELS[path.name]))}")
    return int(value)


def read_meta(path: Path) -> tuple[str, tuple[int, int] | None, BadInput | None]:
    """(object_class, resolution or None, the problem to report or None) of a ``meta_info.ini``."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        return "", None, BadInput(CLASS_UNKNOWN, f"{path}: no such file; the sequence's records have no class")
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) else "not a text file"
        return "", None, BadInput(CLASS_UNKNOWN, f"{path}: {why}; the sequence's records have no class")
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    found = _RESOLUTION.fullmatch(fields.get("resolution", ""))
    size = (int(found[1]), int(found[2])) if found and int(found[1]) > 0 and int(found[2]) > 0 else None
    cls = fields.get("object_class", "")
    if not cls:
        return "", size, BadInput(CLASS_UNKNOWN, f"{path}: no object_class line; the sequence's records have "
                                                 "no class")
    return cls, size, None


def _split_of_name(name: str) -> str | None:
    return next((split for prefix, split in NAME_SPLITS.items() if name.startswith(prefix)), None)


def _holds_sequences(folder: Path, prefixes: tuple[str, ...]) -> bool:
    """Whether ``folder`` holds a folder whose name starts with one of ``prefixes`` and has a groundtruth.txt."""
    try:
        with os.scandir(folder) as entries:
            return any(e.name.startswith(prefixes) and os.path.isfile(os.path.join(e.path, GROUNDTRUTH))
                       for e in entries)
    except OSError:
        return False


def looks_like(root: Path) -> bool:
    """Whether ``root`` is a GOT-10k root (``train/``, ``val/`` or ``test/`` holding ``GOT-10k_*`` sequence
    folders) or one of its split folders."""
    return (any(_holds_sequences(root / split, ("GOT-10k_",)) for split in (*SPLITS, "test"))
            or _holds_sequences(root, tuple(NAME_SPLITS)))


def search(root: str | Path, splits: tuple[str, ...] = SPLITS) -> SequenceSearch:
    """The sequences of the requested splits under a GOT-10k root or split folder, sorted by id, and the folders
    passed over. CurationError naming the root when it is missing or holds no sequence of those splits."""
    root = check_folder(root)
    check_splits(splits, SPLITS, "GOT-10k's test split annotates only the first frame")
    found = SequenceSearch()
    if any((root / split).is_dir() for split in (*SPLITS, "test")):
        for split in splits:
            if (root / split).is_dir():
                _split_folder(root / split, lambda _, s=split: s, splits, found)
    else:
        _split_folder(root, _split_of_name, splits, found)
    if not found.sequences:
        raise CurationError(f"{root}: no GOT-10k sequence for split(s) {list(splits)}; expected "
                            f"<root>/train/GOT-10k_Train_000001/{GROUNDTRUTH} (and val/), or a split folder itself "
                            "(the test split annotates only the first frame: not curatable)")
    found.sequences.sort(key=lambda s: s.id)
    return found


def _split_folder(folder: Path, split_of: Callable[[str], str | None], splits: tuple[str, ...],
                  found: SequenceSearch) -> None:
    """Add the sequences of one split folder (``split_of(name)``: a sequence's split, None when unknown)."""
    try:
        subfolders = sorted(e.name for e in os.scandir(folder) if e.is_dir())
    except OSError as err:
        found.passed_over.append(f"{folder}: {err.strerror}")
        return
    with_gt = [name for name in subfolders if (folder / name / GROUNDTRUTH).is_file()]
    listed = None
    if (folder / LIST).is_file():
        found.read.append(folder / LIST)
        try:
            listed = list(dict.fromkeys(line.strip() for line in read_lines(folder / LIST) if line.strip()))
        except BadInput as bad:
            found.passed_over.append(f"{bad.detail}: sequences taken from the folders instead")
    if listed is not None:
        found.passed_over += [f"{folder / name}: a sequence folder {folder / LIST} does not list"
                              for name in with_gt if name not in set(listed)]
        names = []
        for name in listed:
            if "/" in name or "\\" in name or name in (".", "..") or not (folder / name).is_dir():
                found.passed_over.append(f"{folder / name}: listed in {folder / LIST}, no such folder")
            else:
                names.append(name)
    else:
        found.passed_over += [f"{folder / name}: no {GROUNDTRUTH}, not a GOT-10k sequence"
                              for name in subfolders if name not in set(with_gt)]
        names = with_gt
    seen: dict[str, str] = {}
    for name in names:
        path = folder / name
        split = split_of(name)
        real = os.path.realpath(path)
        if split is None or split == "test":
            why = "the test split annotates only the first frame" if split else "its split cannot be told from its name"
            found.passed_over.append(f"{path}: {why}")
        elif split not in splits:
            continue
        elif real in seen:
            found.passed_over.append(f"{path}: reaches a folder found by another path ({seen[real]})")
        elif not key_fits(f"{split}/{name}"):
            found.passed_over.append(f"{path}: path too long for a shard key")
        else:
            seen[real] = str(path)
            found.sequences.append(Got10kSequence(f"{split}/{name}", split, path))


def outside(root: Path, path: Path, splits: tuple[str, ...]) -> str | None:
    """Files the run leaves alone by design: the test split (first boxes only), a split not asked for."""
    parts = path.relative_to(root).parts
    split = parts[0] if len(parts) > 1 and parts[0] in NAME_SPLITS.values() else _split_of_name(path.parent.name)
    if split == "test":
        return "test split (first box only)"
    return not_asked(split) if split is not None and split not in splits else None


FORMAT = SourceFormat(name="got10k", title="GOT-10k", splits=SPLITS, looks_like=looks_like,
                      search=lambda root, splits: search(root, splits), outside=outside)


def test_sequences(root: str | Path) -> list[tuple[str, Path, int]]:
    """GOT-10k's test sequences as its evaluation server expects them: ``(name, file whose first line is the given
    first box, frame count)`` per sequence, in ``list.txt``'s order (else the ``GOT-10k_Test_*`` folders, sorted).

    ``root`` is the dataset root (holding ``test/``) or the test folder itself. The frame count is the last frame
    file's number (frames count from 1), 0 when the folder holds none. CurationError naming the folder when there
    is no test sequence, or when ``list.txt`` names a folder that does not exist."""
    root = check_folder(root)
    folder = root / "test" if (root / "test").is_dir() else root
    if (folder / LIST).is_file():
        try:
            names = list(dict.fromkeys(line.strip() for line in read_lines(folder / LIST) if line.strip()))
        except BadInput as bad:
            raise CurationError(bad.detail) from None
        missing = [n for n in names if "/" in n or "\\" in n or not (folder / n).is_dir()]
        if missing:
            raise CurationError(f"{folder / missing[0]}: listed in {folder / LIST}, no such folder"
                                + (f" ({len(missing) - 1} more listed ones missing)" if len(missing) > 1 else ""))
    else:
        names = sorted(e.name for e in os.scandir(folder) if e.is_dir() and _split_of_name(e.name) == "test")
    if not names:
        raise CurationError(f"{root}: no GOT-10k test sequence; expected <root>/test/{LIST} or "
                            f"<root>/test/GOT-10k_Test_000001/{GROUNDTRUTH}")
    return [(n, folder / n / GROUNDTRUTH, Got10kSequence(f"test/{n}", "test", folder / n).frame_count())
            for n in names]
