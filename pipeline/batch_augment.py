"""The pair augmentation of :mod:`.augment`, applied to a whole batch with torch on the training device.

Why a second implementation: on the CPU, resampling a 255x255 crop (the stretch) costs about 0.7 of the JPEG decode
that is the floor of a pair's work, so loader workers that augment spend half their time resampling. When training
runs on a GPU, the workers can instead ship the *stored* crops (the search crop, and the exemplar's central region)
with their rows of :func:`~.augment.draw_augment`'s table, and the GPU resamples the batch in one ``grid_sample``:
the CPU is left with decoding. :class:`~.loader.PairLoader` chooses (``augment_on``).

The geometry is the same transform as the worker path, not an approximation of it: for the odd sizes of the table,
``cv2.resize`` samples destination pixel ``u`` at source ``(u + 0.5) * src / dst - 0.5``, which is a scaling about
the centres, the ``align_corners=False`` affine of ``grid_sample``. Flip negates the x scale, the translation shifts
the output by whole pixels, so the target sits at ``centre + shift`` exactly as the label says. Pixels outside the
stored crop get its rounded mean colour; grayscale (BT.601 luma), per-channel gains, rounding and saturation follow.
The two paths differ only by rounding (cv2 rounds after every step in fixed point; this rounds once at the end) and
at the one-pixel rim where cv2 replicates the border; tests bound the difference pixel-wise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from siamfc.curate.geometry import SEARCH_SIZE

from .augment import GRAY_WEIGHTS, column, nearest_odd


def exemplar_region(exemplar_size: int, exemplar_stretch: float, stored_size: int = SEARCH_SIZE) -> int:
    """Odd side of the central region of a stored crop that holds every exemplar :func:`~.augment.draw_augment`
    can ask for, plus one pixel of bilinear support on each side."""
    largest = int(nearest_odd(exemplar_size / (1.0 - exemplar_stretch)))
    return min(largest + 2, stored_size)


def augment_batch(z_stored: torch.Tensor, x_stored: torch.Tensor, table: torch.Tensor, exemplar_size: int,
                  search_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(exemplars ``[B, 3, z, z]``, search crops ``[B, 3, x, x]``), float32 with whole values in 0..255, on the
    inputs' device.

    ``z_stored`` uint8 ``[B, R, R, 3]``: central regions (odd ``R``, :func:`exemplar_region`) of the exemplars'
    stored crops; ``x_stored`` uint8 ``[B, S, S, 3]``: the search records' stored crops (BGR, channels last, as
    decoded); ``table``: their rows of :func:`~.augment.draw_augment`'s table, ``[B, AUGMENT_COLUMNS]``."""
    t = table.to(device=x_stored.device, dtype=torch.float32)
    z_src, x_size, shift = column(t, "z_source"), column(t, "x_size"), column(t, "shift")
    flip, gray = column(t, "flip") > 0, column(t, "gray") > 0
    sign = 1.0 - 2.0 * flip.float()  # -1 mirrors the x axis about the centre column
    z_in, x_in = _planar(z_stored), _planar(x_stored)
    r = z_in.shape[-1]
    # exemplar: a (w, h) central region scaled to z x z, about the centres
    z_theta = _scaling(sign * z_src[:, 0] / r, z_src[:, 1] / r, torch.zeros_like(shift))
    z = _sample(z_in, z_theta, exemplar_size, "border")
    # search: the stored crop scaled to (w, h), its centre moved to the output centre + shift; outside: mean colour
    fill = torch.round(x_in.mean(dim=(2, 3), keepdim=True))
    scale = search_size / x_size
    x_theta = _scaling(sign * scale[:, 0], scale[:, 1], -2.0 * shift * torch.stack([sign, torch.ones_like(sign)], 1)
                       / x_size)
    x = _sample(x_in - fill, x_theta, search_size, "zeros") + fill
    z = _finish(z, gray, column(t, "z_gain"))
    x = _finish(x, gray, column(t, "x_gain"))
    return z, x


def _planar(stored: torch.Tensor) -> torch.Tensor:
    """uint8 ``[B, H, W, 3]`` to float32 ``[B, 3, H, W]``."""
    return stored.permute(0, 3, 1, 2).float()


def _scaling(ax: torch.Tensor, ay: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """``[B, 2, 3]`` affine (output normalised coordinates to input ones) of per-axis scales and an offset."""
    theta = torch.zeros(len(ax), 2, 3, dtype=ax.dtype, device=ax.device)
    theta[:, 0, 0], theta[:, 1, 1] = ax, ay
    theta[:, :, 2] = offset
    return theta


def _sample(planar: torch.Tensor, theta: torch.Tensor, size: int, padding: str) -> torch.Tensor:
    grid = F.affine_grid(theta, [len(planar), planar.shape[1], size, size], align_corners=False)
    return F.grid_sample(planar, grid, mode="bilinear", padding_mode=padding, align_corners=False)


def _finish(image: torch.Tensor, gray: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """Grayscale where asked (with the mean gain on every channel), gains, rounding, saturation."""
    if bool(gray.any()):
        weights = torch.tensor(GRAY_WEIGHTS, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
        luma = (image * weights).sum(1, keepdim=True).expand_as(image)
        g = gray.view(-1, 1, 1, 1)
        image = torch.where(g, luma, image)
        gains = torch.where(gray[:, None], gains.mean(1, keepdim=True).expand_as(gains), gains)
    image = image * gains.view(-1, 3, 1, 1)
    return torch.round(image).clamp_(0, 255)
