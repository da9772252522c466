"""Evaluation sequences: a benchmark's sequences, read through its source, as :class:`EvalSequence` objects.

The benchmark (:mod:`siamfc.curate.benchmarks`) names the source that reads it and which of the source's sequences
it evaluates; every layout, box convention and frame rule is the source's (:mod:`siamfc.curate.sources`, whose
module docstrings state them). Here a ``(Benchmark, Sequence)`` becomes an :class:`EvalSequence`: its frames are
:meth:`~siamfc.curate.sources.base.Sequence.track_frames` and its ground truth
:meth:`~siamfc.curate.sources.base.Sequence.ground_truth` (``x, y, w, h`` in the package's 0-based convention, one
row per frame, NaN where the target is not visible or not annotated), except where a benchmark needs what the
source contract does not give:

- GOT-10k val: each frame's ``cover`` class and the video's resolution (its own AO/SR rules), from the source's
  :meth:`~siamfc.curate.sources.base.Sequence.read` (cover 0 where the frame is hidden).
- ImageNet VID val: one target per snippet, the track that appears first (ties: the longest unbroken run from its
  first appearance, then the lowest trackid), from that first appearance to the track's last annotated frame; frames
  in between where it is not annotated are tracked through, not scored.
- NfS: the box VATIC writes on ``lost`` frames (the last position), which the toolkits score against
  (:attr:`EvalSequence.scored_gt`); the source hides it, so it is read here from the source's own lines.
- GOT-10k test and TrackingNet test (first box only): every frame file of the video, and the first box of its
  annotation file; nothing to score.

Frames are matched to ground-truth lines by their number (the sources' rule): a frame file missing inside the range
skips the sequence naming the file; files that are no frame are named in one note per sequence
(:attr:`EvalSequence.notes`), or in the skip reason (one of them may be the missing frame, misnamed). A sequence
whose annotation the source reports as bad input (a malformed line, a line count other than the frame count, a
missing label file) is returned as :class:`Skipped` with the file, the reason and its kind, never fatal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from siamfc.curate.benchmarks import Benchmark, benchmark, benchmark_for, select
from siamfc.curate.errors import FRAME_MISSING, NOT_A_FRAME, BadInput, CurationError, UserError
from siamfc.curate.sources.base import Sequence
from siamfc.curate.sources.sequences import BoxFileSequence
from siamfc.curate.sources.text_files import content_lines, parse_box

NO_GROUND_TRUTH = "no_ground_truth"  # skip kind: nothing to score against (no valid object, one frame only, ...)
PASSED_OVER = "passed_over"  # skip kind: a folder the source does not take as a sequence (its line says why)
_NAMED = 3  # stray files named in a note; the others are counted


@dataclass(frozen=True)
class EvalSequence:
    """One evaluation sequence: frame files in order and their ground truth."""

    name: str
    frames: tuple[Path, ...]
    gt: np.ndarray  # [N, 4] float64 x, y, w, h (0-based); NaN rows where the target is not visible / annotated
    benchmark: str  # the curate.benchmarks.BENCHMARKS name
    target: str = ""  # which target when the source has several (VID: "track 3")
    gt_file: str = ""  # where the ground truth was read (VID: the snippet's annotation folder)
    cover: np.ndarray | None = None  # GOT-10k: visible ratio class per frame, 0 (not visible) .. 8 (all)
    resolution: tuple[int, int] | None = None  # GOT-10k: (width, height) from meta_info.ini
    one_based: bool = False  # the dataset's files count pixels from 1 (OTB, LaSOT): toolkit results go back so
    notes: tuple[str, ...] = ()  # one line each, printed with the report: files left alone (strays), ...
    scored_gt: np.ndarray | None = None  # what the toolkit scores against where it differs from gt (NfS lost frames)
    scored: bool = True  # False: first box only (a test split): tracked and written, not scored

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


def _file_of(detail: str) -> str:
    """The file a bad-input detail (``<path>, line <n>: ...`` or ``<path>: ...``) names."""
    found = re.match(r"(.+?)(?:, line \d+)?: ", detail)
    return found[1] if found else ""


def _gt_file(seq: Sequence) -> Path:
    """The annotation file a sequence's boxes come from (the folder of VID's XML files)."""
    for attr in ("box_file", "anno", "ann_dir"):
        if hasattr(seq, attr):
            return Path(getattr(seq, attr))
    return Path(seq.folder) / "groundtruth.txt"  # type: ignore[attr-defined]  # GOT-10k, LaSOT


def _strays(seq: Sequence) -> list[Path]:
    strays = list(seq.stray_files())
    frame_files = getattr(seq, "frame_files", None)  # GOT-10k lists a frame 0, which it has not: a stray here
    if frame_files is not None and 0 in frame_files():
        strays.append(frame_files()[0])
    return sorted(strays)


def _missing(name: str, frames: list[Path], gt_file: Path, boxes: int, also: str) -> Skipped | None:
    """A skip naming the first frame file missing from ``frames`` (and how many more), or None."""
    missing = [p for p in frames if not p.is_file()]
    if not missing:
        return None
    more = f" (and {len(missing) - 1} more, up to {missing[-1].name})" if len(missing) > 1 else ""
    numbers = f"frame {_number(missing[0])} missing{more}; {gt_file.name} has {boxes} boxes for frames " \
              f"{_number(frames[0])}..{_number(frames[-1])}"
    return Skipped(name, f"{missing[0]}: {numbers}{also}", str(missing[0]), FRAME_MISSING)


def _number(path: Path) -> str:
    stem = path.stem
    return str(int(stem)) if stem.isdigit() else stem


def _problems(name: str, seq: Sequence, also: str) -> Skipped | None:
    """The source's first report of bad annotation input (strays aside) as a skip, or None."""
    problems = [bad for _, _, bad in seq.read().skipped if bad.reason != NOT_A_FRAME]
    if not problems:
        return None
    bad = problems[0]
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return Skipped(name, f"{bad.detail}{more}{also}", _file_of(bad.detail), bad.reason)


def eval_sequence(bench: Benchmark, seq: Sequence) -> EvalSequence | Skipped:
    """One source sequence as the benchmark evaluates it, or why it cannot be."""
    name = bench.sequence_name(seq.id)
    strays = _strays(seq)
    note = stray_note(strays, bench.frame_names)
    also = f"; {note}" if note else ""
    notes = (note,) if note else ()
    gt_file = _gt_file(seq)
    if not bench.scored:
        return _first_box_only(bench, seq, name, gt_file, notes)
    if bench.source == "vid":
        return _vid_sequence(bench, seq, name, notes)
    if isinstance(seq, BoxFileSequence):
        try:
            gt = seq.ground_truth()
        except BadInput as bad:
            return Skipped(name, f"{bad.detail}{also}", _file_of(bad.detail), bad.reason)
    else:
        problem = _problems(name, seq, also)
        if problem is not None:
            return problem
        gt = seq.ground_truth()
    frames = seq.track_frames()
    if not frames:
        return Skipped(name, f"{gt_file}: no frame to evaluate", str(gt_file), NO_GROUND_TRUTH)
    missing = _missing(name, frames, gt_file, len(gt), also)
    if missing is not None:
        return missing
    cover = resolution = None
    if bench.figures == "got10k":
        cover, resolution = _cover(seq, frames)
    scored_gt = _placeholders(seq, gt) if bench.not_visible == "placeholder" else None
    return EvalSequence(name, tuple(frames), gt, bench.name, gt_file=str(gt_file), cover=cover,
                        resolution=resolution, one_based=bench.one_based, notes=notes, scored_gt=scored_gt)


def _cover(seq: Sequence, frames: list[Path]) -> tuple[np.ndarray, tuple[int, int] | None]:
    """GOT-10k's cover class per frame (0 where the frame is hidden) and the video's resolution."""
    by_path = {f.path: f for f in seq.read().frames}
    cover = np.zeros(len(frames), dtype=np.int64)
    resolution = None
    for i, path in enumerate(frames):
        frame = by_path.get(path)
        if frame is not None and frame.objects:
            cover[i] = frame.objects[0].cover
            resolution = resolution or frame.size
    return cover, resolution


def _placeholders(seq: Sequence, gt: np.ndarray) -> np.ndarray | None:
    """The ground truth with each frame whose target is not visible given the box the annotation writes there
    (:meth:`~siamfc.curate.sources.base.Sequence.placeholder_boxes`: NfS's lost frames); None when every frame
    is visible."""
    lost = np.flatnonzero(np.isnan(gt).any(axis=1))
    if not lost.size:
        return None
    boxes = seq.placeholder_boxes()
    scored = gt.copy()
    for k in lost:
        if k in boxes:
            scored[k] = boxes[k]
    return scored


def _first_box_only(bench: Benchmark, seq: Sequence, name: str, gt_file: Path,
                    notes: tuple[str, ...]) -> EvalSequence | Skipped:
    """A test-split video (GOT-10k, TrackingNet): every frame file from the layout's first number, and the first
    line of its annotation file as the box to start from (0-based in both). The sources read these splits for
    ``siamfc pack`` only, with no frames to track, so the frames are the files the source names by number."""
    listing = seq.frame_files()  # type: ignore[attr-defined]  # the GOT-10k and TrackingNet sources have it
    first = bench.first_frame
    last = max(listing, default=first - 1)
    frames = [seq.frame_path(i) for i in range(first, last + 1)]  # type: ignore[attr-defined]
    if not frames:
        return Skipped(name, f"{gt_file}: no frame file", str(gt_file), FRAME_MISSING)
    try:
        lines = content_lines(gt_file)
        if not lines:
            raise BadInput(NO_GROUND_TRUTH, f"{gt_file}: empty file, no first box")
        box = parse_box(lines[0], gt_file, 1)
    except BadInput as bad:
        return Skipped(name, bad.detail, str(gt_file), bad.reason)
    missing = _missing(name, frames, gt_file, 1, "")
    if missing is not None:
        return missing
    gt = np.full((len(frames), 4), np.nan)
    gt[0] = box
    return EvalSequence(name, tuple(frames), gt, bench.name, gt_file=str(gt_file), notes=notes, scored=False)


def _vid_sequence(bench: Benchmark, snippet: Sequence, name: str, notes: tuple[str, ...]) -> EvalSequence | Skipped:
    """One VID val snippet: the first-appearing track (module docstring), frames by their XML numbers."""
    read = snippet.read()
    ann_dir = Path(snippet.ann_dir)  # type: ignore[attr-defined]
    tracks: dict[int, dict[int, tuple[float, ...]]] = {}
    for frame in read.frames:
        for obj in frame.objects:
            tracks.setdefault(obj.track, {})[frame.index] = obj.box
    if not tracks:
        return Skipped(name, f"{ann_dir}: no valid object in any frame", str(ann_dir), NO_GROUND_TRUTH)
    track = min(tracks, key=lambda t: (min(tracks[t]), -_run_length(tracks[t]), t))
    boxes = tracks[track]
    first, last = min(boxes), max(boxes)
    if first == last:
        return Skipped(name, f"{ann_dir}: track {track} is annotated in one frame only", str(ann_dir),
                       NO_GROUND_TRUTH)
    frames = [snippet.frame_path(i) for i in range(first, last + 1)]  # type: ignore[attr-defined]
    missing = [p for p in frames if not p.is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return Skipped(name, f"{missing[0]}: frame {_number(missing[0])} missing{more}", str(missing[0]),
                       FRAME_MISSING)
    gt = np.full((len(frames), 4), np.nan)
    for i, (xmin, ymin, xmax, ymax) in boxes.items():
        gt[i - first] = (xmin, ymin, xmax - xmin + 1, ymax - ymin + 1)
    numbers = {int(x.stem) for x in snippet.xml_files()}  # type: ignore[attr-defined]
    no_xml = sorted(set(range(first, last + 1)) - numbers)
    if no_xml:
        notes = (*notes, f"{ann_dir}: {len(no_xml)} frames without an XML file ({no_xml[0]:06d}.xml first), "
                         "tracked through but not scored")
    return EvalSequence(name, tuple(frames), gt, bench.name, f"track {track}", str(ann_dir), notes=notes)


def _run_length(frames: dict[int, object]) -> int:
    """Frames in the unbroken run that starts at the first annotated frame."""
    n, start = 0, min(frames)
    while start + n in frames:
        n += 1
    return n


def find_sequences(root: str | Path, name: str | None = None, progress: bool = False,
                   ) -> tuple[list[EvalSequence], list[Skipped]]:
    """The sequences of benchmark ``name`` (default: the one the root's layout holds,
    :func:`~siamfc.curate.benchmarks.benchmark_for`) under ``root``, and those skipped.

    Raises FileNotFoundError for a missing root and UserError (one line naming the root) when it holds no sequence
    of the benchmark, or no benchmark is recognised."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    try:
        bench = benchmark(name) if name else benchmark_for(root)
        search = select(bench, root)
    except CurationError as err:
        raise UserError(str(err)) from None
    found: list[EvalSequence] = []
    skipped: list[Skipped] = []
    for seq in tqdm(search.sequences, desc=f"reading {bench.title}", disable=not progress, delay=2):
        result = eval_sequence(bench, seq)
        (found if isinstance(result, EvalSequence) else skipped).append(result)
    for line in search.passed_over:  # nothing under the root disappears without a word
        where = re.match(r"(.+?)(?:, line \d+)?: ", line)
        path = Path(where[1]) if where else Path(line)
        skipped.append(Skipped(path.name, line, str(path), PASSED_OVER))
    return found, skipped


def benchmark_of(root: str | Path, name: str | None = None) -> Benchmark:
    """The benchmark ``--benchmark NAME`` names, or that the root holds; UserError in one line otherwise."""
    try:
        return benchmark(name) if name else benchmark_for(root)
    except CurationError as err:
        raise UserError(str(err)) from None
