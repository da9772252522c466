"""Evaluation sequences: OTB, GOT-10k, LaSOT and ImageNet VID val read into :class:`EvalSequence` objects.

Every ground truth is returned as ``x, y, w, h`` in the package's 0-based pixel convention
(:mod:`siamfc.curate.boxes`), one row per frame, NaN rows where the target is not annotated.

Layouts (any folder below the given root that matches one is a sequence; its name is its path relative to
the root, so an OTB root gives ``Basketball``, a GOT-10k root ``val/GOT-10k_Val_000001``):

- OTB: ``<seq>/img/0001.jpg ...`` and ``<seq>/groundtruth_rect.txt``, fields separated by commas, tabs or spaces;
  line ``i`` is image number ``i`` (OTB's ``%04d.jpg`` from 1; the number is read, whatever its width).
  OTB's files are **1-based** (MATLAB): 1 is subtracted from ``x`` and ``y``. A sequence with several targets
  has ``groundtruth_rect.1.txt``, ``groundtruth_rect.2.txt`` (Jogging, Skating2): one sequence each, named
  ``Jogging.1``, ``Jogging.2``; empty files are ignored (Human4). Five OTB sequences annotate only a range of
  their images (:data:`OTB_FRAME_RANGES`, from the benchmark's ``configSeqs``): line 1 is the range's first image.
- GOT-10k: ``<seq>/00000001.jpg ...`` and ``<seq>/groundtruth.txt`` (comma separated, 0-based, used as is), the
  frames listed by the GOT-10k source (:class:`~siamfc.curate.sources.got10k.Got10kSequence`): line ``i`` is
  ``<i:08d>.jpg``. Frames flagged in ``absence.label`` (val split) are left unannotated. A test-split sequence (one
  box for many frames) is skipped: it has no ground truth to evaluate against.
- ImageNet VID: an ILSVRC2015 root; every ``val`` snippet gives one sequence, read straight from its XML through
  :mod:`siamfc.curate.sources.vid`. The target is the track that appears first (ties: the longest unbroken run from its
  first appearance, then the lowest trackid); the sequence runs from that first appearance to the track's last
  annotated frame, and frames in between where the track is not annotated (it left the view, or its object was
  rejected as bad input) are tracked through but not scored.
- LaSOT: a root that :mod:`siamfc.curate.sources.lasot` recognises (``<class>/<class>-<n>/img/*.jpg`` with
  ``groundtruth.txt``, ``full_occlusion.txt``, ``out_of_view.txt``; or those folders side by side), read through that
  module, which alone knows the layout. The benchmark is the protocol-II test split when the root's
  ``testing_set.txt`` names videos under it, else every video. Boxes are **1-based** like OTB's (the source's
  :data:`~siamfc.curate.sources.lasot.ONE_BASED`; results go back 1-based). Frames where the target is fully occluded
  or out of view are tracked through but not scored (NaN rows): LaSOT's boxes there are placeholders. The toolkits
  differ here: LaSOT's MATLAB toolkit (``utils/eval_tracker.m``, ``calc_seq_err_robust.m``) and pytracking's
  ``extract_results`` leave those frames out of the count of successes but divide by all frames, so they count as
  failures (a sequence's curves are ours times its share of scored frames), and got10k's ``ExperimentLaSOT`` scores
  every frame against the placeholder boxes. A video with any bad input (a malformed or missing label file, a bad
  box line, a line count other than the frame count) is skipped with the source's reason.

Frames are matched to ground-truth lines by their number, never by their position in a sorted listing: frame
files are ``<number>.jpg`` (``.jpg``/``.jpeg`` in any case, :func:`~siamfc.curate.sources.base.list_frame_files`).
A missing frame skips the sequence naming the file; files that are no frame (``thumb.jpg``, ``notes.txt``, a frame 0
where numbering starts at 1) are left alone and named in one note per sequence (:attr:`EvalSequence.notes`), or in
the skip reason when the sequence is skipped (one of them may be the missing frame, misnamed).

A sequence that cannot be evaluated is returned as :class:`Skipped` with the file at fault, the reason and its kind,
never fatal (LaSOT: see above): a malformed ground truth (read with the curation's
:mod:`~siamfc.curate.sources.text_files`: a row that is not 4 finite numbers, NaN mixed with numbers, a negative
size, a blank line before the last row, not text), an empty one, a box count other than the frame count, a missing
frame, a malformed ``absence.label``. A frame that does not decode is found while tracking
(:mod:`siamfc.model.evaluate`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from siamfc.curate.boxes import cxcywh_to_xywh, xyxy_to_cxcywh
from siamfc.curate.errors import (
    BOX_MALFORMED,
    FRAME_MISSING,
    GT_LINE_COUNT,
    LABEL_MALFORMED,
    NOT_A_FRAME,
    BadInput,
    CurationError,
)
from siamfc.curate.sources import got10k, lasot
from siamfc.curate.sources.base import list_frame_files
from siamfc.curate.sources.text_files import content_lines, parse_box
from siamfc.curate.sources.vid import find_snippets, parse_frame

NO_GROUND_TRUTH = "no_ground_truth"  # skip kind: nothing to score against (empty file, GOT-10k test split, ...)
OTB_GT = re.compile(r"^groundtruth_rect(?:\.(\d+))?\.txt$")
OTB_FRAME_RANGES = {  # 1-based inclusive image ranges of OTB sequences whose annotation covers part of the images
    "david": (300, 770), "football1": (1, 74), "freeman3": (1, 460), "freeman4": (1, 283), "diving": (1, 215),
}
_NUMBER = re.compile(r"[0-9]{1,9}")  # an OTB or VID frame file's name without its suffix
_SEPARATORS = re.compile(r"[,\t ]+")  # as text_files.parse_box splits a box line
_NAMED = 3  # stray files named in a note; the others are counted


@dataclass(frozen=True)
class EvalSequence:
    """One evaluation sequence: frame files in order and their ground truth."""

    name: str
    frames: tuple[Path, ...]
    gt: np.ndarray  # [N, 4] float64 x, y, w, h (0-based); NaN rows where the target is not annotated
    layout: str  # "otb", "got10k", "lasot" or "vid"
    target: str = ""  # which target when the source has several (VID: "track 3")
    gt_file: str = ""  # where the ground truth was read (VID: the snippet's annotation folder)
    cover: np.ndarray | None = None  # GOT-10k: visible ratio class per frame, 0 (not visible) .. 8 (all)
    resolution: tuple[int, int] | None = None  # GOT-10k: (width, height) from meta_info.ini
    one_based: bool = False  # the dataset's files count pixels from 1 (OTB, LaSOT): toolkit results go back so
    notes: tuple[str, ...] = ()  # one line each, printed with the report: files left alone (strays), ...

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class Skipped:
    """A sequence that could not be used, and why (``reason`` names the file too, for the printed report).

    ``kind`` groups the report: curation's reason names where one fits (``frame_missing``, ``frame_corrupt``,
    ``box_malformed``, ``gt_line_count``, ``label_missing``, ``label_malformed``), else :data:`NO_GROUND_TRUTH`,
    ``no_first_box`` or ``tracker_error``."""

    name: str
    reason: str
    file: str = ""  # the file (or folder) at fault
    kind: str = ""


class GroundTruthError(ValueError):
    """A ground-truth file that cannot be used; ``kind`` is the skip kind, the message names the file (and line)."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind


def read_box_file(path: Path, one_based: bool = False, negative: bool = False) -> np.ndarray:
    """One ``x, y, w, h`` row per line (line ``n`` is frame ``n``), read with the curation's
    :func:`~siamfc.curate.sources.text_files.content_lines` and ``parse_box``: commas, tabs or spaces between the
    numbers, CRLF line ends, a byte order mark and blank lines at the end are fine. A row of 4 ``NaN`` is an
    unannotated frame. Shifted to 0-based if asked; ``negative``: rows with a negative width or height are kept
    (placeholders of frames another file marks absent) instead of refused.

    Raises :class:`GroundTruthError` (a ValueError) naming the file and line for a row that is not 4 finite numbers
    (a blank line before the last row included: every later row would belong to the frame before), that mixes
    ``NaN`` with numbers or (unless ``negative``) has a negative width or height; and naming the file when it is
    missing or not text.
    """
    path = Path(path)
    try:
        lines = content_lines(path)
    except BadInput as bad:
        raise GroundTruthError(bad.reason, bad.detail) from None
    rows = [_box_row(line, path, n, negative) for n, line in enumerate(lines, 1)]
    boxes = np.array(rows, dtype=np.float64).reshape(-1, 4)
    if one_based:
        boxes[:, :2] -= 1
    return boxes


def _box_row(line: str, path: Path, number: int, negative: bool = False) -> list[float]:
    """One ``x, y, w, h`` row (4 NaN: an unannotated frame); GroundTruthError naming file and line otherwise."""
    try:
        row = list(parse_box(line, path, number))
    except BadInput as bad:
        if _nan_row(line):
            return [np.nan] * 4
        raise GroundTruthError(BOX_MALFORMED, bad.detail) from None
    if (row[2] < 0 or row[3] < 0) and not negative:
        raise GroundTruthError(BOX_MALFORMED, f"{path}, line {number}: negative width or height: {line.strip()!r}")
    return row


def _nan_row(line: str) -> bool:
    fields = [f for f in _SEPARATORS.split(line.strip()) if f]
    try:
        return len(fields) == 4 and all(np.isnan(float(f)) for f in fields)
    except ValueError:
        return False


def _read_gt(path: Path, one_based: bool = False, negative: bool = False) -> np.ndarray | GroundTruthError:
    """:func:`read_box_file`, or why it failed (naming the file)."""
    try:
        return read_box_file(path, one_based, negative)
    except GroundTruthError as err:
        return err


def _listed(paths: list[Path]) -> str:
    """``a.jpg, b.txt, c.png and 4 more``: file names, the first few."""
    names = ", ".join(p.name for p in paths[:_NAMED])
    return names + (f" and {len(paths) - _NAMED} more" if len(paths) > _NAMED else "")


def stray_note(strays: list[Path], what: str) -> str:
    """One line naming the files of a sequence's folder that are no frame of it (``what``: what a frame is)."""
    if not strays:
        return ""
    folders = sorted({str(p.parent) for p in strays})
    where = folders[0] if len(folders) == 1 else ", ".join(folders)
    count = f"{len(strays)} file{'s' if len(strays) > 1 else ''}"
    return f"{where}: {count} not a frame ({what}), left alone: {_listed(strays)}"


def check_frames(frames: dict[int, Path], first: int, last: int, expected: Callable[[int], Path], gt_path: Path,
                 boxes: int, strays: list[Path], what: str) -> tuple[Path, ...] | tuple[str, str, str]:
    """The frame files numbered ``first .. last`` in order, or ``(reason, file, kind)`` when one is missing or
    files numbered beyond ``last`` exist (the ``boxes`` lines of ``gt_path`` are frames ``first .. last``).
    ``expected(i)``: the path frame ``i`` would have. Stray files are named in the reason: one of them may be the
    frame that is missing."""
    numbers = [i for i in frames if i >= 1]
    missing = [i for i in range(first, last + 1) if i not in frames]
    beyond = [i for i in numbers if i > last]
    if not missing and not beyond:
        return tuple(frames[i] for i in range(first, last + 1))
    also = f"; {stray_note(strays, what)}" if strays else ""
    folder = expected(first).parent
    if missing and missing[0] < max(numbers, default=0):  # a gap: a later frame is there
        more = f" (and {len(missing) - 1} more, up to {expected(missing[-1]).name})" if len(missing) > 1 else ""
        return (f"{expected(missing[0])}: frame {missing[0]} missing{more}; {gt_path.name} has {boxes} boxes for "
                f"frames {first}..{last}{also}", str(expected(missing[0])), FRAME_MISSING)
    detail = f"no {expected(missing[0]).name}" if missing else f"the last is {frames[max(beyond)].name}"
    return (f"{gt_path}: {boxes} boxes for {len(numbers)} images in {folder} ({detail}){also}", str(gt_path),
            GT_LINE_COUNT)


def _digits(frames: dict[int, Path], default: int) -> int:
    """The zero-padded width of the frame files' numbers (the most common one), for naming a missing frame."""
    widths = [len(p.stem) for p in frames.values()]
    return max(set(widths), key=widths.count) if widths else default


def otb_sequences(seq_dir: Path, name: str) -> tuple[list[EvalSequence], list[Skipped]]:
    """The sequences of one OTB folder (one per non-empty ``groundtruth_rect*.txt``): line ``i`` of the ground
    truth is image ``img/<i>.jpg`` (``%04d`` in OTB, any width read), from the start of its range in
    :data:`OTB_FRAME_RANGES`. A malformed ground truth, a missing image, or images beyond the last box skip the
    sequence with the reason; files in ``img/`` that are not frames are named in a note."""
    all_files = sorted((p for p in seq_dir.iterdir() if OTB_GT.match(p.name)), key=lambda p: p.name)
    boxes = {p: _read_gt(p, one_based=True) for p in all_files}
    gt_files = [p for p in all_files if not isinstance(boxes[p], np.ndarray) or len(boxes[p])]
    if not gt_files:
        return [], [Skipped(name, f"{all_files[0]}: empty file, no ground truth", str(all_files[0]), NO_GROUND_TRUTH)]
    img = seq_dir / "img"
    listing = list_frame_files(img, _NUMBER)
    width = _digits(listing.frames, 4)
    strays = sorted(listing.strays + ([listing.frames[0]] if 0 in listing.frames else []))
    what = "<number>.jpg, numbered from 1"
    notes = (stray_note(strays, what),) if strays else ()
    found, skipped = [], []
    for p in gt_files:
        index = OTB_GT.match(p.name).group(1)
        seq_name = f"{name}.{index}" if index and len(gt_files) > 1 else name
        gt = boxes[p]
        if isinstance(gt, GroundTruthError):
            skipped.append(Skipped(seq_name, str(gt), str(p), gt.kind))
            continue
        start, end = OTB_FRAME_RANGES.get(seq_dir.name.lower(), (1, len(gt)))
        if end - start + 1 != len(gt):
            skipped.append(Skipped(seq_name, f"{p}: {len(gt)} boxes for {end - start + 1} images (OTB annotates "
                                             f"images {start}..{end} of {img})", str(p), GT_LINE_COUNT))
            continue
        frames = dict(listing.frames) if (start, end) == (1, len(gt)) else {
            i: f for i, f in listing.frames.items() if start <= i <= end}
        frames = check_frames(frames, start, end, lambda i: img / f"{i:0{width}d}.jpg", p, len(gt), strays, what)
        if isinstance(frames[0], str):
            skipped.append(Skipped(seq_name, *frames))
        else:
            found.append(EvalSequence(seq_name, frames, gt, "otb", gt_file=str(p), one_based=True, notes=notes))
    return found, skipped


def got10k_sequence(seq_dir: Path, name: str) -> EvalSequence | Skipped:
    """One GOT-10k folder as a sequence (absent frames unannotated), or why it cannot be evaluated. Its frames are
    read through the GOT-10k source (:class:`~siamfc.curate.sources.got10k.Got10kSequence`): line ``i`` of
    ``groundtruth.txt`` is ``<i:08d>.jpg``; a missing one skips the sequence, other files are named in a note."""
    source = got10k.Got10kSequence(name, "", seq_dir)
    files = source.frame_files()
    strays = sorted(source.stray_files() + ([files[0]] if 0 in files else []))
    what = "<8 digits>.jpg from 00000001.jpg, nor an annotation file"
    path = seq_dir / got10k.GROUNDTRUTH
    gt = _read_gt(path, negative=True)  # absent frames may hold -1,-1,-1,-1 (got10k toolkit issue #10)
    if isinstance(gt, GroundTruthError):
        return Skipped(name, str(gt), str(path), gt.kind)
    if len(gt) == 0:
        return Skipped(name, f"{path}: empty file, no ground truth", str(path), NO_GROUND_TRUTH)
    if len(gt) == 1 and source.last_frame() > 1:
        return Skipped(name, f"{path}: only the first frame is annotated (GOT-10k test split)", str(path),
                       NO_GROUND_TRUTH)
    frames = check_frames(files, 1, len(gt), source.frame_path, path, len(gt), strays, what)
    if isinstance(frames[0], str):
        return Skipped(name, *frames)
    absence = seq_dir / got10k.ABSENCE
    if absence.is_file():
        absent = _read_absence(absence, len(gt))
        if isinstance(absent, str):
            return Skipped(name, absent, str(absence), LABEL_MALFORMED)
        gt[absent] = np.nan
    negative = np.flatnonzero((gt[:, 2] < 0) | (gt[:, 3] < 0))  # NaN compares False
    if negative.size:
        return Skipped(name, f"{path}, line {negative[0] + 1}: negative width or height on a frame "
                             f"{got10k.ABSENCE} does not mark absent", str(path), BOX_MALFORMED)
    cover, resolution = _read_cover(seq_dir / got10k.COVER, len(gt)), got10k.read_meta(seq_dir / got10k.META)[1]
    return EvalSequence(name, frames, gt, "got10k", gt_file=str(path), cover=cover, resolution=resolution,
                        notes=(stray_note(strays, what),) if strays else ())


def _read_cover(path: Path, frames: int) -> np.ndarray | None:
    """GOT-10k's ``cover.label`` (one class 0..8 per frame), or None when missing or malformed (then GOT-10k's own
    metrics are not computed for the sequence)."""
    try:
        flags = path.read_text().split()
    except (OSError, ValueError):
        return None
    if len(flags) != frames or any(f not in got10k.LABELS[got10k.COVER] for f in flags):
        return None
    return np.array(flags, dtype=np.int64)


def _read_absence(path: Path, frames: int) -> np.ndarray | str:
    """GOT-10k's ``absence.label`` (one 0/1 flag per frame) as a boolean array, or why it is unusable."""
    try:
        flags = path.read_text().split()
    except (OSError, ValueError) as err:
        return f"{path}: unreadable ({err})"
    if any(f not in ("0", "1") for f in flags):
        return f"{path}: not one 0/1 flag per line"
    if len(flags) != frames:
        return f"{path}: {len(flags)} flags for {frames} boxes"
    return np.array(flags) == "1"


def vid_sequences(root: Path, progress: bool = False) -> tuple[list[EvalSequence], list[Skipped]]:
    """One sequence per ImageNet VID val snippet (see the module docstring for the target chosen). Frame ``n`` is
    the one ``<n>.xml`` annotates and the JPEG of that number (``<n:06d>.JPEG``, any case of ``.jpeg``/``.jpg``)."""
    found, skipped = [], []
    for snippet in tqdm(find_snippets(root, ("val",)), desc="reading VID val XML", disable=not progress):
        numbers = [int(x.stem) for x in snippet.xml_files()]
        tracks: dict[int, dict[int, tuple[int, int, int, int]]] = {}
        for number, xml in zip(numbers, snippet.xml_files(), strict=True):
            try:
                frame = parse_frame(xml)
            except BadInput:
                continue
            for obj in frame.objects:
                tracks.setdefault(obj.track, {})[number] = obj.box
        if not tracks:
            skipped.append(Skipped(snippet.id, f"{snippet.ann_dir}: no valid object in any frame",
                                   str(snippet.ann_dir), NO_GROUND_TRUTH))
            continue
        track = min(tracks, key=lambda t: (min(tracks[t]), -_run_length(tracks[t]), t))
        boxes = tracks[track]
        first, last = min(boxes), max(boxes)
        if first == last:
            skipped.append(Skipped(snippet.id, f"{snippet.ann_dir}: track {track} is annotated in one frame only",
                                   str(snippet.ann_dir), NO_GROUND_TRUTH))
            continue
        listing = list_frame_files(snippet.data_dir, _NUMBER)
        missing = [i for i in range(first, last + 1) if i not in listing.frames]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            skipped.append(Skipped(snippet.id, f"{snippet.frame_path(missing[0])}: frame {missing[0]} missing{more}",
                                   str(snippet.frame_path(missing[0])), FRAME_MISSING))
            continue
        frames = tuple(listing.frames[i] for i in range(first, last + 1))
        gt = np.full((len(frames), 4), np.nan)
        for i, box in boxes.items():
            gt[i - first] = cxcywh_to_xywh(xyxy_to_cxcywh(np.array(box, dtype=np.float64)))
        no_xml = sorted(set(range(first, last + 1)) - set(numbers))
        notes = [stray_note(snippet.stray_files() + listing.strays, "<number>.xml / <number>.JPEG")]
        if no_xml:
            notes.append(f"{snippet.ann_dir}: {len(no_xml)} frames without an XML file ({no_xml[0]:06d}.xml first), "
                         "tracked through but not scored")
        found.append(EvalSequence(snippet.id, frames, gt, "vid", f"track {track}", str(snippet.ann_dir),
                                  notes=tuple(n for n in notes if n)))
    return found, skipped


def lasot_sequences(root: Path, progress: bool = False) -> tuple[list[EvalSequence], list[Skipped]]:
    """The benchmark videos of a LaSOT root, named ``<class>/<class>-<n>`` (see the module docstring). Frames come
    from the source (frame ``i`` is its image numbered ``i``); a missing one skips the video, and files in ``img/``
    that are not frames are named in a note."""
    try:
        _, search = lasot.benchmark_sequences(root)
    except CurationError as err:
        raise ValueError(str(err)) from None
    found, skipped = [], []
    for video in tqdm(search.sequences, desc="reading LaSOT annotations", disable=not progress):
        name = video.id.split("/", 1)[1]
        read = video.read()
        strays = video.stray_files()
        note = stray_note(strays, "<number>.jpg") if strays else ""
        problems = [bad for _, _, bad in read.skipped if bad.reason != NOT_A_FRAME]
        if problems:
            bad = problems[0]
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            skipped.append(Skipped(name, f"{bad.detail}{more}" + (f"; {note}" if note else ""), _file_of(bad.detail),
                                   bad.reason))
            continue
        missing = [f.path for f in read.frames if not f.path.is_file()]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            skipped.append(Skipped(name, f"{missing[0]}: frame missing{more}" + (f"; {note}" if note else ""),
                                   str(missing[0]), FRAME_MISSING))
            continue
        gt = np.full((len(read.frames), 4), np.nan)
        for i, frame in enumerate(read.frames):
            if frame.objects:
                gt[i] = cxcywh_to_xywh(xyxy_to_cxcywh(np.array(frame.objects[0].box, dtype=np.float64)))
        found.append(EvalSequence(name, tuple(f.path for f in read.frames), gt, "lasot",
                                  gt_file=str(video.folder / lasot.GROUNDTRUTH), one_based=lasot.ONE_BASED,
                                  notes=(note,) if note else ()))
    return found, skipped


def _file_of(detail: str) -> str:
    """The file a bad-input detail (``<path>, line <n>: ...`` or ``<path>: ...``) names."""
    found = re.match(r"(.+?)(?:, line \d+)?: ", detail)
    return found[1] if found else ""


def _run_length(frames: dict[int, object]) -> int:
    """Frames in the unbroken run that starts at the first annotated frame."""
    n, start = 0, min(frames)
    while start + n in frames:
        n += 1
    return n


def layout_of(folder: Path) -> str | None:
    """``"otb"``, ``"got10k"`` or None for a folder that is not a sequence."""
    if (folder / "img").is_dir() and any(OTB_GT.match(p.name) for p in folder.iterdir()):
        return "otb"
    if (folder / got10k.GROUNDTRUTH).is_file():
        return "got10k"
    return None


def find_sequences(root: str | Path, progress: bool = False) -> tuple[list[EvalSequence], list[Skipped]]:
    """Every sequence under ``root`` (OTB, GOT-10k, a LaSOT root, or an ILSVRC2015 root for VID val) and those
    skipped.

    Raises FileNotFoundError for a missing root and ValueError when nothing under it is a sequence.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    if (root / "Annotations" / "VID").is_dir():
        return vid_sequences(root, progress)
    if lasot.looks_like(root):
        return lasot_sequences(root, progress)
    found: list[EvalSequence] = []
    skipped: list[Skipped] = []
    for folder in _sequence_folders(root):
        name = folder.relative_to(root).as_posix() if folder != root else folder.name
        if layout_of(folder) == "otb":
            seqs, skips = otb_sequences(folder, name)
            found += seqs
            skipped += skips
        else:
            seq = got10k_sequence(folder, name)
            (found if isinstance(seq, EvalSequence) else skipped).append(seq)
    if not found and not skipped:
        raise ValueError(f"{root}: no sequence found: expected <seq>/img/*.jpg + groundtruth_rect.txt (OTB), "
                         "<seq>/*.jpg + groundtruth.txt (GOT-10k) or an ILSVRC2015 root (Annotations/VID/val)")
    return found, skipped


def _sequence_folders(root: Path) -> list[Path]:
    """Folders that are sequences, in name order; the walk does not descend into a sequence."""
    if layout_of(root):
        return [root]
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        dirnames.sort()
        sequences = [d for d in dirnames if layout_of(Path(dirpath) / d)]
        found += [Path(dirpath) / d for d in sequences]
        dirnames[:] = [d for d in dirnames if d not in sequences]
    return sorted(found)
