"""Backbones of SiamFC: the embedding shared by exemplar and search image, and the registry that names them.

A backbone describes itself with class attributes: ``name`` (its key in :data:`BACKBONES`, recorded in weights
files), ``total_stride`` (input pixels per feature cell), ``receptive_field`` (input pixels seen by one cell; an
input of side ``n`` gives ``(n - receptive_field) // total_stride + 1`` cells). The response map's size and cell
spacing follow from these and the crop sizes (:meth:`Backbone.response_grid`): the trainer's labels, its size checks
and the tracker all ask the backbone, so nothing else holds a copy of its stride.

A new backbone is one module (a :class:`Backbone` subclass: the three attributes and ``forward`` from raw 0..255
BGR images ``[B, 3, H, W]`` to features ``[B, C, h, w]``, any ``C``) and one line in :data:`BACKBONES`; then
``siamfc train --backbone NAME`` trains it, its weights files record the name, and the tracker builds it from them.

:class:`AlexNetBackbone` is SiamFC's AlexNet variant (Bertinetto et al. 2016, table 1). Five valid (unpadded)
convolutions with a total stride of 8: a 127x127 exemplar becomes 6x6x256 and a
255x255 search image 22x22x256. Batch norm after every convolution but the last one, as in the paper's
released network; eps and momentum follow siamfc-pytorch (1e-6, 0.05). Inputs are raw 0..255 BGR pixels
(float), which batch norm after the first convolution makes harmless.
"""

from __future__ import annotations

import torch
from torch import nn

from siamfc.curate.errors import UserError
from siamfc.pipeline.response_map import ResponseGrid

EMBED_CHANNELS = 256
BN_EPS = 1e-6
BN_MOMENTUM = 0.05


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, stride, groups=groups),
            nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM), nn.ReLU(inplace=True)]


class Backbone(nn.Module):
    """Base of the registered backbones: the description every backbone declares."""

    name: str
    total_stride: int
    receptive_field: int

    @classmethod
    def feature_size(cls, input_size: int) -> int:
        """Side of the feature map of a square input of side ``input_size``."""
        return (input_size - cls.receptive_field) // cls.total_stride + 1

    @classmethod
    def fits(cls, input_size: int) -> bool:
        """Whether the feature cells tile an input of this side exactly (no pixels left over at the edge), so
        that cells sit where :mod:`siamfc.pipeline.response_map` puts them (127 and 255 do, for AlexNet)."""
        return input_size >= cls.receptive_field and (input_size - cls.receptive_field) % cls.total_stride == 0

    @classmethod
    def response_grid(cls, exemplar_size: int, search_size: int) -> ResponseGrid:
        """The response map of a Siamese network on this backbone for crops of these sides: its size and cell
        spacing (17x17 at stride 8 for AlexNet on 127 / 255 crops). ValueError naming a side its cells do not
        tile (:meth:`fits`): the cells would not sit where :mod:`siamfc.pipeline.response_map` puts them."""
        for what, side in (("exemplar", exemplar_size), ("search", search_size)):
            if not cls.fits(side):
                raise UserError(f"the {cls.name} backbone's cells do not tile a {side}-pixel {what} crop: a side must "
                                f"be {cls.receptive_field} plus a multiple of {cls.total_stride}")
        return ResponseGrid(cls.feature_size(search_size) - cls.feature_size(exemplar_size) + 1, cls.total_stride)


class AlexNetBackbone(Backbone):
    """conv1 11x11/2 + pool, conv2 5x5 (2 groups) + pool, conv3 3x3, conv4 3x3 (2 groups), conv5 3x3 (2 groups)."""

    name = "alexnet"
    total_stride = 8  # one feature cell = 8 input pixels
    receptive_field = 87  # input pixels seen by one feature cell: a side of n gives (n - 87) // 8 + 1 cells

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(*_conv_bn_relu(3, 96, 11, stride=2), nn.MaxPool2d(3, 2))
        self.conv2 = nn.Sequential(*_conv_bn_relu(96, 256, 5, groups=2), nn.MaxPool2d(3, 2))
        self.conv3 = nn.Sequential(*_conv_bn_relu(256, 384, 3))
        self.conv4 = nn.Sequential(*_conv_bn_relu(384, 384, 3, groups=2))
        self.conv5 = nn.Conv2d(384, EMBED_CHANNELS, 3, groups=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``[B, 3, H, W]`` (raw 0..255 BGR) -> features ``[B, 256, (H - 87) // 8 + 1, (W - 87) // 8 + 1]``."""
        return self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))


BACKBONES: dict[str, type[Backbone]] = {  # name -> class: one line per backbone
    AlexNetBackbone.name: AlexNetBackbone,
}
DEFAULT_BACKBONE = AlexNetBackbone.name  # the paper's network; files without an architecture record hold it


def backbone_class(name: str) -> type[Backbone]:
    """The registered backbone called ``name``; ValueError listing the known ones."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise UserError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}") from None
