"""The manifest: one row per curated record, read by stats and the pair sampler without touching crops.

Each shard stores its snippets' rows next to their crops (committed in the same transaction, see
:mod:`siamfc.curate.shards`); :func:`load_manifest` gathers them from one scan of the shards
(:func:`~siamfc.curate.shards.scan_shards`), caching the result in ``manifest.npz`` at the curation root, keyed by
the shards' transaction ids (:meth:`~siamfc.curate.folder.CurationLayout.fingerprint`) so a stale cache is never
used. The folder is asked once per load, up front, for what the manifest needs of it (settings, fingerprint,
plan); building the manifest from a scan asks nothing more of it.

Columns of ``Manifest.records`` (a numpy structured array, :data:`RECORD_DTYPE`):

==========  ======  ==================================================================
snippet     int32   index into ``Manifest.snippets`` (snippet ids: ``<split>/<sequence>``)
track       int32   track id (VID trackid; 0 for one-target datasets; COCO's annotation id)
frame       int32   frame number (VID's file number; GOT-10k, LaSOT from 1; TrackingNet from 0; COCO's image id)
cls         int16   index into ``Manifest.classes`` (the curation's class vocabulary)
xmin..ymax  float32 box, 0-based inclusive pixel indices (:mod:`.boxes` ``xyxy``); VID's clipped to the frame,
                    the others' as annotated (a target partly out of the frame keeps its whole box)
width       int32   frame width in pixels
height      int32   frame height in pixels
s_z         float32 exemplar context side in frame pixels (search side = s_z * 255 / 127)
pad_z       float32 fraction of the exemplar crop that is mean padding
pad_x       float32 fraction of the search crop that is mean padding
occluded    uint8   VID flag
generated   uint8   VID flag (box interpolated, not drawn)
cover       uint8   GOT-10k visible-ratio class 1..8; 255 where the dataset has none (format.COVER_UNKNOWN)
cut         uint8   GOT-10k cut_by_image flag
reduction   uint8   JPEG decode reduction used (1, 2, 4 or 8)
shard       uint16  shard number holding the crop
nbytes      uint32  size of the stored crop value in bytes
crc         uint32  CRC-32C of the stored crop value (0 in format-1 curations, which have none)
==========  ======  ==================================================================

``Manifest.hidden`` lists the annotated objects that were not cropped because they are not visible
(:data:`~siamfc.curate.schema.HIDDEN_DTYPE`: snippet, track, frame and the visibility flags that say why).

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
from .folder import CurationLayout
from .schema import HIDDEN_DTYPE, RECORD_DTYPE, CurationSettings, record_key, split_of
from .shards import ShardScan, scan_shards
from .sources import source_format

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
    classes: tuple[str, ...] = ()  # the class vocabulary; ``records["cls"]`` indexes it
    hidden: np.ndarray = field(default_factory=lambda: np.zeros(0, HIDDEN_DTYPE))  # annotated, not visible
    source: str = "vid"  # the dataset format the curation was made from
    still_images: bool = False  # every track is one image (COCO): a pair is two augmentations of one crop

    def __len__(self) -> int:
        return len(self.records)

    def key(self, i: int) -> bytes:
        """LMDB key of record ``i``."""
        r = self.records[i]
        return record_key(str(self.snippets[r["snippet"]]), int(r["track"]), int(r["frame"]))

    def split_of(self, snippet_index: np.ndarray) -> np.ndarray:
        """Split name ('train', 'val', ...) of each snippet index."""
        splits = np.array([split_of(str(s)) for s in self.snippets])
        return splits[snippet_index]

    def class_label(self, c: int) -> str:
        """Readable name of class index ``c`` (a WordNet id's name for VID; the stored name otherwise)."""
        return source_format(self.source).class_label(self.classes[c])


def load_manifest(root: str | Path, use_cache: bool = True, intact_only: bool = False,
                  scan: ShardScan | None = None) -> Manifest:
    """The manifest of the curation at ``root``, from the cache when it matches the shards.

    A damaged shard or snippet record raises CurationError naming it, unless ``intact_only``: then the manifest
    holds what is intact and lists the rest in ``damaged``. An unreadable cache is rebuilt, never trusted; from
    ``scan`` when the caller has just scanned the shards as they are (:func:`~.shards.scan_shards`)."""
    layout = CurationLayout.open(root)
    settings, planned = layout.settings, layout.planned_snippets()
    token = scan.token if scan is not None else layout.fingerprint()
    cache = layout.root / MANIFEST_FILE
    manifest = _read_cache(cache, token, settings, planned) if use_cache else None
    if manifest is None:
        if scan is None:
            scan = scan_shards(layout)
        manifest = build_manifest(scan, settings, planned, layout.root)
        _write_cache(cache, manifest, scan.token)
    if manifest.damaged and not intact_only:
        more = f" (and {len(manifest.damaged) - 1} more)" if len(manifest.damaged) > 1 else ""
        raise CurationError(f"{manifest.damaged[0]}{more}; `siamfc curate ... --repair` rebuilds damaged shards, "
                            "`siamfc stats` lists them, `siamfc train --intact-only` trains on the rest")
    return manifest


def _read_cache(cache: Path, token: str, settings: CurationSettings, planned: set[str] | None) -> Manifest | None:
    """The cached manifest when it is readable, well-formed and made from the shards as they are now."""
    try:
        with np.load(cache, allow_pickle=False) as z:
            if str(z["token"]) != token:
                return None
            records, snippets, frames, hidden = z["records"], z["snippets"], z["frames"], z["hidden"]
            damaged, classes = json.loads(str(z["damaged"])), json.loads(str(z["classes"]))
    except Exception:  # missing, truncated, not a zip, a bad CRC, a foreign file, an older cache: rebuild it
        return None
    if records.dtype != RECORD_DTYPE or hidden.dtype != HIDDEN_DTYPE or len(snippets) != len(frames) or not (
            isinstance(damaged, list) and isinstance(classes, list)) or (
            len(records) and (int(records["snippet"].max()) >= len(snippets)
                              or int(records["cls"].max()) >= len(classes))):
        return None
    return _manifest(settings, planned, records, snippets, frames, damaged, tuple(classes), hidden)


def _manifest(settings: CurationSettings, planned: set[str] | None, records: np.ndarray, snippets: np.ndarray,
              frames: np.ndarray, damaged: list[str], classes: tuple[str, ...], hidden: np.ndarray) -> Manifest:
    # Completeness depends on plan.json, which changes without a shard commit: never cache it.
    complete = planned is not None and planned <= set(snippets.tolist()) and not damaged
    fmt = source_format(settings.source)
    return Manifest(records, snippets, frames, complete, damaged, settings.format_version >= 2, classes,
                    hidden, fmt.name, fmt.still_images)


def build_manifest(scan: ShardScan, settings: CurationSettings, planned: set[str] | None, root: Path) -> Manifest:
    """The manifest of one scan of a curation's shards, with its ``settings`` and ``planned`` snippets (the plan,
    for ``complete``); ``root`` only names the curation in an error."""
    fmt = source_format(settings.source)
    metas = sorted(scan.metas.items())
    found = {c for _, m in metas for c in (m.classes if m.classes is not None else fmt.known_classes)}
    classes = fmt.known_classes + tuple(sorted(found - set(fmt.known_classes)))
    index = {c: i for i, c in enumerate(classes)}
    ids, rows, frames, hidden = [], [], [], []
    for snippet_id, meta in metas:
        part = meta.records.copy()
        part["snippet"] = len(ids)
        local = meta.classes if meta.classes is not None else fmt.known_classes  # before format 3: VID's
        if len(part) and int(part["cls"].max()) >= len(local):
            raise CurationError(f"{root}: snippet {snippet_id!r} has class index {int(part['cls'].max())} "
                                f"but {len(local)} class names; it was written by another program")
        part["cls"] = np.array([index[c] for c in local], dtype=np.int16)[part["cls"]] if len(part) else 0
        h = np.array([(len(ids), *entry) for entry in meta.hidden], dtype=HIDDEN_DTYPE)
        ids.append(snippet_id)
        rows.append(part)
        hidden.append(h)
        frames.append(meta.frames)
    records = np.concatenate(rows) if rows else np.zeros(0, RECORD_DTYPE)
    return _manifest(settings, planned, records, np.array(ids, dtype=str), np.array(frames, dtype=np.int64),
                     list(scan.problems), classes, np.concatenate(hidden) if hidden else np.zeros(0, HIDDEN_DTYPE))


def _write_cache(path: Path, manifest: Manifest, token: str) -> None:
    try:
        with atomic_write(path) as f:
            np.savez(f, records=manifest.records, snippets=manifest.snippets, frames=manifest.frames, token=token,
                     damaged=json.dumps(manifest.damaged), classes=json.dumps(list(manifest.classes)),
                     hidden=manifest.hidden)
    except OSError:
        pass  # a read-only or full disk: the cache is only an optimisation
