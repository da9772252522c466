"""Multi-process training under ``torchrun``: process group set-up and the few collectives the trainer needs.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (read by :func:`siamfc.pipeline.ranks.resolve_rank`)
and the rendezvous address; when they are present the trainer joins the group (NCCL on CUDA, one GPU per local
rank; gloo on CPU). Without them it runs as a single process and every helper here is a no-op.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from siamfc.pipeline.ranks import DistInfo


def setup(info: DistInfo, cuda: bool) -> bool:
    """Join the process group if the job has several processes; True when this call created it."""
    if not info.enabled or dist.is_initialized():
        return False
    if cuda:
        torch.cuda.set_device(info.local_rank)
    dist.init_process_group("nccl" if cuda else "gloo", rank=info.rank, world_size=info.world_size)
    return True


def teardown(created: bool) -> None:
    """Leave the process group if :func:`setup` created it."""
    if created and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: list[float], info: DistInfo, device: torch.device) -> list[float]:
    """Element-wise sum of ``values`` over all processes (float64)."""
    if not info.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def broadcast(obj: Any, info: DistInfo) -> Any:
    """Rank 0's ``obj`` on every process (pickled; for small control data and checkpoints)."""
    if not info.enabled:
        return obj
    box = [obj if info.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]
