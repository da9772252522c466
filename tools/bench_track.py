"""`siamfc bench track`: tracker fps per backend beside the reference, in the same run, with the time per stage.

Every tracker runs on the same decoded frames, with the same network weights and the same CPU threads:

- ``reference``: siamfc-pytorch's per-frame procedure (:mod:`.reference_tracker`), the figure to beat;
- ``torch cpu``, ``onnxruntime`` (when installed) and, with CUDA, ``torch cuda`` and ``torch cuda amp``: our
  :class:`~siamfc.model.tracker.SiamFCTracker`, built by :func:`~siamfc.model.tracker.load_tracker`.

Rounds alternate between the trackers (the machine is shared and noisy) and each tracker's best round counts.
Only ``update`` is timed, after warm-up updates. Without ``--weights`` the network is
:func:`~.synthetic.template_matching_net` (speed does not depend on the weights, but comparing boxes needs
responses with a clear peak). Our tracker's time is split into crops (three search crops and
the channel mean), network (the backbone and correlation on the backend) and locate (upsampling, penalties,
window, peak). The boxes of each backend are compared with those of ``torch cpu`` (float32): the largest centre
distance in pixels, and the success AUC against the sequence's ground truth beside ``torch cpu``'s. A floor is
printed too: reading and decoding the frames with ``cv2.imread``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from siamfc.curate.boxes import xywh_to_cxcywh
from siamfc.curate.errors import UserError
from siamfc.curate.synth import SynthConfig, generate
from siamfc.model.checkpoint import save_weights
from siamfc.model.eval_sequences import EvalSequence, find_sequences
from siamfc.model.metrics import sequence_curves
from siamfc.model.tracker import load_tracker, read_image
from siamfc.model.tracker_config import TrackerConfig
from siamfc.model.weights import load_net

from .reference_tracker import ReferenceTracker
from .synthetic import template_matching_net

WARMUP = 3  # updates before timing: first calls allocate buffers and (on CUDA) pick kernels


def decode_floor(paths: list[Path]) -> float:
    """Seconds per frame to read and decode every path with ``cv2.imread``."""
    start = time.perf_counter()
    for p in paths:
        read_image(p)
    return (time.perf_counter() - start) / len(paths)


def run_updates(init: Callable, update: Callable, images: list[np.ndarray], box: np.ndarray,
                sync: Callable[[], None]) -> tuple[float, np.ndarray]:
    """``(seconds per update, boxes [N, 4])`` of one pass over ``images`` from ``box``, after warm-up."""
    init(images[0], box)
    for image in images[1:1 + WARMUP]:
        update(image)
    init(images[0], box)
    boxes = [np.asarray(box, dtype=np.float64)]
    sync()
    start = time.perf_counter()
    for image in images[1:]:
        boxes.append(np.asarray(update(image), dtype=np.float64))
    sync()
    return (time.perf_counter() - start) / (len(images) - 1), np.array(boxes)


def trackers(weights: Path, config: TrackerConfig, cpu_only: bool) -> dict[str, object]:
    """The trackers to time, by label: the reference, then ours on every backend available here."""
    out: dict[str, object] = {"reference": ReferenceTracker(load_net(weights)[0], config),
                              "torch cpu": load_tracker(weights, config, "cpu")}
    if importlib.util.find_spec("onnxruntime") is not None:
        for backend in ("onnxruntime", "onnxruntime-int8"):
            out[backend] = load_tracker(weights, config, backend=backend)
    else:
        print("onnxruntime not installed (pip install 'siamfc[onnx]'): that backend is not timed")
    if torch.cuda.is_available() and not cpu_only:
        out["torch cuda"] = load_tracker(weights, config, "cuda")
        amp = load_tracker(weights, config, "cuda")
        amp.engine.amp = True
        out["torch cuda amp"] = amp
    return out


def centre_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest distance between the centres of two box tracks, pixels."""
    return float(np.max(np.hypot(*(xywh_to_cxcywh(a)[:, :2] - xywh_to_cxcywh(b)[:, :2]).T)))


def bench_sequence(seq: EvalSequence, weights: Path, config: TrackerConfig, rounds: int, cpu_only: bool) -> dict:
    """Time every tracker on ``seq``; print the tables; return the figures."""
    paths = list(seq.frames)
    for p in paths:  # warm the page cache so the floor does not pay for the disk
        p.read_bytes()
    floor = decode_floor(paths)
    images = [read_image(p) for p in paths]
    h, w = images[0].shape[:2]
    timed = trackers(weights, config, cpu_only)
    print(f"{seq.name}: {len(paths)} frames of {w}x{h}, {config.scales} scales, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads, best of {rounds} alternating rounds")
    best: dict[str, float] = {}
    boxes: dict[str, np.ndarray] = {}
    stages: dict[str, dict[str, float]] = {}
    for _ in range(rounds):
        for label, tracker in timed.items():
            sync = getattr(getattr(tracker, "engine", None), "synchronize", lambda: None)
            before = dict(getattr(tracker, "stage_seconds", {}))
            seconds, boxes[label] = run_updates(tracker.init, tracker.update, images, seq.gt[0], sync)
            if seconds < best.get(label, float("inf")):
                best[label] = seconds
                if before:  # our tracker: its stage split of this round, per update
                    n = len(images) - 1 + WARMUP
                    stages[label] = {k: (v - before[k]) / n for k, v in tracker.stage_seconds.items()}
    floor = min(floor, decode_floor(paths))
    reference = best["reference"]
    print(f"{'tracker':16} {'ms/frame':>9} {'fps':>7} {'x reference':>12} {'centre diff vs torch cpu':>25} "
          f"{'success AUC':>12}")
    rows = []
    for label, seconds in best.items():
        diff = centre_error(boxes[label], boxes["torch cpu"])
        auc = sequence_curves(boxes[label], seq.gt).auc
        rows.append({"tracker": label, "ms_per_frame": 1e3 * seconds, "fps": 1 / seconds,
                     "fps_ratio_to_reference": reference / seconds, "max_centre_diff_px": diff, "auc": auc,
                     "stages_ms": {k: 1e3 * v for k, v in stages.get(label, {}).items()}})
        print(f"{label:16} {1e3 * seconds:9.1f} {1 / seconds:7.1f} {reference / seconds:11.2f}x {diff:21.2f} px "
              f"{auc:12.3f}")
    print("time per stage of an update (ms): " + "; ".join(
        f"{label}: " + ", ".join(f"{k} {1e3 * v:.1f}" for k, v in split.items()) for label, split in stages.items()))
    print(f"floor, reading and decoding a frame (cv2.imread): {1e3 * floor:.1f} ms ({1 / floor:.1f} fps)")
    return {"sequence": seq.name, "frames": len(paths), "size": [w, h], "scales": config.scales, "rounds": rounds,
            "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() and not cpu_only else None,
            "floor_ms": 1e3 * floor, "runs": rows}


def synthetic_sequence(folder: Path, frames: int) -> EvalSequence:
    """A synthetic VID val snippet at 1280x720, as an evaluation sequence."""
    print(f"no --dataset: synthesising a VID val snippet of {frames} frames at 1280x720")
    generate(folder, SynthConfig(train_snippets=0, val_snippets=1, frames=frames, sizes=((1280, 720),)),
             progress=False)
    return find_sequences(folder)[0][0]


def cmd_bench_track(args: argparse.Namespace) -> None:
    if args.frames < WARMUP + 2 or args.rounds < 1:
        raise UserError(f"--frames must be at least {WARMUP + 2} and --rounds at least 1")
    config = TrackerConfig(scales=args.scales)
    with tempfile.TemporaryDirectory(prefix="siamfc-bench-track-") as tmp:
        weights = Path(args.weights) if args.weights else save_weights(Path(tmp) / "weights.pt",
                                                                           template_matching_net())
        if args.dataset:
            sequences, _ = find_sequences(args.dataset)
            if not sequences:
                raise UserError(f"{args.dataset}: no sequence to benchmark on")
            seq = max(sequences[:10], key=len)
        else:
            seq = synthetic_sequence(Path(tmp) / "vid", args.frames)
        n = args.frames
        seq = EvalSequence(seq.name, seq.frames[:n], seq.gt[:n], seq.benchmark, seq.target, seq.gt_file)
        if len(seq) < WARMUP + 2:
            raise UserError(f"{seq.name}: {len(seq)} frames; the benchmark needs at least {WARMUP + 2}")
        results = bench_sequence(seq, weights, config, args.rounds, args.cpu_only)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
