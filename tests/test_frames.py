"""Frame reading: strict JPEG decoding, pixels identical to cv2, reduced decodes, and every kind of bad file."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from siamfc.curate.errors import FRAME_CORRUPT, FRAME_MISSING, BadInput
from siamfc.curate.frames import read_frame

CV2_FLAGS = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
             8: cv2.IMREAD_REDUCED_COLOR_8}
REDUCTIONS = list(CV2_FLAGS)


def natural(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A BGR image with smooth structure and fine noise, so the JPEG has real entropy data."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (max(height // 16, 2), max(width // 16, 2), 3), dtype=np.uint8)
    image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    return np.clip(image + rng.integers(-20, 21, image.shape), 0, 255).astype(np.uint8)


def cv2_jpeg(image: np.ndarray, *params: int) -> bytes:
    ok, data = cv2.imencode(".JPEG", image, [cv2.IMWRITE_JPEG_QUALITY, 90, *params])
    assert ok
    return data.tobytes()


def pil_jpeg(image: np.ndarray, mode: str | None = None, **options) -> bytes:
    buffer = io.BytesIO()
    pil = Image.fromarray(image[..., ::-1] if image.ndim == 3 else image)
    (pil.convert(mode) if mode else pil).save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def cv2_decode(data: bytes, reduction: int = 1) -> np.ndarray | None:
    return cv2.imdecode(np.frombuffer(data, np.uint8), CV2_FLAGS[reduction])


def write(tmp_path: Path, data: bytes, name: str = "000000.JPEG") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def bad_input(path: Path, reduction: int = 1) -> BadInput:
    with pytest.raises(BadInput) as err:
        read_frame(path, reduction)
    assert str(path) in err.value.detail
    return err.value


IMAGE = natural(641, 361)  # odd sizes: reduced sides are rounded up
GOOD = cv2_jpeg(IMAGE)
ENCODINGS = {
    "cv2-420": GOOD,
    "cv2-progressive": cv2_jpeg(IMAGE, cv2.IMWRITE_JPEG_PROGRESSIVE, 1),
    "pil-444": pil_jpeg(IMAGE, subsampling="4:4:4"),
    "pil-422": pil_jpeg(IMAGE, subsampling="4:2:2"),
    "pil-restart-markers": pil_jpeg(IMAGE, restart_marker_blocks=4),
    "grey": pil_jpeg(IMAGE[..., 1]),
    "cmyk": pil_jpeg(IMAGE, "CMYK"),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_good_frame_decodes_as_cv2(tmp_path, encoding, reduction) -> None:
    data = ENCODINGS[encoding]
    image, size = read_frame(write(tmp_path, data), reduction)
    assert size == (641, 361)  # the full size, also for a reduced decode
    assert image.dtype == np.uint8 and image.shape == (-(-361 // reduction), -(-641 // reduction), 3)
    np.testing.assert_array_equal(image, cv2_decode(data, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("width, height", [(5, 3), (1, 1), (7, 7), (8, 2)])
def test_tiny_frame_decodes_as_cv2(tmp_path, width, height, reduction) -> None:
    data = cv2_jpeg(natural(width, height, seed=width))
    image, size = read_frame(write(tmp_path, data), reduction)
    assert size == (width, height)
    np.testing.assert_array_equal(image, cv2_decode(data, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_trailing_bytes_after_end_of_image_are_ignored(tmp_path, reduction) -> None:
    trailing = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    image, size = read_frame(write(tmp_path, GOOD + trailing), reduction)
    assert size == (641, 361)
    np.testing.assert_array_equal(image, cv2_decode(GOOD, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cut_short_with_end_of_image_appended_is_corrupt(tmp_path, reduction) -> None:
    data = GOOD[: len(GOOD) // 2] + b"\xff\xd9"
    assert cv2_decode(data, reduction) is not None  # cv2 returns a half-grey image for it
    err = bad_input(write(tmp_path, data), reduction)
    assert err.reason == FRAME_CORRUPT
    assert "Corrupt JPEG data: premature end of data segment" in err.detail


@pytest.mark.parametrize("reduction", [1, 8])
def test_truncated_without_end_of_image_is_corrupt(tmp_path, reduction) -> None:
    err = bad_input(write(tmp_path, GOOD[: len(GOOD) // 2]), reduction)
    assert err.reason == FRAME_CORRUPT
    assert "Premature end of JPEG file" in err.detail


def test_extraneous_bytes_before_a_marker_are_corrupt(tmp_path) -> None:
    data = GOOD[:-2] + bytes(100) + b"\xff\xd9"
    assert cv2_decode(data) is not None
    err = bad_input(write(tmp_path, data))
    assert err.reason == FRAME_CORRUPT
    assert "extraneous bytes before marker" in err.detail


def test_damaged_entropy_data_is_corrupt(tmp_path) -> None:
    good = cv2_jpeg(natural(64, 48))
    middle = len(good) // 2
    data = good[:middle] + b"\xff\x00" * 64 + good[middle + 128:]  # a run of one bits: no valid Huffman code
    assert cv2_decode(data) is not None
    err = bad_input(write(tmp_path, data))
    assert err.reason == FRAME_CORRUPT
    assert "Corrupt JPEG data" in err.detail


def test_garbage_between_jpeg_markers_is_corrupt(tmp_path) -> None:
    err = bad_input(write(tmp_path, b"\xff\xd8" + bytes(range(256)) * 20 + b"\xff\xd9"))
    assert err.reason == FRAME_CORRUPT


@pytest.mark.parametrize("reduction", [1, 4])
def test_missing_file_is_missing(tmp_path, reduction) -> None:
    err = bad_input(tmp_path / "000000.JPEG", reduction)
    assert err.reason == FRAME_MISSING


def test_zero_byte_file_is_corrupt(tmp_path) -> None:
    err = bad_input(write(tmp_path, b""))
    assert err.reason == FRAME_CORRUPT
    assert "not a JPEG (empty file)" in err.detail


def test_png_named_jpeg_is_not_a_jpeg(tmp_path) -> None:
    ok, png = cv2.imencode(".png", IMAGE)
    err = bad_input(write(tmp_path, png.tobytes()))
    assert err.reason == FRAME_CORRUPT
    assert "not a JPEG (PNG data)" in err.detail


def test_reduction_must_be_one_libjpeg_can_do(tmp_path) -> None:
    with pytest.raises(ValueError, match="reduction"):
        read_frame(write(tmp_path, GOOD), 3)
