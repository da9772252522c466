"""One-pass evaluation (OPE): run a tracker once over every sequence from its first box, then score it.

Scoring follows OTB's toolkit (and got10k's ``ExperimentOTB``): every frame with ground truth counts, the
first (initialisation) frame included, curves are computed per sequence and averaged over sequences with
equal weight (:func:`siamfc.model.metrics.mean_curves`). Speed is reported twice: tracker fps (``init`` and
``update`` time only, as the toolkits time it) and fps including reading and decoding the frames.

Any tracker speaking the got10k toolkit's interface (:class:`Tracker`) can be evaluated: each sequence is run
through the tracker's own ``track(img_files, box)``.

Each frame is decoded as strictly as curation decodes it (:func:`check_frame`, :mod:`siamfc.curate.frames`) just
before the tracker takes it: a truncated or corrupt JPEG, which OpenCV and PIL would hand over half grey with a
libjpeg warning that names no file, skips its sequence with the file and the decoder's message, and the rest is
evaluated. That check is part of the "with decoding" speed.

The report is written as ``<name>.json`` (summary, curves, per-sequence figures and notes, skipped sequences), one
``<name>/<sequence>.txt`` per sequence (``x,y,w,h`` per frame, 0-based) and ``<name>.png`` (plots). Skipped
sequences are listed grouped by kind (:func:`skip_lines`), every one with its file and reason.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from siamfc.curate.atomic import atomic_write, write_json_atomic
from siamfc.curate.errors import FRAME_CORRUPT, BadInput
from siamfc.curate.frames import decode_jpeg, jpeg_size, read_bytes
from siamfc.curate.sources.base import FRAME_SUFFIXES

from .eval_sequences import EvalSequence, Skipped
from .metrics import (
    IOU_THRESHOLDS,
    NORM_THRESHOLDS,
    PIXEL_THRESHOLDS,
    Curves,
    got10k_figures,
    got10k_overlaps,
    mean_curves,
    sequence_curves,
    valid_frames,
)

TOOLKIT_FOLDERS = {"got10k": "GOT-10k", "otb": "OTB2015", "vid": "VID",
                   "lasot": "LaSOT"}  # layout -> the toolkit's result folder
NO_FIRST_BOX, TRACKER_ERROR = "no_first_box", "tracker_error"  # skip kinds found here (the others: eval_sequences)
CHECK_REDUCTION = 8  # frames are checked decoding at 1/8 scale: libjpeg still reads (and checks) every byte


class Tracker(Protocol):
    """The got10k toolkit's ``Tracker`` interface, as far as evaluation uses it."""

    name: str

    def track(self, img_files: Sequence[str], box: np.ndarray,
              visualize: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(boxes [N, 4] x, y, w, h, seconds of init/update per frame [N])`` from ``box`` on the first file."""
        ...


@dataclass(frozen=True)
class SequenceResult:
    """A tracker's boxes on one sequence, its timings and its curves."""

    sequence: EvalSequence
    boxes: np.ndarray  # [N, 4] x, y, w, h
    times: np.ndarray  # [N] seconds of init/update per frame
    read_seconds: float  # reading and decoding the N frames
    curves: Curves


@dataclass
class EvalReport:
    """Results of one run of a tracker over a dataset."""

    name: str
    dataset: str
    results: list[SequenceResult]
    skipped: list[Skipped] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # tracker configuration, weights, device

    @property
    def frames(self) -> int:
        return sum(len(r.boxes) for r in self.results)

    @property
    def curves(self) -> Curves:
        return mean_curves([r.curves for r in self.results])

    @property
    def got10k(self) -> dict | None:
        """GOT-10k's own figures (:func:`~.metrics.got10k_figures`) over the GOT-10k sequences with ``cover.label``
        and ``meta_info.ini``, all their scored frames pooled as the toolkit pools them; None without any."""
        ious = [got10k_overlaps(r.boxes, r.sequence.gt, r.sequence.cover, r.sequence.resolution)
                for r in self.results if r.sequence.cover is not None and r.sequence.resolution is not None]
        if not ious:
            return None
        return {**got10k_figures(np.concatenate(ious)), "sequences": len(ious)}

    @property
    def lasot(self) -> dict | None:
        """LaSOT's success AUC by its own toolkit's rule, over the LaSOT sequences (None without any): frames where
        the target is not visible score as failures but count in each sequence's frame total, so each sequence's
        success curve is ours scaled by its share of scored frames. This is the figure LaSOT papers quote; ours
        (scored frames only) reads higher."""
        curves = [r.curves.success * valid_frames(r.sequence.gt).sum() / len(r.sequence.gt)
                  for r in self.results if r.sequence.layout == "lasot"]
        if not curves:
            return None
        return {"auc": float(np.mean(curves)), "sequences": len(curves)}

    @property
    def fps(self) -> float:
        """Frames per second of the tracker alone (init + update)."""
        return self.frames / max(sum(float(r.times.sum()) for r in self.results), 1e-12)

    @property
    def fps_with_decoding(self) -> float:
        """Frames per second including reading and decoding the frames."""
        total = sum(float(r.times.sum()) + r.read_seconds for r in self.results)
        return self.frames / max(total, 1e-12)

    def summary(self) -> dict:
        """The figures of the run, curves included, as plain JSON-ready values."""
        c, got, lasot = self.curves, self.got10k, self.lasot
        return {
            "name": self.name, "dataset": self.dataset, "sequences": len(self.results), "frames": self.frames,
            "auc": c.auc, "precision_20": c.precision_20, "norm_precision": c.norm_precision_auc,
            "fps": self.fps, "fps_with_decoding": self.fps_with_decoding,
            "success_curve": c.success.tolist(), "precision_curve": c.precision.tolist(),
            "norm_precision_curve": c.norm_precision.tolist(),
            "thresholds": {"iou": IOU_THRESHOLDS.tolist(), "pixels": PIXEL_THRESHOLDS.tolist(),
                           "normalised": NORM_THRESHOLDS.tolist()},
            **({"got10k": got} if got else {}),
            **({"lasot": lasot} if lasot else {}),
        }

    def to_json(self) -> dict:
        """Summary, configuration, per-sequence figures and skipped sequences."""
        per_sequence = {
            r.sequence.name: {
                "layout": r.sequence.layout, "target": r.sequence.target, "frames": len(r.boxes),
                "auc": r.curves.auc, "precision_20": r.curves.precision_20,
                "norm_precision": r.curves.norm_precision_auc,
                "fps": len(r.boxes) / max(float(r.times.sum()), 1e-12),
                **({"notes": list(r.sequence.notes)} if r.sequence.notes else {}),
            } for r in self.results
        }
        return {**self.summary(), **self.meta, "per_sequence": per_sequence,
                "skipped": [asdict(s) for s in self.skipped]}

    def lines(self) -> list[str]:
        """A short human-readable summary."""
        c = self.curves
        out = [f"{self.name} on {self.dataset}: {len(self.results)} sequences, {self.frames} frames",
               f"  success AUC {c.auc:.3f} | precision@20px {c.precision_20:.3f} | "
               f"normalised precision {c.norm_precision_auc:.3f}",
               f"  {self.fps:.1f} fps tracker, {self.fps_with_decoding:.1f} fps with frame decoding"]
        got = self.got10k
        if got:
            out.insert(2, f"  GOT-10k (toolkit rules, {got['sequences']} sequences): AO {got['ao']:.3f} | "
                          f"SR0.5 {got['sr50']:.3f} | SR0.75 {got['sr75']:.3f}")
        lasot = self.lasot
        if lasot:
            out.insert(2, f"  LaSOT (toolkit rule: frames without a visible target fail, {lasot['sequences']} "
                          f"sequences): success AUC {lasot['auc']:.3f}")
        notes = [(r.sequence.name, note) for r in self.results for note in r.sequence.notes]
        if notes:
            out.append(f"  {len(notes)} note{'s' if len(notes) > 1 else ''}:")
            out += [f"    {name}: {note}" for name, note in notes]
        if self.skipped:
            out += skip_lines(self.skipped)
        return out


def skip_lines(skipped: list[Skipped], indent: str = "  ") -> list[str]:
    """Every skipped sequence with its reason, grouped by kind (the largest group first), each group with its
    count."""
    groups: dict[str, list[Skipped]] = {}
    for s in skipped:
        groups.setdefault(s.kind or "other", []).append(s)
    out = [f"{indent}{len(skipped)} sequence{'s' if len(skipped) > 1 else ''} skipped:"]
    for kind, items in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        out.append(f"{indent}  {kind} ({len(items)}):")
        out += [f"{indent}    {s.name}: {s.reason}" for s in items]
    return out


def skip_counts(skipped: list[Skipped]) -> str:
    """``3 frame_missing, 1 box_malformed``: how many sequences were skipped for each kind, the largest first."""
    counts = Counter(s.kind or "other" for s in skipped)
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items(), key=lambda c: (-c[1], c[0])))


class NothingToEvaluate(ValueError):
    """Every sequence was skipped; ``skipped`` holds them all (the message counts them by kind, in one line)."""

    def __init__(self, message: str, skipped: list[Skipped]):
        super().__init__(message)
        self.skipped = skipped


class FrameError(ValueError):
    """A frame that cannot be read or decoded: ``kind`` (``frame_missing``, ``frame_corrupt``) and ``path``; the
    message names the file."""

    def __init__(self, kind: str, detail: str, path: Path):
        super().__init__(detail)
        self.kind, self.path = kind, path


def check_frame(path: str | Path) -> None:
    """Decode a JPEG frame as strictly as curation does (:mod:`siamfc.curate.frames`: any libjpeg warning, such as
    a file cut short, makes it corrupt); :class:`FrameError` naming the file and the decoder's message otherwise.
    Files without a JPEG suffix are left to the tracker's reader."""
    path = Path(path)
    if path.suffix.lower() not in FRAME_SUFFIXES:
        return
    try:
        data = read_bytes(path)
        decode_jpeg(data, path, jpeg_size(data, path), CHECK_REDUCTION)
    except BadInput as bad:
        raise FrameError(bad.reason, bad.detail, path) from None


class FrameFiles(Sequence[str]):
    """A sequence's frame paths, each checked (:func:`check_frame`) when the tracker takes it, calling ``taken()``
    each time the tracker, iterating over them, takes the next one: a progress bar follows a tracker that knows
    nothing of it. A frame that fails the check raises :class:`FrameError` out of the tracker's loop."""

    def __init__(self, paths: Sequence[Path], taken: Callable[[], object] = lambda: None):
        self.paths, self.taken = [str(p) for p in paths], taken
        self.checked: set[int] = set()

    def __len__(self) -> int:
        return len(self.paths)

    def _checked(self, index: int) -> str:
        if index not in self.checked:
            check_frame(self.paths[index])
            self.checked.add(index)
        return self.paths[index]

    def __getitem__(self, index):  # noqa: ANN001, ANN204 - as list's
        if isinstance(index, slice):
            return self.paths[index]
        return self._checked(range(len(self.paths))[index])

    def __iter__(self) -> Iterator[str]:
        for index in range(len(self.paths)):
            yield self._checked(index)
            self.taken()


def run_sequence(tracker: Tracker, seq: EvalSequence, taken: Callable[[], object] = lambda: None) -> SequenceResult:
    """Track ``seq`` from its first ground-truth box with the tracker's own ``track`` and score the result.

    ``taken`` is called after each frame the tracker has taken (for a progress bar). The time not spent in
    ``init``/``update`` is counted as reading and decoding the frames.
    """
    start = time.perf_counter()
    boxes, times = tracker.track(FrameFiles(seq.frames, taken), seq.gt[0])
    wall = time.perf_counter() - start
    boxes, times = np.asarray(boxes, dtype=np.float64), np.asarray(times, dtype=np.float64)
    if boxes.shape != (len(seq), 4) or times.shape != (len(seq),):
        raise ValueError(f"tracker {tracker.name} returned {boxes.shape[0]} boxes and {times.shape[0]} times for "
                         f"{len(seq)} frames of {seq.name}")
    return SequenceResult(seq, boxes, times, max(wall - float(times.sum()), 0.0), sequence_curves(boxes, seq.gt))


def evaluate(tracker: Tracker, sequences: list[EvalSequence], name: str, dataset: str = "",
             skipped: list[Skipped] | None = None, meta: dict | None = None, progress: bool = True) -> EvalReport:
    """One-pass evaluation of ``tracker`` over ``sequences``.

    Sequences whose first frame has no usable box, and those with a frame that cannot be read or decoded, are
    added to the skipped ones (with the file and the reason) and the rest are evaluated. Raises
    :class:`NothingToEvaluate` (a ValueError, its message counting the skipped ones by kind) when no sequence is
    left.
    """
    skipped = list(skipped or [])
    usable = []
    for seq in sequences:
        first = seq.gt[0] if len(seq) else np.full(4, np.nan)
        if not (np.all(np.isfinite(first)) and first[2] > 0 and first[3] > 0):
            skipped.append(Skipped(seq.name, f"{seq.gt_file or seq.name}: no ground-truth box on the first frame",
                                   seq.gt_file, NO_FIRST_BOX))
        else:
            usable.append(seq)
    results = []
    with tqdm(total=sum(len(s) for s in usable), desc=f"eval {name}", unit="frame", disable=not progress) as bar:
        for seq in usable:
            result = _tracked(tracker, seq, bar)
            (results if isinstance(result, SequenceResult) else skipped).append(result)
    if not results:
        raise NothingToEvaluate(f"{dataset or name}: no sequence to evaluate"
                                + (f"; all {len(skipped)} skipped: {skip_counts(skipped)}" if skipped else ""),
                                skipped)
    return EvalReport(name, dataset, results, skipped, dict(meta or {}))


def _tracked(tracker: Tracker, seq: EvalSequence, bar: tqdm) -> SequenceResult | Skipped:
    """:func:`run_sequence`, or a :class:`Skipped` with the reason a frame could not be read."""
    done = 0

    def taken() -> None:
        nonlocal done
        done += 1
        bar.update()

    try:
        return run_sequence(tracker, seq, taken)
    except FrameError as err:
        return Skipped(seq.name, str(err), str(err.path), err.kind)
    except (OSError, ValueError) as err:  # a tracker's own frame reader: its error starts with the frame's path
        index = next((i for i, p in enumerate(seq.frames) if str(err).startswith(str(p))), None)
        if index is None:
            return Skipped(seq.name, str(err), seq.gt_file, TRACKER_ERROR)
        return Skipped(seq.name, str(err), str(seq.frames[index]), FRAME_CORRUPT)
    finally:
        bar.update(len(seq) - done)


def write_report(report: EvalReport, out: str | Path) -> Path:
    """Write ``<out>/<name>.json`` and ``<out>/<name>/<sequence>.txt`` (each atomically); returns the JSON path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for r in report.results:
        path = out / report.name / f"{r.sequence.name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_boxes(path, r.boxes)
    return write_json_atomic(out / f"{report.name}.json", report.to_json())


def write_toolkit_results(report: EvalReport, out: str | Path) -> Path:
    """The boxes and times in the got10k toolkit's result layout under ``out`` (the toolkit's ``result_dir``).

    GOT-10k sequences: ``GOT-10k/<name>/<seq>/<seq>_001.txt`` (boxes, 0-based as GOT-10k's own) and
    ``<seq>_time.txt`` beside it, what ``ExperimentGOT10k.report`` and the GOT-10k server read. OTB sequences:
    ``OTB2015/<name>/<seq>.txt`` with the boxes back in OTB's 1-based pixels and ``times/<seq>_time.txt``, as
    ``ExperimentOTB`` writes them (rename ``OTB2015`` for another version); VID val: ``VID/<name>/...`` in the OTB
    layout, 0-based. LaSOT: ``LaSOT/<name>/<seq>.txt`` and ``times/<seq>_time.txt``, 1-based like its
    ``groundtruth.txt``, what got10k's ``ExperimentLaSOT(root, result_dir=<out>/LaSOT).report([name])`` reads (it
    joins no benchmark folder of its own). Boxes go back 1-based wherever the dataset's files are
    (:attr:`EvalSequence.one_based`). ``<seq>`` is the sequence folder's name, as the toolkits name sequences, unless
    another sequence of the run shares it (:func:`result_names`: then the whole name). Returns ``out``.
    """
    names = result_names(r.sequence for r in report.results)
    for r in report.results:
        seq = names[r.sequence.name]
        root = Path(out) / TOOLKIT_FOLDERS[r.sequence.layout] / report.name
        boxes = r.boxes.copy()
        if r.sequence.layout == "got10k":
            box_file, time_file = root / seq / f"{seq}_001.txt", root / seq / f"{seq}_time.txt"
        else:
            boxes[:, :2] += 1 if r.sequence.one_based else 0
            box_file, time_file = root / f"{seq}.txt", root / "times" / f"{seq}_time.txt"
        for path, values, fmt in ((box_file, boxes, "%.3f"), (time_file, r.times[:, None], "%.8f")):
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path, "w") as f:
                np.savetxt(f, values, fmt=fmt, delimiter=",")
    return Path(out)


def result_names(sequences: Iterable[EvalSequence]) -> dict[str, str]:
    """Each sequence's file name in the toolkit layout (:func:`write_toolkit_results`): its folder's name, as the
    toolkits name sequences (``Basketball``, ``GOT-10k_Val_000001``, ``airplane-1``, ``Jogging.1``); where two
    sequences of one toolkit folder share that name (compared ignoring case, as some file systems do: the second
    file would replace the first), each of them gets its whole name with ``/`` replaced by ``_``
    (``a_Walk``, ``b_Walk``). ValueError naming both sequences when even those collide. Call it before tracking to
    refuse a run whose results would overwrite each other."""
    seqs = list(sequences)
    short = {id(s): s.name.rsplit("/", 1)[-1] for s in seqs}
    shared = Counter((TOOLKIT_FOLDERS[s.layout], short[id(s)].casefold()) for s in seqs)
    names: dict[str, str] = {}
    seen: dict[tuple[str, str], EvalSequence] = {}
    for s in seqs:
        folder = TOOLKIT_FOLDERS[s.layout]
        name = short[id(s)] if shared[folder, short[id(s)].casefold()] == 1 else s.name.replace("/", "_")
        other = seen.setdefault((folder, name.casefold()), s)
        if other is not s:
            raise ValueError(f"sequences {other.name!r} ({other.gt_file}) and {s.name!r} ({s.gt_file}) would write "
                             f"the same result file {folder}/<run>/{name}; rename one of their folders")
        names[s.name] = name
    return names


def write_boxes(path: str | Path, boxes: np.ndarray) -> Path:
    """``x,y,w,h`` rows (3 decimals) into ``path``, atomically."""
    with atomic_write(path, "w") as f:
        np.savetxt(f, boxes, fmt="%.3f", delimiter=",")
    return Path(path)


def load_summary(path: str | Path) -> dict:
    """A report JSON written by :func:`write_report`; ValueError naming the file if it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such report") from None
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable JSON report ({err})") from None
    needed = ("name", "auc", "precision_20", "success_curve", "precision_curve")
    if not isinstance(data, dict) or any(k not in data for k in needed):
        raise ValueError(f"{path}: not a siamfc eval report (needs {', '.join(needed)})")
    return data
