"""Curating one sequence: its annotations -> one decode per frame -> encoded crops + manifest rows.

This is the unit of parallel work; it is pure (reads the dataset tree through the sequence's source, returns
bytes) so any joblib backend can run it and the single writer commits its result atomically.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from .boxes import xyxy_to_cxcywh
from .errors import SIZE_MISMATCH, BadInput
from .frames import read_frame
from .geometry import (
    SEARCH_SIZE,
    channel_mean,
    crop,
    crop_scale,
    decode_reduction,
    exemplar_side,
    padded_fraction,
    search_side,
    to_reduced,
)
from .schema import (
    RECORD_DTYPE,
    CurationSettings,
    SnippetMeta,
    checksum,
    encode_crop,
    encode_snippet_meta,
    record_key,
)
from .sources.base import Sequence, SourceFrame, SourceObject, check_in_frame


@dataclass
class SnippetResult:
    """Everything the writer needs for one sequence, plus figures for the summary."""

    snippet_id: str
    crops: list[tuple[bytes, bytes]] = field(default_factory=list)  # (key, value)
    meta: bytes = b""
    frames: int = 0
    decoded: int = 0
    records: int = 0
    filtered: int = 0
    hidden: int = 0
    skipped: list[dict] = field(default_factory=list)
    classes: set[str] = field(default_factory=set)  # classes of the sequence's objects, before any filter
    notes: list[str] = field(default_factory=list)  # problems that dropped nothing (for the run's summary)


def curate_snippet(sequence: Sequence, settings: CurationSettings, shard: int) -> SnippetResult:
    """Crop every kept object of every frame of ``sequence``; bad input is reported, never raised."""
    previous_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # parallelism is over sequences; threads inside a 255x255 warp only cost
    try:
        return _curate(sequence, settings, shard)
    finally:
        cv2.setNumThreads(previous_threads)


def inputs_fingerprint(sequence: Sequence) -> str:
    """Digest of the names, sizes and modification times of the sequence's input files: it changes when a frame
    or an annotation is replaced, added or removed, so a rerun can redo exactly the sequences that changed."""
    h = hashlib.sha256()
    for path in sequence.input_files():
        try:
            st = os.stat(path)
            h.update(f"{path.name}\t{st.st_size}\t{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            h.update(f"{path.name}\t-\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:32]


class _Rows:
    """The manifest rows of one sequence and its class vocabulary (first seen, first indexed)."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.classes: dict[str, int] = {}

    def cls(self, name: str) -> int:
        return self.classes.setdefault(name, len(self.classes))


def _curate(sequence: Sequence, settings: CurationSettings, shard: int) -> SnippetResult:
    result = SnippetResult(sequence.id)
    rows, hidden = _Rows(), []
    keep = set(settings.classes) if settings.classes else None
    inputs = inputs_fingerprint(sequence)  # before reading: a file changed mid-run shows up on the next refresh
    read = sequence.read()
    result.frames, result.notes = read.seen, read.notes
    for frame, track, bad in read.skipped:
        result.skipped.append(_skip(sequence.id, frame, track, bad))
    for frame in read.frames:
        for track, bad in frame.rejected:
            result.skipped.append(_skip(sequence.id, frame.index, track, bad))
        hidden += [(track, frame.index, flags) for track, flags, cls in frame.hidden if keep is None or cls in keep]
        result.classes.update(o.cls for o in frame.objects)
        result.classes.update(cls for _, _, cls in frame.hidden)
        objects = [o for o in frame.objects
                   if (keep is None or o.cls in keep) and not (settings.skip_generated and o.generated)]
        result.filtered += len(frame.objects) - len(objects)
        if objects:
            _crop_frame(sequence.id, frame, objects, settings, shard, result, rows)
    records = np.array(rows.rows, dtype=RECORD_DTYPE) if rows.rows else np.zeros(0, RECORD_DTYPE)
    records.sort(order=["track", "frame"])  # a track's records are contiguous in the manifest
    result.records, result.hidden = len(records), len(hidden)
    result.meta = encode_snippet_meta(sequence.id, SnippetMeta(
        records, result.frames, result.decoded, result.filtered, result.skipped, inputs, tuple(rows.classes),
        sorted(hidden)))
    return result


def _crop_frame(snippet_id: str, frame: SourceFrame, objects: list[SourceObject], settings: CurationSettings,
                shard: int, result: SnippetResult, rows: _Rows) -> None:
    boxes = xyxy_to_cxcywh(np.array([o.box for o in objects], dtype=np.float64))
    s_z = np.array([exemplar_side(w, h, settings.context) for w, h in boxes[:, 2:]])
    reduction = decode_reduction(float(min(crop_scale(s) for s in s_z)), settings.max_reduction)
    try:
        image, size = read_frame(frame.path, reduction)
        if frame.size is not None and size != frame.size:
            raise BadInput(SIZE_MISMATCH, f"{frame.path}: JPEG is {size[0]}x{size[1]}, "
                                          f"the annotation says {frame.size[0]}x{frame.size[1]}")
    except BadInput as bad:
        for obj in objects:
            result.skipped.append(_skip(snippet_id, frame.index, obj.track, bad))
        return
    result.decoded += 1
    fill = channel_mean(image)
    width, height = size
    for obj, (cx, cy, _, _), sz in zip(objects, boxes, s_z, strict=True):
        if frame.size is None:  # the annotation did not know the frame's size: check the box now
            try:
                check_in_frame(obj.box, width, height, str(frame.path), tolerance=None)
            except BadInput as bad:
                result.skipped.append(_skip(snippet_id, frame.index, obj.track, bad))
                continue
        sx = search_side(sz)
        patch = crop(image, to_reduced(cx, reduction), to_reduced(cy, reduction), sx / reduction, SEARCH_SIZE, fill)
        value = encode_crop(patch, settings.encoding, settings.quality)
        result.crops.append((record_key(snippet_id, obj.track, frame.index), value))
        rows.rows.append((0, obj.track, frame.index, rows.cls(obj.cls), *obj.box, width, height, sz,
                          padded_fraction(cx, cy, sz, width, height), padded_fraction(cx, cy, sx, width, height),
                          obj.occluded, obj.generated, obj.cover, obj.cut, reduction, shard, len(value),
                          checksum(value)))


def _skip(snippet_id: str, frame: int | None, track: int | None, bad: BadInput) -> dict:
    return {"snippet": snippet_id, "frame": frame, "track": track, "reason": bad.reason, "detail": bad.detail}
