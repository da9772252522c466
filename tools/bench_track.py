"""`siamfc bench track`: tracker speed for 3 and 5 scales on CPU (and CUDA when present), against a floor.

The floor is reading and decoding the same frames with ``cv2.imread``, timed in the same run (before and after
the tracking runs, averaged) on a warm page cache: any tracker must at least read its frames. The tracker is
timed per ``update`` (crops, one batched forward pass, response processing), after a few warm-up frames, so
it is independent of the weights: an untrained ``SiamFCNet`` is used unless ``--weights`` is given. Frames come
from ``--dataset`` (any layout ``siamfc eval`` reads) or from a synthetic VID val snippet at 1280x720.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from siamfc.curate.synth import SynthConfig, generate
from siamfc.model.eval_sequences import Sequence, find_sequences
from siamfc.model.net import SiamFCNet
from siamfc.model.tracker import SiamFCTracker, TrackerConfig, read_frame
from siamfc.model.weights import load_net

WARMUP = 5  # updates before timing: first calls allocate buffers and (on CUDA) pick kernels


def decode_floor(paths: list[Path]) -> float:
    """Seconds per frame to ``cv2.imread`` every path."""
    start = time.perf_counter()
    for p in paths:
        read_frame(p)
    return (time.perf_counter() - start) / len(paths)


def time_tracker(tracker: SiamFCTracker, images: list[np.ndarray], box: np.ndarray) -> float:
    """Seconds per ``update`` over decoded ``images`` (after :data:`WARMUP` untimed updates)."""
    tracker.init(images[0], box)
    for image in images[1:1 + WARMUP]:
        tracker.update(image)
    tracker.init(images[0], box)
    sync = torch.cuda.synchronize if tracker.device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for image in images[1:]:
        tracker.update(image)
    sync()
    return (time.perf_counter() - start) / (len(images) - 1)


def bench_sequence(seq: Sequence, net: torch.nn.Module, devices: list[str], scales: list[int]) -> dict:
    """Time the tracker on ``seq`` for every device and scale count; print the table; return the figures."""
    paths = list(seq.frames)
    for p in paths:  # warm the page cache so neither side pays for the disk
        p.read_bytes()
    floor_before = decode_floor(paths)
    images = [read_frame(p) for p in paths]
    h, w = images[0].shape[:2]
    print(f"{seq.name}: {len(paths)} frames of {w}x{h}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads")
    timings = {}
    for device in devices:
        for n in scales:
            tracker = SiamFCTracker(net, TrackerConfig(scales=n), device)
            timings[(device, n)] = time_tracker(tracker, images, seq.gt[0])
    floor = (floor_before + decode_floor(paths)) / 2
    print(f"decode floor (cv2.imread): {1e3 * floor:7.2f} ms/frame ({1 / floor:7.1f} fps)")
    results = {"frames": len(paths), "size": [w, h], "floor_ms": 1e3 * floor, "runs": []}
    for (device, n), t in timings.items():
        row = {"device": device, "scales": n, "ms_per_frame": 1e3 * t, "fps": 1 / t,
               "fps_with_decoding": 1 / (t + floor), "ratio_to_floor": t / floor}
        results["runs"].append(row)
        print(f"{device:>5} {n} scales: {1e3 * t:7.2f} ms/frame ({1 / t:7.1f} fps) | "
              f"with decoding {1 / (t + floor):7.1f} fps | tracker = {t / floor:5.2f}x decode floor")
    return results


def cmd_bench_track(args: argparse.Namespace) -> None:
    net = load_net(args.weights) if args.weights else SiamFCNet().eval()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.cpu_only else [])
    if args.dataset:
        sequences, _ = find_sequences(args.dataset)
        seq = max(sequences[:10], key=len)
        seq = Sequence(seq.name, seq.frames[:args.frames], seq.gt[:args.frames], seq.layout, seq.target)
        bench_sequence(seq, net, devices, args.scales)
        return
    with tempfile.TemporaryDirectory(prefix="siamfc-bench-track-") as tmp:
        print(f"no --dataset: synthesising a VID val snippet of {args.frames} frames at 1280x720")
        generate(Path(tmp), SynthConfig(train_snippets=0, val_snippets=1, frames=args.frames, sizes=((1280, 720),)),
                 progress=True)
        sequences, _ = find_sequences(tmp)
        bench_sequence(sequences[0], net, devices, args.scales)
