"""Score-map labels and weights against a cell-by-cell loop over the documented convention."""

from __future__ import annotations

import math

import numpy as np
import pytest

from siamfc.pipeline.labels import LabelTable, response_size, score_labels

SIAMFC_MAP, SIAMFC_STRIDE = 17, 8  # SiamFC's 17x17 response of a 127 exemplar in a 255 search crop, stride 8


def loop_labels(target: tuple[float, float], n: int, stride: int, radius: float) -> np.ndarray:
    """Cell (i, j) sits at ((j - centre) * stride, (i - centre) * stride); positive within radius of the target."""
    c = (n - 1) / 2
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = math.dist(((j - c) * stride, (i - c) * stride), target) <= radius
    return out


def test_siamfc_default_has_13_central_positives() -> None:
    label, weight = score_labels((0.0, 0.0), SIAMFC_MAP, SIAMFC_STRIDE)
    assert label.shape == weight.shape == (17, 17) and label.dtype == weight.dtype == np.float32
    assert label.sum() == 13  # cells within 2 cells of the centre: 1 + 4 + 4 + 4
    assert label[8, 8] == 1 and label[8, 10] == 1 and label[9, 9] == 1 and label[8, 11] == 0 and label[10, 9] == 0


@pytest.mark.parametrize("target", [(0.0, 0.0), (3.0, -4.0), (8.0, 8.0), (-16.0, 5.5), (60.0, -30.0)])
@pytest.mark.parametrize(("n", "stride", "radius"), [(17, 8, 16.0), (15, 8, 16.0), (17, 8, 24.0)])
def test_labels_match_the_cell_convention_and_weights_balance(target, n, stride, radius) -> None:
    label, weight = score_labels(target, n, stride, radius)
    assert np.array_equal(label, loop_labels(target, n, stride, radius))
    pos = label > 0
    assert weight[pos].sum(dtype=np.float64) == pytest.approx(0.5)
    assert weight[~pos].sum(dtype=np.float64) == pytest.approx(0.5)
    assert len(np.unique(weight[pos])) == 1 and len(np.unique(weight[~pos])) == 1


def test_empty_class_gives_the_other_the_whole_weight() -> None:
    label, weight = score_labels((500.0, 500.0), SIAMFC_MAP, SIAMFC_STRIDE)
    assert label.sum() == 0 and weight.sum(dtype=np.float64) == pytest.approx(1.0)


def test_response_size_for_crop_sizes() -> None:
    assert response_size(127, 255, 8) == 17 and response_size(127, 239, 8) == 15 and response_size(127, 255, 4) == 33


def test_label_table_covers_every_shift_and_is_read_only() -> None:
    table = LabelTable(3, SIAMFC_MAP, SIAMFC_STRIDE)
    for dx in range(-3, 4):
        for dy in range(-3, 4):
            label, weight = table.maps(dx, dy)
            assert np.array_equal(label, loop_labels((dx, dy), SIAMFC_MAP, SIAMFC_STRIDE, 16.0))
            assert float(weight[label > 0].sum()) == pytest.approx(0.5)
    label, _ = table.maps(0, 0)
    with pytest.raises(ValueError, match="read-only"):
        label.fill(7)
    with pytest.raises(ValueError, match="outside the table's range"):
        table.maps(4, 0)
