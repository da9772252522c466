"""Multi-process training under ``torchrun``: process group set-up, the few collectives the trainer needs, and a
clean end.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (read by :func:`siamfc.pipeline.ranks.resolve_rank`)
and the rendezvous address; when they are present the trainer joins the group (NCCL on CUDA, one GPU per local
rank; gloo on CPU). Without them it runs as a single process and every helper here is a no-op.

Ending cleanly. A gloo worker thread releases a collective's work (and with it the tensors it was given) a moment
*after* the caller's ``wait`` returns. A tensor made in Python whose Python object is gone by then must be released
under the GIL, and Python 3.11 kills any thread that asks for the GIL once the interpreter is finalising
(``pthread_exit``); unwinding through gloo's ``noexcept`` work destructor, that ends in ``std::terminate``
("terminate called without an active exception", SIGABRT). A rank that left right after its last collective, while
rank 0 was still writing the checkpoint, died that way now and then. So no rank leaves alone: after a finished run
every rank waits at a barrier (:func:`teardown`) until all are done, which gives the worker threads the time to
release everything while the interpreter is whole; and the trainer runs no collective that nobody waits for
(DDP's ``join()`` context fires one per forward pass; its ranks are in step by construction and do not use it).
"""

from __future__ import annotations

import os
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
    dist.init_process_group("nccl" if cuda else "gloo", store=launch_store(info), rank=info.rank,
                            world_size=info.world_size)
    return True


def launch_store(info: DistInfo) -> dist.Store:
    """The rendezvous store (``env://``: ``MASTER_ADDR``, ``MASTER_PORT``), under a prefix of this launch's own where
    one torchrun agent runs the job.

    torchrun's agent keeps one store for every launch of a job (``--max-restarts``), so the keys a failed launch
    published (each gloo rank's address) are still there when the relaunched ranks look up their peers; a rank that
    reads a dead peer's address waits to connect to it until the group's timeout (30 minutes). One agent counts
    its launches (``TORCHELASTIC_RESTART_COUNT``), and that count keeps their keys apart. Agents on several nodes
    count apart (one that restarts because another node did does not count it; pytorch/pytorch#135712), so there
    the job should run with ``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1``: a fresh store for every launch (README)."""
    store, _, _ = next(dist.rendezvous("env://", rank=info.rank, world_size=info.world_size))
    if os.environ.get("GROUP_WORLD_SIZE", "1") != "1":
        return store
    return dist.PrefixStore(f"siamfc/launch-{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}/", store)


def teardown(created: bool, finished: bool = True) -> None:
    """Leave the process group if :func:`setup` created it. After a finished run (``finished``) every rank first
    waits for all the others (rank 0 writes the last checkpoint meanwhile), so that no rank ends while another still
    works (see the module docstring); after an error no rank waits, as a peer may be gone."""
    if not (created and dist.is_initialized()):
        return
    if finished:
        dist.barrier()
    dist.destroy_process_group()


def all_sum(values: list[float], info: DistInfo, device: torch.device) -> list[float]:
    """Element-wise sum of ``values`` over all processes (float64)."""
    if not info.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def gather(obj: Any, info: DistInfo) -> list[Any]:
    """Every process's ``obj``, in rank order, on every process (pickled; small control data)."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast(obj: Any, info: DistInfo) -> Any:
    """Rank 0's ``obj`` on every process (pickled; for small control data and checkpoints)."""
    if not info.enabled:
        return obj
    box = [obj if info.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]
