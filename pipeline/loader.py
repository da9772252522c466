"""Batches for training: :class:`PairLoader` moves a :class:`~.dataset.PairDataset`'s pairs from DataLoader workers
to the training device, and decides where augmentation runs.

Two costs dominate a naive DataLoader of SiamFC pairs, and both are removed here:

- **Per-batch transport.** A DataLoader worker hands each batch over in a fresh shared-memory segment, whose pages
  fault in one by one on both sides; for SiamFC's batches of 8 that costs a large share of the pairs' own work.
  Here each worker fills a small ring of buffers allocated once (:class:`ChunkSlots`) with *chunks* of
  ``chunk_pairs`` consecutive pairs (32 by default, a multiple of the batch size) and sends only the slot number;
  the loader cuts the chunk into batches that view the buffer (no copy; pinned copies when pinning), and the
  buffer is reused once no tensor views it any more. Chunk ``c`` of a rank comes from worker ``c % num_workers``
  and chunks are read round-robin, so the batches are the rank's stream in order, for any number of workers.
- **Resampling on the CPU.** With ``augment_on="device"`` (the default when ``device`` is a GPU) workers only fetch
  and decode: they ship the stored crops and each pair's augmentation row, and :func:`~.batch_augment.augment_batch`
  stretches, translates, flips and colours the whole batch on the device. With ``"workers"`` (the default on the
  CPU) workers augment each pair with OpenCV (:mod:`.augment`), which is cheaper than torch resampling on a CPU.
  Both give the same pairs up to rounding; label, weight, target, index, records and source are identical.

Shared memory: each worker has ``PREFETCH + 2`` (4) chunk buffers of about ``chunk_pairs * 0.25`` MB each (255
search crops), 32 MB per worker by default, allocated in ``/dev/shm`` when the loader is made; the loader refuses,
naming the sizes, when ``/dev/shm`` has less free (docker's default is 64 MB: ``--shm-size``). Keeping batches around
is safe (their buffer is not reused while they live) but slows the workers down to the ordinary transport once
their buffers are all held. A hand-over costs the main process ~0.8 ms (DataLoader bookkeeping), hence chunks
rather than batches.
"""

from __future__ import annotations

import math
import os
import shutil
import time
import weakref
from collections.abc import Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from siamfc.curate.errors import UserError

from .batch_augment import augment_batch
from .dataset import PairDataset
from .sampler_config import AUGMENT_ON

CHUNK_PAIRS = 32  # pairs per worker hand-over; rounded to a multiple of the batch size
PREFETCH = 2  # chunks each worker makes ahead (DataLoader prefetch_factor); it has PREFETCH + 2 slots
SHM_DIR = "/dev/shm"


Layout = list[tuple[str, torch.dtype, tuple[int, ...], int]]  # (key, dtype, shape of one item, byte offset)


def batch_layout(spec: dict[str, tuple[torch.dtype, tuple[int, ...]]], capacity: int) -> tuple[Layout, int]:
    """Where each key of ``capacity`` stacked items (``spec``: key -> (dtype, shape) of one) lives in one flat
    buffer (64-byte aligned), and the buffer's size."""
    layout, size = [], 0
    for key, (dtype, shape) in spec.items():
        layout.append((key, dtype, shape, size))
        size += -(-capacity * math.prod(shape) * dtype.itemsize // 64) * 64
    return layout, size


def layout_views(storage: torch.UntypedStorage, layout: Layout, n: int) -> dict[str, torch.Tensor]:
    """The first ``n`` stacked items of each key, as views into ``storage``."""
    return {key: torch.empty(0, dtype=dtype).set_(storage, offset // dtype.itemsize, (n, *shape))
            for key, dtype, shape, offset in layout}


def new_storage(size: int, shared: bool) -> torch.UntypedStorage:
    """A fresh buffer of ``size`` bytes, in shared memory if ``shared`` (as a DataLoader worker hands tensors over)."""
    new_shared = getattr(torch.UntypedStorage, "_new_shared", None)  # what default_collate uses in workers
    return new_shared(size) if shared and new_shared is not None else torch.UntypedStorage(size)


def shared_memory_free() -> int | None:
    """Bytes free in :data:`SHM_DIR`, where torch puts shared tensors on Linux; None where there is none."""
    try:
        return shutil.disk_usage(SHM_DIR).free
    except OSError:
        return None


FREE, FILLED, HELD = 0, 1, 2  # a slot: free; taken by its worker (being written, or its message in flight);
# handed to the loader's user (views of it alive)


class ChunkSlots:
    """Each worker's ring of chunk buffers in shared memory, made before the workers start and reused.

    A fresh shared-memory segment per hand-over costs a page fault per 4 KiB on both sides, a third of a pair's own
    work here. Instead a worker fills one of its free slots with each chunk and sends only ``(worker, slot, n)``;
    the loader hands out views of the slot (no copy) and the slot is free again once the last tensor viewing it is
    gone (a finalizer on the views' common base). So a batch stays valid as long as anyone holds it, and a batch
    kept for long (a loop variable outliving its loop) only takes its slot out of the ring.

    A worker that finds all its slots held waits a little, then sends the chunk the ordinary way (a fresh
    segment): holding batches slows the stream down, never stalls it. A pass the loader abandons leaves slots
    FILLED whose messages torch's DataLoader drops when the next pass starts; the worker frees those when it
    starts that pass (``begin``). A worker waiting for a slot also gives up when the loader has started another
    pass (``generation``) or its parent is gone."""

    WAIT = 0.005  # default seconds a worker waits for a free slot before sending the chunk the ordinary way
    GIVE_UP = -1  # acquire's answer when the pass is over or the parent is gone

    def __init__(self, workers: int, slots: int, layout: Layout, size: int):
        self.slots, self.layout, self.wait = slots, layout, self.WAIT
        free, need = shared_memory_free(), workers * slots * size
        if free is not None and need > free:
            raise RuntimeError(
                f"PairLoader needs {need / 2**20:.0f} MiB of shared memory ({workers} workers x {slots} chunk buffers "
                f"x {size / 2**20:.1f} MiB) but {SHM_DIR} has {free / 2**20:.0f} MiB free: use fewer workers or a "
                f"smaller chunk_pairs, or give the container more (docker run --shm-size=1g)")
        self.buffers = [[torch.UntypedStorage(size).share_memory_() for _ in range(slots)] for _ in range(workers)]
        self.state = torch.zeros(workers, slots, dtype=torch.int8).share_memory_()
        self.generation = torch.zeros(1, dtype=torch.int64).share_memory_()

    def start_pass(self) -> None:
        """Loader side: a new pass begins; workers still waiting in the previous one give up."""
        self.generation += 1

    def begin(self, worker: int) -> int:
        """Worker side, at the start of a pass: free the slots whose messages the last pass dropped; returns the
        pass's generation."""
        mine = self.state[worker]
        mine[mine == FILLED] = FREE
        return int(self.generation)

    def acquire(self, worker: int, generation: int) -> int | None:
        """Worker side: take a free slot of ``worker`` and return it; None if none came free within ``wait``;
        :attr:`GIVE_UP` if the pass is over or the parent died. Only the worker turns its FREE slots FILLED, so
        the check and the take need no lock."""
        parent, deadline = os.getppid(), time.monotonic() + self.wait
        mine = self.state[worker].numpy()
        while True:
            free = np.flatnonzero(mine == FREE)
            if len(free):
                mine[free[0]] = FILLED
                return int(free[0])
            if int(self.generation) != generation or os.getppid() != parent:
                return self.GIVE_UP
            if time.monotonic() > deadline:
                return None
            time.sleep(0.0005)

    def hand_out(self, worker: int, slot: int, n: int) -> dict[str, torch.Tensor]:
        """Loader side: the chunk in ``slot`` as tensors viewing it; the slot is freed when the last one dies."""
        self.state[worker, slot] = HELD
        base = torch.empty(0, dtype=torch.uint8).set_(self.buffers[worker][slot]).numpy()
        weakref.finalize(base, self._release, worker, slot)
        out = {}
        for key, dtype, shape, offset in self.layout:
            nbytes = n * math.prod(shape) * dtype.itemsize
            out[key] = torch.from_numpy(base[offset:offset + nbytes]).view(dtype).view(n, *shape)
        return out

    def _release(self, worker: int, slot: int) -> None:
        self.state[worker, slot] = FREE


class PairChunks(IterableDataset):
    """A :class:`~.dataset.PairDataset`'s stream as collated chunks of ``chunk`` consecutive pairs of its rank (see
    the module docstring), laid out by ``layout`` (:func:`batch_layout` of one item, ``size`` bytes); ``stored``:
    :meth:`~.dataset.PairDataset.stored_pair` items, augmentation left to the consumer. In a DataLoader worker with
    ``slots``, a chunk goes into one of the worker's slots and only ``(worker, slot, n)`` is yielded (a collated
    chunk when no slot is free).

    Each pair is written straight into its row of the chunk (:meth:`~.dataset.PairDataset.write_pair`), so its
    decoded crops die at once: holding a whole chunk's crops until collation made the heap grow and shrink with
    every chunk (its pages faulting in again each time), and per-pair dicts of tensors cost a copy and ~10 % of
    a pair's time in Python."""

    def __init__(self, dataset: PairDataset, chunk: int, stored: bool, layout: Layout, size: int,
                 slots: ChunkSlots | None = None):
        self.dataset, self.chunk, self.stored, self.slots = dataset, chunk, stored, slots
        self.layout, self.size = layout, size

    def __iter__(self) -> Iterator[dict[str, torch.Tensor] | tuple[int, int, int]]:
        info = get_worker_info()
        if info is not None:
            cv2.setNumThreads(1)  # parallelism is over workers; cv2's threads would only contend for the cores
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        epoch = self.dataset.epoch  # read once: the whole pass is one epoch's stream
        write = self.dataset.writer(self.stored)
        slots = self.slots if info is not None else None
        generation = slots.begin(worker) if slots is not None else 0
        for indices in self.dataset.chunks(self.chunk, worker, workers):
            slot = slots.acquire(worker, generation) if slots is not None else None
            if slot == ChunkSlots.GIVE_UP:
                return
            storage = slots.buffers[worker][slot] if slot is not None else new_storage(self.size, info is not None)
            views = layout_views(storage, self.layout, len(indices))
            rows = {key: t.numpy() for key, t in views.items()}
            for j, i in enumerate(indices):
                write(int(i), epoch, rows, j)
            # plain ints for a slot: a tensor would travel through its own shared-memory segment
            yield (worker, slot, len(indices)) if slot is not None else views


class PairLoader:
    """Batches of a :class:`~.dataset.PairDataset` on ``device``: dicts with ``z`` ``[B, 3, 127, 127]``, ``x``
    ``[B, 3, 255, 255]`` (``dtype``: uint8, or a float type holding 0..255), ``label`` and ``weight``
    ``[B, 17, 17]``, ``target`` ``[B, 2]``, ``index`` ``[B]``, ``records`` ``[B, 2]``, ``source`` ``[B]``.

    ``num_workers`` DataLoader workers make the pairs (0: this process). Workers are *spawned*, not forked: a child
    forked from a process whose OpenCV thread pool has run inherits that pool's locks and can hang in its first cv2
    call. Spawning costs seconds, so workers are persistent, started on the first ``iter`` and kept for every later
    epoch, which they take from the dataset's shared epoch: call :meth:`set_epoch` before each ``iter``.
    ``pin_memory`` pins what workers hand over, for asynchronous copies to a GPU. ``augment_on``: ``"workers"``,
    ``"device"`` or ``"auto"`` (device on CUDA, workers otherwise); see the module docstring."""

    def __init__(self, dataset: PairDataset, batch_size: int = 8, num_workers: int = 0, pin_memory: bool = False,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.uint8,
                 augment_on: str = "auto", chunk_pairs: int = CHUNK_PAIRS):
        if dtype != torch.uint8 and not dtype.is_floating_point:
            raise UserError(f"dtype must be torch.uint8 or a floating type, got {dtype}")
        if augment_on not in AUGMENT_ON:
            raise UserError(f"augment_on must be one of {', '.join(AUGMENT_ON)}, got {augment_on!r}")
        if batch_size < 1 or num_workers < 0 or chunk_pairs < 1:
            raise UserError(f"need batch_size >= 1, num_workers >= 0, chunk_pairs >= 1; got {batch_size}, "
                             f"{num_workers}, {chunk_pairs}")
        self.dataset, self.batch_size, self.dtype = dataset, batch_size, dtype
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        if augment_on == "auto":
            augment_on = "device" if self.device.type == "cuda" else "workers"
        self.augment_on = augment_on
        self.chunk = batch_size * max(1, round(chunk_pairs / batch_size))
        self.pin = pin_memory and torch.cuda.is_available()
        stored = augment_on == "device"
        layout, size = batch_layout(dataset.item_spec(stored), self.chunk)
        self.slots = ChunkSlots(num_workers, PREFETCH + 2, layout, size) if num_workers > 0 else None
        self.chunks = DataLoader(PairChunks(dataset, self.chunk, stored, layout, size, self.slots), batch_size=None,
                                 num_workers=num_workers, pin_memory=self.pin and num_workers == 0,
                                 prefetch_factor=PREFETCH if num_workers > 0 else None,
                                 persistent_workers=num_workers > 0,
                                 multiprocessing_context="spawn" if num_workers > 0 else None)
        """What the workers hand over: ``(worker, slot, n)`` of a chunk in :attr:`slots`, or the collated chunk
        itself (0 workers, or no slot came free); on the CPU, before batching, moving and device augmentation (see
        :meth:`chunk_stream`)."""

    def __len__(self) -> int:
        """Batches per epoch (the last one may be short)."""
        return math.ceil(len(self.dataset) / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Select epoch ``epoch``'s pairs for the next ``iter`` (see :meth:`~.dataset.PairDataset.set_epoch`)."""
        self.dataset.set_epoch(epoch)

    def chunk_stream(self) -> Iterator[dict[str, torch.Tensor]]:
        """The pass's chunks as the workers made them, on the CPU (pinned when pinning): what :meth:`__iter__`
        cuts into batches."""
        if self.slots is None:
            yield from self.chunks
            return
        self.slots.start_pass()
        for item in self.chunks:
            chunk = item if isinstance(item, dict) else self.slots.hand_out(*item)
            yield {k: v.pin_memory() for k, v in chunk.items()} if self.pin else chunk

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for chunk in self.chunk_stream():
            n = len(chunk["index"])
            for a in range(0, n, self.batch_size):
                yield self.finish({k: v[a:a + self.batch_size] for k, v in chunk.items()})

    def finish(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A batch cut from a chunk, on the device, augmented there if that is where augmentation runs."""
        out = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        if self.augment_on == "device":
            c = self.dataset.config
            out["z"], out["x"] = augment_batch(out.pop("z_stored"), out.pop("x_stored"), out.pop("augment"),
                                               c.exemplar_size, c.search_size)
        out["z"], out["x"] = out["z"].to(self.dtype), out["x"].to(self.dtype)
        return out
