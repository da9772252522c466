"""`siamfc bench curate`: curation speed as a ratio to plain JPEG decoding of the same frames.

The floor is `cv2.imread` of every annotated frame of the benchmarked snippets, timed in the same run,
alternating with the curation runs, on a warm page cache; the best time of each side is kept, so the
ratio survives a noisy, shared machine. The floor runs in as many fresh processes as the curation has workers, each
with its heap kept (:func:`~.bench_decode.keep_heap`), decoding its share after one untimed decode, all starting
together: it is the decoder's time whatever ``--repeat``. (In a process with glibc's default settings each freed
frame goes back to the OS and is faulted in again for the next one, tripling ``cv2.imread``'s time until something
else has grown the heap: a floor timed so made the first round's ratio look about three times better than it is.)
Curation is the real `curate()` into a temporary folder: XML parsing, decode,
crops, JPEG encoding, checksums and LMDB commits included. What the checksums (CRC-32C of each stored value) cost is
timed separately over the stored values of the last run, and given per frame and as a share of the curation.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import tempfile
import time
from pathlib import Path

import cv2

from siamfc.curate.folder import CurationLayout
from siamfc.curate.run import CurationConfig, curate
from siamfc.curate.schema import CurationSettings, checksum
from siamfc.curate.shards import ShardReader
from siamfc.curate.sources import detect_format, source_format
from siamfc.curate.sources.base import Sequence
from siamfc.curate.synth import SynthConfig, generate_format
from siamfc.tools.bench_decode import keep_heap

# annotated frames of each train split, approximately (COCO: images), for the projection the benchmark prints
TRAIN_FRAMES = {"vid": 1_122_397, "got10k": 1_402_369, "lasot": 2_824_590, "trackingnet": 14_431_266,
                "coco": 118_287}


def _frames(sequences: list[Sequence]) -> list[Path]:
    """The image file of every annotated frame (with or without a visible object) of the sequences."""
    return [f.path for s in sequences for f in s.read().frames]


def _floor_process(start: multiprocessing.synchronize.Barrier) -> None:
    global _START
    keep_heap()
    cv2.setNumThreads(1)
    _START = start


_START: multiprocessing.synchronize.Barrier | None = None  # a floor process's barrier (set by _floor_process)


def _imread_timed(paths: list[str]) -> tuple[float, float, float]:
    """(start, end, CPU seconds) of cv2.imread of every path in this floor process: after one untimed decode, once
    every floor process is ready (so the pool's processes run at once, one share each)."""
    cv2.imread(paths[0])  # the heap grows to its working size once, untimed
    _START.wait()
    start, cpu = time.perf_counter(), time.process_time()
    for p in paths:
        if cv2.imread(p) is None:
            raise RuntimeError(f"cv2.imread cannot read {p}")
    return start, time.perf_counter(), time.process_time() - cpu


def decode_floor(paths: list[Path], workers: int) -> tuple[float, float]:
    """(wall, CPU) seconds to cv2.imread every path, split over ``workers`` fresh processes whose heap is kept (see
    the module's docstring); start-up is not timed."""
    ctx = multiprocessing.get_context("spawn")
    shares = [[str(p) for p in paths[i::workers]] for i in range(min(workers, len(paths)))]
    with ctx.Pool(len(shares), initializer=_floor_process, initargs=(ctx.Barrier(len(shares)),)) as pool:
        times = pool.map(_imread_timed, shares, chunksize=1)
    return max(t[1] for t in times) - min(t[0] for t in times), sum(t[2] for t in times)


def pick_snippets(source: Path, max_frames: int) -> list[Sequence]:
    """The first sequences (in id order) of the source's default splits, up to ``max_frames`` annotated frames."""
    fmt = source_format(detect_format(source))
    chosen, n = [], 0
    for s in fmt.search(source, fmt.splits).sequences:
        if n >= max_frames:
            break
        chosen.append(s)
        n += s.frame_count()
    return chosen


def bench_curate(source: Path, workers: list[int], max_frames: int, max_reduction: int = 8, repeat: int = 3,
                 dask: bool = False) -> dict:
    """Run the benchmark and print its table; returns the figures."""
    snippets = pick_snippets(source, max_frames)
    paths = _frames(snippets)
    for p in paths:  # warm the page cache so neither side pays for the disk
        p.read_bytes()
    print(f"{len(snippets)} snippets, {len(paths)} frames from {source}")
    results: dict = {"frames": len(paths)}
    for w in workers:
        floors, runs = [], []
        for _ in range(repeat):  # alternate floor and curation; the best of each is the least disturbed
            floors.append(decode_floor(paths, w))
            *timing, summary, crc_seconds = _time_curation(source, snippets, w, max_reduction)
            runs.append(timing)
        (seconds, cpu), (floor, floor_cpu) = min(runs), min(floors)
        ms_curate, ms_floor = 1e3 * seconds / len(paths), 1e3 * floor / len(paths)
        results[w] = {"ms_per_frame": ms_curate, "floor_ms_per_frame": ms_floor, "ratio": ms_curate / ms_floor,
                      "frames_per_s": len(paths) / seconds, "records": summary.records,
                      "bytes": summary.bytes_written}
        print(f"workers {w}: curate {ms_curate:6.2f} ms/frame ({len(paths) / seconds:7.1f} frames/s) | "
              f"imread floor {ms_floor:6.2f} ms/frame | ratio {ms_curate / ms_floor:.2f}x floor")
        if w == 1:  # the curation ran in this process, the floor in one: CPU time is the least noisy figure
            results[w]["cpu_ratio"] = cpu / floor_cpu
            print(f"           CPU time: curate {1e3 * cpu / len(paths):6.2f} ms/frame | imread floor "
                  f"{1e3 * floor_cpu / len(paths):6.2f} ms/frame | ratio {cpu / floor_cpu:.2f}x floor")
            crc_ms = 1e3 * crc_seconds / len(paths)
            results[w]["checksum_ms_per_frame"] = crc_ms
            print(f"           checksums: {crc_ms:.4f} ms/frame ({1e6 * crc_seconds / max(summary.records, 1):.1f} "
                  f"us/record), {100 * crc_ms / ms_curate:.2f}% of the curation; without them "
                  f"{ms_curate - crc_ms:6.2f} ms/frame")
    if dask:
        w = workers[-1]
        runs = [_time_curation(source, snippets, w, max_reduction, backend="dask")[0] for _ in range(repeat)]
        fps = len(paths) / min(runs)
        results["dask"] = {"workers": w, "frames_per_s": fps}
        print(f"dask LocalCluster, {w} workers (cluster start included): {fps:7.1f} frames/s = "
              f"{fps / results[w]['frames_per_s']:.2f}x the joblib run with {w} workers")
    first = results[workers[0]]
    if len(workers) > 1:
        last = results[workers[-1]]
        print(f"scaling {workers[0]} -> {workers[-1]} workers: {last['frames_per_s'] / first['frames_per_s']:.2f}x")
    per_record = first["bytes"] / max(first["records"], 1)
    per_frame = first["records"] / len(paths)
    best_fps = max(results[w]["frames_per_s"] for w in workers)
    fmt = detect_format(source)
    frames_total = TRAIN_FRAMES.get(fmt)
    print(f"{per_record / 1e3:.1f} KB/record, {per_frame:.2f} records/frame" + (
        f" -> full {fmt} train ({frames_total:,} frames): {per_record * per_frame * frames_total / 1e9:.1f} GB, "
        f"{frames_total / best_fps / 3600:.2f} h at {best_fps:.0f} frames/s" if frames_total else ""))
    return results


def _checksum_seconds(root: Path) -> float:
    """Seconds to CRC every stored value of a curation (values read first, so only the checksums are timed)."""
    reader = ShardReader(root)
    values = [reader.get_in(i, k) for i in CurationLayout.open(root).existing_shards() for k in reader.keys(i)]
    reader.close()
    start = time.perf_counter()
    for v in values:
        checksum(v)
    return time.perf_counter() - start


def _time_curation(source: Path, snippets: list[Sequence], workers: int, max_reduction: int,
                   backend: str = "loky") -> tuple[float, float, object, float]:
    """(wall s, this process's CPU s, summary, s to checksum its stored values) of a real curation of exactly
    ``snippets`` (the first ones in id order) into a temporary folder."""
    tmp = Path(tempfile.mkdtemp(prefix="siamfc-bench-"))
    try:
        config = CurationConfig(source=source, out=tmp / "out", max_snippets=len(snippets), workers=workers,
                                backend=backend, progress=False, settings=CurationSettings(max_reduction=max_reduction))
        start, cpu = time.perf_counter(), time.process_time()
        summary = curate(config)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        return seconds, cpu, summary, _checksum_seconds(tmp / "out")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cmd_bench_curate(args: argparse.Namespace) -> None:
    if args.source:
        bench_curate(Path(args.source), args.workers, args.max_frames, args.max_reduction, args.repeat, args.dask)
        return
    with tempfile.TemporaryDirectory(prefix=f"siamfc-bench-{args.format}-") as tmp:
        frames, size = (100, (1280, 720)) if args.format == "vid" else (50, (1920, 1080))
        n = max(2, -(-args.max_frames // frames))
        print(f"no SOURCE given: synthesising a {args.format} tree of {n} sequences of {frames} frames "
              f"({size[0]}x{size[1]}; COCO: {n * frames} images)")
        config = SynthConfig(train_snippets=n, val_snippets=0, frames=frames, sizes=(size,))
        if args.format == "coco":
            config = SynthConfig(train_snippets=n * frames, val_snippets=0, frames=1, sizes=(size,))
        generate_format(Path(tmp), args.format, config, progress=True)
        bench_curate(Path(tmp), args.workers, args.max_frames, args.max_reduction, args.repeat, args.dask)
