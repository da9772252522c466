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
==========  ======  ==================================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .format import RECORD_DTYPE, record_key
from .shards import CurationLayout

MANIFEST_FILE = "manifest.npz"


@dataclass
class Manifest:
    """All records of a curation, sorted by (snippet, track, frame)."""

    records: np.ndarray  # RECORD_DTYPE
    snippets: np.ndarray  # str, snippet ids
    frames: np.ndarray  # int64 per snippet: annotated frames seen (including skipped)
    complete: bool  # False while snippets of the curation's plan are still missing

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


def load_manifest(root: str | Path, use_cache: bool = True) -> Manifest:
    """The manifest of the curation at ``root``, from the cache when it matches the shards."""
    layout = CurationLayout.open(root)
    token = layout.fingerprint()
    cache = layout.root / MANIFEST_FILE
    if use_cache and cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                if str(z["token"]) == token:
                    return _manifest(layout, z["records"], z["snippets"], z["frames"])
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache: rebuild it below
    manifest = _gather(layout)
    _write_cache(cache, manifest, token)
    return manifest


def _manifest(layout: CurationLayout, records: np.ndarray, snippets: np.ndarray, frames: np.ndarray) -> Manifest:
    # Completeness depends on plan.json, which changes without a shard commit: never cache it.
    planned = layout.planned_snippets()
    return Manifest(records, snippets, frames, planned is not None and planned <= set(snippets.tolist()))


def _gather(layout: CurationLayout) -> Manifest:
    ids, rows, frames = [], [], []
    for snippet_id, meta in sorted(layout.iter_snippet_meta()):
        part = meta.records.copy()
        part["snippet"] = len(ids)
        ids.append(snippet_id)
        rows.append(part)
        frames.append(meta.frames)
    records = np.concatenate(rows) if rows else np.zeros(0, RECORD_DTYPE)
    return _manifest(layout, records, np.array(ids, dtype=str), np.array(frames, dtype=np.int64))


def _write_cache(path: Path, manifest: Manifest, token: str) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    try:
        np.savez(tmp, records=manifest.records, snippets=manifest.snippets, frames=manifest.frames, token=token)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only or full disk: the cache is only an optimisation
