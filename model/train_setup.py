"""What one training process is made of, shared by the trainer and ``siamfc bench train``: the network's check, the
pair streams (labelled for that network's response map) and their loaders, the network with its optimiser, schedule
and AMP scaler, and the training step. The device comes from :func:`siamfc.model.inference.resolve_device`.
"""

from __future__ import annotations

import os
import random
from typing import NamedTuple

import numpy as np
import torch

from siamfc.curate.errors import UserError
from siamfc.pipeline.dataset import PairDataset
from siamfc.pipeline.loader import PairLoader
from siamfc.pipeline.mix import Curations
from siamfc.pipeline.ranks import DistInfo
from siamfc.pipeline.response_map import ResponseGrid

from .backbone import Backbone, backbone_class
from .loss import logistic_loss
from .net import SiamFCNet
from .train_config import TrainConfig, val_sampler


def check_network(config: TrainConfig) -> type[Backbone]:
    """The backbone ``config.backbone`` names, checked against the sampler's crops; ValueError unless it is
    registered and its feature cells tile both crop sizes exactly (else the response map has another size, or its
    cells are not where the labels put them)."""
    try:
        backbone = backbone_class(config.backbone)
    except ValueError as err:
        raise UserError(f"TrainConfig.backbone: {err}") from None
    for name in ("exemplar_size", "search_size"):
        if not backbone.fits(getattr(config.sampler, name)):
            first, step = backbone.receptive_field, backbone.total_stride
            raise UserError(f"SamplerConfig.{name} must be {first} plus a multiple of {step} for the "
                            f"{backbone.name} network (e.g. {first + 5 * step}, {first + 19 * step}, "
                            f"{first + 21 * step}), got {getattr(config.sampler, name)!r}")
    return backbone


def response_grid(config: TrainConfig) -> ResponseGrid:
    """The response map of the network ``config`` trains, for its sampler's crops: what its labels describe."""
    s = config.sampler
    return check_network(config).response_grid(s.exemplar_size, s.search_size)


def open_pairs(data: Curations, val_data: Curations, config: TrainConfig,
               info: DistInfo) -> tuple[PairDataset, PairDataset | None]:
    """This rank's training pairs (``data``: a curation or a mix of them) and validation pairs (``val_data``; None
    when ``val_pairs`` is 0), labelled for the response map of the network ``config`` trains."""
    grid = response_grid(config)
    train_set = PairDataset(data, config.sampler, splits=config.train_splits, rank=info.rank,
                            world_size=info.world_size, intact_only=config.intact_only, grid=grid)
    if not config.val_pairs:
        return train_set, None
    try:
        val_set = PairDataset(val_data, val_sampler(config), splits=config.val_splits, rank=info.rank,
                              world_size=info.world_size, intact_only=config.intact_only, grid=grid)
    except ValueError as err:
        raise UserError(f"{err}; validation needs held-out pairs: pass --val-data or --val-split, or "
                        "--val-pairs 0 to train without validation") from None
    return train_set, val_set


def make_loader(dataset: PairDataset, config: TrainConfig, device: torch.device) -> PairLoader:
    """Float batches of ``dataset`` on ``device``, ``config.num_workers`` workers (default: 0 on the CPU, up to 8
    per GPU), augmented where ``config.augment_on`` says."""
    cuda = device.type == "cuda"
    workers = config.num_workers if config.num_workers is not None else (
        min(8, (os.cpu_count() or 1) // max(1, torch.cuda.device_count())) if cuda else 0)
    return PairLoader(dataset, batch_size=config.batch_size, num_workers=workers, pin_memory=cuda, device=device,
                      dtype=torch.float32, augment_on=config.augment_on)


class Learner(NamedTuple):
    """The network and what updates it."""

    model: SiamFCNet
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    amp: bool  # mixed precision (``config.amp``, default on for CUDA)


def build_learner(config: TrainConfig, device: torch.device) -> Learner:
    """Seed the global RNGs with ``config.seed``, then a fresh network (``config.backbone``) on ``device``
    (channels-last on CUDA), SGD, the per-epoch exponential decay and the AMP scaler."""
    _seed_everything(config.seed)
    amp = config.amp if config.amp is not None else device.type == "cuda"
    model = SiamFCNet(config.backbone).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr_initial, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, config.lr_gamma)
    scaler = torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")
    return Learner(model, optimizer, scheduler, scaler, amp)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> tuple[torch.Tensor, ...]:
    """``(z, x, label, weight, target)`` of a loader batch on ``device`` (where :class:`PairLoader` puts them when
    given the device); uint8 crops become float 0..255 there (channels-last on CUDA, the fast layout for cuDNN
    convolutions)."""
    fmt = torch.channels_last if device.type == "cuda" else torch.contiguous_format
    z, x = (batch[k].to(device, non_blocking=True).float().contiguous(memory_format=fmt) for k in "zx")
    label, weight, target = (batch[k].to(device, non_blocking=True) for k in ("label", "weight", "target"))
    return z, x, label, weight, target


def autocast(device: torch.device, enabled: bool) -> torch.autocast:
    """Mixed precision: float16 on CUDA (with a GradScaler), bfloat16 on the CPU."""
    return torch.autocast(device.type, dtype=torch.float16 if device.type == "cuda" else torch.bfloat16,
                          enabled=enabled)


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
               z: torch.Tensor, x: torch.Tensor, label: torch.Tensor, weight: torch.Tensor,
               amp: bool = False) -> torch.Tensor:
    """One SGD step on a batch; returns the (detached) batch loss, still on the device."""
    with autocast(z.device, amp):
        logits = model(z, x)
    loss = logistic_loss(logits, label, weight)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.detach()
