"""Your own sequences (``--format sequences``, 0-based boxes; ``--format sequences1``, 1-based), and the
single-target box-file sequence that the benchmark sources (OTB, UAV123, NfS, TC128, TNL2K) build on.

Layout of ``--format sequences``: any folder of ``<seq>/`` folders, each holding its frames, directly or in
``img/``, named ``<number>.jpg`` (``.jpg`` or ``.jpeg`` in any case, any zero padding, numbered from 1), and exactly
one box file: ``groundtruth.txt``, ``groundtruth_rect.txt`` or ``<seq>.txt``. Line ``n`` of the box file is frame
``n``: ``x,y,w,h`` (commas, tabs or spaces between the numbers, CRLF and trailing blank lines fine), ``x, y`` the
top-left pixel. A root that is itself one such folder is one sequence. Snippet ids are ``all/<seq>`` (split ``all``:
the layout has no split of its own); track 0, class ``""``.

Box convention, chosen by the format's name: the package's ``x, y`` are 0-based, so ``sequences`` reads the numbers
as they are (boxes written by Python tools, the got10k toolkit, OpenCV) and ``sequences1`` subtracts 1 from ``x``
and ``y`` (boxes written by MATLAB tools, OTB's convention). :class:`~.base.SourceFormat` has no options field: two
format names are the smallest way to say it on the command line, and :data:`ONE_BASED` maps each name to its
convention. Neither format recognises a root by itself (``looks_like`` is always false): a folder of frames and a
box file is what every other benchmark layout looks like too, so the format is used only when named with
``--format``.

Visibility: a line of four ``NaN`` means the target is not annotated in that frame (absent, hidden): listed as hidden
with :data:`~siamfc.curate.schema.ABSENT`, a NaN row of :meth:`BoxFileSequence.ground_truth`.

Bad input (:class:`BoxFileSequence`, every source built on it), each with the file and line, never fatal:

- a box line that is not 4 finite numbers: ``box_malformed`` for that frame; a width or height of at most one pixel:
  ``box_empty``;
- a box file with more lines than frame files: ``gt_line_count``, once, naming the first line without a frame; the
  frames after the last line (when the box file annotates the whole folder): ``gt_line_count``, once;
- a frame file missing inside the range: ``frame_missing`` when the frame is decoded (curation), or the missing file
  named by whoever opens the path :meth:`BoxFileSequence.track_frames` gives (evaluation);
- a file in the frame folder that is not a frame (``notes.txt``, ``0003 (copy).jpg``, ``0000.jpg``): ``not_a_frame``,
  left alone;
- a missing or unreadable box file: ``label_missing``, the sequence skipped with one entry.

:meth:`BoxFileSequence.ground_truth` raises the first of these problems that concerns the boxes (a malformed line,
a line count that disagrees with the frames) as :class:`~siamfc.curate.errors.BadInput` naming the file and line:
evaluation skips such a sequence rather than score it against a guess.
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..boxes import xywh_to_xyxy
from ..errors import BOX_EMPTY, FRAME_MISSING, GT_LINE_COUNT, NOT_A_FRAME, BadInput, CurationError
from ..paths import check_folder
from ..schema import ABSENT, key_fits
from .base import (
    FRAME_SUFFIXES,
    FirstPaths,
    FrameFiles,
    Sequence,
    SequenceRead,
    SequenceSearch,
    SourceFormat,
    SourceFrame,
    SourceObject,
    check_splits,
    list_frame_files,
    subfolders,
)
from .text_files import content_lines_or_problem, parse_box

SPLIT = "all"
ONE_BASED = {"sequences": False, "sequences1": True}  # format name -> its boxes count pixels from 1
BOX_FILES = ("groundtruth.txt", "groundtruth_rect.txt")  # and <seq>.txt
IMAGES = "img"
TRACK = 0
FROM_ONE = re.compile(r"0*[1-9][0-9]{0,8}")  # a frame number of a layout that counts frames from 1
_SEPARATORS = re.compile(r"[,\t ]+")

Xywh = tuple[float, float, float, float]


@dataclass(frozen=True)
class Row:
    """One box line as the layout means it: the box as written (None when the target is not visible), the
    visibility flags of a hidden target, and an occlusion flag that keeps the target visible (NfS)."""

    box: Xywh | None
    flags: int = 0
    occluded: int = 0


def nan_row(line: str) -> bool:
    """Whether the line is four ``NaN`` (commas, tabs or spaces between them): no box."""
    fields = [f for f in _SEPARATORS.split(line.strip()) if f]
    try:
        return len(fields) == 4 and all(math.isnan(float(f)) for f in fields)
    except ValueError:
        return False


def checked_box(box: Xywh, line: str, path: Path, number: int) -> Xywh:
    """``box`` (as written), BadInput BOX_EMPTY naming file and line when it is at most one pixel wide or high."""
    if not (box[2] > 1 and box[3] > 1):
        raise BadInput(BOX_EMPTY, f"{path}, line {number}: box x,y,w,h {line.strip()!r} has a width or height of "
                                  f"{min(box[2], box[3]):g} pixels (a box needs more than 1)")
    return box


@dataclass(frozen=True)
class BoxFileSequence(Sequence):
    """One target through a range of numbered frame files, one box line per frame.

    Line ``n`` (1-based) of ``box_file`` is frame ``first + n - 1``, the frame file of that number in ``frames_dir``
    (never the ``n``-th name in sorted order). ``expected``: the number of frames in the benchmark's range (OTB's,
    UAV123's, TC128's frame ranges), None when the box file's lines are the range. ``whole_folder``: the range is
    every frame of the folder (frames after the last line are reported); false where a folder holds frames outside
    the range by design (OTB's David, UAV123's sub-sequences). Subclasses change :meth:`row` (what a line means) and
    :attr:`NUMBER` (how frames are named)."""

    id: str
    split: str
    frames_dir: Path
    box_file: Path
    first: int = 1
    expected: int | None = None
    one_based: bool = False
    cls: str = ""
    known: tuple[str, ...] = ()  # annotation files inside the frame folder: neither frames nor strays
    whole_folder: bool = True
    reports_strays: bool = True  # False for all but one of the sequences sharing a frame folder (UAV123)
    extra_inputs: tuple[Path, ...] = ()  # other files the sequence reads (a frame-range file)
    digits: int = 4  # zero padding of the layout's frame names, for the name of a missing frame

    NUMBER = FROM_ONE  # a frame file's name without its suffix
    HIDDEN = ABSENT  # the flag of a NaN line

    def row(self, line: str, number: int) -> Row:
        """Line ``number`` of the box file as a :class:`Row`; BadInput naming file and line when malformed."""
        if nan_row(line):
            return Row(None, self.HIDDEN)
        return Row(checked_box(parse_box(line, self.box_file, number), line, self.box_file, number))

    def line_number(self, k: int) -> int:
        """The box file's line number (1-based) of the ``k``-th frame of the sequence (0-based)."""
        return k + 1

    # -- the frames ---------------------------------------------------------------------------------------------

    def frame_path(self, index: int) -> Path:
        """The file of frame ``index`` (its expected name when it is missing)."""
        return self._files.frames.get(index) or self.frames_dir / f"{index:0{self._width}d}.jpg"

    def frame_count(self) -> int:
        return self._span

    def track_frames(self) -> list[Path]:
        """The frame files ``first .. first + N - 1`` (N: the range, or the box lines when the range is unknown or the
        box file falls short), missing ones under their expected names."""
        return [self.frame_path(self.first + k) for k in range(self._span)]

    def ground_truth(self) -> np.ndarray:
        """One ``x, y, w, h`` row (0-based) per :meth:`track_frames` entry, NaN where the target is not visible.
        Raises BadInput (naming file and line) when the box file cannot be used: unreadable, a malformed line, or a
        line count that disagrees with the range or the frames."""
        lines = self._lines
        if isinstance(lines, BadInput):
            raise lines
        problems = self._count_problems()
        if problems:
            raise problems[0]
        gt = np.full((self._span, 4), np.nan)
        for k in range(self._span):
            row = self.row(lines[k], self.line_number(k))
            if row.box is not None and not row.flags:
                x, y, w, h = row.box
                gt[k] = (x - self.one_based, y - self.one_based, w, h)
        return gt

    def input_files(self) -> list[Path]:
        """The box file, the other files read, the frames of the range (missing ones under their expected names),
        the frames after it when the box file annotates the whole folder, and the strays."""
        frames = self._files.frames
        span = [self.frame_path(self.first + k) for k in range(self._span)]
        last = self.first + self._span - 1
        after = [frames[i] for i in sorted(frames) if i > last] if self.whole_folder else []
        return [self.box_file, *self.extra_inputs, *span, *after, *self.stray_files()]

    def stray_files(self) -> list[Path]:
        return self._files.strays if self.reports_strays else []

    def read(self) -> SequenceRead:
        """Every frame of the range with its box, or listed as hidden; problems reported, never raised."""
        result = SequenceRead(seen=self._span)
        result.skipped += [(None, None, BadInput(NOT_A_FRAME, f"{path}: not a frame of the layout "
                                                              f"({self._naming()}); left alone"))
                           for path in self.stray_files()]
        lines = self._lines
        if isinstance(lines, BadInput):
            result.skipped.append((None, None, lines))
            return result
        result.skipped += [(None, None, bad) for bad in self._count_problems()]
        frames = self._files.frames
        if not frames:
            result.skipped.append((None, None, BadInput(FRAME_MISSING, f"{self.frames_dir}: no frame files "
                                                                       f"({self._naming()})")))
            return result
        last_file = max(frames)
        for k in range(self._span):
            index = self.first + k
            if index > last_file:
                break  # reported once by _count_problems
            try:
                row = self.row(lines[k], self.line_number(k))
            except BadInput as bad:
                result.skipped.append((index, TRACK, bad))
                continue
            path = self.frame_path(index)
            if row.flags or row.box is None:
                result.frames.append(SourceFrame(index, path, hidden=((TRACK, row.flags or self.HIDDEN, self.cls),)))
                continue
            box = tuple(float(v) for v in xywh_to_xyxy(row.box, self.one_based))
            obj = SourceObject(TRACK, self.cls, box, occluded=row.occluded)  # type: ignore[arg-type]
            result.frames.append(SourceFrame(index, path, (obj,)))
        return result

    # -- helpers ------------------------------------------------------------------------------------------------

    def _naming(self) -> str:
        start = "from 0" if self.NUMBER.fullmatch("0") else "from 1"
        return f"<number>.jpg, numbered {start}"

    def _count_problems(self) -> list[BadInput]:
        """What is wrong with the line count: against the range, against the frame files."""
        lines = self._lines
        assert not isinstance(lines, BadInput)
        found = []
        if self.expected is not None and len(lines) != self.expected:
            end = self.first + self.expected - 1
            where = f", line {self.expected + 1}" if len(lines) > self.expected else ""
            found.append(BadInput(GT_LINE_COUNT, (
                f"{self.box_file}{where}: {len(lines)} lines for the {self.expected} frames {self.first}..{end} of "
                f"the benchmark's range" + ("; the lines past the range are ignored" if where else
                                            f"; frames {self.first + len(lines)}..{end} have no box"))))
        frames = self._files.frames
        last = self.first + self._span - 1
        last_file = max(frames, default=None)
        if last_file is not None and last_file < last:
            n = last_file - self.first + 2
            found.append(BadInput(GT_LINE_COUNT, (
                f"{self.box_file}, line {n}: {self._span} boxes for frames {self.first}..{last}, but "
                f"{self.frames_dir} ends at {frames[last_file].name}; lines {n}-{self._span} have no frame file")))
        if self.whole_folder and last_file is not None and last_file > last:
            after = [i for i in frames if i > last]
            found.append(BadInput(GT_LINE_COUNT, (
                f"{self.box_file}, line {self._span + 1}: missing; the file has {self._span} lines but "
                f"{self.frames_dir} has {len(after)} more frame files ({frames[min(after)].name} to "
                f"{frames[max(after)].name}), left out without a box")))
        return found

    @functools.cached_property
    def _lines(self) -> list[str] | BadInput:
        return content_lines_or_problem(self.box_file)

    @functools.cached_property
    def _span(self) -> int:
        """Frames of the sequence: the range, or the box lines when there is no range or they fall short."""
        lines = self._lines
        n = 0 if isinstance(lines, BadInput) else len(lines)
        if self.expected is None:
            return n
        return min(n, self.expected) if n else self.expected

    @functools.cached_property
    def _files(self) -> FrameFiles:
        return list_frame_files(self.frames_dir, self.NUMBER, known=self.known,
                                preferred=lambda name: len(name.split(".")[0]) == self.digits)

    @functools.cached_property
    def _width(self) -> int:
        """The zero padding of the folder's frame names (the most common), else the layout's."""
        widths = [len(p.stem) for p in self._files.frames.values()]
        return max(set(widths), key=widths.count) if widths else self.digits


# -- the "sequences" formats ------------------------------------------------------------------------------------


def box_files(folder: Path) -> list[Path]:
    """The box files a ``<seq>/`` folder holds, of ``groundtruth.txt``, ``groundtruth_rect.txt`` and ``<seq>.txt``."""
    names = (*BOX_FILES, f"{folder.name}.txt")
    return [folder / name for name in names if (folder / name).is_file()]


def _has_frames(folder: Path) -> bool:
    """Whether ``folder`` holds frame images directly or an ``img/`` folder."""
    if (folder / IMAGES).is_dir():
        return True
    try:
        with os.scandir(folder) as entries:  # closed also when any() stops early
            return any(os.path.splitext(e.name)[1].lower() in FRAME_SUFFIXES for e in entries)
    except OSError:
        return False


def _sequence(folder: Path, one_based: bool, passed_over: list[str]) -> BoxFileSequence | None:
    """The sequence of a ``<seq>/`` folder; None for a folder without frames (not a sequence: left to the file
    account) or, with a passed-over line, for one with frames but not exactly one box file."""
    found = box_files(folder)
    if not found and not _has_frames(folder):
        return None
    if len(found) != 1:
        why = "no box file" if not found else f"{len(found)} box files ({', '.join(p.name for p in found)})"
        passed_over.append(f"{folder}: {why}; a sequence has exactly one of {', '.join(BOX_FILES)} or "
                           f"{folder.name}.txt")
        return None
    images = folder / IMAGES
    in_img = images.is_dir()
    sequence_id = f"{SPLIT}/{folder.name}"
    if not key_fits(sequence_id):
        passed_over.append(f"{folder}: name too long for a shard key")
        return None
    return BoxFileSequence(sequence_id, SPLIT, images if in_img else folder, found[0], one_based=one_based,
                           known=() if in_img else (found[0].name,))


def search(root: str | Path, splits: tuple[str, ...], one_based: bool) -> SequenceSearch:
    """Every ``<seq>/`` folder of ``root`` (or ``root`` itself when it is one), sorted by id."""
    root = check_folder(root)
    check_splits(splits, (SPLIT,))
    result = SequenceSearch()
    if box_files(root):
        folders = [root]
    else:
        folders = [f for f in subfolders(root) if f.name != IMAGES]
    first_paths = FirstPaths(result.passed_over)
    for folder in folders:
        if not first_paths.first(folder):
            continue
        sequence = _sequence(folder, one_based, result.passed_over)
        if sequence is not None:
            result.sequences.append(sequence)
    if not result.sequences:
        raise CurationError(f"{root}: no sequence folder (<seq>/ with frames, directly or in img/, and one of "
                            f"{', '.join(BOX_FILES)} or <seq>.txt)")
    result.sequences.sort(key=lambda s: s.id)
    return result


def _never(root: Path) -> bool:
    return False


FORMAT = SourceFormat(name="sequences", title="your own sequences (0-based boxes)", splits=(SPLIT,),
                      looks_like=_never, search=lambda root, splits: search(root, splits, ONE_BASED["sequences"]))
FORMAT_ONE_BASED = SourceFormat(name="sequences1", title="your own sequences (1-based boxes)", splits=(SPLIT,),
                                looks_like=_never,
                                search=lambda root, splits: search(root, splits, ONE_BASED["sequences1"]))
