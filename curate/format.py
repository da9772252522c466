"""The on-disk format of a curation, written down once. Everything that reads or writes shards uses this.

A curation root holds::

    curation.json        settings the shards were written with (checked on resume) and the plan
    shard-000.lmdb/ ...  LMDB environments; a snippet goes to shard crc32(snippet_id) % n_shards
    manifest.npz         cache of all manifest rows (derived; rebuilt when stale)
    skipped.jsonl        what was skipped and why, one JSON object a line (derived)
    summary.json         figures of the last run

Each shard has two named databases:

- ``crops``: key ``<snippet_id>/<trackid:04d>/<frame:06d>`` (ASCII), e.g.
  ``train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000/0001/000042``; value = one tag byte
  and the 255x255 BGR search crop: ``b"J"`` + JPEG bytes, or ``b"R"`` + raw uint8 HxWx3 bytes.
  The 127x127 exemplar is the crop's centre ``[64:191, 64:191]`` (see :mod:`.geometry`).
- ``snippets``: key ``<snippet_id>``; value = ``b"SM1"``, a uint32 little-endian header length, a JSON
  header ``{"frames", "decoded", "filtered", "skipped": [...]}`` and the snippet's manifest rows as
  raw :data:`RECORD_DTYPE` bytes. It is written in the same transaction as the snippet's crops, so
  its presence means the snippet is complete; resume skips exactly these snippets.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from .geometry import SEARCH_SIZE

FORMAT_VERSION = 1
CROPS_DB = b"crops"
SNIPPETS_DB = b"snippets"
SETTINGS_FILE = "curation.json"
ENCODINGS = ("jpeg", "raw")

RECORD_DTYPE = np.dtype([
    ("snippet", np.int32), ("track", np.int32), ("frame", np.int32), ("cls", np.int16),
    ("xmin", np.float32), ("ymin", np.float32), ("xmax", np.float32), ("ymax", np.float32),
    ("width", np.int32), ("height", np.int32), ("s_z", np.float32),
    ("pad_z", np.float32), ("pad_x", np.float32),
    ("occluded", np.uint8), ("generated", np.uint8), ("reduction", np.uint8),
    ("shard", np.uint16), ("nbytes", np.uint32),
])
"""Manifest row; columns are described in :mod:`siamfc.curate.manifest`."""

_TAG_JPEG, _TAG_RAW = b"J", b"R"
_META_MAGIC = b"SM1"


@dataclass(frozen=True)
class CurationSettings:
    """What determines the bytes of a curation; a resumed run must use the same values."""

    shards: int = 8
    encoding: str = "jpeg"
    quality: int = 90
    context: float = 0.5
    max_reduction: int = 8
    classes: tuple[str, ...] | None = None  # WordNet ids kept; None keeps all
    skip_generated: bool = False
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> CurationSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if known.get("classes") is not None:
            known["classes"] = tuple(known["classes"])
        return cls(**known)


@dataclass
class SnippetMeta:
    """What a shard keeps about one committed snippet."""

    records: np.ndarray  # RECORD_DTYPE rows, snippet column 0
    frames: int = 0  # annotated frames seen
    decoded: int = 0  # frames decoded (frames with at least one kept object)
    filtered: int = 0  # objects left out by the class / generated filters
    skipped: list[dict] = field(default_factory=list)  # skip report entries


def shard_name(index: int) -> str:
    return f"shard-{index:03d}.lmdb"


def shard_of(snippet_id: str, n_shards: int) -> int:
    """Shard that holds a snippet: stable across runs, machines and Python versions."""
    return zlib.crc32(snippet_id.encode()) % n_shards


def record_key(snippet_id: str, track: int, frame: int) -> bytes:
    return f"{snippet_id}/{track:04d}/{frame:06d}".encode("ascii")


def parse_key(key: bytes) -> tuple[str, int, int]:
    """Inverse of :func:`record_key`: (snippet_id, track, frame)."""
    snippet_id, track, frame = key.decode("ascii").rsplit("/", 2)
    return snippet_id, int(track), int(frame)


def encode_crop(crop: np.ndarray, encoding: str = "jpeg", quality: int = 90) -> bytes:
    """Stored value of a BGR uint8 crop."""
    if encoding == "jpeg":
        ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise ValueError("JPEG encoding failed")
        return _TAG_JPEG + buf.tobytes()
    if encoding == "raw":
        return _TAG_RAW + np.ascontiguousarray(crop, dtype=np.uint8).tobytes()
    raise ValueError(f"unknown encoding {encoding!r}; choose from {ENCODINGS}")


def decode_crop(value: bytes | memoryview) -> np.ndarray:
    """BGR uint8 search crop (SEARCH_SIZE x SEARCH_SIZE x 3) from a stored value."""
    tag, body = bytes(value[:1]), value[1:]
    if tag == _TAG_JPEG:
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError("stored JPEG crop does not decode")
        return image
    if tag == _TAG_RAW:
        if len(body) != SEARCH_SIZE * SEARCH_SIZE * 3:
            raise ValueError(f"raw crop has {len(body)} bytes, expected {SEARCH_SIZE * SEARCH_SIZE * 3}")
        return np.frombuffer(body, np.uint8).reshape(SEARCH_SIZE, SEARCH_SIZE, 3)
    raise ValueError(f"unknown crop tag {tag!r}")


def encode_snippet_meta(meta: SnippetMeta) -> bytes:
    header = json.dumps({"frames": meta.frames, "decoded": meta.decoded, "filtered": meta.filtered,
                         "skipped": meta.skipped}).encode()
    records = np.ascontiguousarray(meta.records, dtype=RECORD_DTYPE)
    return _META_MAGIC + struct.pack("<I", len(header)) + header + records.tobytes()


def decode_snippet_meta(value: bytes | memoryview) -> SnippetMeta:
    value = bytes(value)
    if not value.startswith(_META_MAGIC):
        raise ValueError("not a snippet record (bad magic)")
    (n,) = struct.unpack_from("<I", value, len(_META_MAGIC))
    start = len(_META_MAGIC) + 4
    header = json.loads(value[start:start + n])
    records = np.frombuffer(value[start + n:], dtype=RECORD_DTYPE).copy()
    return SnippetMeta(records, header["frames"], header["decoded"], header["filtered"], header["skipped"])
