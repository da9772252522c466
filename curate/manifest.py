"""The manifest: one row per curated record, read by stats and the pair sampler without touching crops.

Each shard stores its snippets' rows next to their crops (committed in the same transaction, see
:mod:`siamfc.curate.shards`); :func:`load_manifest` gathers them, caching the result in
``manifest.npz`` at the curation root, keyed by the shards' transaction ids so a stale cache is
never used.

Columns of ``Manifest.records`` (a numpy structured array, :data:`RECORD_DTYPE`):

==========  ======  ==================================================================
snippet     int32   index into ``Manifest.snippets`` (snippet ids)
track       int32   VID trackid
frame       int32   frame index (the XML/JPEG file number)
cls         int16   index into :data:`siamfc.curate.classes.WNIDS`
xmin..ymax  float32 VID box, inclusive pixel indices, clipped to the frame
width       int32   frame width in pixels
height      int32   frame height in pixels
s_z         float32 exemplar context side in frame pixels (search side = s_z * 255 / 127)
pad_z       float32 fraction of the exemplar crop that is mean padding
pad_x       float32 fraction of the search crop that is mean padding
occluded    uint8   VID flag
generated   uint8   VID flag (box interpolated, not drawn)
reduction   uint8   JPEG decode reduction used (1, 2, 4 or 8)
shard       uint16  shard number holding the crop
nbytes      uint32  size of the stored crop value in bytes
crc         uint32  CRC-32C of the stored crop value (0 in format-1 curations, which have none)
==========  ======  ==================================================================

Shards or snippet records that cannot be read are listed in ``Manifest.damaged``; :func:`load_manifest` raises
on them unless asked for what is intact (``intact_only=True``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .errors import CurationError
from .format import RECORD_DTYPE, record_key
from .shards import CurationLayout, ShardScan

MANIFEST_FILE = "manifest.npz"


@dataclass
class Manifest:
    """All records of a curation, sorted by (snippet, track, frame)."""

    records: np.ndarray  # RECORD_DTYPE
    snippets: np.ndarray  # str, snippet ids
    frames: np.ndarray  # int64 per snippet: annotated frames seen (including skipped)
    complete: bool  # False while snippets of the curation's plan are still missing
    damaged: list[str] = field(default_factory=list)  # one line per unreadable shard or snippet record
    checksums: bool = True  # records carry the CRC of their stored value (format 2 on)

    def __len__(self) -> int:
        return len(self.records)

    def key(self, i: int) -> bytes:
        """LMDB key of record ``i``."""
        r = self.records[i]
        return record_key(str(self.snippets[r["snippet"]]), int(r["track"]), int(r["frame"]))

    def split_of(self, snippet_index: np.ndarray) -> np.ndarray:
        """Split name ('train'/'val') of each snippet index."""
        splits = np.array([s.split("/", 1)[0] for s in self.snippets])
        return splits[snippet_index]


def load_manifest(root: str | Path, use_cache: bool = True, intact_only: bool = False,
                  scan: ShardScan | None = None) -> Manifest:
    """The manifest of the curation at ``root``, from the cache when it matches the shards.

    A damaged shard or snippet record raises CurationError naming it, unless ``intact_only``: then the manifest
    holds what is intact and lists the rest in ``damaged``. An unreadable cache is rebuilt, never trusted; from
    ``scan`` when the caller has just scanned the shards as they are (:meth:`CurationLayout.scan`)."""
    layout = CurationLayout.open(root)
    token = layout.fingerprint()
    cache = layout.root / MANIFEST_FILE
    manifest = _read_cache(layout, cache, token) if use_cache else None
    if manifest is None:
        manifest = _gather(layout, scan if scan is not None else layout.scan())
        _write_cache(cache, manifest, token)
    if manifest.damaged and not intact_only:
        more = f" (and {len(manifest.damaged) - 1} more)" if len(manifest.damaged) > 1 else ""
        raise CurationError(f"{manifest.damaged[0]}{more}; `siamfc curate ... --repair` rebuilds damaged shards, "
                            "`siamfc stats` lists them, `siamfc train --intact-only` trains on the rest")
    return manifest


def _read_cache(layout: CurationLayout, cache: Path, token: str) -> Manifest | None:
    """The cached manifest when it is readable, well-formed and made from the shards as they are now."""
    try:
        with np.load(cache, allow_pickle=False) as z:
            if str(z["token"]) != token:
                return None
            records, snippets, frames = z["records"], z["snippets"], z["frames"]
            damaged = json.loads(str(z["damaged"]))
    except Exception:  # missing, truncated, not a zip, a bad CRC, a foreign file: rebuild it
        return None
    if records.dtype != RECORD_DTYPE or len(snippets) != len(frames) or not isinstance(damaged, list) or (
            len(records) and int(records["snippet"].max()) >= len(snippets)):
        return None
    return _manifest(layout, records, snippets, frames, damaged)


def _manifest(layout: CurationLayout, records: np.ndarray, snippets: np.ndarray, frames: np.ndarray,
              damaged: list[str]) -> Manifest:
    # Completeness depends on plan.json, which changes without a shard commit: never cache it.
    planned = layout.planned_snippets()
    complete = planned is not None and planned <= set(snippets.tolist()) and not damaged
    return Manifest(records, snippets, frames, complete, damaged, layout.settings.format_version >= 2)


def _gather(layout: CurationLayout, scan: ShardScan) -> Manifest:
    ids, rows, frames = [], [], []
    for snippet_id, meta in sorted(scan.metas.items()):
        part = meta.records.copy()
        part["snippet"] = len(ids)
        ids.append(snippet_id)
        rows.append(part)
        frames.append(meta.frames)
    records = np.concatenate(rows) if rows else np.zeros(0, RECORD_DTYPE)
    return _manifest(layout, records, np.array(ids, dtype=str), np.array(frames, dtype=np.int64),
                     scan.problem_lines(layout))


def _write_cache(path: Path, manifest: Manifest, token: str) -> None:
    try:
        with atomic_write(path) as f:
            np.savez(f, records=manifest.records, snippets=manifest.snippets, frames=manifest.frames, token=token,
                     damaged=json.dumps(manifest.damaged))
    except OSError:
        pass  # a read-only or full disk: the cache is only an optimisation
