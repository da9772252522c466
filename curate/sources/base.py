"""The contract every dataset source meets, and the helpers sources share.

A *source* reads one dataset layout. It finds the sequences of a root (:class:`SourceFormat` ``search``), and
each :class:`Sequence` reads its own annotations into :class:`SourceFrame` objects: for each annotated frame the
image file, the visible objects (track id, class name, box, flags) and the objects that are annotated but not
visible (``hidden``, with :mod:`~siamfc.curate.schema`'s visibility flags). Everything after a source sees only
these objects, never a dataset's files.

Boxes leave a source in the package's ``xyxy`` convention (:mod:`siamfc.curate.boxes`: 0-based inclusive pixel
indices); each source converts its dataset's own convention, which its module docstring names.

A sequence is stored as one *snippet* of the curation: its id is ``<split>/<name>`` (the split first, see
:func:`siamfc.curate.schema.split_of`), the prefix of its crops' keys.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BOX_EMPTY, BOX_OUTSIDE_FRAME, BadInput, CurationError
from ..schema import COVER_UNKNOWN

BOX_TOLERANCE = 1  # pixels a box may reach beyond the frame before it counts as bad input

Box = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax: 0-based inclusive pixel indices
Skip = tuple[int | None, int | None, BadInput]  # (frame, track, why); None where it concerns no single one


@dataclass(frozen=True)
class SourceObject:
    """One visible object in one frame."""

    track: int
    cls: str  # class name in the source's vocabulary ("" when the dataset has none)
    box: Box
    occluded: int = 0  # ImageNet VID's flag
    generated: int = 0  # ImageNet VID's flag (box interpolated between key frames)
    cover: int = COVER_UNKNOWN  # GOT-10k's visible-ratio class 1..8
    cut: int = 0  # GOT-10k's cut_by_image flag


@dataclass(frozen=True)
class SourceFrame:
    """One annotated frame: its number, image file, visible objects and what was left out of it."""

    index: int  # frame number: part of the record key
    path: Path  # the image file
    objects: tuple[SourceObject, ...] = ()
    hidden: tuple[tuple[int, int, str], ...] = ()  # (track, visibility flags, class) of objects not visible here
    size: tuple[int, int] | None = None  # (width, height) when the annotation states it: checked against the JPEG
    rejected: tuple[tuple[int | None, BadInput], ...] = ()  # (track if known, why) of objects not usable


@dataclass
class SequenceRead:
    """What a sequence's annotation files hold."""

    frames: list[SourceFrame] = field(default_factory=list)  # in frame order
    skipped: list[Skip] = field(default_factory=list)  # problems not tied to one object of a listed frame
    seen: int = 0  # annotated frames examined, those that were skipped included
    notes: list[str] = field(default_factory=list)  # problems that drop nothing (a class name that cannot be read)


class Sequence(ABC):
    """One sequence of a source; picklable, since workers read it."""

    id: str  # ``<split>/<name>``, unique in the source
    split: str

    @abstractmethod
    def frame_count(self) -> int:
        """Annotated frames, cheaply (for progress bars); :attr:`SequenceRead.seen` is the exact figure."""

    @abstractmethod
    def input_files(self) -> list[Path]:
        """Every file the sequence's curation reads: a rerun with ``--refresh`` redoes it when one changes."""

    @abstractmethod
    def read(self) -> SequenceRead:
        """The sequence's frames; bad input is reported in the result, never raised."""

    def placeholder_boxes(self) -> dict[int, tuple[float, float, float, float]]:
        """Row of :meth:`ground_truth` -> the ``x, y, w, h`` box (0-based) the annotation writes where the target
        is not visible, for the toolkits that score those frames against it (NfS); empty for the others."""
        return {}

    def stray_files(self) -> list[Path]:
        """Files in the sequence's folders that are neither frames nor annotations; :meth:`read` reports each as
        ``not_a_frame`` (the file account of a run counts them as reported)."""
        return []

    def track_frames(self) -> list[Path]:
        """Every frame file to track, in order, annotated or not: element ``i`` is the file of the ``i``-th frame
        number of the sequence in the benchmark's own numbering (a missing file is listed under its expected name,
        so whoever opens it names it). Default: the frames :meth:`read` lists, in order; a source whose benchmark
        tracks through frames without annotation, or numbers them otherwise, overrides it."""
        return [frame.path for frame in self.read().frames]

    def ground_truth(self) -> np.ndarray:
        """``[len(track_frames()), 4]`` float64 ``x, y, w, h`` in the package's 0-based convention
        (:mod:`siamfc.curate.boxes`), NaN rows where the target is not annotated or not visible (a hidden frame's
        placeholder box is never returned). Default: the box of the lowest track :meth:`read` gives each frame of
        :meth:`track_frames` (``xyxy`` back to ``x, y, w, h``), NaN elsewhere."""
        boxes = {}
        for frame in self.read().frames:
            if frame.objects:
                boxes[frame.path] = min(frame.objects, key=lambda o: o.track).box
        frames = self.track_frames()
        rows = np.full((len(frames), 4), np.nan)
        for i, path in enumerate(frames):
            if path in boxes:
                xmin, ymin, xmax, ymax = boxes[path]
                rows[i] = (xmin, ymin, xmax - xmin + 1, ymax - ymin + 1)
        return rows


@dataclass
class SequenceSearch:
    """The sequences found under a root, and the folders passed over (one line each, naming the folder)."""

    sequences: list[Sequence] = field(default_factory=list)
    passed_over: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the user should know that drops nothing
    read: list[Path] = field(default_factory=list)  # files the search itself read (split lists)


def _same(name: str) -> str:
    return name


def _as_given(names: list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(names)))


def _nothing(root: Path, path: Path, splits: tuple[str, ...]) -> str | None:
    return None


def check_splits(splits: tuple[str, ...], known: tuple[str, ...], why: str = "") -> None:
    """CurationError naming the splits of ``splits`` that are not in ``known`` (``why``: a sentence to add)."""
    unknown = sorted(set(splits) - set(known))
    if unknown:
        raise CurationError(f"unknown split(s) {unknown}; choose from {list(known)}{'; ' + why if why else ''}")


def not_asked(split: str) -> str:
    """The account's kind for the files of a split the run did not ask for."""
    return f"split {split} (not asked for)"


@dataclass(frozen=True)
class SourceFormat:
    """A dataset layout: how to recognise it, find its sequences and name its classes."""

    name: str  # the ``--format`` value
    title: str  # the dataset's name
    splits: tuple[str, ...]  # splits that can be curated, the default first
    looks_like: Callable[[Path], bool]  # whether a root has this layout
    search: Callable[[Path, tuple[str, ...]], SequenceSearch]  # the sequences of the given splits, sorted by id
    still_images: bool = False  # every track is one image: a pair is two augmentations of one crop
    known_classes: tuple[str, ...] = ()  # a fixed vocabulary, in its official order (VID); others are found
    class_label: Callable[[str], str] = _same  # readable name of a stored class name
    resolve_classes: Callable[[list[str]], tuple[str, ...]] = _as_given  # ``--classes`` -> stored class names
    # (root, file, the run's splits) -> why the run leaves the file alone by design (another split, a file the layout
    # does not read), or None; the file account (:mod:`.account`) counts each file under that kind
    outside: Callable[[Path, Path, tuple[str, ...]], str | None] = _nothing


FRAME_SUFFIXES = frozenset({".jpg", ".jpeg"})  # frame files, matched whatever their case (``.JPG`` too)


@dataclass
class FrameFiles:
    """The files of a frame folder: frames by number, and the strays (neither a frame nor a known file)."""

    frames: dict[int, Path] = field(default_factory=dict)
    strays: list[Path] = field(default_factory=list)


def list_frame_files(folder: Path, number: re.Pattern[str], known: Collection[str] = (),
                     preferred: Callable[[str], bool] = lambda name: True) -> FrameFiles:
    """Every file of ``folder``: ``<number><suffix>`` (``number`` the pattern of a frame number, the suffix one of
    :data:`FRAME_SUFFIXES` in any case) is a frame; names in ``known`` (a sequence's annotation files) are left
    alone; every other file is a stray, and so is a second file of the same frame number (the name for which
    ``preferred`` holds wins, then the first in sorted order). Subfolders are not listed; a missing or unreadable
    folder has no files."""
    found = FrameFiles()
    try:
        with os.scandir(folder) as it:
            entries = [(e.name, e.is_dir()) for e in it]
    except OSError:
        return found
    for name, is_dir in sorted(entries, key=lambda e: (not preferred(e[0]), e[0])):
        if is_dir or name in known:
            continue
        stem, suffix = os.path.splitext(name)
        if suffix.lower() in FRAME_SUFFIXES and number.fullmatch(stem) and int(stem) not in found.frames:
            found.frames[int(stem)] = folder / name
        else:
            found.strays.append(folder / name)
    found.frames = dict(sorted(found.frames.items()))
    found.strays.sort()
    return found


def check_in_frame(box: Box, width: int, height: int, where: str,
                   tolerance: float | None = BOX_TOLERANCE) -> Box:
    """``box`` (``xyxy``) checked against a ``width`` x ``height`` frame; BadInput when it is empty or lies outside.

    With a ``tolerance`` (ImageNet VID, whose boxes are drawn inside the frame), a box may reach that many pixels
    beyond the frame and is clipped to it. With None (datasets that annotate the whole target, part of it out of
    view), the box is kept as annotated and only one wholly outside the frame is bad."""
    xmin, ymin, xmax, ymax = box
    if not xmax > xmin or not ymax > ymin:  # a one-pixel-wide VID box (xmax == xmin) is zero-width for every tool
        raise BadInput(BOX_EMPTY, f"{where}: box {tuple(box)} has zero or negative size")
    outside = BadInput(BOX_OUTSIDE_FRAME, f"{where}: box {tuple(box)} lies outside the {width}x{height} frame")
    if tolerance is None:
        if xmax < 0 or ymax < 0 or xmin > width - 1 or ymin > height - 1:
            raise outside
        return box
    t = tolerance
    if xmin < -t or ymin < -t or xmax > width - 1 + t or ymax > height - 1 + t:
        raise outside
    clipped = (max(xmin, 0), max(ymin, 0), min(xmax, width - 1), min(ymax, height - 1))
    if clipped[2] < clipped[0] or clipped[3] < clipped[1]:
        raise outside
    return clipped


class FirstPaths:
    """Folders by their real path: the first path to a folder is taken, a second one (a link to a folder already
    found) is passed over with a line naming both."""

    def __init__(self, passed_over: list[str]):
        self._seen: dict[str, Path] = {}
        self._passed_over = passed_over

    def first(self, folder: Path) -> bool:
        """Whether ``folder`` is reached for the first time (else the passed-over line is added)."""
        real = os.path.realpath(folder)
        if real in self._seen:
            self._passed_over.append(f"{folder}: reaches a folder found by another path ({self._seen[real]})")
            return False
        self._seen[real] = folder
        return True


def subfolders(folder: Path) -> list[Path]:
    """The subfolders of ``folder`` whose names do not start with ``.``, sorted; none when it cannot be listed."""
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def folders_where(top: Path, wanted: Callable[[str, list[str], list[str]], bool],
                  passed_over: list[str]) -> list[Path]:
    """Folders under ``top`` (itself included) for which ``wanted(path, subfolder names, file names)`` holds,
    following symbolic links (dumps spread over disks are often linked together). Each real folder is visited
    once, by its plain path when it has one under ``top``; a link that reaches a folder found by another path,
    or loops back into one being walked, is listed in ``passed_over`` and not followed."""
    plain = {os.path.realpath(d) for d, _, _ in os.walk(top)}  # reached without following any link
    found, seen = [], set(plain)
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        keep = []
        for name in sorted(dirnames):
            path = os.path.join(dirpath, name)
            real = os.path.realpath(path)
            if not os.path.islink(path) and real in plain:
                keep.append(name)
            elif real in seen:
                passed_over.append(f"{path}: reaches a folder found by another path ({real})")
            else:
                seen.add(real)
                keep.append(name)
        dirnames[:] = keep
        if wanted(dirpath, dirnames, filenames):
            found.append(Path(dirpath))
    return sorted(found)
