"""SiamFC's logistic loss: binary cross-entropy with logits, a weighted mean over each 17x17 score map.

The sampler's weights put half the mass on the positive cells and half on the negatives, so each pair's
weights sum to 1 and its loss is the balanced mean of its cells; the batch loss is the mean over pairs
(the same value as siamfc-pytorch's ``BalancedLoss``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pair_losses(logits: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Per-pair loss ``[B]`` of logits ``[B, 1, R, R]`` (or ``[B, R, R]``) against 0/1 labels of the same size.

    ``weight`` (same size) defaults to uniform; each pair's weights are normalised to sum to 1.
    """
    logits = logits.float().reshape(logits.shape[0], -1)
    label = label.to(logits).reshape(logits.shape)
    cells = F.binary_cross_entropy_with_logits(logits, label, reduction="none")
    if weight is None:
        return cells.mean(dim=1)
    weight = weight.to(logits).reshape(logits.shape)
    return (cells * weight).sum(dim=1) / weight.sum(dim=1)


def logistic_loss(logits: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the batch of :func:`pair_losses`: the training objective."""
    return pair_losses(logits, label, weight).mean()
