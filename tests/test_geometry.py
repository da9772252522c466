"""Crop geometry against the paper's formulas and an independent numpy crop."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from siamfc.curate import boxes, geometry

from crop_reference import reference_crop


def test_context_square_matches_paper():
    w, h = 120.0, 60.0
    p = (w + h) / 4
    s_z = geometry.exemplar_side(w, h)
    assert s_z == pytest.approx(math.sqrt((w + 2 * p) * (h + 2 * p)))
    assert geometry.search_side(s_z) == pytest.approx(s_z * 255 / 127)
    assert geometry.EXEMPLAR_OFFSET == 64


def test_box_conversions_name_their_convention():
    # VID inclusive box covering pixels 10..19 x 20..29: 10 px wide, centred between pixels 14 and 15.
    np.testing.assert_allclose(boxes.xyxy_to_cxcywh([10, 20, 19, 29]), [14.5, 24.5, 10, 10])
    np.testing.assert_allclose(boxes.xywh_to_cxcywh([10, 20, 10, 10]), [14.5, 24.5, 10, 10])
    rng = np.random.default_rng(0)
    b = rng.uniform(1, 100, size=(20, 4))
    np.testing.assert_allclose(boxes.cxcywh_to_xyxy(boxes.xyxy_to_cxcywh(b)), b)
    np.testing.assert_allclose(boxes.cxcywh_to_xywh(boxes.xywh_to_cxcywh(b)), b)


def _blob(width: int, height: int, cx: float, cy: float, sigma: float) -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    g = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))
    return np.repeat((g * 255).astype(np.float32)[..., None], 3, axis=2)


@pytest.mark.parametrize("side,out", [(300.0, 127), (300.0 * 255 / 127, 255), (90.5, 255), (40.0, 127)])
def test_marker_at_box_centre_lands_on_crop_centre(side, out):
    cx, cy = 211.3, 140.7
    image = _blob(480, 320, cx, cy, sigma=side / 20)
    patch = geometry.crop(image, cx, cy, side, out, fill=(0, 0, 0))[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:out, :out]
    centre = ((xs * patch).sum() / patch.sum(), (ys * patch).sum() / patch.sum())
    # within 0.5 px is the requirement; the warp is exact to about 0.05 px
    assert abs(centre[0] - (out - 1) / 2) < 0.1 and abs(centre[1] - (out - 1) / 2) < 0.1
    assert geometry.frame_to_crop(cx, cy, cx, cy, side, out) == pytest.approx(((out - 1) / 2, (out - 1) / 2))


def test_crop_equals_independent_bilinear_crop_with_mean_padding():
    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3)).astype(np.uint8), (0, 0), 3)
    for cx, cy, side in [(160.0, 120.0, 150.0), (10.5, 230.0, 200.0), (300.2, 5.7, 333.0)]:
        ours = geometry.crop(image, cx, cy, side, 255).astype(np.float64)
        ref = reference_crop(image, cx, cy, side, 255)
        assert np.abs(ours - ref).max() <= 1.5  # cv2 resamples in 1/32-pixel fixed point
        assert np.abs(ours - ref).mean() < 0.3


def test_crop_outside_the_frame_is_all_fill_and_gray_images_work():
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, (50, 60, 3)).astype(np.uint8)
    assert (geometry.crop(image, -500.0, -500.0, 100.0, 31, fill=(10, 20, 30)) == (10, 20, 30)).all()
    gray = image[..., 0].copy()
    ours = geometry.crop(gray, 30.2, 20.7, 40.0, 63).astype(float)
    ref = reference_crop(gray[..., None], 30.2, 20.7, 40.0, 63)[..., 0]
    assert ours.shape == (63, 63) and np.abs(ours - ref).max() <= 1.5


def test_exemplar_is_the_centre_of_the_search_crop():
    rng = np.random.default_rng(2)
    image = cv2.GaussianBlur(rng.integers(0, 256, (300, 400, 3)).astype(np.uint8), (0, 0), 2)
    s_z = geometry.exemplar_side(80, 50)
    z = geometry.crop(image, 180.0, 140.5, s_z, geometry.EXEMPLAR_SIZE)
    x = geometry.crop(image, 180.0, 140.5, geometry.search_side(s_z), geometry.SEARCH_SIZE)
    assert np.abs(geometry.exemplar_from_search(x).astype(int) - z).max() <= 1


def test_padded_fraction_matches_pixel_count():
    width, height = 200, 100
    for cx, cy, side in [(100, 50, 80), (0, 0, 100), (190, 95, 300), (-40, 50, 60)]:
        n = 400
        coords = (np.arange(n) - (n - 1) / 2) * side / n
        xs, ys = np.meshgrid(cx + coords, cy + coords)
        outside = (xs < -0.5) | (xs > width - 0.5) | (ys < -0.5) | (ys > height - 0.5)
        assert geometry.padded_fraction(cx, cy, side, width, height) == pytest.approx(outside.mean(), abs=0.01)


def test_decode_reduction_never_exceeds_the_crop_shrink():
    assert geometry.decode_reduction(0.7) == 1
    assert geometry.decode_reduction(1.99) == 1
    assert geometry.decode_reduction(2.0) == 2
    assert geometry.decode_reduction(5.3) == 4
    assert geometry.decode_reduction(100) == 8
    assert geometry.decode_reduction(100, max_reduction=2) == 2


@pytest.mark.parametrize("reduction", [2, 4])
def test_crop_from_reduced_decode_matches_full_resolution(tmp_path, reduction):
    rng = np.random.default_rng(3)
    image = cv2.resize(rng.integers(0, 256, (45, 80, 3)).astype(np.uint8), (1280, 720), interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "frame.jpg"
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    full = cv2.imread(str(path))
    flag = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4}[reduction]
    small = cv2.imread(str(path), flag)
    cx, cy, side = 700.0, 300.5, 255 * reduction * 1.3
    ref = geometry.crop(full, cx, cy, side, 255).astype(float)
    red = geometry.crop(small, geometry.to_reduced(cx, reduction), geometry.to_reduced(cy, reduction),
                        side / reduction, 255).astype(float)
    assert np.abs(ref - red).mean() < 2.0
