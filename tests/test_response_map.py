"""The response-map convention, pinned once: where each score-map cell sits in the search crop.

Independent evidence: the input-gradient of one cell of the real network's response (random weights) is non-zero
exactly on the search-crop window that cell correlates with the exemplar, so the window's centre is the cell's
position; labels, the trainer's validation peaks and the tracker must all map cells to that position.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from siamfc.model.head import response_peaks
from siamfc.model.net import SiamFCNet
from siamfc.model.tracker import TrackerConfig, hann_window, locate
from siamfc.pipeline.labels import score_labels
from siamfc.pipeline.response_map import ResponseGrid

GRID = ResponseGrid(17, 8)
CROP_CENTRE = 127  # central pixel of the 255 search crop


def test_the_network_describes_its_map_and_produces_it():
    net = SiamFCNet().eval()
    assert net.response_grid() == GRID == ResponseGrid.for_crops(127, 255, net.backbone.total_stride)
    with torch.inference_mode():
        assert net(torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 255, 255) * 255).shape == (1, 1, 17, 17)
    assert net.response_grid(127, 239) == ResponseGrid(15, 8)  # siamfc-pytorch's training crops


@pytest.mark.slow
@pytest.mark.parametrize(("row", "col"), [(0, 0), (8, 8), (3, 12), (16, 5)])
def test_a_cell_sees_the_window_centred_where_the_convention_puts_it(row, col):
    torch.manual_seed(0)
    net = SiamFCNet().eval()
    z = torch.rand(1, 3, 127, 127) * 255
    x = (torch.rand(1, 3, 255, 255) * 255).requires_grad_()
    net(z, x)[0, 0, row, col].backward()
    rows = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 3))).flatten()
    cols = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 2))).flatten()
    assert (rows.min().item(), rows.max().item()) == (8 * row, 8 * row + 126)  # an exemplar-sized window
    assert (cols.min().item(), cols.max().item()) == (8 * col, 8 * col + 126)
    centre = ((8 * col + 63) - CROP_CENTRE, (8 * row + 63) - CROP_CENTRE)
    assert (GRID.cell_offsets()[col], GRID.cell_offsets()[row]) == centre
    assert (GRID.offset(col), GRID.offset(row)) == centre


@pytest.mark.parametrize(("row", "col"), [(8, 8), (3, 12), (15, 1)])
def test_labels_validation_and_tracker_use_the_convention(row, col):
    dx, dy = GRID.cell_offsets()[col], GRID.cell_offsets()[row]
    label, _ = score_labels((dx, dy), GRID.size, GRID.stride, radius=0.0)  # only the target's own cell
    assert np.argwhere(label).tolist() == [[row, col]]
    one_hot = torch.zeros(1, 1, 17, 17)
    one_hot[0, 0, row, col] = 1
    assert response_peaks(one_hot, GRID.stride).tolist() == [[dx, dy]]
    config = TrackerConfig(scales=1, window_influence=0.0)
    maps = np.zeros((1, 17, 17), np.float32)
    maps[0, row, col] = 1
    _, tx, ty = locate(maps, config, GRID, hann_window(GRID.upsampled_size(config.response_up)))
    # the 272-wide map has no pixel at a cell's centre: the peak is half an upsampled pixel (0.25 px) off
    assert abs(tx - dx) <= 0.25 and abs(ty - dy) <= 0.25


def test_upsampled_pixels_keep_the_centre():
    assert GRID.upsampled_size(16) == 272
    assert GRID.offset(135.5, 16) == 0.0 and GRID.offset(7.5, 16) == -64.0 and GRID.offset(263.5, 16) == 64.0
    assert GRID.offset(np.array([0.0, 271.0]), 16).tolist() == [-67.75, 67.75]
    with pytest.raises(ValueError, match="smaller than the exemplar"):
        ResponseGrid.for_crops(255, 127, 8)
