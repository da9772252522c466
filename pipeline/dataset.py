"""The streaming pair sampler: SiamFC training pairs from a curation's LMDB shards, as a torch IterableDataset.

Each epoch is a stream of ``pairs_per_epoch`` pairs; pair ``i`` is fixed by ``(seed, epoch, i)`` alone (see
:mod:`.pairs`), so the stream is exactly reproducible and sharding is a partition of indices:

- rank ``r`` of ``W`` takes ``i = r, r + W, r + 2W, ...``, ``ceil(pairs_per_epoch / W)`` of them, so every rank
  yields the same number of pairs (DDP stays in step); when ``W`` does not divide the count, the extra indices
  are fresh pairs, never repeats;
- DataLoader worker ``k`` of ``n`` takes every ``n``-th of its rank's indices when the dataset is iterated pair by
  pair, and every ``n``-th run of consecutive indices when :class:`~.loader.PairLoader` moves pairs in chunks. Every
  (rank, worker) reads a disjoint part, and the union over any sharding is the single-process stream, pair for pair.

``set_epoch(e)`` selects the stream (call it before iterating, on every rank, as with DistributedSampler); the
epoch lives in shared memory (:class:`SharedEpoch`), so persistent DataLoader workers follow it, each reading it
once when it starts a pass. LMDB environments are opened lazily by :class:`~siamfc.curate.shards.ShardReader` in
the process that reads (read-only, no lock), never inherited: a dataset built or iterated in the parent is safe
in forked or spawned workers.

Each item is a dict::

    z       uint8 [3, 127, 127]  exemplar, BGR as stored, target at the centre
    x       uint8 [3, 255, 255]  search crop, BGR, target at (127 + dx, 127 + dy)
    label   float32 [17, 17]     1 positive, 0 negative (score_labels of the target)
    weight  float32 [17, 17]     positives sum to 0.5, negatives to 0.5
    target  float32 [2]          (dx, dy), search-crop pixels from the crop centre
    index   int64 []             global pair index i in the epoch
    records int64 [2]            manifest rows of the exemplar and search records

:meth:`PairDataset.stored_pair` gives the same pair *before* augmentation, for augmenting on the training device
(:mod:`.batch_augment`): ``z_stored`` uint8 ``[R, R, 3]`` (the central region of the exemplar's stored crop),
``x_stored`` uint8 ``[255, 255, 3]`` (the search record's stored crop), ``augment`` float32 ``[AUGMENT_COLUMNS]``
(the pair's row of :func:`~.augment.draw_augment`'s table) in place of ``z`` and ``x``; the other keys are the same.
Batching, and where augmentation runs, are :mod:`.loader`'s business.
"""

from __future__ import annotations

import math
import multiprocessing
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.context import get_spawning_popen
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from siamfc.curate.format import decode_crop
from siamfc.curate.geometry import SEARCH_SIZE
from siamfc.curate.manifest import load_manifest
from siamfc.curate.shards import ShardReader

from .augment import AUGMENT_COLUMNS, U_COLUMNS, PairAugment, augment_pair, draw_augment
from .batch_augment import exemplar_region
from .labels import LabelTable
from .pairs import (
    BLOCK,
    PairIndex,
    build_index,
    chunk_indices,
    describe_index,
    draw_block,
    select_records,
    shard_indices,
)
from .ranks import resolve_rank
from .sampler_config import SamplerConfig


class SharedEpoch:
    """An epoch number in shared memory, so DataLoader workers that outlive an epoch (persistent workers) see
    ``set_epoch``. Handed to a worker being started (fork, spawn or forkserver) it stays shared; any other pickle
    gets a private copy of the value."""

    def __init__(self, value: int = 0):
        self._value = multiprocessing.RawValue("q", value)

    def get(self) -> int:
        return int(self._value.value)

    def set(self, value: int) -> None:
        self._value.value = value

    def __getstate__(self) -> dict:
        if get_spawning_popen() is not None:
            return {"shared": self._value}
        return {"value": self.get()}

    def __setstate__(self, state: dict) -> None:
        self._value = state["shared"] if "shared" in state else multiprocessing.RawValue("q", state["value"])


@dataclass(frozen=True)
class _Block:
    epoch: int
    number: int
    z: np.ndarray  # exemplar positions in the index
    x: np.ndarray  # search positions
    augment: np.ndarray  # draw_augment's table


class PairDataset(IterableDataset):
    """SiamFC training pairs streamed from the curation at ``root`` (see the module docstring)."""

    def __init__(self, root: str | Path, config: SamplerConfig | None = None, splits: tuple[str, ...] = ("train",),
                 rank: int | None = None, world_size: int | None = None, intact_only: bool = False,
                 check_crc: bool = True):
        """``intact_only``: sample from the intact shards of a curation with damaged ones (else CurationError
        naming the damage). ``check_crc``: check each stored crop against its manifest checksum when read
        (RecordDamaged naming shard and key on a mismatch). ``config``: default ``SamplerConfig()``."""
        config = config if config is not None else SamplerConfig()
        self.root, self.config, self.splits = Path(root), config, tuple(splits)
        place = resolve_rank(rank, world_size)
        self.rank, self.world_size = place.rank, place.world_size
        manifest = load_manifest(self.root, intact_only=intact_only)
        self.crops = ShardReader(self.root)  # LMDB handles of the reading process, reopened in each worker
        self.check_crc = check_crc and manifest.checksums
        if manifest.damaged:
            warnings.warn(f"{self.root}: sampling from the intact shards only; damaged: {'; '.join(manifest.damaged)}",
                          stacklevel=2)
        elif not manifest.complete:
            warnings.warn(f"{self.root}: curation incomplete (planned snippets missing); sampling from the "
                          f"committed ones", stacklevel=2)
        self.index: PairIndex = build_index(manifest, select_records(manifest, config.record_filter(self.splits)),
                                            config.max_gap)
        self.description = describe_index(self.index, len(manifest), self.splits)
        if self.index.n_tracks == 0:
            raise ValueError(f"{self.root}: no track of split(s) {', '.join(self.splits)} has two usable records "
                             f"within {config.max_gap} frames after the filters ({self.description})")
        self.labels = LabelTable(config.max_translate, config.response_size, config.stride, config.radius)
        self.z_region = exemplar_region(config.exemplar_size, config.exemplar_stretch)  # side of z_stored
        self._epoch = SharedEpoch(0)
        self._block: _Block | None = None

    @property
    def epoch(self) -> int:
        return self._epoch.get()

    def set_epoch(self, epoch: int) -> None:
        """Select epoch ``epoch``'s stream (non-negative); workers read it when they start the epoch."""
        if epoch < 0:
            raise ValueError(f"epoch must be non-negative, got {epoch}")
        self._epoch.set(int(epoch))

    def __len__(self) -> int:
        """Pairs this rank yields per epoch, over all its workers: ``ceil(pairs_per_epoch / world_size)``."""
        return math.ceil(self.config.pairs_per_epoch / self.world_size)

    def indices(self, worker: int = 0, workers: int = 1) -> np.ndarray:
        """Global pair indices that DataLoader worker ``worker`` of ``workers`` of this rank yields, in order."""
        return shard_indices(len(self), self.rank, self.world_size, worker, workers)

    def chunks(self, chunk: int, worker: int = 0, workers: int = 1) -> list[np.ndarray]:
        """Global pair indices of the runs of ``chunk`` consecutive pairs of this rank that worker ``worker`` of
        ``workers`` makes when the loader moves pairs in chunks (:func:`~.pairs.chunk_indices`)."""
        return chunk_indices(len(self), self.rank, self.world_size, chunk, worker, workers)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        if info is not None:
            cv2.setNumThreads(1)  # parallelism is over workers; cv2's threads would only contend for the cores
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        epoch = self.epoch  # read once: the whole pass is one epoch's stream
        for i in self.indices(worker, workers):
            yield self.pair(int(i), epoch)

    def item_spec(self, stored: bool = False) -> dict[str, tuple[torch.dtype, tuple[int, ...]]]:
        """Key -> (dtype, shape) of one :meth:`pair` item (of a :meth:`stored_pair` item if ``stored``)."""
        c, r = self.config, self.config.response_size
        if stored:
            crops = {"z_stored": (torch.uint8, (self.z_region, self.z_region, 3)),
                     "x_stored": (torch.uint8, (SEARCH_SIZE, SEARCH_SIZE, 3)),
                     "augment": (torch.float32, (AUGMENT_COLUMNS,))}
        else:
            crops = {"z": (torch.uint8, (3, c.exemplar_size, c.exemplar_size)),
                     "x": (torch.uint8, (3, c.search_size, c.search_size))}
        return {**crops, "label": (torch.float32, (r, r)), "weight": (torch.float32, (r, r)),
                "target": (torch.float32, (2,)), "index": (torch.int64, ()), "records": (torch.int64, (2,))}

    def pair(self, i: int, epoch: int | None = None) -> dict[str, torch.Tensor]:
        """Pair ``i`` of ``epoch`` (default: the current one), augmented; any ``i >= 0``, the stream yields
        ``i < len``."""
        return self._item(i, epoch, stored=False)

    def stored_pair(self, i: int, epoch: int | None = None) -> dict[str, torch.Tensor]:
        """Pair ``i`` of ``epoch`` before augmentation: the stored crops it is made from and its augmentation row
        (see the module docstring); :func:`~.batch_augment.augment_batch` turns a batch of them into the
        :meth:`pair` values (up to rounding)."""
        return self._item(i, epoch, stored=True)

    def write_pair(self, i: int, epoch: int | None, out: dict[str, np.ndarray], j: int) -> None:
        """Write :meth:`pair` ``i`` of ``epoch`` into row ``j`` of ``out`` (arrays ``[n, *shape]`` of
        :meth:`item_spec`): how batches are filled without a per-pair copy."""
        z_pos, x_pos, row, z_crop, x_crop = self._decoded(i, epoch)
        aug = PairAugment.from_row(row)
        augment_pair(z_crop, x_crop, aug, self.config.exemplar_size, self.config.search_size,
                     out=(out["z"][j], out["x"][j]))
        self._write_info(out, j, i, z_pos, x_pos, aug.shift)

    def write_stored_pair(self, i: int, epoch: int | None, out: dict[str, np.ndarray], j: int) -> None:
        """Write :meth:`stored_pair` ``i`` of ``epoch`` into row ``j`` of ``out`` (as :meth:`write_pair`)."""
        z_pos, x_pos, row, z_crop, x_crop = self._decoded(i, epoch)
        c, h = (z_crop.shape[0] - 1) // 2, (self.z_region - 1) // 2
        out["z_stored"][j] = z_crop[c - h:c + h + 1, c - h:c + h + 1]
        out["x_stored"][j] = x_crop
        out["augment"][j] = row
        self._write_info(out, j, i, z_pos, x_pos, PairAugment.from_row(row).shift)

    def writer(self, stored: bool) -> Callable[[int, int | None, dict[str, np.ndarray], int], None]:
        """:meth:`write_stored_pair` if ``stored``, else :meth:`write_pair`."""
        return self.write_stored_pair if stored else self.write_pair

    def _item(self, i: int, epoch: int | None, stored: bool) -> dict[str, torch.Tensor]:
        """One item as tensors, through :meth:`writer`."""
        out = {k: torch.empty((1, *shape), dtype=dtype) for k, (dtype, shape) in self.item_spec(stored).items()}
        self.writer(stored)(i, epoch, {k: t.numpy() for k, t in out.items()}, 0)
        return {k: t[0] for k, t in out.items()}

    def _decoded(self, i: int, epoch: int | None) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
        """(exemplar position, search position, augmentation row, exemplar's stored crop, search's stored crop)
        of pair ``i`` of ``epoch``."""
        block, k = self._drawn(i // BLOCK, epoch), i % BLOCK
        z_pos, x_pos = int(block.z[k]), int(block.x[k])
        z_crop = decode_crop(self._value(z_pos))
        x_crop = decode_crop(self._value(x_pos))
        return z_pos, x_pos, block.augment[k], z_crop, x_crop

    def _write_info(self, out: dict[str, np.ndarray], j: int, i: int, z_pos: int, x_pos: int,
                    shift: tuple[int, int]) -> None:
        """The keys every pair item has besides its crops."""
        out["label"][j], out["weight"][j] = self.labels.maps(*shift)
        out["target"][j] = shift
        out["index"][j] = i
        out["records"][j, 0], out["records"][j, 1] = self.index.rows[z_pos], self.index.rows[x_pos]

    def sources(self, i: int, epoch: int | None = None) -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        """(shard, LMDB key) of the exemplar and the search record of pair ``i`` of ``epoch`` (default: current)."""
        block, k = self._drawn(i // BLOCK, epoch), i % BLOCK
        return self._source(int(block.z[k])), self._source(int(block.x[k]))

    def _source(self, position: int) -> tuple[int, bytes]:
        return int(self.index.shard[position]), self.index.key(position)

    def _value(self, position: int) -> bytes:
        """The stored crop of a usable record, checked against its checksum when ``check_crc``."""
        crc = int(self.index.crc[position]) if self.check_crc else None
        return self.crops.get_in(*self._source(position), crc=crc)

    def _drawn(self, number: int, epoch: int | None) -> _Block:
        """Block ``number`` of ``epoch`` (default: current), drawn once and kept while the stream is in it."""
        epoch = self.epoch if epoch is None else epoch
        b = self._block
        if b is None or b.number != number or b.epoch != epoch:
            c = self.config
            z, x, u = draw_block(self.index, c.seed, epoch, number, U_COLUMNS)
            b = _Block(epoch, number, z, x, draw_augment(u, c.augment_options(), c.exemplar_size))
            self._block = b
        return b
