"""Evaluation sequences: OTB, GOT-10k, LaSOT and ImageNet VID val read into :class:`EvalSequence` objects.

Every ground truth is returned as ``x, y, w, h`` in the package's 0-based pixel convention
(:mod:`siamfc.curate.boxes`), one row per frame, NaN rows where the target is not annotated.

Layouts (any folder below the given root that matches one is a sequence; its name is its path relative to
the root, so an OTB root gives ``Basketball``, a GOT-10k root ``val/GOT-10k_Val_000001``):

- OTB: ``<seq>/img/*.jpg`` and ``<seq>/groundtruth_rect.txt``, fields separated by commas, tabs or spaces.
  OTB's files are **1-based** (MATLAB): 1 is subtracted from ``x`` and ``y``. A sequence with several targets
  has ``groundtruth_rect.1.txt``, ``groundtruth_rect.2.txt`` (Jogging, Skating2): one sequence each, named
  ``Jogging.1``, ``Jogging.2``; empty files are ignored (Human4). Five OTB sequences annotate only a range of
  their images (:data:`OTB_FRAME_RANGES`, from the benchmark's ``configSeqs``).
- GOT-10k: ``<seq>/*.jpg`` and ``<seq>/groundtruth.txt`` (comma separated, 0-based, used as is). Frames flagged
  in ``absence.label`` (val split) are left unannotated. A test-split sequence (one box for many frames) is
  skipped: it has no ground truth to evaluate against.
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

A sequence that cannot be evaluated is returned as :class:`Skipped` with the file at fault and the reason, never
fatal (LaSOT: see above): a malformed ground truth (a row that is not 4 numbers, an infinite value, NaN mixed with
numbers, a negative size, not text), an empty one, a box count other than the image count, a malformed
``absence.label``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from siamfc.curate.boxes import cxcywh_to_xywh, xyxy_to_cxcywh
from siamfc.curate.errors import BadInput, CurationError
from siamfc.curate.sources import got10k, lasot
from siamfc.curate.sources.vid import find_snippets, parse_frame

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
OTB_GT = re.compile(r"^groundtruth_rect(?:\.(\d+))?\.txt$")
OTB_FRAME_RANGES = {  # 1-based inclusive image ranges of OTB sequences whose annotation covers part of the images
    "david": (300, 770), "football1": (1, 74), "freeman3": (1, 460), "freeman4": (1, 283), "diving": (1, 215),
}


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

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class Skipped:
    """A sequence that could not be used, and why (``reason`` names the file too, for the printed report)."""

    name: str
    reason: str
    file: str = ""  # the file (or folder) at fault


def read_box_file(path: Path, one_based: bool = False, negative: bool = False) -> np.ndarray:
    """Rows of 4 numbers separated by commas, tabs or spaces; a row of 4 ``NaN`` is an unannotated frame. Blank
    lines are ignored (an empty file gives no row). Shifted to 0-based if asked; ``negative``: rows with a negative
    width or height are kept (placeholders of frames another file marks absent) instead of refused.

    Raises ValueError naming the file and line for a row that is not 4 numbers, holds an infinite value, mixes
    ``NaN`` with numbers or (unless ``negative``) has a negative width or height, and for a file that is not text.
    """
    try:
        text = Path(path).read_text()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        fields = [f for f in re.split(r"[,\s]+", line.strip()) if f]
        if fields:
            rows.append(_box_row(fields, f"{path}:{n}", line, negative))
    boxes = np.array(rows, dtype=np.float64).reshape(-1, 4)
    if one_based:
        boxes[:, :2] -= 1
    return boxes


def _box_row(fields: list[str], where: str, line: str, negative: bool = False) -> list[float]:
    """One ``x, y, w, h`` row; ValueError naming ``where`` (file:line) when it is not a usable one."""
    try:
        row = [float(f) for f in fields]
    except ValueError:
        raise ValueError(f"{where}: not a row of numbers: {line.strip()!r}") from None
    if len(row) != 4:
        raise ValueError(f"{where}: {len(row)} fields, expected x,y,w,h")
    nan = np.isnan(row)
    if nan.all():
        return row
    if nan.any() or not np.isfinite(row).all():
        raise ValueError(f"{where}: NaN or infinite values in a box: {line.strip()!r}")
    if (row[2] < 0 or row[3] < 0) and not negative:
        raise ValueError(f"{where}: negative width or height: {line.strip()!r}")
    return row


def image_files(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def otb_sequences(seq_dir: Path, name: str) -> tuple[list[EvalSequence], list[Skipped]]:
    """The sequences of one OTB folder (one per non-empty ``groundtruth_rect*.txt``); a malformed ground truth,
    or one whose box count differs from the image count, is skipped with the reason."""
    all_files = sorted((p for p in seq_dir.iterdir() if OTB_GT.match(p.name)), key=lambda p: p.name)
    boxes = {p: _read_gt(p, one_based=True) for p in all_files}
    gt_files = [p for p in all_files if not isinstance(boxes[p], np.ndarray) or len(boxes[p])]
    if not gt_files:
        return [], [Skipped(name, f"{all_files[0]}: empty file, no ground truth", str(all_files[0]))]
    images = image_files(seq_dir / "img")
    start, end = OTB_FRAME_RANGES.get(seq_dir.name.lower(), (1, len(images)))
    images = images[start - 1:end]
    found, skipped = [], []
    for p in gt_files:
        index = OTB_GT.match(p.name).group(1)
        seq_name = f"{name}.{index}" if index and len(gt_files) > 1 else name
        gt = boxes[p]
        if isinstance(gt, str):
            skipped.append(Skipped(seq_name, gt, str(p)))
        elif len(gt) != len(images):
            skipped.append(Skipped(seq_name, f"{p}: {len(gt)} boxes for {len(images)} images in {seq_dir / 'img'}",
                                   str(p)))
        else:
            found.append(EvalSequence(seq_name, tuple(images), gt, "otb", gt_file=str(p), one_based=True))
    return found, skipped


def _read_gt(path: Path, one_based: bool = False, negative: bool = False) -> np.ndarray | str:
    """:func:`read_box_file`, or the reason it failed (naming the file)."""
    try:
        return read_box_file(path, one_based, negative)
    except (OSError, ValueError) as err:
        return str(err)


def got10k_sequence(seq_dir: Path, name: str) -> EvalSequence | Skipped:
    """One GOT-10k folder as a sequence (absent frames unannotated), or why it cannot be evaluated."""
    images = image_files(seq_dir)
    path = seq_dir / got10k.GROUNDTRUTH
    gt = _read_gt(path, negative=True)  # absent frames may hold -1,-1,-1,-1 (got10k toolkit issue #10)
    if isinstance(gt, str):
        return Skipped(name, gt, str(path))
    if len(gt) == 0:
        return Skipped(name, f"{path}: empty file, no ground truth", str(path))
    if len(gt) == 1 and len(images) > 1:
        return Skipped(name, f"{path}: only the first frame is annotated (GOT-10k test split)", str(path))
    if len(gt) != len(images):
        return Skipped(name, f"{path}: {len(gt)} boxes for {len(images)} images", str(path))
    absence = seq_dir / got10k.ABSENCE
    if absence.is_file():
        absent = _read_absence(absence, len(gt))
        if isinstance(absent, str):
            return Skipped(name, absent, str(absence))
        gt[absent] = np.nan
    negative = np.flatnonzero((gt[:, 2] < 0) | (gt[:, 3] < 0))  # NaN compares False
    if negative.size:
        return Skipped(name, f"{path}:{negative[0] + 1}: negative width or height on a frame {got10k.ABSENCE} "
                             "does not mark absent", str(path))
    cover, resolution = _read_cover(seq_dir / got10k.COVER, len(gt)), got10k.read_meta(seq_dir / got10k.META)[1]
    return EvalSequence(name, tuple(images), gt, "got10k", gt_file=str(path), cover=cover, resolution=resolution)


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
    """One sequence per ImageNet VID val snippet (see the module docstring for the target chosen)."""
    found, skipped = [], []
    for snippet in tqdm(find_snippets(root, ("val",)), desc="reading VID val XML", disable=not progress):
        xml_files = snippet.xml_files()
        tracks: dict[int, dict[int, tuple[int, int, int, int]]] = {}
        for i, xml in enumerate(xml_files):
            try:
                frame = parse_frame(xml)
            except BadInput:
                continue
            for obj in frame.objects:
                tracks.setdefault(obj.track, {})[i] = obj.box
        if not tracks:
            skipped.append(Skipped(snippet.id, f"{snippet.ann_dir}: no valid object in any frame",
                                   str(snippet.ann_dir)))
            continue
        track = min(tracks, key=lambda t: (min(tracks[t]), -_run_length(tracks[t]), t))
        boxes = tracks[track]
        first, last = min(boxes), max(boxes)
        if first == last:
            skipped.append(Skipped(snippet.id, f"{snippet.ann_dir}: track {track} is annotated in one frame only",
                                   str(snippet.ann_dir)))
            continue
        frames = tuple(snippet.data_dir / f"{x.stem}.JPEG" for x in xml_files[first:last + 1])
        missing = next((f for f in frames if not f.is_file()), None)
        if missing is not None:
            skipped.append(Skipped(snippet.id, f"{missing}: frame missing", str(missing)))
            continue
        gt = np.full((len(frames), 4), np.nan)
        for i, box in boxes.items():
            gt[i - first] = cxcywh_to_xywh(xyxy_to_cxcywh(np.array(box, dtype=np.float64)))
        found.append(EvalSequence(snippet.id, frames, gt, "vid", f"track {track}", str(snippet.ann_dir)))
    return found, skipped


def lasot_sequences(root: Path, progress: bool = False) -> tuple[list[EvalSequence], list[Skipped]]:
    """The benchmark videos of a LaSOT root, named ``<class>/<class>-<n>`` (see the module docstring)."""
    try:
        _, search = lasot.benchmark_sequences(root)
    except CurationError as err:
        raise ValueError(str(err)) from None
    found, skipped = [], []
    for video in tqdm(search.sequences, desc="reading LaSOT annotations", disable=not progress):
        name = video.id.split("/", 1)[1]
        read = video.read()
        if read.skipped:
            _, _, bad = read.skipped[0]
            more = f" (and {len(read.skipped) - 1} more problems)" if len(read.skipped) > 1 else ""
            skipped.append(Skipped(name, f"{bad.detail}{more}", _file_of(bad.detail)))
            continue
        gt = np.full((len(read.frames), 4), np.nan)
        for i, frame in enumerate(read.frames):
            if frame.objects:
                gt[i] = cxcywh_to_xywh(xyxy_to_cxcywh(np.array(frame.objects[0].box, dtype=np.float64)))
        found.append(EvalSequence(name, tuple(f.path for f in read.frames), gt, "lasot",
                                  gt_file=str(video.folder / lasot.GROUNDTRUTH), one_based=lasot.ONE_BASED))
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
