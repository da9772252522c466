"""Reading tracking benchmarks into :class:`Sequence` objects: OTB, GOT-10k and ImageNet VID val.

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
  :mod:`siamfc.curate.vid`. The target is the track that appears first (ties: the longest unbroken run from its
  first appearance, then the lowest trackid); the sequence runs from that first appearance to the track's last
  annotated frame, and frames in between where the track is not annotated (it left the view, or its object was
  rejected as bad input) are tracked through but not scored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from siamfc.curate.boxes import cxcywh_to_xywh, xyxy_to_cxcywh
from siamfc.curate.errors import BadInput
from siamfc.curate.vid import find_snippets, parse_frame

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
OTB_GT = re.compile(r"^groundtruth_rect(?:\.(\d+))?\.txt$")
GOT_GT = "groundtruth.txt"
GOT_ABSENCE = "absence.label"
OTB_FRAME_RANGES = {  # 1-based inclusive image ranges of OTB sequences whose annotation covers part of the images
    "david": (300, 770), "football1": (1, 74), "freeman3": (1, 460), "freeman4": (1, 283), "diving": (1, 215),
}


@dataclass(frozen=True)
class Sequence:
    """One evaluation sequence: frame files in order and their ground truth."""

    name: str
    frames: tuple[Path, ...]
    gt: np.ndarray  # [N, 4] float64 x, y, w, h (0-based); NaN rows where the target is not annotated
    layout: str  # "otb", "got10k" or "vid"
    target: str = ""  # which target when the source has several (VID: "track 3")

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class Skipped:
    """A sequence that could not be used, and why."""

    name: str
    reason: str


def read_box_file(path: Path, one_based: bool = False) -> np.ndarray:
    """Rows of 4 numbers separated by commas, tabs or spaces; ``NaN`` allowed. Shifted to 0-based if asked.

    Raises ValueError naming the file and line for a row that is not 4 numbers.
    """
    rows = []
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        fields = [f for f in re.split(r"[,\s]+", line.strip()) if f]
        if not fields:
            continue
        try:
            row = [float(f) for f in fields]
        except ValueError:
            raise ValueError(f"{path}:{n}: not a row of numbers: {line.strip()!r}") from None
        if len(row) != 4:
            raise ValueError(f"{path}:{n}: {len(row)} fields, expected x,y,w,h")
        rows.append(row)
    boxes = np.array(rows, dtype=np.float64).reshape(-1, 4)
    if one_based:
        boxes[:, :2] -= 1
    return boxes


def image_files(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def otb_sequences(seq_dir: Path, name: str) -> tuple[list[Sequence], list[Skipped]]:
    """The sequences of one OTB folder (one per non-empty ``groundtruth_rect*.txt``)."""
    gt_files = sorted((p for p in seq_dir.iterdir() if OTB_GT.match(p.name)), key=lambda p: p.name)
    gt_files = [p for p in gt_files if p.read_text().strip()]
    images = image_files(seq_dir / "img")
    start, end = OTB_FRAME_RANGES.get(seq_dir.name.lower(), (1, len(images)))
    images = images[start - 1:end]
    found, skipped = [], []
    for p in gt_files:
        index = OTB_GT.match(p.name).group(1)
        seq_name = f"{name}.{index}" if index and len(gt_files) > 1 else name
        gt = read_box_file(p, one_based=True)
        if len(gt) != len(images):
            skipped.append(Skipped(seq_name, f"{p}: {len(gt)} boxes for {len(images)} images in {seq_dir / 'img'}"))
            continue
        found.append(Sequence(seq_name, tuple(images), gt, "otb"))
    return found, skipped


def got10k_sequence(seq_dir: Path, name: str) -> Sequence | Skipped:
    """One GOT-10k folder as a sequence (absent frames unannotated), or why it cannot be evaluated."""
    images = image_files(seq_dir)
    gt = read_box_file(seq_dir / GOT_GT)
    if len(gt) == 1 and len(images) > 1:
        return Skipped(name, f"{seq_dir / GOT_GT}: only the first frame is annotated (GOT-10k test split)")
    if len(gt) != len(images):
        return Skipped(name, f"{seq_dir / GOT_GT}: {len(gt)} boxes for {len(images)} images")
    absence = seq_dir / GOT_ABSENCE
    if absence.is_file():
        absent = np.loadtxt(absence, dtype=np.int64, ndmin=1)
        if len(absent) == len(gt):
            gt[absent.astype(bool)] = np.nan
    return Sequence(name, tuple(images), gt, "got10k")


def vid_sequences(root: Path, progress: bool = False) -> tuple[list[Sequence], list[Skipped]]:
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
            skipped.append(Skipped(snippet.id, f"{snippet.ann_dir}: no valid object in any frame"))
            continue
        track = min(tracks, key=lambda t: (min(tracks[t]), -_run_length(tracks[t]), t))
        boxes = tracks[track]
        first, last = min(boxes), max(boxes)
        if first == last:
            skipped.append(Skipped(snippet.id, f"{snippet.ann_dir}: track {track} is annotated in one frame only"))
            continue
        frames = tuple(snippet.data_dir / f"{x.stem}.JPEG" for x in xml_files[first:last + 1])
        missing = next((f for f in frames if not f.is_file()), None)
        if missing is not None:
            skipped.append(Skipped(snippet.id, f"{missing}: frame missing"))
            continue
        gt = np.full((len(frames), 4), np.nan)
        for i, box in boxes.items():
            gt[i - first] = cxcywh_to_xywh(xyxy_to_cxcywh(np.array(box, dtype=np.float64)))
        found.append(Sequence(snippet.id, frames, gt, "vid", f"track {track}"))
    return found, skipped


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
    if (folder / GOT_GT).is_file():
        return "got10k"
    return None


def find_sequences(root: str | Path, progress: bool = False) -> tuple[list[Sequence], list[Skipped]]:
    """Every sequence under ``root`` (OTB, GOT-10k, or an ILSVRC2015 root for VID val) and those skipped.

    Raises FileNotFoundError for a missing root and ValueError when nothing under it is a sequence.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    if (root / "Annotations" / "VID").is_dir():
        return vid_sequences(root, progress)
    found: list[Sequence] = []
    skipped: list[Skipped] = []
    for folder in _sequence_folders(root):
        name = folder.relative_to(root).as_posix() if folder != root else folder.name
        if layout_of(folder) == "otb":
            seqs, skips = otb_sequences(folder, name)
            found += seqs
            skipped += skips
        else:
            seq = got10k_sequence(folder, name)
            (found if isinstance(seq, Sequence) else skipped).append(seq)
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
