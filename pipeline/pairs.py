"""The pair index and the pair stream: which (exemplar, search) records pair ``i`` of epoch ``e`` uses.

The index is built once from the manifest with numpy (no per-record Python):

1. usable records: the chosen splits minus the filtered ones (:func:`select_records`);
2. tracks: runs of usable records with the same (snippet, track), contiguous because the manifest is sorted by
   (snippet, track, frame); a track that vanishes and comes back stays one track;
3. partners: for each usable record, the usable records of its track at most ``max_gap`` frames away, found with two
   ``searchsorted`` calls on a (track, frame) key. A record with a partner can be an exemplar; a track with such a
   record is usable; a snippet with a usable track is usable.

Pair ``i`` is drawn as SiamFC's original sampler does, video first: a snippet uniformly among usable snippets, a
track uniformly among its usable tracks, the exemplar uniformly among the track's records that have a partner, the
search record uniformly among that exemplar's partners (another frame, ``|frame gap| <= max_gap``). In a curation of
still images (every track one record) a record is its own partner: the pair is two augmentations of one crop.

A mix of curations has one index per curation, each with its own ``max_gap``. Pair ``i`` first picks curation ``k``
with probability ``weight_k / sum(weights)``, then a pair of ``k``'s index as above (:func:`draw_block`).

Randomness is counter-based: pairs come in blocks of :data:`BLOCK` consecutive indices, block ``b`` of epoch ``e``
drawing all its uniforms from ``np.random.default_rng((seed, e, b))``, a fixed number of columns per pair. So pair
``i`` depends only on ``(seed, e, i)``, never on which process draws it or how many processes there are, and the
augmentation columns are drawn even when unused, so switching an augmentation on or off keeps the same record pairs.
A mix draws the curation of each pair from a second generator, ``(seed, e, b, 1)``, and a single curation draws
none, so its pairs are those it gave before mixes; the pairs of one curation of a mix do not move when another
curation's gap or records change (the weights or the number of curations do move them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from siamfc.curate.manifest import Manifest
from siamfc.curate.schema import record_key

BLOCK = 1024  # pairs drawn together from one generator; part of the stream's definition
PAIR_COLUMNS = 4  # uniforms per pair for the record choice: snippet, track, exemplar, search


@dataclass(frozen=True)
class RecordFilter:
    """Which manifest records may appear in pairs (defaults live in ``SamplerConfig``)."""

    splits: tuple[str, ...]
    skip_generated: bool
    skip_occluded: bool
    min_size: float  # smallest allowed box side, frame pixels
    max_pad_z: float  # largest allowed padded fraction of the exemplar crop
    max_pad_x: float  # largest allowed padded fraction of the search crop


def select_records(manifest: Manifest, flt: RecordFilter) -> np.ndarray:
    """Boolean mask over ``manifest.records`` of the records that pass ``flt``."""
    r = manifest.records
    keep = np.isin(manifest.split_of(r["snippet"]), list(flt.splits)) if len(r) else np.zeros(0, bool)
    side = np.minimum(r["xmax"] - r["xmin"], r["ymax"] - r["ymin"]) + 1
    keep &= (side >= flt.min_size) & (r["pad_z"] <= flt.max_pad_z) & (r["pad_x"] <= flt.max_pad_x)
    if flt.skip_generated:
        keep &= r["generated"] == 0
    if flt.skip_occluded:
        keep &= r["occluded"] == 0
    return keep


@dataclass(frozen=True)
class PairIndex:
    """Usable records grouped by track, with what the sampler draws from. Positions index ``rows``."""

    rows: np.ndarray  # int64 manifest row of each usable record, sorted by (snippet, track, frame)
    snippet: np.ndarray  # int32 snippet index (into snippet_ids) of each usable record
    track: np.ndarray  # int32 VID trackid of each usable record
    frame: np.ndarray  # int32 frame of each usable record
    shard: np.ndarray  # int32 shard holding each usable record's crop
    crc: np.ndarray  # int64 CRC-32C of each usable record's stored crop; -1 where the curation has none (format 1)
    lo: np.ndarray  # int64 first position of a record's partner window (the record itself included)
    hi: np.ndarray  # int64 end (exclusive) of the window
    exemplars: np.ndarray  # int64 positions of records with at least one partner, grouped by track
    track_start: np.ndarray  # int64 per usable track: its first entry in ``exemplars``
    track_count: np.ndarray  # int64 per usable track: its number of exemplar candidates
    snippet_start: np.ndarray  # int64 per usable snippet: its first usable track
    snippet_count: np.ndarray  # int64 per usable snippet: its number of usable tracks
    snippet_ids: tuple[str, ...]
    same_frame: bool = False  # still images: a record is its own partner (see build_index)

    @property
    def n_tracks(self) -> int:
        return len(self.track_start)

    @property
    def n_snippets(self) -> int:
        return len(self.snippet_start)

    def key(self, position: int) -> bytes:
        """LMDB key of the usable record at ``position``."""
        return record_key(self.snippet_ids[self.snippet[position]], int(self.track[position]),
                          int(self.frame[position]))

    def draw(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(exemplar, search) positions for each row of uniforms ``u`` (``PAIR_COLUMNS`` columns), vectorised."""
        s = _pick(u[:, 0], self.n_snippets)
        t = self.snippet_start[s] + _pick(u[:, 1], self.snippet_count[s])
        z = self.exemplars[self.track_start[t] + _pick(u[:, 2], self.track_count[t])]
        lo = self.lo[z]
        if self.same_frame:
            return z, lo + _pick(u[:, 3], self.hi[z] - lo)
        x = lo + _pick(u[:, 3], self.hi[z] - lo - 1)
        return z, x + (x >= z)  # skip the exemplar itself


def _pick(u: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """floor(u * n) for u in [0, 1), guarded against rounding up to n."""
    return np.minimum(np.floor(u * n).astype(np.int64), np.asarray(n, dtype=np.int64) - 1)


def build_index(manifest: Manifest, keep: np.ndarray, max_gap: int, same_frame: bool = False) -> PairIndex:
    """The :class:`PairIndex` of the ``keep`` records of ``manifest`` for pairs at most ``max_gap`` frames apart.

    ``same_frame`` (still images, where every track is one record): a record is its own partner, so a pair may be
    two augmentations of one crop (as pysot and pytracking train on COCO)."""
    rows = np.flatnonzero(keep).astype(np.int64)
    r = manifest.records[rows]
    snippet, track, frame, shard = (r[c].astype(np.int64) for c in ("snippet", "track", "frame", "shard"))
    order = np.lexsort((frame, track, snippet))
    if np.any(order != np.arange(len(order))):  # the manifest is sorted; stay correct if a caller's is not
        rows, snippet, track, frame, shard = (a[order] for a in (rows, snippet, track, frame, shard))
    new_run = np.ones(len(rows), bool)
    new_run[1:] = (snippet[1:] != snippet[:-1]) | (track[1:] != track[:-1])
    run = np.cumsum(new_run) - 1
    key = (run << 32) + frame  # frames are < 2**31, so windows never cross tracks
    lo = np.searchsorted(key, key - max_gap, side="left")
    hi = np.searchsorted(key, key + max_gap, side="right")
    exemplars = np.flatnonzero(hi - lo >= (1 if same_frame else 2))
    _, track_start, track_count = np.unique(run[exemplars], return_index=True, return_counts=True)
    _, snippet_start, snippet_count = np.unique(snippet[exemplars[track_start]], return_index=True,
                                                return_counts=True)
    crc = manifest.records["crc"][rows].astype(np.int64) if manifest.checksums else np.full(len(rows), -1)
    return PairIndex(rows, snippet.astype(np.int32), track.astype(np.int32), frame.astype(np.int32),
                     shard.astype(np.int32), crc, lo, hi,
                     exemplars, track_start, track_count, snippet_start, snippet_count,
                     tuple(str(s) for s in manifest.snippets), same_frame)


class BlockDraw(NamedTuple):
    """The records of one block of pairs: per pair its curation and positions in that curation's index."""

    source: np.ndarray  # int64 index of the curation in the mix
    z: np.ndarray  # int64 exemplar position in its curation's PairIndex
    x: np.ndarray  # int64 search position
    extra: np.ndarray  # [BLOCK, extra_columns] more uniforms, for augmentation


def draw_block(indices: Sequence[PairIndex], weights: Sequence[float], seed: int, epoch: int, block: int,
               extra_columns: int) -> BlockDraw:
    """Block ``block`` of epoch ``epoch`` (pairs ``block * BLOCK ... block * BLOCK + BLOCK - 1``) of a mix: pair
    ``j`` comes from curation ``k`` with probability ``weights[k] / sum(weights)``, then from ``indices[k]``."""
    u = np.random.default_rng((seed, epoch, block)).random((BLOCK, PAIR_COLUMNS + extra_columns))
    source = pick_sources(weights, seed, epoch, block)
    z, x = np.empty(BLOCK, np.int64), np.empty(BLOCK, np.int64)
    for k, index in enumerate(indices):
        mine = source == k
        z[mine], x[mine] = index.draw(u[mine, :PAIR_COLUMNS])
    return BlockDraw(source, z, x, u[:, PAIR_COLUMNS:])


def pick_sources(weights: Sequence[float], seed: int, epoch: int, block: int) -> np.ndarray:
    """The curation of each pair of a block, by weight, from a generator of its own: one curation takes no draw,
    so its stream is the same as before mixes. (The key ends in 1, not 0: numpy's seeding maps a key and the
    same key with zeros appended to one stream.)"""
    if len(weights) == 1:
        return np.zeros(BLOCK, np.int64)
    edges = np.cumsum(np.asarray(weights, np.float64))
    u = np.random.default_rng((seed, epoch, block, 1)).random(BLOCK)
    return np.minimum(np.searchsorted(edges / edges[-1], u, side="right"), len(weights) - 1).astype(np.int64)


def shard_indices(length: int, rank: int, world_size: int, worker: int, workers: int) -> np.ndarray:
    """Global pair indices of one (rank, worker): the rank's ``j``-th pair is ``rank + world_size * j``
    (``j < length``), and the worker takes ``j = worker, worker + workers, ...``."""
    return rank + world_size * np.arange(worker, length, workers, dtype=np.int64)


def chunk_indices(length: int, rank: int, world_size: int, chunk: int, worker: int,
                  workers: int) -> list[np.ndarray]:
    """Global pair indices of the chunks one (rank, worker) makes: the rank's pairs ``j < length`` (global index
    ``rank + world_size * j``) cut into runs of ``chunk`` consecutive ``j``, run ``c`` made by worker
    ``c % workers``. Reading the workers' chunks round-robin gives the rank's stream in order."""
    starts = range(worker * chunk, length, workers * chunk)
    return [rank + world_size * np.arange(a, min(a + chunk, length), dtype=np.int64) for a in starts]


def describe_index(index: PairIndex, n_records: int, splits: Sequence[str]) -> str:
    """One line: how much of the curation the sampler draws from."""
    return (f"{'+'.join(splits)}: {len(index.exemplars)} exemplar records of {len(index.rows)} usable "
            f"({n_records} in the curation), {index.n_tracks} tracks in {index.n_snippets} snippets")
