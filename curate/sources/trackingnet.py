"""TrackingNet (``--format trackingnet``): one box per frame per video, read from the devkit's layout.

Layout (as the TrackingNet devkit, github.com/SilvioGiancola/TrackingNet-devkit, downloads and extracts it)::

    <root>/TRAIN_<k>/anno/<video>.txt          one "x,y,w,h" line per frame (CRLF line ends, 2 decimals)
    <root>/TRAIN_<k>/frames/<video>/<i>.jpg    frame i, numbered from 0 without zero padding (0.jpg ... 10.jpg)
    <root>/TEST/anno/<video>.txt               the first frame's box only: not curatable

``k`` is 0..11. The split that can be curated is ``train``; a video's snippet id keeps its chunk,
``train/TRAIN_<k>/<video>``. The root may also be one chunk folder itself (``<root>`` named ``TRAIN_<k>`` with
``anno`` and ``frames`` in it): its videos get the same ids as in the whole tree, so the keys of a curation do not
depend on which of the two was given. Chunk folders are found by name (``TRAIN_`` and a number, in any case:
``train_1`` is ``TRAIN_1`` in the ids, as the devkit writes it); a chunk that reaches the same folder as another (a
link) is passed over, as is one holding neither ``anno`` nor ``frames`` (zips not extracted) and a folder that looks
meant as a chunk but is not one (``TRAIN``, ``TRAIN_1_old``: named, not read). Names starting with ``.`` are not
videos.

Box convention: ``x, y`` is the 0-based top-left pixel and ``w, h`` the size in pixels, like the got10k toolkit's
``xywh``; converted with :func:`siamfc.curate.boxes.xywh_to_xyxy` (``one_based=False``): ``xmax = x + w - 1``.
Evidence: the devkit's ``metrics.py`` (the evaluation server's code) computes ``x2 = x1 + w - 1`` and the centre
``x1 + (w + 1) / 2`` on the text values as they are, no 1 subtracted, and its ``generate_BB_frames.py`` draws
``(int(x), int(y))``-``(int(x + w), int(y + h))`` straight into 0-based OpenCV pixel indices; pytracking's loaders
(``ltr/dataset/tracking_net.py``, ``pytracking/evaluation/trackingnetdataset.py``) read the files with
``delimiter=','`` and use the values unchanged, as for GOT-10k's 0-based boxes. The annotations are made in Python
(YouTube-BB key frames, densified by a tracker), not MATLAB. Boxes are fractional (``-4.07,96.34,236.30,172.80``)
and are kept so; boxes of a target partly out of view reach beyond the frame (devkit issue #23) and are kept as
annotated: the files do not state the frame size, so the crop step checks each box against the decoded JPEG and
skips only one wholly outside the frame (``box_outside_frame``).

Track and class: one target per video, track 0; TrackingNet's training set has no classes (class ``""``).

Visibility: TrackingNet has no visibility, absence or occlusion annotation (the maintainers, devkit issue #14: no
per-frame occlusion information, no long-term occlusion in the training set), so nothing is ever ``hidden``. A box
of zero or negative size is not a documented "absent" placeholder either (pytracking's ``valid = (w > 0) & (h > 0)``
is the same generic guard its loaders apply to every dataset), so it is bad input: ``box_empty``, naming the line;
so is a box at most one pixel wide or high, which every later step would reject as empty (``check_in_frame``).

Frame numbers: line ``n`` (1-based) of ``anno/<video>.txt`` is frame ``n - 1``, whose file is ``<n - 1>.jpg``; the
frame number is the file's number, which is also the record key's frame. The frame folder is listed once and
matched by number, never by sorted position. Bad input, each reported once with the file (and line):

- a missing frame file inside the annotated range (TrackingNet has such gaps): ``frame_missing`` for that frame,
  naming the file and its annotation line; the rest of the video is curated;
- lines after the last frame file, or frame files after the last line: ``gt_line_count``, once, naming the
  annotation file and the first line concerned (frames without a line have no box and are left out);
- a line that is not 4 finite numbers (empty, NaN, text): ``box_malformed`` for that frame; blank lines at the end
  of a file are not frames;
- a missing annotation file beside a frame folder: ``label_missing``, once, and the video's frames are skipped
  (TrackingNet's only annotation is that file: without it no frame has a box); a missing frame folder beside an
  annotation file: ``frame_missing``, once;
- a file in a frame folder that is not ``<number>.jpg`` as the devkit names frames (``007.jpg``, ``notes.txt``;
  the suffix may be ``.jpg`` or ``.jpeg`` in any case, :func:`~.base.list_frame_files`): ``not_a_frame``, left
  alone.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import (
    FRAME_MISSING,
    GT_LINE_COUNT,
    LABEL_MISSING,
    NOT_A_FRAME,
    BadInput,
    CurationError,
)
from ..paths import check_folder
from ..schema import key_fits
from .base import (
    Sequence,
    SequenceRead,
    SequenceSearch,
    SourceFormat,
    SourceFrame,
    SourceObject,
    check_splits,
    list_frame_files,
)
from .text_files import content_lines, content_lines_or_problem, read_box

SPLITS = ("train",)
TRACK = 0  # the one target of a video
CLASS = ""  # TrackingNet's training set has no classes
_CHUNK = re.compile(r"TRAIN_[0-9]+", re.IGNORECASE)  # named in upper case in ids, whatever the folder's case
_CHUNK_LIKE = re.compile(r"TRAIN.*", re.IGNORECASE)  # a folder that may be meant as a chunk: named if not one
_FRAME_NUMBER = re.compile(r"0|[1-9][0-9]{0,8}")  # as the devkit names frames: no zero padding


@dataclass(frozen=True)
class Video(Sequence):
    """One TrackingNet video: its id, its annotation file and its frame folder (either may be missing)."""

    id: str
    split: str
    anno: Path
    frames_dir: Path

    def frame_path(self, index: int) -> Path:
        """The JPEG of frame ``index``."""
        return self.frames_dir / f"{index}.jpg"

    def frame_count(self) -> int:
        """Annotated frames (lines of the annotation file), or frame files when the annotation file is missing."""
        try:
            return len(content_lines(self.anno))  # not cached: the video travels to a worker, which reads afresh
        except BadInput:
            return len(self._files[0])

    def input_files(self) -> list[Path]:
        """The annotation file, the frame file of every line (present or not) and every other file of the frame
        folder (frames without a line, stray files)."""
        lines, frames, strays = self._lines, self._files[0], self._files[1]
        n = len(lines) if isinstance(lines, list) else 0  # no lines: the frame files are listed below
        expected = [self.frame_path(i) for i in range(n)]
        return [self.anno, *expected, *(frames[i] for i in sorted(frames) if i >= n), *strays]

    def read(self) -> SequenceRead:
        """One frame per annotation line whose frame file exists; everything else reported (module docstring)."""
        lines = self._lines
        frames, strays = self._files
        if isinstance(lines, BadInput):  # missing or unreadable annotation file
            bad = lines
            if bad.reason == LABEL_MISSING and frames:
                bad = BadInput(LABEL_MISSING, f"{bad.detail}; the {len(frames)} frames of {self.frames_dir} "
                                              "have no box and are skipped")
            return SequenceRead(skipped=[(None, None, bad)], seen=len(frames))
        result = SequenceRead(seen=len(lines))
        for path in strays:
            result.skipped.append((None, None, BadInput(NOT_A_FRAME, f"{path}: not a frame file (<number>.jpg, "
                                                                     "no zero padding); left alone")))
        if not self._folder_exists:
            if lines:
                result.skipped.append((None, None, BadInput(FRAME_MISSING, (
                    f"{self.frames_dir}: no such folder; the {len(lines)} annotated frames of {self.anno} are "
                    "skipped"))))
            return result
        last = max(frames, default=-1)  # frame files after it have no line; lines after it have no frame file
        if len(lines) > last + 1:
            first = last + 2
            after = f"{self.frames_dir} ends at {last}.jpg" if frames else f"{self.frames_dir} holds no frame file"
            span = f"line {first} has" if first == len(lines) else f"lines {first}-{len(lines)} have"
            result.skipped.append((None, None, BadInput(GT_LINE_COUNT, (
                f"{self.anno}, line {first}: {len(lines)} lines, but {after}; {span} no frame file "
                "(skipped)"))))
        extra = sorted(i for i in frames if i >= len(lines))
        if extra:
            result.skipped.append((None, None, BadInput(GT_LINE_COUNT, (
                f"{self.anno}, line {len(lines) + 1}: missing; the file has {len(lines)} lines but "
                f"{self.frames_dir} has {len(extra)} more frame files ({extra[0]}.jpg to {extra[-1]}.jpg), "
                "left out without a box"))))
        for index, line in enumerate(lines[: last + 1]):
            try:
                result.frames.append(self._frame(index, line, frames))
            except BadInput as bad:
                result.skipped.append((index, TRACK, bad))
        return result

    def _frame(self, index: int, line: str, frames: dict[int, Path]) -> SourceFrame:
        number = index + 1
        if index not in frames:
            raise BadInput(FRAME_MISSING, f"{self.frame_path(index)}: no such file; its box is {self.anno}, "
                                          f"line {number}")
        box = read_box(line, self.anno, number)
        return SourceFrame(index, frames[index], (SourceObject(TRACK, CLASS, box),))

    @functools.cached_property
    def _lines(self) -> list[str] | BadInput:
        """The box lines of the annotation file (trailing blank lines dropped), or why it cannot be read."""
        return content_lines_or_problem(self.anno)

    @functools.cached_property
    def _folder_exists(self) -> bool:
        return self.frames_dir.is_dir()

    def frame_files(self) -> dict[int, Path]:
        """Frame number -> file, for the frame files in the frame folder."""
        return self._files[0]

    def stray_files(self) -> list[Path]:
        return self._files[1]

    @functools.cached_property
    def _files(self) -> tuple[dict[int, Path], list[Path]]:
        """(frame number -> file, stray files) of the frame folder, listed once (empty when it is missing)."""
        listing = list_frame_files(self.frames_dir, _FRAME_NUMBER)
        return listing.frames, listing.strays


def _chunk_name(folder: Path) -> str:
    """The chunk's name as the devkit writes it (``TRAIN_<k>``, upper case), also for a folder given as ``.``."""
    return os.path.basename(os.path.abspath(folder)).upper()


def _is_chunk(folder: Path) -> bool:
    return bool(_CHUNK.fullmatch(_chunk_name(folder))) and ((folder / "anno").is_dir() or (folder / "frames").is_dir())


def looks_like(root: Path) -> bool:
    """Whether ``root`` is a TrackingNet tree (``TRAIN_<k>`` or ``TEST`` chunks with ``anno`` or ``frames``), or one
    ``TRAIN_<k>`` chunk."""
    if _is_chunk(root):
        return True
    try:
        children = [p for p in root.iterdir() if _CHUNK.fullmatch(p.name) or p.name.upper() == "TEST"]
    except OSError:
        return False
    return any((p / "anno").is_dir() or (p / "frames").is_dir() for p in children)


def search(root: str | Path, splits: tuple[str, ...] = SPLITS) -> SequenceSearch:
    """Every video of the ``TRAIN_<k>`` chunks under ``root`` (or of the chunk ``root`` is), sorted by id.

    Raises CurationError naming the root when it is missing, when a split other than ``train`` is asked for, or
    when no video is found."""
    root = check_folder(root)
    check_splits(splits, SPLITS, "TEST has only the first frame's box, so it cannot be curated")
    result = SequenceSearch()
    chunks = [root] if _is_chunk(root) else _chunks(root, result.passed_over)
    seen: dict[str, Path] = {}
    for chunk in chunks:
        real = os.path.realpath(chunk)
        if real in seen:
            result.passed_over.append(f"{chunk}: reaches the same folder as {seen[real]} ({real})")
            continue
        seen[real] = chunk
        if not _is_chunk(chunk):
            result.passed_over.append(f"{chunk}: neither anno nor frames folder (zips not extracted?)")
            continue
        result.sequences += _chunk_videos(chunk, result.passed_over)
    if not result.sequences:
        raise CurationError(f"{root}: no TrackingNet video (TRAIN_<k>/anno/<video>.txt or "
                            "TRAIN_<k>/frames/<video>/) found")
    result.sequences.sort(key=lambda s: s.id)
    return result


def _chunks(root: Path, passed_over: list[str]) -> list[Path]:
    """The ``TRAIN_<k>`` folders of ``root`` (any case); folders that look meant as chunks but are not are named
    (``TRAIN``, ``TRAIN_1_old``: not a chunk name)."""
    chunks, names = [], {}
    for p in sorted(p for p in root.iterdir() if p.is_dir()):
        if _CHUNK.fullmatch(p.name):
            if _chunk_name(p) in names:
                passed_over.append(f"{p}: the same chunk as {names[_chunk_name(p)]} (names differ in case only)")
                continue
            names[_chunk_name(p)] = p
            chunks.append(p)
        elif _CHUNK_LIKE.fullmatch(p.name):
            passed_over.append(f"{p}: not a chunk name (TRAIN_<k>); rename it to curate its videos")
    return chunks


def _chunk_videos(chunk: Path, passed_over: list[str]) -> list[Video]:
    """The videos of one chunk: every annotation file and every frame folder, paired by name."""
    anno_dir, frames_dir = chunk / "anno", chunk / "frames"
    names = set()
    if anno_dir.is_dir():
        names |= {p.name[:-4] for p in anno_dir.iterdir() if p.name.endswith(".txt") and not p.is_dir()}
    if frames_dir.is_dir():
        names |= {p.name for p in frames_dir.iterdir() if p.is_dir()}
    videos = []
    for name in sorted(n for n in names if n and not n.startswith(".")):
        video_id = f"train/{_chunk_name(chunk)}/{name}"
        if key_fits(video_id):
            videos.append(Video(video_id, "train", anno_dir / f"{name}.txt", frames_dir / name))
        else:
            passed_over.append(f"{frames_dir / name}: path too long for a shard key")
    return videos


def outside(root: Path, path: Path, splits: tuple[str, ...]) -> str | None:
    """Files the layout leaves alone by design: the TEST chunk (first boxes only)."""
    parts = path.relative_to(root).parts
    return "TEST split (first box only)" if len(parts) > 1 and parts[0].upper() == "TEST" else None


FORMAT = SourceFormat(name="trackingnet", title="TrackingNet", splits=SPLITS, looks_like=looks_like, search=search,
                      outside=outside)


def test_videos(root: str | Path) -> list[tuple[str, Path, int]]:
    """TrackingNet's test videos as its evaluation server expects them: ``(name, annotation file whose first line
    is the given first box, frame count)`` per video, sorted by name: every ``TEST/anno/<video>.txt`` and every
    ``TEST/frames/<video>/``. ``root`` is the dataset root (holding ``TEST``, any case) or the ``TEST`` folder
    itself. The frame count is the last frame file's number + 1 (frames count from 0), 0 when there is no frame
    folder. CurationError naming the root when it holds no test video."""
    root = check_folder(root)
    tests = [p for p in sorted(root.iterdir()) if p.name.upper() == "TEST" and p.is_dir()]
    chunk = tests[0] if tests else root
    names: set[str] = set()
    if (chunk / "anno").is_dir():
        names |= {p.name[:-4] for p in (chunk / "anno").iterdir() if p.name.endswith(".txt") and not p.is_dir()}
    if (chunk / "frames").is_dir():
        names |= {p.name for p in (chunk / "frames").iterdir() if p.is_dir()}
    names = {n for n in names if n and not n.startswith(".")}
    if not names:
        raise CurationError(f"{root}: no TrackingNet test video (TEST/anno/<video>.txt or TEST/frames/<video>/)")
    videos = [Video(f"test/TEST/{n}", "test", chunk / "anno" / f"{n}.txt", chunk / "frames" / n) for n in sorted(names)]
    return [(v.id.rsplit("/", 1)[-1], v.anno, max(v._files[0], default=-1) + 1) for v in videos]
