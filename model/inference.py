"""What runs the network for the tracker: an engine turns crops into response maps, on one backend.

An engine holds the exemplar's features and scores a batch of search crops against them:
``set_exemplar(z [127, 127, 3] uint8 BGR)``, then ``responses(x [n, 255, 255, 3] uint8 BGR) -> [n, R, R]`` float32.
:class:`TorchEngine` runs the PyTorch network (CPU or CUDA); :mod:`.onnx_engine` adds ONNX Runtime, built from the
same network. The tracker (:mod:`.tracker`) only speaks to this interface, so every backend tracks the same way.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import nn

from siamfc.curate.errors import UserError
from siamfc.pipeline.response_map import ResponseGrid


class ResponseEngine(Protocol):
    """The network as the tracker uses it."""

    name: str  # the backend
    device: str  # where it runs, e.g. "cpu", "cuda:0"
    grid: ResponseGrid  # the response map's size and stride

    def set_exemplar(self, z: np.ndarray) -> None: ...

    def responses(self, x: np.ndarray) -> np.ndarray: ...

    def synchronize(self) -> None: ...


def resolve_device(device: str | torch.device | None = None, local_rank: int | None = None) -> torch.device:
    """``device`` as a torch device, for the tracker and the trainer alike; ValueError naming it when unusable here.

    None or ``auto``: CUDA when available, else the CPU. ``local_rank`` (the trainer's process under ``torchrun``)
    gives a CUDA device named without an index (``cuda``) the GPU of that rank; without it ``cuda`` stays unindexed
    (the current device).
    """
    name = device
    if device is None or device == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(name)
    except (RuntimeError, TypeError):
        raise UserError(f"device {device!r}: not a torch device (auto, cpu, cuda, cuda:N, ...)") from None
    if resolved.type == "cuda" and resolved.index is None and local_rank is not None:
        resolved = torch.device("cuda", local_rank)
    if resolved.type == "cuda" and (not torch.cuda.is_available()
                                    or (resolved.index or 0) >= torch.cuda.device_count()):
        raise UserError(f"device {device!r}: no such CUDA device here")
    return resolved


class TorchEngine:
    """The PyTorch network: float32, channels-last on the CPU; on CUDA optionally under autocast (``amp``).

    ``grid`` defaults to ``net.response_grid()``; give it for a network without one (tests' stand-ins).
    """

    name = "torch"

    def __init__(self, net: nn.Module, device: str | torch.device | None = None, grid: ResponseGrid | None = None,
                 amp: bool = False):
        self.torch_device = resolve_device(device)
        self.device = str(self.torch_device)
        self.grid = grid if grid is not None else net.response_grid()
        self.amp = amp and self.torch_device.type == "cuda"
        self.memory_format = torch.channels_last if self.torch_device.type == "cpu" else torch.contiguous_format
        self.net = net.to(self.torch_device, memory_format=self.memory_format).eval()
        self.kernel: torch.Tensor | None = None

    def _batch(self, crops: np.ndarray) -> torch.Tensor:
        # uint8 travels to the device (4x fewer bytes), then becomes float 0..255 BGR, as in training
        x = torch.from_numpy(np.ascontiguousarray(crops)).to(self.torch_device, non_blocking=True)
        return x.permute(0, 3, 1, 2).float().contiguous(memory_format=self.memory_format)

    @torch.inference_mode()
    def set_exemplar(self, z: np.ndarray) -> None:
        with torch.autocast(self.torch_device.type, enabled=self.amp):
            self.kernel = self.net.backbone(self._batch(z[None]))

    @torch.inference_mode()
    def responses(self, x: np.ndarray) -> np.ndarray:
        if self.kernel is None:
            raise RuntimeError("responses() before set_exemplar()")
        with torch.autocast(self.torch_device.type, enabled=self.amp):
            out = self.net.head(self.kernel, self.net.backbone(self._batch(x)))
        return out[:, 0].float().cpu().numpy()

    def synchronize(self) -> None:
        if self.torch_device.type == "cuda":
            torch.cuda.synchronize(self.torch_device)
