"""`siamfc bench sampler [SHARDS]`: pair-sampler throughput as a ratio to decoding the same stored crops.

For each mode and DataLoader worker count (0, 1, 2 by default) it times what the loader's workers hand over
(:meth:`~siamfc.pipeline.loader.PairLoader.chunk_stream`: collated uint8 pairs) over the same pairs, and next to it the
floor: fetching and decoding the two stored crops of each of those pairs (``decode_crop``, nothing else), in as many
fresh processes as the loader has workers (one for 0 workers), each with its heap kept
(:func:`~.bench_decode.keep_heap`: glibc's default would hand each freed crop back to the OS and fault it in again,
timing page faults rather than the decoder). Floor and loader run back to back in each of ``--repeats``
rounds and the table gives medians, the ratios being medians of each round's own ratio: on a shared machine whose
speed drifts by tens of percent over a minute, a ratio of two sides timed seconds apart is what stays put. Modes:

- ``workers``: SiamFC's augmentation (stretch 0.05 on both crops, translation +-4 px) done by the workers (OpenCV);
- ``shift``: translation only, in the workers (no resampling: what the stretch costs);
- ``device``: the workers only decode; the same augmentation runs batched on the training device, timed
  separately (``--device``, default CUDA when present) and reported per pair;
- ``workers-nocrc``, ``device-nocrc``: the same without checking each stored crop against its manifest checksum
  (on in every real run), to show what the check costs.

Both sides are timed warm, in their steady state: the loader on its second and later passes over the timed epoch
(the first starts its persistent, spawned workers), each floor process after an untimed pass over its records. Two
ratios: wall-clock pairs/s against the floor's, and CPU time per pair (main process plus workers, from /proc)
against the floor's CPU time per pair; "pairs/s/core" is the inverse of the latter. cv2 and torch run
single-threaded in the main process (workers do so themselves).
Without SHARDS it synthesises and curates a small VID-like dataset in a temporary folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import torch

from siamfc.curate.schema import decode_crop
from siamfc.curate.shards import ShardReader
from siamfc.curate.synth import SynthConfig
from siamfc.pipeline.dataset import PairDataset, SamplerConfig
from siamfc.pipeline.loader import PairLoader
from siamfc.tools.bench_decode import heap_kept_pool
from siamfc.tools.synthetic import synthetic_curation

MODES = {  # name: (where augmentation runs, SamplerConfig changes, PairDataset options)
    "workers": ("workers", {}, {}),  # SiamFC: stretch 0.05 on both crops, translation +-4 px
    "shift": ("workers", {"exemplar_stretch": 0.0, "search_stretch": 0.0}, {}),  # translation only: no resampling
    "device": ("device", {}, {}),  # SiamFC's augmentation, batched on the training device
    "workers-nocrc": ("workers", {}, {"check_crc": False}),
    "device-nocrc": ("device", {}, {"check_crc": False}),
}


def pair_records(dataset: PairDataset, n: int, epoch: int) -> list[tuple[int, bytes]]:
    """(shard, key) of the exemplar and search records of pairs 0 .. n-1 of ``epoch``."""
    return [source for i in range(n) for source in dataset.sources(i, epoch)]


def _decode_all(root: str, records: list[tuple[int, bytes]]) -> tuple[float, float]:
    """(wall, CPU) seconds to fetch and decode ``records`` in this (floor) process, after an untimed pass over
    them."""
    store = ShardReader(root)
    for shard, key in records:  # warm: shard handles open, the records' pages mapped, as in the loader's pass
        decode_crop(store.get_in(shard, key))
    start, cpu = time.perf_counter(), time.process_time()
    for shard, key in records:
        decode_crop(store.get_in(shard, key))
    return time.perf_counter() - start, time.process_time() - cpu


def decode_floor(root: Path, records: list[tuple[int, bytes]], pool: ProcessPoolExecutor,
                 processes: int) -> tuple[float, float]:
    """(pairs/s, CPU ms per pair) of fetching + decoding ``records`` (two per pair), split over the ``processes``
    processes of ``pool`` (a :func:`~.bench_decode.heap_kept_pool`); timed inside the processes, so start-up is
    excluded."""
    chunks = [records[k::processes] for k in range(processes)]
    times = list(pool.map(_decode_all, [str(root)] * processes, chunks))
    wall, cpu = max(t[0] for t in times), sum(t[1] for t in times)
    pairs = len(records) / 2
    return pairs / wall, 1e3 * cpu / pairs


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loader_pass(loader: PairLoader, pids: list[int]) -> tuple[float, float]:
    """(pairs/s, CPU ms per pair over this process and the workers ``pids``) of one pass of what the loader's
    workers hand over (:meth:`~siamfc.pipeline.loader.PairLoader.chunk_stream`)."""
    cpu = time.process_time() + sum(_process_cpu(p) for p in pids)
    start, pairs = time.perf_counter(), 0
    for chunk in loader.chunk_stream():
        pairs += len(chunk["index"])
    wall = time.perf_counter() - start
    cpu = time.process_time() + sum(_process_cpu(p) for p in pids) - cpu
    return pairs / wall, 1e3 * cpu / pairs


def paired_rounds(root: Path, dataset: PairDataset, records: list[tuple[int, bytes]], workers: int,
                  batch_size: int, augment_on: str, repeats: int) -> list[tuple[float, float, float, float]]:
    """``repeats`` rounds of (floor pairs/s, floor CPU ms/pair, loader pairs/s, loader CPU ms/pair), floor and
    loader back to back in each round, so a round's ratio compares the two under the same load on a shared
    machine. One loader (epoch 1, whose pairs ``records`` are) and one floor pool serve every round; the loader's
    first, untimed pass starts its persistent workers and warms them as the floor is warmed."""
    processes = max(workers, 1)
    loader = PairLoader(dataset, batch_size=batch_size, num_workers=workers, augment_on=augment_on)
    dataset.set_epoch(1)
    loader_pass(loader, [])  # in a function: no chunk of it outlives the pass to hold a buffer
    running = getattr(loader.chunks, "_iterator", None)  # the persistent workers (torch internals)
    pids = [w.pid for w in getattr(running, "_workers", [])]
    with heap_kept_pool(processes) as pool:
        return [(*decode_floor(root, records, pool, processes), *loader_pass(loader, pids)) for _ in range(repeats)]


def device_augment_ms(dataset: PairDataset, batch_size: int, device: torch.device, steps: int = 10) -> float:
    """Milliseconds per pair of :func:`~siamfc.pipeline.batch_augment.augment_batch` on ``device`` (moving the
    stored crops there included), best of ``steps`` batches."""
    loader = PairLoader(dataset, batch_size=batch_size, device=device, augment_on="device")
    stored = {k: v[:batch_size] for k, v in next(loader.chunk_stream()).items()}
    best = float("inf")
    for _ in range(steps + 1):
        start = time.perf_counter()
        loader.finish(stored)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 1e3 * best / len(stored["index"])


def bench_sampler(root: Path, workers: list[int], pairs: int, batch_size: int, modes: list[str],
                  repeats: int = 5, splits: tuple[str, ...] = ("train",), device: str = "auto") -> dict:
    """Run the benchmark, print its table and return the figures."""
    cv2.setNumThreads(1)
    torch.set_num_threads(1)  # the main process only receives (or makes pairs itself); threads would contend
    results: dict = {}
    for name in modes:
        augment_on, changes, options = MODES[name]
        dataset = PairDataset(root, dataclasses.replace(SamplerConfig(pairs_per_epoch=pairs), **changes),
                              splits=splits, **options)
        if name == modes[0]:
            print(f"{root}: {dataset.description}; {pairs} pairs per run, batch {batch_size}, medians of {repeats} "
                  "rounds")
            print(f"{'mode':8} {'workers':>7} {'pairs/s':>8} {'floor pairs/s':>14} {'ratio':>6} | "
                  f"{'CPU ms/pair':>11} {'floor':>6} {'ratio':>6} {'pairs/s/core':>12}")
        records = pair_records(dataset, pairs, epoch=1)
        for w in workers:
            rounds = paired_rounds(root, dataset, records, w, batch_size, augment_on, repeats)
            floor, floor_cpu, rate, cpu = (statistics.median(r[k] for r in rounds) for k in range(4))
            row = {"pairs_per_s": rate, "floor_pairs_per_s": floor, "cpu_ms": cpu, "floor_cpu_ms": floor_cpu,
                   "ratio": statistics.median(r[2] / r[0] for r in rounds),
                   "cpu_ratio": statistics.median(r[1] / r[3] for r in rounds), "per_core": 1e3 / cpu}
            results[(name, w)] = row
            print(f"{name:8} {w:7d} {rate:8.0f} {floor:9.0f} ({max(w, 1)}p) {row['ratio']:6.2f} | "
                  f"{cpu:11.3f} {floor_cpu:6.3f} {row['cpu_ratio']:6.2f} {row['per_core']:12.0f}")
        if augment_on == "device":
            target = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                                  "cpu" if device == "auto" else device)
            ms = results[(name, "augment")] = device_augment_ms(dataset, batch_size, target)
            print(f"{name:8} augmentation on {target}: {ms:.3f} ms per pair, batch {batch_size} (not in the rows "
                  "above: it runs on the training device)")
    return results


def cmd_bench_sampler(args: argparse.Namespace) -> None:
    run = dict(workers=args.workers, pairs=args.pairs, batch_size=args.batch_size, modes=args.mode,
               repeats=args.repeats, device=args.device)
    if args.shards:
        bench_sampler(Path(args.shards), splits=tuple(args.split or ("train",)), **run)
        return
    with tempfile.TemporaryDirectory(prefix="siamfc-bench-sampler-") as tmp:
        bench_sampler(synthetic_curation(Path(tmp), SynthConfig(train_snippets=6, val_snippets=0, frames=60)), **run)
