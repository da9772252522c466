"""Reading VID frames: validated JPEG decode, optionally at 1/2, 1/4 or 1/8 scale in the decoder."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .errors import FRAME_CORRUPT, FRAME_MISSING, BadInput

_REDUCED_FLAGS = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
_EOI = b"\xff\xd9"


def read_jpeg_bytes(path: Path) -> bytes:
    """The file's bytes, checked to be a complete JPEG (start and end-of-image markers)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(FRAME_MISSING, f"{path}: no such file") from None
    except OSError as err:
        raise BadInput(FRAME_MISSING, f"{path}: {err.strerror}") from None
    if not data.startswith(b"\xff\xd8"):
        raise BadInput(FRAME_CORRUPT, f"{path}: not a JPEG (no start-of-image marker)")
    if _EOI not in data[-64:]:
        raise BadInput(FRAME_CORRUPT, f"{path}: truncated JPEG (no end-of-image marker)")
    return data


def jpeg_size(data: bytes, path: Path) -> tuple[int, int]:
    """(width, height) from the JPEG header, without decoding pixels."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except Exception as err:  # PIL raises several types for bad headers
        raise BadInput(FRAME_CORRUPT, f"{path}: unreadable JPEG header ({err})") from None


def decode_jpeg(data: bytes, path: Path, reduction: int = 1) -> np.ndarray:
    """Decode to BGR uint8, at 1/``reduction`` scale done by libjpeg itself (1, 2, 4 or 8)."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), _REDUCED_FLAGS[reduction])
    if image is None:
        raise BadInput(FRAME_CORRUPT, f"{path}: JPEG does not decode")
    return image


def read_frame(path: Path, reduction: int = 1) -> tuple[np.ndarray, tuple[int, int]]:
    """Read and decode one frame; returns the (possibly reduced) image and the full (width, height)."""
    data = read_jpeg_bytes(path)
    image = decode_jpeg(data, path, reduction)
    if reduction == 1:
        return image, (image.shape[1], image.shape[0])
    size = jpeg_size(data, path)  # a reduced decode does not tell the full size exactly
    expected = (-(-size[0] // reduction), -(-size[1] // reduction))
    if (image.shape[1], image.shape[0]) != expected:
        raise BadInput(FRAME_CORRUPT, f"{path}: decoded {image.shape[1]}x{image.shape[0]}, header says {size}")
    return image, size
