"""The streaming pair sampler: SiamFC training pairs from the LMDB shards of one curation or a mix of them, as a torch
IterableDataset.

A mix (:mod:`.mix`) is a sequence of :class:`~.mix.CurationShare`: each pair first picks a curation by weight, then
a pair inside it as from a single curation, within that curation's ``max_gap`` (:mod:`.pairs`). Every curation keeps
its own index and shard reader; a single curation gives the same pairs as it did before mixes.

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

The labels describe the response map of the network being trained: the trainer passes it (``grid``, the network's
:class:`~.response_map.ResponseGrid` for the config's crops; this module knows no network). Without one they are
laid on :func:`~.labels.default_grid` (17x17 at stride 8 for 127 / 255 crops).

Each item is a dict::

    z       uint8 [3, 127, 127]  exemplar, BGR as stored, target at the centre
    x       uint8 [3, 255, 255]  search crop, BGR, target at (127 + dx, 127 + dy)
    label   float32 [17, 17]     1 positive, 0 negative (score_labels of the target), on the response grid
    weight  float32 [17, 17]     positives sum to 0.5, negatives to 0.5
    target  float32 [2]          (dx, dy), search-crop pixels from the crop centre
    index   int64 []             global pair index i in the epoch
    records int64 [2]            manifest rows of the exemplar and search records, in their curation's manifest
    source  int64 []             the curation: its position in the mix (0 for a single curation)

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.context import get_spawning_popen

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from siamfc.curate.errors import UserError
from siamfc.curate.geometry import SEARCH_SIZE
from siamfc.curate.manifest import load_manifest
from siamfc.curate.schema import decode_crop
from siamfc.curate.shards import ShardReader

from .augment import AUGMENT_COLUMNS, U_COLUMNS, PairAugment, augment_pair, draw_augment
from .batch_augment import exemplar_region
from .labels import LabelTable, default_grid
from .mix import Curations, CurationShare, as_shares
from .pairs import (
    BLOCK,
    BlockDraw,
    PairIndex,
    build_index,
    chunk_indices,
    describe_index,
    draw_block,
    select_records,
    shard_indices,
)
from .ranks import resolve_rank
from .response_map import ResponseGrid
from .sampler_config import SamplerConfig

Source = tuple[int, bytes]  # (shard, LMDB key) of a stored crop within its curation


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
class CurationPairs:
    """One curation of a dataset: its share of the mix, its pair index and its shards."""

    share: CurationShare
    index: PairIndex
    crops: ShardReader  # LMDB handles of the reading process, reopened in each worker
    check_crc: bool  # check each stored crop against its manifest checksum
    description: str  # how much of the curation the pairs draw from (describe_index)

    def source(self, position: int) -> Source:
        """(shard, LMDB key) of the usable record at ``position`` of the index."""
        return int(self.index.shard[position]), self.index.key(position)

    def value(self, position: int) -> bytes:
        """The stored crop of the usable record at ``position``, checked against its checksum when ``check_crc``."""
        crc = int(self.index.crc[position]) if self.check_crc else None
        return self.crops.get_in(*self.source(position), crc=crc)

    def crops_of(self, z: int, x: int) -> tuple[np.ndarray, np.ndarray]:
        """The decoded stored crops (BGR 255x255) of the exemplar and search records at positions ``z`` and ``x``."""
        return decode_crop(self.value(z)), decode_crop(self.value(x))


def open_curation(share: CurationShare, config: SamplerConfig, splits: tuple[str, ...], intact_only: bool,
                  check_crc: bool) -> CurationPairs:
    """The pairs ``config`` and ``splits`` allow in one curation; ValueError naming it when it has none."""
    root = share.root
    manifest = load_manifest(root, intact_only=intact_only)
    if manifest.damaged:
        warnings.warn(f"{root}: sampling from the intact shards only; damaged: {'; '.join(manifest.damaged)}",
                      stacklevel=2)
    elif not manifest.complete:
        warnings.warn(f"{root}: curation incomplete (planned snippets missing); sampling from the committed ones",
                      stacklevel=2)
    gap = share.gap(config.max_gap)
    still = manifest.still_images  # every track one record (COCO): a record is its own partner
    index = build_index(manifest, select_records(manifest, config.record_filter(splits)), gap, same_frame=still)
    description = describe_index(index, len(manifest), splits)
    if index.n_tracks == 0:
        need = "a usable record" if still else f"two usable records within {gap} frames"
        raise UserError(f"{root}: no track of split(s) {', '.join(splits)} has {need} after the filters "
                        f"({description})")
    return CurationPairs(share, index, ShardReader(root), check_crc and manifest.checksums, description)


def describe_curations(curations: Sequence[CurationPairs], default_gap: int) -> str:
    """One line: what a single curation's pairs draw from, or that of each curation of a mix with its weight and
    frame gap."""
    if len(curations) == 1:
        return curations[0].description
    return "; ".join(f"{c.share.describe(default_gap)}: {c.description}" for c in curations)


@dataclass(frozen=True)
class _Block:
    epoch: int
    number: int
    draw: BlockDraw  # each pair's curation and index positions
    augment: np.ndarray  # draw_augment's table


class PairDataset(IterableDataset):
    """SiamFC training pairs streamed from one curation or a mix of them (see the module docstring)."""

    def __init__(self, data: Curations, config: SamplerConfig | None = None, splits: tuple[str, ...] = ("train",),
                 rank: int | None = None, world_size: int | None = None, intact_only: bool = False,
                 check_crc: bool = True, grid: ResponseGrid | None = None):
        """``data``: a curation folder, or a :class:`~.mix.CurationShare` or a sequence of them (a mix).
        ``intact_only``: sample from the intact shards of a curation with damaged ones (else CurationError
        naming the damage). ``check_crc``: check each stored crop against its manifest checksum when read
        (RecordDamaged naming shard and key on a mismatch). ``config``: default ``SamplerConfig()``. ``grid``: the
        response map the labels describe (the trained network's for these crops; default
        :func:`~.labels.default_grid`)."""
        config = config if config is not None else SamplerConfig()
        self.config, self.splits = config, tuple(splits)
        self.grid = grid if grid is not None else default_grid(config.exemplar_size, config.search_size)
        place = resolve_rank(rank, world_size)
        self.rank, self.world_size = place.rank, place.world_size
        self.curations = tuple(open_curation(share, config, self.splits, intact_only, check_crc)
                               for share in as_shares(data))
        self.weights = tuple(c.share.weight for c in self.curations)
        self.description = describe_curations(self.curations, config.max_gap)
        self.labels = LabelTable(config.max_translate, self.grid.size, self.grid.stride, config.radius)
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
        c, r = self.config, self.grid.size
        if stored:
            crops = {"z_stored": (torch.uint8, (self.z_region, self.z_region, 3)),
                     "x_stored": (torch.uint8, (SEARCH_SIZE, SEARCH_SIZE, 3)),
                     "augment": (torch.float32, (AUGMENT_COLUMNS,))}
        else:
            crops = {"z": (torch.uint8, (3, c.exemplar_size, c.exemplar_size)),
                     "x": (torch.uint8, (3, c.search_size, c.search_size))}
        return {**crops, "label": (torch.float32, (r, r)), "weight": (torch.float32, (r, r)),
                "target": (torch.float32, (2,)), "index": (torch.int64, ()), "records": (torch.int64, (2,)),
                "source": (torch.int64, ())}

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
        k, z_pos, x_pos, row = self._drawn_pair(i, epoch)
        z_crop, x_crop = self.curations[k].crops_of(z_pos, x_pos)
        aug = PairAugment.from_row(row)
        augment_pair(z_crop, x_crop, aug, self.config.exemplar_size, self.config.search_size,
                     out=(out["z"][j], out["x"][j]))
        self._write_info(out, j, i, k, z_pos, x_pos, aug.shift)

    def write_stored_pair(self, i: int, epoch: int | None, out: dict[str, np.ndarray], j: int) -> None:
        """Write :meth:`stored_pair` ``i`` of ``epoch`` into row ``j`` of ``out`` (as :meth:`write_pair`)."""
        k, z_pos, x_pos, row = self._drawn_pair(i, epoch)
        z_crop, x_crop = self.curations[k].crops_of(z_pos, x_pos)
        c, h = (z_crop.shape[0] - 1) // 2, (self.z_region - 1) // 2
        out["z_stored"][j] = z_crop[c - h:c + h + 1, c - h:c + h + 1]
        out["x_stored"][j] = x_crop
        out["augment"][j] = row
        self._write_info(out, j, i, k, z_pos, x_pos, PairAugment.from_row(row).shift)

    def writer(self, stored: bool) -> Callable[[int, int | None, dict[str, np.ndarray], int], None]:
        """:meth:`write_stored_pair` if ``stored``, else :meth:`write_pair`."""
        return self.write_stored_pair if stored else self.write_pair

    def _item(self, i: int, epoch: int | None, stored: bool) -> dict[str, torch.Tensor]:
        """One item as tensors, through :meth:`writer`."""
        out = {k: torch.empty((1, *shape), dtype=dtype) for k, (dtype, shape) in self.item_spec(stored).items()}
        self.writer(stored)(i, epoch, {k: t.numpy() for k, t in out.items()}, 0)
        return {k: t[0] for k, t in out.items()}

    def _write_info(self, out: dict[str, np.ndarray], j: int, i: int, k: int, z_pos: int, x_pos: int,
                    shift: tuple[int, int]) -> None:
        """The keys every pair item has besides its crops."""
        rows = self.curations[k].index.rows
        out["label"][j], out["weight"][j] = self.labels.maps(*shift)
        out["target"][j] = shift
        out["index"][j] = i
        out["records"][j, 0], out["records"][j, 1] = rows[z_pos], rows[x_pos]
        out["source"][j] = k

    def curation_sources(self, i: int, epoch: int | None = None) -> tuple[int, Source, Source]:
        """(curation, (shard, LMDB key) of the exemplar, (shard, LMDB key) of the search record) of pair ``i`` of
        ``epoch`` (default: current); the curation is its position in :attr:`curations`."""
        k, z_pos, x_pos, _ = self._drawn_pair(i, epoch)
        curation = self.curations[k]
        return k, curation.source(z_pos), curation.source(x_pos)

    def sources(self, i: int, epoch: int | None = None) -> tuple[Source, Source]:
        """(shard, LMDB key) of the exemplar and the search record of pair ``i`` of ``epoch`` (default: current),
        in the pair's curation (:meth:`curation_sources` names it)."""
        return self.curation_sources(i, epoch)[1:]

    def _drawn_pair(self, i: int, epoch: int | None) -> tuple[int, int, int, np.ndarray]:
        """(curation, exemplar position, search position in that curation's index, augmentation row) of pair ``i``
        of ``epoch``."""
        block, j = self._drawn(i // BLOCK, epoch), i % BLOCK
        return int(block.draw.source[j]), int(block.draw.z[j]), int(block.draw.x[j]), block.augment[j]

    def _drawn(self, number: int, epoch: int | None) -> _Block:
        """Block ``number`` of ``epoch`` (default: current), drawn once and kept while the stream is in it."""
        epoch = self.epoch if epoch is None else epoch
        b = self._block
        if b is None or b.number != number or b.epoch != epoch:
            c = self.config
            draw = draw_block([cur.index for cur in self.curations], self.weights, c.seed, epoch, number, U_COLUMNS)
            b = _Block(epoch, number, draw, draw_augment(draw.extra, c.augment_options(), c.exemplar_size))
            self._block = b
        return b
