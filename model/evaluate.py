"""One-pass evaluation (OPE): run a tracker once over every sequence of a benchmark from its first box, then score
it by that benchmark's toolkit's rules.

What is scored and how is the benchmark's registry entry (:mod:`siamfc.curate.benchmarks`): its figure set
(``ope``: success AUC and precision at 20 px as got10k's ``ExperimentOTB.report`` computes them, first box from the
ground truth; ``lasot``: success, precision and normalised precision by LaSOT's toolkit; ``got10k``: AO, SR0.5,
SR0.75 beside the curves; ``vid``), its rule for frames without a visible target, its result folder and pixel base.
Curves are computed per sequence and averaged over sequences with equal weight
(:func:`siamfc.model.metrics.mean_curves`). A benchmark that gives the first box only (GOT-10k test, TrackingNet
test) is tracked and written, not scored. Speed is reported twice: tracker fps (``init`` and ``update`` time only,
as the toolkits time it) and fps including reading and decoding the frames.

Any tracker speaking the got10k toolkit's interface (:class:`Tracker`) can be evaluated: each sequence is run
through the tracker's own ``track(img_files, box)``; ``workers`` > 1 runs sequences in that many processes, each
with its own tracker (built by a picklable factory) and its share of the threads, with the same results.

Each frame is decoded as strictly as curation decodes it (:func:`check_frame`, :mod:`siamfc.curate.frames`) just
before the tracker takes it: a truncated or corrupt JPEG, which OpenCV and PIL would hand over half grey with a
libjpeg warning that names no file, skips its sequence with the file and the decoder's message, and the rest is
evaluated. That check is part of the "with decoding" speed.

Each sequence is recorded as it finishes (:class:`Records`: its boxes, times, or why it was skipped, written
atomically under ``<out>/<name>/records/``, with its toolkit result files): a rerun of the same evaluation (same
benchmark, dataset, weights, backend and tracker options) takes the recorded sequences as they are and tracks the
rest, so a killed evaluation loses at most the sequences in flight. The report is written as ``<name>.json``
(summary, curves, per-sequence figures and notes, skipped sequences), one ``<name>/<sequence>.txt`` per sequence
(``x,y,w,h`` per frame, 0-based) and ``<name>.png`` (plots). Skipped sequences are listed grouped by kind
(:func:`skip_lines`), every one with its file and reason.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import queue as queue_module
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from siamfc.curate.atomic import atomic_write, write_json_atomic
from siamfc.curate.benchmarks import BENCHMARKS, Benchmark
from siamfc.curate.boxes import valid_xywh
from siamfc.curate.errors import FRAME_CORRUPT, BadInput, UserError
from siamfc.curate.frames import decode_jpeg, jpeg_size, read_bytes
from siamfc.curate.sources.base import FRAME_SUFFIXES

from .eval_sequences import EvalSequence, Skipped
from .metrics import (
    IOU_THRESHOLDS,
    NORM_THRESHOLDS,
    PIXEL_THRESHOLDS,
    Curves,
    benchmark_curves,
    got10k_figures,
    got10k_overlaps,
    mean_curves,
    sequence_curves,
)

NO_FIRST_BOX, TRACKER_ERROR = "no_first_box", "tracker_error"  # skip kinds found here (the others: eval_sequences)
CHECK_REDUCTION = 8  # frames are checked decoding at 1/8 scale: libjpeg still reads (and checks) every byte
BOX_DECIMALS = 3  # boxes are kept (and written) to 3 decimals, so figures recomputed from the files are ours
RECORDS = "records"  # <out>/<name>/records/: one JSON per finished sequence, and run.json


class Tracker(Protocol):
    """The got10k toolkit's ``Tracker`` interface, as far as evaluation uses it."""

    name: str

    def track(self, img_files: Sequence[str], box: np.ndarray,
              visualize: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(boxes [N, 4] x, y, w, h, seconds of init/update per frame [N])`` from ``box`` on the first file."""
        ...


@dataclass(frozen=True)
class SequenceResult:
    """A tracker's boxes on one sequence, its timings and its curves (None for a sequence that is not scored)."""

    sequence: EvalSequence
    boxes: np.ndarray  # [N, 4] x, y, w, h, 0-based, to BOX_DECIMALS decimals
    times: np.ndarray  # [N] seconds of init/update per frame
    read_seconds: float  # reading and decoding the N frames
    curves: Curves | None  # over the frames with a visible target (the per-frame view); None when not scored

    @property
    def bench(self) -> Benchmark:
        return BENCHMARKS[self.sequence.benchmark]

    @property
    def figures(self) -> Curves | None:
        """The sequence's curves by its benchmark's toolkit (:func:`~.metrics.benchmark_curves`)."""
        if self.curves is None:
            return None
        bench, seq = self.bench, self.sequence
        gt = seq.scored_gt if seq.scored_gt is not None else seq.gt
        return benchmark_curves(self.boxes, gt, bench.not_visible, first_from_gt=bench.figures == "ope")


@dataclass
class EvalReport:
    """Results of one run of a tracker over a benchmark: ``results`` in sequence order, each with its
    ``sequence`` (name, ground truth, benchmark name) and ``boxes`` (what other tools read, e.g. per-attribute
    figures and published-result comparisons)."""

    name: str
    dataset: str
    results: list[SequenceResult]
    skipped: list[Skipped] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # tracker configuration, weights, device
    benchmark: str = ""  # the curate.benchmarks.BENCHMARKS name
    resumed: int = 0  # sequences taken from an earlier run's records

    @property
    def bench(self) -> Benchmark | None:
        name = self.benchmark or (self.results[0].sequence.benchmark if self.results else "")
        return BENCHMARKS.get(name)

    @property
    def scored(self) -> list[SequenceResult]:
        return [r for r in self.results if r.curves is not None]

    @property
    def frames(self) -> int:
        return sum(len(r.boxes) for r in self.results)

    @property
    def curves(self) -> Curves:
        """The benchmark's curves: each sequence's by its toolkit's rule, averaged over sequences."""
        return mean_curves([r.figures for r in self.scored])

    @property
    def scored_frames_curves(self) -> Curves:
        """Curves over the frames with a visible target only (every benchmark's frames without one left out)."""
        return mean_curves([r.curves for r in self.scored])

    @property
    def got10k(self) -> dict | None:
        """GOT-10k's own figures (:func:`~.metrics.got10k_figures`) over the GOT-10k sequences with ``cover.label``
        and ``meta_info.ini``, all their scored frames pooled as the toolkit pools them; None without any."""
        ious = [got10k_overlaps(r.boxes, r.sequence.gt, r.sequence.cover, r.sequence.resolution)
                for r in self.scored if r.sequence.cover is not None and r.sequence.resolution is not None]
        if not ious:
            return None
        return {**got10k_figures(np.concatenate(ious)), "sequences": len(ious)}

    @property
    def lasot(self) -> dict | None:
        """The LaSOT toolkit's figures (LaSOT, LaSOT-ext, TNL2K; None for other benchmarks): frames where the target
        is not visible score as failures but count in each sequence's frame total; success AUC, precision at 20 px
        and normalised precision (the mean of its curve over 0 .. 0.5). These are the figures LaSOT papers quote;
        curves over the scored frames only read higher."""
        rows = [r for r in self.scored if r.bench.figures == "lasot"]
        if not rows:
            return None
        c = mean_curves([r.figures for r in rows])
        return {"auc": c.auc, "precision_20": c.precision_20, "norm_precision": c.norm_precision_auc,
                "sequences": len(rows)}

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
        """The figures of the run, curves included, as plain JSON-ready values (no curves when not scored)."""
        bench = self.bench
        out = {"name": self.name, "dataset": self.dataset, "benchmark": bench.name if bench else "",
               "figures": bench.figures if bench else "", "sequences": len(self.results), "frames": self.frames,
               "fps": self.fps, "fps_with_decoding": self.fps_with_decoding}
        if not self.scored:
            return {**out, "scored": False}
        c, got, lasot = self.curves, self.got10k, self.lasot
        return {
            **out, "scored": True, "not_visible": bench.not_visible if bench else "",
            "auc": c.auc, "precision_20": c.precision_20, "norm_precision": c.norm_precision_auc,
            "success_curve": c.success.tolist(), "precision_curve": c.precision.tolist(),
            "norm_precision_curve": c.norm_precision.tolist(),
            "thresholds": {"iou": IOU_THRESHOLDS.tolist(), "pixels": PIXEL_THRESHOLDS.tolist(),
                           "normalised": NORM_THRESHOLDS.tolist()},
            **({"got10k": got} if got else {}),
            **({"lasot": lasot} if lasot else {}),
        }

    def to_json(self) -> dict:
        """Summary, configuration, per-sequence figures and skipped sequences."""
        per_sequence = {}
        for r in self.results:
            entry = {"benchmark": r.sequence.benchmark, "target": r.sequence.target, "frames": len(r.boxes),
                     "fps": len(r.boxes) / max(float(r.times.sum()), 1e-12)}
            figures = r.figures
            if figures is not None:
                entry.update(auc=figures.auc, precision_20=figures.precision_20,
                             norm_precision=figures.norm_precision_auc)
            if r.sequence.notes:
                entry["notes"] = list(r.sequence.notes)
            per_sequence[r.sequence.name] = entry
        return {**self.summary(), **self.meta, "per_sequence": per_sequence,
                "skipped": [asdict(s) for s in self.skipped]}

    def lines(self) -> list[str]:
        """A short human-readable summary."""
        bench = self.bench
        title = f" ({bench.title})" if bench else ""
        out = [f"{self.name} on {self.dataset}{title}: {len(self.results)} sequences, {self.frames} frames"]
        if self.scored:
            c = self.curves
            rule = {"fail": "frames without a visible target fail", "drop": "frames without a visible target "
                    "left out", "placeholder": "lost frames scored against the annotation's box"}
            out.append(f"  success AUC {c.auc:.3f} | precision@20px {c.precision_20:.3f} | "
                       f"normalised precision {c.norm_precision_auc:.3f}"
                       + (f" ({rule[bench.not_visible]})" if bench else ""))
        else:
            out.append("  first box only: tracked and written, not scored"
                       + (f" (siamfc pack {bench.pack} on the results)" if bench and bench.pack else ""))
        got = self.got10k
        if got:
            out.append(f"  GOT-10k (toolkit rules, {got['sequences']} sequences): AO {got['ao']:.3f} | "
                       f"SR0.5 {got['sr50']:.3f} | SR0.75 {got['sr75']:.3f}")
        out.append(f"  {self.fps:.1f} fps tracker, {self.fps_with_decoding:.1f} fps with frame decoding")
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


class NothingToEvaluate(UserError):
    """Every sequence was skipped; ``skipped`` holds them all (the message counts them by kind, in one line)."""

    def __init__(self, message: str, skipped: list[Skipped]):
        super().__init__(message)
        self.skipped = skipped


class FrameError(UserError):
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
    ``init``/``update`` is counted as reading and decoding the frames. Boxes are kept to :data:`BOX_DECIMALS`
    decimals, as the result files hold them.
    """
    start = time.perf_counter()
    boxes, times = tracker.track(FrameFiles(seq.frames, taken), seq.gt[0])
    wall = time.perf_counter() - start
    boxes, times = np.asarray(boxes, dtype=np.float64), np.asarray(times, dtype=np.float64)
    if boxes.shape != (len(seq), 4) or times.shape != (len(seq),):
        raise ValueError(f"tracker {tracker.name} returned {boxes.shape[0]} boxes and {times.shape[0]} times for "
                         f"{len(seq)} frames of {seq.name}")
    return scored_result(seq, boxes, times, max(wall - float(times.sum()), 0.0))


def scored_result(seq: EvalSequence, boxes: np.ndarray, times: np.ndarray, read_seconds: float) -> SequenceResult:
    """A :class:`SequenceResult` with its curves (none for a sequence that is not scored)."""
    boxes = np.round(np.asarray(boxes, dtype=np.float64), BOX_DECIMALS) + 0.0  # no -0.0
    curves = sequence_curves(boxes, seq.gt) if seq.scored else None
    return SequenceResult(seq, boxes, np.asarray(times, dtype=np.float64), read_seconds, curves)


def usable_sequences(sequences: list[EvalSequence], skipped: list[Skipped]) -> list[EvalSequence]:
    """The sequences with a usable first box; the others added to ``skipped`` (``no_first_box``)."""
    usable = []
    for seq in sequences:
        first = seq.gt[0] if len(seq) else np.full(4, np.nan)
        if not valid_xywh(first):
            skipped.append(Skipped(seq.name, f"{seq.gt_file or seq.name}: no ground-truth box on the first frame",
                                   seq.gt_file, NO_FIRST_BOX))
        else:
            usable.append(seq)
    return usable


def evaluate(tracker: Tracker | None, sequences: list[EvalSequence], name: str, dataset: str = "",
             skipped: list[Skipped] | None = None, meta: dict | None = None, progress: bool = True,
             records: Records | None = None, workers: int = 1, factory: Callable[[], Tracker] | None = None,
             threads: int | None = None) -> EvalReport:
    """One-pass evaluation of ``tracker`` over ``sequences`` (of one benchmark).

    Sequences whose first frame has no usable box, and those with a frame that cannot be read or decoded, are
    added to the skipped ones (with the file and the reason) and the rest are evaluated. ``records``: sequences it
    holds are taken from it, and each sequence finished is recorded in it at once (:class:`Records`).
    ``workers`` > 1: the sequences are tracked in that many processes, each building its tracker with ``factory``
    (picklable) and using ``threads`` torch threads (default: the CPU count shared out); the results are the same
    as one process gives, in sequence order. Raises :class:`NothingToEvaluate` (a UserError, its message counting
    the skipped ones by kind) when no sequence is left.
    """
    skipped = list(skipped or [])
    usable = usable_sequences(sequences, skipped)
    done: dict[str, SequenceResult | Skipped] = dict(records.recorded(usable)) if records is not None else {}
    todo = [s for s in usable if s.name not in done]

    def finished(seq: EvalSequence, result: SequenceResult | Skipped) -> None:
        done[seq.name] = result
        if records is not None:
            records.record(seq, result)

    with tqdm(total=sum(len(s) for s in todo), desc=f"eval {name}", unit="frame", disable=not progress) as bar:
        if workers > 1 and len(todo) > 1:
            if factory is None:
                raise ValueError("workers > 1 needs a tracker factory")
            _in_processes(factory, todo, min(workers, len(todo)), threads, bar, finished)
        elif todo:
            tracker = tracker if tracker is not None else factory()  # type: ignore[misc]
            for seq in todo:
                finished(seq, _tracked(tracker, seq, bar.update))
    results = [done[s.name] for s in usable]
    skipped += [r for r in results if isinstance(r, Skipped)]
    results = [r for r in results if isinstance(r, SequenceResult)]
    if not results:
        raise NothingToEvaluate(f"{dataset or name}: no sequence to evaluate"
                                + (f"; all {len(skipped)} skipped: {skip_counts(skipped)}" if skipped else ""),
                                skipped)
    resumed = len(usable) - len(todo)
    return EvalReport(name, dataset, results, skipped, dict(meta or {}), results[0].sequence.benchmark, resumed)


def _tracked(tracker: Tracker, seq: EvalSequence, tick: Callable[[int], object]) -> SequenceResult | Skipped:
    """:func:`run_sequence`, or a :class:`Skipped` with the reason a frame could not be read; ``tick(n)`` counts
    frames for a progress bar (every frame of the sequence, whatever happens)."""
    done = 0

    def taken() -> None:
        nonlocal done
        done += 1
        tick(1)

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
        tick(len(seq) - done)


# -- sequences in several processes ------------------------------------------------------------------------------

_WORKER: dict = {}  # the tracker of a worker process, and its progress queue


def _start_worker(factory: Callable[[], Tracker], threads: int, progress: multiprocessing.Queue) -> None:
    import torch

    torch.set_num_threads(threads)
    _WORKER.update(tracker=factory(), progress=progress)


def _track_in_worker(seq: EvalSequence) -> SequenceResult | Skipped:
    progress = _WORKER["progress"]
    return _tracked(_WORKER["tracker"], seq, progress.put)


def _in_processes(factory: Callable[[], Tracker], todo: list[EvalSequence], workers: int, threads: int | None,
                  bar: tqdm, finished: Callable[[EvalSequence, SequenceResult | Skipped], None]) -> None:
    """Track ``todo`` in ``workers`` spawned processes; ``finished`` is called here, in this process, as each
    sequence ends (so records have one writer); ``bar`` counts the frames of all workers."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    threads = threads or max(1, cores // workers)  # the cores this process may use, shared out
    context = multiprocessing.get_context("spawn")  # no fork of a process holding torch's threads
    progress = context.Queue()
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(factory, threads, progress)) as pool:
        # the longest first: the last sequence to start is a short one
        order = sorted(todo, key=len, reverse=True)
        pending: dict[Future, EvalSequence] = {pool.submit(_track_in_worker, seq): seq for seq in order}
        try:
            while pending:
                ready, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(progress, bar)
                for future in ready:
                    finished(pending.pop(future), future.result())
        except BaseException:  # Ctrl-C, a worker that died: start nothing more (what finished is recorded)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        _drain(progress, bar)


def _drain(progress: multiprocessing.Queue, bar: tqdm) -> None:
    while True:
        try:
            bar.update(progress.get_nowait())
        except queue_module.Empty:
            return


# -- records: a resumable evaluation ---------------------------------------------------------------------------


class Records:
    """Each finished sequence of a run, recorded at once: ``<out>/<name>/records/<file>.json`` (boxes, times, or
    why it was skipped; atomically) beside its toolkit result files under ``results``, and ``run.json`` saying
    which run they belong to (benchmark, dataset, weights and their checksum, backend, tracker options). A rerun
    with the same ``run.json`` takes the recorded sequences; one with another is refused (UserError in one line
    naming what differs) unless ``force``, which deletes the earlier records first."""

    def __init__(self, out: str | Path, name: str, run: dict, results: str | Path | None = None,
                 force: bool = False):
        self.out, self.name, self.run = Path(out), name, run
        self.folder = self.out / name / RECORDS
        self.results = Path(results) if results is not None else None
        self.names: dict[str, str] = {}
        run_file = self.folder / "run.json"
        if force and self.folder.is_dir():
            shutil.rmtree(self.folder)
        if run_file.is_file():
            try:
                earlier = json.loads(run_file.read_text())
            except (OSError, json.JSONDecodeError):
                earlier = None
            differs = [k for k in sorted(set(run) | set(earlier or {})) if (earlier or {}).get(k) != run.get(k)]
            if differs:
                raise UserError(f"{self.folder}: records of another evaluation under the name {name!r} "
                                 f"({', '.join(differs)} differ); --force redoes every sequence, or give another "
                                 "--name")
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_file, run)

    def _file(self, seq: EvalSequence) -> Path:
        return self.folder / f"{self.names.get(seq.name, seq.name.replace('/', '_'))}.json"

    def recorded(self, sequences: list[EvalSequence]) -> Iterator[tuple[str, SequenceResult | Skipped]]:
        """The sequences already recorded, as they were (a record for another frame count is not one)."""
        self.names = result_names(sequences)
        for seq in sequences:
            path = self._file(seq)
            try:
                data = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if data.get("frames") != len(seq) or data.get("name") != seq.name:
                continue
            if "skipped" in data:
                yield seq.name, Skipped(**data["skipped"])
            else:
                yield seq.name, scored_result(seq, np.array(data["boxes"], dtype=np.float64).reshape(-1, 4),
                                              np.array(data["times"], dtype=np.float64), data["read_seconds"])

    def record(self, seq: EvalSequence, result: SequenceResult | Skipped) -> None:
        """Write the sequence's result files, then its record (its presence: the sequence is done)."""
        data: dict = {"name": seq.name, "frames": len(seq)}
        if isinstance(result, Skipped):
            data["skipped"] = asdict(result)
        else:
            write_boxes(self.out / self.name / f"{seq.name}.txt", result.boxes)
            if self.results is not None:
                write_sequence_results(result, self.results, self.name, self.names.get(seq.name, seq.name))
            data.update(boxes=result.boxes.tolist(), times=result.times.tolist(), read_seconds=result.read_seconds)
        write_json_atomic(self._file(seq), data, indent=None)


def weights_identity(path: str | Path) -> str:
    """SHA-256 of a weights file (a record of which weights a run used, wherever the file moved)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- result files ------------------------------------------------------------------------------------------------


def write_report(report: EvalReport, out: str | Path) -> Path:
    """Write ``<out>/<name>.json`` and ``<out>/<name>/<sequence>.txt`` (each atomically); returns the JSON path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for r in report.results:
        path = out / report.name / f"{r.sequence.name}.txt"
        if not path.is_file():
            write_boxes(path, r.boxes)
    return write_json_atomic(out / f"{report.name}.json", report.to_json())


def write_sequence_results(r: SequenceResult, out: str | Path, tracker: str, seq: str) -> None:
    """One sequence's boxes and times in its toolkit's result layout under result root ``out``
    (:func:`write_toolkit_results`), as file name ``seq``."""
    bench = r.bench
    root = bench.result_folder(out, tracker)
    boxes = r.boxes.copy()
    if bench.result_layout == "got10k":
        box_file, time_file = root / seq / f"{seq}_001.txt", root / seq / f"{seq}_time.txt"
    else:
        boxes[:, :2] += 1 if bench.one_based else 0
        box_file, time_file = root / f"{seq}.txt", root / "times" / f"{seq}_time.txt"
    for path, values, fmt in ((box_file, boxes, f"%.{BOX_DECIMALS}f"), (time_file, r.times[:, None], "%.8f")):
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "w") as f:
            np.savetxt(f, values, fmt=fmt, delimiter=",")


def write_toolkit_results(report: EvalReport, out: str | Path) -> Path:
    """The boxes and times in the toolkit's result layout of each sequence's benchmark under ``out`` (the
    toolkit's ``result_dir``): ``<result_dir>/<name>/`` of the registry entry
    (:attr:`~siamfc.curate.benchmarks.Benchmark.result_dir`), e.g. ``OTB2015/``, ``UAV123/``, ``NfS/30/``,
    ``TColor128/``, ``LaSOT/``, ``GOT-10k/``, ``TrackingNet/``.

    Layouts (:attr:`~siamfc.curate.benchmarks.Benchmark.result_layout`): ``otb``: ``<seq>.txt`` and
    ``times/<seq>_time.txt``, as got10k's ``ExperimentOTB`` writes them (UAV123, NfS, TC128, LaSOT, TNL2K, VID and
    your own sequences alike); ``got10k``: ``<seq>/<seq>_001.txt`` and ``<seq>/<seq>_time.txt``, what
    ``ExperimentGOT10k.report`` and the GOT-10k server read (``siamfc pack got10k``); ``flat``: ``<video>.txt``,
    comma-separated, what ``siamfc pack trackingnet`` zips (its ``times/`` folder is left out). Boxes go back 1-based
    wherever the dataset's files are (:attr:`~siamfc.curate.benchmarks.Benchmark.one_based`). ``<seq>`` is the
    sequence's last name part, as the toolkits name sequences, unless another sequence of the run shares it
    (:func:`result_names`). Returns ``out``.
    """
    names = result_names(r.sequence for r in report.results)
    for r in report.results:
        write_sequence_results(r, out, report.name, names[r.sequence.name])
    return Path(out)


def result_names(sequences: Iterable[EvalSequence]) -> dict[str, str]:
    """Each sequence's file name in the toolkit layout (:func:`write_toolkit_results`): its last name part, as the
    toolkits name sequences (``Basketball``, ``GOT-10k_Val_000001``, ``airplane-1``, ``Jogging.1``); where two
    sequences of one toolkit folder share that name (compared ignoring case, as some file systems do: the second
    file would replace the first), each of them gets its whole name with ``/`` replaced by ``_``. UserError naming
    both sequences when even those collide. Call it before tracking to refuse a run whose results would overwrite
    each other."""
    seqs = list(sequences)
    short = {id(s): s.name.rsplit("/", 1)[-1] for s in seqs}
    folder_of = {id(s): "/".join(BENCHMARKS[s.benchmark].result_dir) for s in seqs}
    shared = Counter((folder_of[id(s)], short[id(s)].casefold()) for s in seqs)
    names: dict[str, str] = {}
    seen: dict[tuple[str, str], EvalSequence] = {}
    for s in seqs:
        folder = folder_of[id(s)]
        name = short[id(s)] if shared[folder, short[id(s)].casefold()] == 1 else s.name.replace("/", "_")
        other = seen.setdefault((folder, name.casefold()), s)
        if other is not s:
            raise UserError(f"sequences {other.name!r} ({other.gt_file}) and {s.name!r} ({s.gt_file}) would write "
                             f"the same result file {folder}/<run>/{name}; rename one of their folders")
        names[s.name] = name
    return names


def write_boxes(path: str | Path, boxes: np.ndarray) -> Path:
    """``x,y,w,h`` rows (3 decimals) into ``path``, atomically."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as f:
        np.savetxt(f, boxes, fmt=f"%.{BOX_DECIMALS}f", delimiter=",")
    return Path(path)


def load_summary(path: str | Path) -> dict:
    """A report JSON written by :func:`write_report`; UserError naming the file if it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such report") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: not a readable JSON report ({err})") from None
    needed = ("name", "auc", "precision_20", "success_curve", "precision_curve")
    if not isinstance(data, dict) or any(k not in data for k in needed):
        raise UserError(f"{path}: not a siamfc eval report (needs {', '.join(needed)})")
    return data
