"""The shards' byte format (key schema, record encoding, manifest columns), written down once: the schema of a curation.

A curation root holds::

    curation.json        settings the shards were written with (checked on resume) and the plan
    shard-000.lmdb/ ...  LMDB environments; a snippet goes to shard crc32(snippet_id) % n_shards
    manifest.npz         cache of all manifest rows (derived; rebuilt when stale)
    skipped.jsonl        what was skipped and why, one JSON object a line (derived)
    summary.json         figures of the last run

Each shard has two named databases:

- ``crops``: key ``<snippet_id>/<trackid:04d>/<frame:06d>``, e.g.
  ``train/ILSVRC2015_VID_train_0000/ILSVRC2015_train_00000000/0001/000042``; value = one tag byte
  and the 255x255 BGR search crop: ``b"J"`` + JPEG bytes, or ``b"R"`` + raw uint8 HxWx3 bytes.
  The 127x127 exemplar is the crop's centre ``[64:191, 64:191]`` (see :mod:`.geometry`).
  The CRC-32C of the whole value is the manifest row's ``crc`` column.
- ``snippets``: key ``<snippet_id>``; value = ``b"SM3"``, the uint32 CRC-32C of everything after it, a
  uint32 header length (both little-endian), a JSON header ``{"id", "frames", "decoded", "filtered", "skipped":
  [...], "inputs", "classes": [names], "hidden": [[track, frame, flags], ...]}`` and the snippet's manifest rows as
  raw :data:`RECORD_DTYPE` bytes. The rows' ``cls`` indexes the header's ``classes``; ``hidden`` lists the
  annotated objects that were not visible, hence not cropped (flags: :data:`VISIBILITY_FLAGS`). It is written in
  the same transaction as the snippet's crops, so its presence means the snippet is complete; resume skips
  exactly these snippets. Older values are still read: ``b"SM2"`` rows lack ``cover`` and ``cut`` and index the
  30 ImageNet VID classes; ``b"SM1"`` (format 1) also lacks the CRC and the ``crc`` column.

A snippet is one sequence of the source (a VID snippet, a GOT-10k, LaSOT or TrackingNet video, a group of COCO
images); its id is ``<split>/<name>``, so the split is the text before the first ``/`` (:func:`split_of`).

Keys are UTF-8; a snippet id is its folder path relative to the dataset root, so any file name works
(spaces, non-ASCII; bytes that are not UTF-8 are kept through Python's ``surrogateescape``), as long as a
crop key stays within LMDB's :data:`MAX_KEY_BYTES` (longer paths are skipped and reported).
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field

import crc32c
import cv2
import numpy as np

from .config_checks import check_fields, check_types
from .config_json import from_json, to_json
from .geometry import SEARCH_SIZE

FORMAT_VERSION = 3
CROPS_DB = b"crops"
SNIPPETS_DB = b"snippets"
SETTINGS_FILE = "curation.json"
ENCODINGS = ("jpeg", "raw")

RECORD_DTYPE = np.dtype([
    ("snippet", np.int32), ("track", np.int32), ("frame", np.int32), ("cls", np.int16),
    ("xmin", np.float32), ("ymin", np.float32), ("xmax", np.float32), ("ymax", np.float32),
    ("width", np.int32), ("height", np.int32), ("s_z", np.float32),
    ("pad_z", np.float32), ("pad_x", np.float32),
    ("occluded", np.uint8), ("generated", np.uint8), ("cover", np.uint8), ("cut", np.uint8),
    ("reduction", np.uint8), ("shard", np.uint16), ("nbytes", np.uint32), ("crc", np.uint32),
])
"""Manifest row; columns are described in :mod:`siamfc.curate.manifest`."""

COVER_UNKNOWN = 255  # ``cover`` of a record whose dataset has no visible-ratio annotation

# Visibility flags of an annotated object that was not cropped because it is not visible (a bit each).
ABSENT = 1  # GOT-10k absence.label
NO_COVER = 2  # GOT-10k cover.label 0 (fully occluded or out of the frame)
FULL_OCCLUSION = 4  # LaSOT full_occlusion.txt
OUT_OF_VIEW = 8  # LaSOT out_of_view.txt
VISIBILITY_FLAGS = {"absent": ABSENT, "no_cover": NO_COVER, "full_occlusion": FULL_OCCLUSION,
                    "out_of_view": OUT_OF_VIEW}

HIDDEN_DTYPE = np.dtype([("snippet", np.int32), ("track", np.int32), ("frame", np.int32), ("flags", np.uint8)])
"""An annotated object not cropped because it is not visible (the manifest's ``hidden`` table)."""

_NEW_COLUMNS = ("cover", "cut")
_RECORD_DTYPE_V2 = np.dtype([(n, RECORD_DTYPE.fields[n][0]) for n in RECORD_DTYPE.names if n not in _NEW_COLUMNS])
_RECORD_DTYPE_V1 = np.dtype([(n, _RECORD_DTYPE_V2.fields[n][0]) for n in _RECORD_DTYPE_V2.names if n != "crc"])
MAX_KEY_BYTES = 511  # LMDB's largest key (its default build)
_TAG_JPEG, _TAG_RAW = b"J", b"R"
_META_MAGIC = b"SM3"
_OLD_META = {b"SM2": _RECORD_DTYPE_V2, b"SM1": _RECORD_DTYPE_V1}  # magic -> rows; SM1 has no CRC


@dataclass(frozen=True)
class CurationSettings:
    """What determines the bytes of a curation; a resumed run must use the same values."""

    shards: int = 8
    encoding: str = "jpeg"
    quality: int = 90
    context: float = 0.5
    max_reduction: int = 8
    classes: tuple[str, ...] | None = None  # class names kept (the source's vocabulary); None keeps all
    skip_generated: bool = False
    source: str = "vid"  # the dataset format (``siamfc.curate.sources``); curations before format 3 are VID
    format_version: int = FORMAT_VERSION  # the oldest format among the curation's snippet records

    def __post_init__(self) -> None:
        check_types(self, prefix="")  # every field of its annotated type first: the range checks below assume it
        checks = [
            ("shards", 1 <= self.shards <= 65535, "a whole number in 1..65535"),
            ("encoding", self.encoding in ENCODINGS, f"one of {', '.join(ENCODINGS)}"),
            ("quality", 0 <= self.quality <= 100, "a whole number in 0..100"),
            ("context", 0 < self.context < 1e6, "a positive number"),
            ("max_reduction", self.max_reduction in (1, 2, 4, 8), "1, 2, 4 or 8"),
            ("classes", self.classes is None or all(self.classes), "a tuple of class names (None: all)"),
            ("source", bool(self.source), "a dataset format name"),
            ("format_version", self.format_version >= 1, "a whole number of at least 1"),
        ]
        check_fields(self, checks, prefix="")

    def to_json(self) -> dict:
        return to_json(self)

    @classmethod
    def from_json(cls, data: dict) -> CurationSettings:
        """The settings :meth:`to_json` wrote (keys no longer known are ignored)."""
        return from_json(cls, data)


@dataclass
class SnippetMeta:
    """What a shard keeps about one committed snippet."""

    records: np.ndarray  # RECORD_DTYPE rows, snippet column 0
    frames: int = 0  # annotated frames seen
    decoded: int = 0  # frames decoded (frames with at least one kept object)
    filtered: int = 0  # objects left out by the class / generated filters
    skipped: list[dict] = field(default_factory=list)  # skip report entries
    inputs: str = ""  # fingerprint of the input files the snippet was made from (see curate.snippet)
    classes: tuple[str, ...] | None = ()  # the snippet's class names, indexed by the rows' ``cls``; None in records
    # written before format 3, whose ``cls`` indexes ImageNet VID's classes (``sources.vid.WNIDS``)
    hidden: list[tuple[int, int, int]] = field(default_factory=list)  # (track, frame, visibility flags)


def split_of(snippet_id: str) -> str:
    """The split of a snippet: its id up to the first ``/``."""
    return snippet_id.split("/", 1)[0]


def shard_name(index: int) -> str:
    return f"shard-{index:03d}.lmdb"


def name_bytes(name: str) -> bytes:
    """LMDB key bytes of a snippet id or record key text (UTF-8; undecodable file-name bytes round-trip)."""
    return name.encode("utf-8", "surrogateescape")


def name_text(key: bytes | memoryview) -> str:
    """Inverse of :func:`name_bytes`."""
    return bytes(key).decode("utf-8", "surrogateescape")


def shard_of(snippet_id: str, n_shards: int) -> int:
    """Shard that holds a snippet: stable across runs, machines and Python versions."""
    return zlib.crc32(name_bytes(snippet_id)) % n_shards


def record_key(snippet_id: str, track: int, frame: int) -> bytes:
    return name_bytes(f"{snippet_id}/{track:04d}/{frame:06d}")


def parse_key(key: bytes) -> tuple[str, int, int]:
    """Inverse of :func:`record_key`: (snippet_id, track, frame)."""
    snippet_id, track, frame = name_text(key).rsplit("/", 2)
    return snippet_id, int(track), int(frame)


MAX_TRACK = 2**31 - 1  # track ids and frame numbers are int32 manifest columns
MAX_FRAME = 10**9 - 1  # frame files have at most 9 digits


def key_fits(snippet_id: str) -> bool:
    """Whether every key of the snippet (its crop keys included) is within :data:`MAX_KEY_BYTES`."""
    return len(record_key(snippet_id, MAX_TRACK, MAX_FRAME)) <= MAX_KEY_BYTES


def checksum(value: bytes | memoryview) -> int:
    """CRC-32C of a stored value (the manifest's ``crc`` column; the CPU's CRC instruction where it has one)."""
    return crc32c.crc32c(value)


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


def encode_snippet_meta(snippet_id: str, meta: SnippetMeta) -> bytes:
    """The stored snippet record; it names its snippet, so a record under a damaged key is caught."""
    header = json.dumps({"id": snippet_id, "frames": meta.frames, "decoded": meta.decoded, "filtered": meta.filtered,
                         "skipped": meta.skipped, "inputs": meta.inputs, "classes": list(meta.classes or ()),
                         "hidden": [list(h) for h in meta.hidden]}).encode()
    records = np.ascontiguousarray(meta.records, dtype=RECORD_DTYPE)
    body = struct.pack("<I", len(header)) + header + records.tobytes()
    return _META_MAGIC + struct.pack("<I", checksum(body)) + body


def decode_snippet_meta(value: bytes | memoryview, snippet_id: str | None = None) -> SnippetMeta:
    """The snippet record of a stored value; ValueError when it is damaged (checksum, magic or layout) or, given
    the ``snippet_id`` it is stored under, when it belongs to another snippet."""
    value = bytes(value)
    magic = value[:len(_META_MAGIC)]
    if magic in (_META_MAGIC, b"SM2"):
        (crc,) = struct.unpack_from("<I", value, len(magic))
        body = value[len(magic) + 4:]
        if checksum(body) != crc:
            raise ValueError("snippet record damaged (checksum mismatch)")
    elif magic == b"SM1":
        body = value[len(magic):]
    else:
        raise ValueError("not a snippet record (bad magic)")
    dtype = _OLD_META.get(magic, RECORD_DTYPE)
    try:
        (n,) = struct.unpack_from("<I", body)
        header = json.loads(body[4:4 + n])
        rows = np.frombuffer(body[4 + n:], dtype=dtype)
        hidden = [(int(t), int(f), int(flags)) for t, f, flags in header.get("hidden", [])]
    except (struct.error, ValueError, TypeError) as err:
        raise ValueError(f"snippet record damaged ({err})") from None
    if snippet_id is not None and header.get("id", snippet_id) != snippet_id:
        raise ValueError(f"snippet record of {header['id']!r} stored under this key (damaged key?)")
    return SnippetMeta(_current_rows(rows), header["frames"], header["decoded"], header["filtered"],
                       header["skipped"], header.get("inputs", ""), _classes(header), hidden)


def _classes(header: dict) -> tuple[str, ...] | None:
    classes = header.get("classes")
    if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        raise ValueError("snippet record damaged (classes)")
    return None if classes is None else tuple(classes)


def _current_rows(rows: np.ndarray) -> np.ndarray:
    """Rows of an older format as :data:`RECORD_DTYPE` (no ``crc``: 0; no ``cover``: unknown)."""
    if rows.dtype == RECORD_DTYPE:
        return rows.copy()
    records = np.zeros(len(rows), RECORD_DTYPE)
    records["cover"] = COVER_UNKNOWN
    for name in rows.dtype.names:
        records[name] = rows[name]
    return records
