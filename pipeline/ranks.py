"""Where this process sits in a multi-process job (rank, world size, local rank), resolved in one place.

Each value comes from, in order: the caller; torch.distributed, once its process group is initialised; the
``torchrun`` environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``); else a single process (rank 0 of 1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_rank(rank: int | None = None, world_size: int | None = None) -> DistInfo:
    """This process's :class:`DistInfo` (see the module docstring); ValueError unless ``0 <= rank < world_size``."""
    dist = torch.distributed
    initialised = dist.is_available() and dist.is_initialized()
    if rank is None:
        rank = dist.get_rank() if initialised else int(os.environ.get("RANK", 0))
    if world_size is None:
        world_size = dist.get_world_size() if initialised else int(os.environ.get("WORLD_SIZE", 1))
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
    return DistInfo(int(rank), int(world_size), int(os.environ.get("LOCAL_RANK", 0)))
