"""`siamfc bench decode`: the strict frame decode of curation as a ratio to plain cv2 decoding of the same frames.

Frames: synthetic VID frames (1280x720, from ``siamfc.curate.synth``) and natural-looking 1280x720 and 1920x1080
frames (1/f colour noise, JPEG q90). For each set and each reduction (1, 2, 4, 8), ``read_frame`` (file read,
header, strict decode) and the floor (file read + ``cv2.imdecode`` with ``IMREAD_COLOR`` or
``IMREAD_REDUCED_COLOR_<n>``) decode each frame in turn, ``--repeat`` times, on a warm page cache; the best wall
and CPU time of each side is kept per frame and summed, so the ratios survive a noisy, shared machine.

Both sides run in a fresh process whose heap is kept (:func:`keep_heap`), after an untimed decode of the first frame
by each: by default glibc hands a freed frame's memory back to the OS and faults it in again for the next frame,
which tripled ``cv2.imread``'s CPU time in a fresh process on a 2-core test machine (4.7-5.1 against 1.7-1.9 ms per
synthetic 1280x720 frame); the figures are the decoders', whatever ``--repeat``. :func:`keep_heap` serves the
floors of the other benchmarks too.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from siamfc.curate.frames import REDUCTIONS, read_frame
from siamfc.curate.synth import SynthConfig, generate

CV2_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
             8: cv2.IMREAD_REDUCED_COLOR_8}
# glibc's mallopt parameters and what keep_heap sets them to (as MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_ and
# MALLOC_MMAP_THRESHOLD_ would): freed memory stays in the heap, and blocks up to 32 MiB (a 4K frame) come from it
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
HEAP_KEPT = ((M_TRIM_THRESHOLD, 256 << 20), (M_TOP_PAD, 256 << 20), (M_MMAP_THRESHOLD, 32 << 20))


def keep_heap() -> bool:
    """Make glibc keep this process's freed memory for its next allocations instead of returning it to the OS (and
    faulting it in again, page by page, for the next frame); True where it took (glibc), False elsewhere. The
    benchmarks call it in their floor processes (pool initializer), before anything is timed."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return all(libc.mallopt(key, value) == 1 for key, value in HEAP_KEPT)
    except (OSError, AttributeError):  # no glibc: nothing to set
        return False


def heap_kept_pool(processes: int) -> ProcessPoolExecutor:
    """``processes`` fresh (spawned) processes whose heap is kept (:func:`keep_heap`), single-threaded cv2."""
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"), initializer=_floor_process)


def _floor_process() -> None:
    keep_heap()
    cv2.setNumThreads(1)


def natural_frame(width: int, height: int, seed: int) -> np.ndarray:
    """A BGR frame of 1/f colour noise: smooth regions and fine detail, about 300 KB at 1920x1080 q90."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    for octave in range(1, 8):
        cells = 2**octave
        field = rng.normal(0, 1, (cells * height // width + 2, cells + 2, 3)).astype(np.float32)
        image += cv2.resize(field, (width, height), interpolation=cv2.INTER_CUBIC) * (60 / octave)
    image += rng.normal(0, 3, image.shape).astype(np.float32)
    return np.clip(image + 128, 0, 255).astype(np.uint8)


def write_natural_frames(folder: Path, count: int, size: tuple[int, int] = (1920, 1080)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{i:06d}.JPEG"
        path.write_bytes(cv2.imencode(".JPEG", natural_frame(*size, seed=i), [cv2.IMWRITE_JPEG_QUALITY, 90])[1])
        paths.append(path)
    return paths


def write_synth_frames(folder: Path, count: int) -> list[Path]:
    per_snippet = 50
    generate(folder, SynthConfig(train_snippets=max(1, -(-count // per_snippet)), val_snippets=0,
                                 frames=per_snippet, sizes=((1280, 720),)))
    return sorted(folder.rglob("*.JPEG"))[:count]


def _cv2_read(path: Path, reduction: int) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), CV2_FLAGS[reduction])


def _time_one(decode: Callable[[Path, int], object], path: Path, reduction: int) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    decode(path, reduction)
    return time.perf_counter() - start, time.process_time() - cpu


def _best_times(paths: list[Path], reduction: int, repeat: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the best (wall, CPU) seconds of the floor and of ``read_frame``, decoding each frame with both in
    turn, ``repeat`` times, taking turns at going first: a burst of noise hits both sides alike. An untimed decode of
    the first frame by each side comes first (the heap grows to its working size once)."""
    _cv2_read(paths[0], reduction), read_frame(paths[0], reduction)
    floor, strict = np.full((len(paths), 2), np.inf), np.full((len(paths), 2), np.inf)
    for i in range(repeat):
        for j, p in enumerate(paths):
            for best, decode in ((floor, _cv2_read), (strict, read_frame))[:: 1 if (i + j) % 2 else -1]:
                best[j] = np.minimum(best[j], _time_one(decode, p, reduction))
    return floor.sum(axis=0), strict.sum(axis=0)


def _set_times(paths: list[Path], repeat: int) -> dict[int, tuple[tuple[float, float], tuple[float, float]]]:
    """:func:`_best_times` for every reduction (run in a :func:`heap_kept_pool` process)."""
    return {r: tuple(tuple(float(v) for v in side) for side in _best_times(paths, r, repeat)) for r in REDUCTIONS}


def bench_set(name: str, paths: list[Path], repeat: int) -> dict[int, dict[str, float]]:
    """Per reduction: ms/frame of both sides and the wall and CPU ratios; prints a table."""
    for p in paths:  # warm the page cache
        p.read_bytes()
    with heap_kept_pool(1) as pool:
        times = pool.submit(_set_times, paths, repeat).result()
    results = {}
    for reduction in REDUCTIONS:
        (floor, floor_cpu), (wall, cpu) = times[reduction]
        ms, floor_ms = 1e3 * wall / len(paths), 1e3 * floor / len(paths)
        results[reduction] = {"ms_per_frame": ms, "floor_ms_per_frame": floor_ms, "ratio": wall / floor,
                              "cpu_ratio": cpu / floor_cpu}
        print(f"{name} 1/{reduction}: read_frame {ms:6.2f} ms/frame | cv2.imdecode floor {floor_ms:6.2f} ms/frame | "
              f"ratio {wall / floor:.3f}x (CPU {cpu / floor_cpu:.3f}x)")
    return results


def cmd_bench_decode(args: argparse.Namespace) -> None:
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory(prefix="siamfc-bench-decode-") as tmp:
        synth = write_synth_frames(Path(tmp) / "synth", args.frames)
        natural = {size: write_natural_frames(Path(tmp) / f"natural-{size[0]}", args.frames, size)
                   for size in ((1280, 720), (1920, 1080))}
        print(f"{args.frames} frames per set, best of {args.repeat} alternating decodes per frame, in a process whose "
              "heap is kept")
        bench_set("synth 1280x720   ", synth, args.repeat)
        for (width, height), paths in natural.items():
            bench_set(f"natural {width}x{height}".ljust(17), paths, args.repeat)
