"""Reading VID frames: strict JPEG decode, optionally at 1/2, 1/4 or 1/8 scale in the decoder.

Frames are decoded by libjpeg-turbo through simplejpeg with ``strict=True``: any libjpeg warning (data cut short,
an end-of-image marker in mid-scan, a bad Huffman code, extraneous bytes before a marker) makes the frame corrupt,
where cv2 and Pillow return an image whose damaged part is grey. Bytes after the end-of-image marker are ignored.
For good files the pixels are the same as ``cv2.imdecode`` with ``IMREAD_COLOR`` or ``IMREAD_REDUCED_COLOR_<n>``
(EXIF orientation aside: frames are returned as stored, never rotated).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import simplejpeg

from .errors import FRAME_CORRUPT, FRAME_MISSING, BadInput

REDUCTIONS = (1, 2, 4, 8)
_SOI = b"\xff\xd8"
_CV2_FLAGS = {
    2: cv2.IMREAD_REDUCED_COLOR_2 | cv2.IMREAD_IGNORE_ORIENTATION,
    4: cv2.IMREAD_REDUCED_COLOR_4 | cv2.IMREAD_IGNORE_ORIENTATION,
    8: cv2.IMREAD_REDUCED_COLOR_8 | cv2.IMREAD_IGNORE_ORIENTATION,
}
# Below this side, several libjpeg scale factors can give the same output size and simplejpeg, which picks the
# factor from a minimum output size, may not pick exactly 1/reduction.
_MIN_SCALED_SIDE = 8


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a file that cannot be read is missing."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BadInput(FRAME_MISSING, f"{path}: no such file") from None
    except OSError as err:
        raise BadInput(FRAME_MISSING, f"{path}: {err.strerror}") from None


def _what_it_is(data: bytes) -> str:
    if not data:
        return "empty file"
    if data.startswith(b"\x89PNG"):
        return "PNG data"
    return f"starts with {data[:4].hex(' ')}"


def jpeg_size(data: bytes, path: Path) -> tuple[int, int]:
    """(width, height) from the JPEG header, without decoding pixels."""
    if not data.startswith(_SOI):
        raise BadInput(FRAME_CORRUPT, f"{path}: not a JPEG ({_what_it_is(data)})")
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError as err:
        raise BadInput(FRAME_CORRUPT, f"{path}: unreadable JPEG header ({err})") from None
    return width, height


def _decode_strict(data: bytes, path: Path, size: tuple[int, int], reduction: int) -> np.ndarray:
    width, height = size
    try:
        return simplejpeg.decode_jpeg(data, colorspace="BGR", strict=True, min_factor=reduction,
                                      min_width=-(-width // reduction), min_height=-(-height // reduction))
    except ValueError as err:
        raise BadInput(FRAME_CORRUPT, f"{path}: corrupt JPEG ({err})") from None


def decode_jpeg(data: bytes, path: Path, size: tuple[int, int], reduction: int = 1) -> np.ndarray:
    """Decode to BGR uint8 at 1/``reduction`` scale (1, 2, 4 or 8) done by libjpeg; any decoder warning is corrupt."""
    if reduction == 1 or max(size) >= _MIN_SCALED_SIDE:
        image = _decode_strict(data, path, size, reduction)
    else:
        _decode_strict(data, path, size, 1)  # validates; cv2 then gives the exact 1/reduction scale
        image = cv2.imdecode(np.frombuffer(data, np.uint8), _CV2_FLAGS[reduction])
    expected = (-(-size[1] // reduction), -(-size[0] // reduction), 3)
    if image is None or image.shape != expected:
        got = "nothing" if image is None else f"{image.shape[1]}x{image.shape[0]}"
        raise BadInput(FRAME_CORRUPT, f"{path}: decoded {got} at 1/{reduction} scale of {size[0]}x{size[1]}")
    return image


def read_frame(path: Path, reduction: int = 1) -> tuple[np.ndarray, tuple[int, int]]:
    """Read and decode one frame; returns the (possibly reduced) image and the full (width, height)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction}")
    data = read_bytes(path)
    size = jpeg_size(data, path)
    return decode_jpeg(data, path, size, reduction), size
