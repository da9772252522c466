"""Curating one snippet: XML -> validated objects -> one decode per frame -> encoded crops + rows.

This is the unit of parallel work; it is pure (reads the VID tree, returns bytes) so any joblib
backend can run it and the single writer commits its result atomically.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import cv2
import numpy as np

from .boxes import xyxy_to_cxcywh
from .classes import WNIDS
from .errors import NOT_A_FRAME, SIZE_MISMATCH, BadInput
from .format import (
    RECORD_DTYPE,
    CurationSettings,
    SnippetMeta,
    checksum,
    encode_crop,
    encode_snippet_meta,
    record_key,
)
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
from .vid import Snippet, VidFrame, VidObject, parse_frame

_CLASS_INDEX = {wnid: i for i, wnid in enumerate(WNIDS)}


@dataclass
class SnippetResult:
    """Everything the writer needs for one snippet, plus figures for the summary."""

    snippet_id: str
    crops: list[tuple[bytes, bytes]] = field(default_factory=list)  # (key, value)
    meta: bytes = b""
    frames: int = 0
    decoded: int = 0
    records: int = 0
    filtered: int = 0
    skipped: list[dict] = field(default_factory=list)


def curate_snippet(snippet: Snippet, settings: CurationSettings, shard: int) -> SnippetResult:
    """Crop every kept object of every frame of ``snippet``; bad input is reported, never raised."""
    previous_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # parallelism is over snippets; threads inside a 255x255 warp only cost
    try:
        return _curate(snippet, settings, shard)
    finally:
        cv2.setNumThreads(previous_threads)


def inputs_fingerprint(snippet: Snippet) -> str:
    """Digest of the names, sizes and modification times of the snippet's input files: it changes when a frame
    or an annotation is replaced, added or removed, so a rerun can redo exactly the snippets that changed."""
    h = hashlib.sha256()
    for path in snippet.input_files():
        try:
            st = os.stat(path)
            h.update(f"{path.name}\t{st.st_size}\t{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            h.update(f"{path.name}\t-\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:32]


def _curate(snippet: Snippet, settings: CurationSettings, shard: int) -> SnippetResult:
    result = SnippetResult(snippet.id)
    rows: list[tuple] = []
    keep = set(settings.classes) if settings.classes else None
    inputs = inputs_fingerprint(snippet)  # before reading: a file changed mid-run shows up on the next refresh
    for path in snippet.stray_files():
        bad = BadInput(NOT_A_FRAME, f"{path}: not a frame annotation (<number>.xml); left alone")
        result.skipped.append(_skip(snippet.id, None, None, bad))
    for xml_path in snippet.xml_files():
        result.frames += 1
        try:
            frame = parse_frame(xml_path)
        except BadInput as bad:
            result.skipped.append(_skip(snippet.id, int(xml_path.stem), None, bad))
            continue
        for track, bad in frame.rejected:
            result.skipped.append(_skip(snippet.id, frame.index, track, bad))
        objects = [o for o in frame.objects
                   if (keep is None or o.wnid in keep) and not (settings.skip_generated and o.generated)]
        result.filtered += len(frame.objects) - len(objects)
        if objects:
            _crop_frame(snippet, frame, objects, settings, shard, result, rows)
    records = np.array(rows, dtype=RECORD_DTYPE) if rows else np.zeros(0, RECORD_DTYPE)
    records.sort(order=["track", "frame"])  # a track's records are contiguous in the manifest
    result.records = len(records)
    result.meta = encode_snippet_meta(snippet.id,
        SnippetMeta(records, result.frames, result.decoded, result.filtered, result.skipped, inputs))
    return result


def _crop_frame(snippet: Snippet, frame: VidFrame, objects: list[VidObject], settings: CurationSettings,
                shard: int, result: SnippetResult, rows: list[tuple]) -> None:
    boxes = xyxy_to_cxcywh(np.array([o.box for o in objects], dtype=np.float64))
    s_z = np.array([exemplar_side(w, h, settings.context) for w, h in boxes[:, 2:]])
    reduction = decode_reduction(float(min(crop_scale(s) for s in s_z)), settings.max_reduction)
    image_path = snippet.frame_path(frame.index)
    try:
        image, size = read_frame(image_path, reduction)
        if size != (frame.width, frame.height):
            raise BadInput(SIZE_MISMATCH, f"{image_path}: JPEG is {size[0]}x{size[1]}, "
                                             f"XML says {frame.width}x{frame.height}")
    except BadInput as bad:
        for obj in objects:
            result.skipped.append(_skip(snippet.id, frame.index, obj.track, bad))
        return
    result.decoded += 1
    fill = channel_mean(image)
    for obj, (cx, cy, _, _), sz in zip(objects, boxes, s_z, strict=True):
        sx = search_side(sz)
        patch = crop(image, to_reduced(cx, reduction), to_reduced(cy, reduction), sx / reduction, SEARCH_SIZE, fill)
        value = encode_crop(patch, settings.encoding, settings.quality)
        result.crops.append((record_key(snippet.id, obj.track, frame.index), value))
        rows.append((0, obj.track, frame.index, _CLASS_INDEX[obj.wnid], *obj.box, frame.width, frame.height, sz,
                     padded_fraction(cx, cy, sz, frame.width, frame.height),
                     padded_fraction(cx, cy, sx, frame.width, frame.height),
                     obj.occluded, obj.generated, reduction, shard, len(value), checksum(value)))


def _skip(snippet_id: str, frame: int | None, track: int | None, bad: BadInput) -> dict:
    return {"snippet": snippet_id, "frame": frame, "track": track, "reason": bad.reason, "detail": bad.detail}
