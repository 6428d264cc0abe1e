"""Rank helpers for runs started by torchrun, `accelerate launch` or the deepspeed launcher.

Every process runs the same `domaintune train`. Rank 0 alone writes the run's shared files (base
model, manifests, recipe.yaml, report); the others wait for it at `barrier()`. Launchers describe
the job in environment variables (RANK, WORLD_SIZE, LOCAL_RANK), which are read before the
process group exists; once it does, its own answers are used.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from typing import Any, TypeVar

T = TypeVar("T")

# The same limit as transformers' TrainingArguments.ddp_timeout: how long ranks wait for rank 0
# (building the base model, an eval stage) before giving up.
TIMEOUT = timedelta(seconds=1800)


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _live_group():
    """torch.distributed if torch is loaded and a process group is up (never imports torch)."""
    dist = sys.modules.get("torch.distributed")
    ok = dist is not None and dist.is_available() and dist.is_initialized()
    return dist if ok else None


def world_size() -> int:
    """Number of processes in the job (1 when not launched by a distributed launcher)."""
    dist = _live_group()
    return dist.get_world_size() if dist is not None else _env_int("WORLD_SIZE", 1)


def rank() -> int:
    """This process's global rank (0 in a single-process run)."""
    dist = _live_group()
    return dist.get_rank() if dist is not None else _env_int("RANK", 0)


def local_rank() -> int:
    """This process's rank on its own machine: the index of the GPU it uses."""
    return _env_int("LOCAL_RANK", 0)


def is_main_process() -> bool:
    """True on global rank 0, the process that writes the run's shared files."""
    return rank() == 0


def init_process_group() -> bool:
    """Join the launcher's process group now, so ranks can wait for rank 0 before training.

    transformers and accelerate reuse a group that already exists. On GPUs the group carries
    NCCL for CUDA tensors and gloo for CPU ones (as accelerate sets up for FSDP with offload);
    on CPU gloo alone. Returns True when this is a multi-process run.
    """
    if world_size() <= 1:
        return False
    import torch
    import torch.distributed as dist

    if not dist.is_available():
        return False
    if dist.is_initialized():
        return True
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank() % torch.cuda.device_count())
        torch.cuda.set_device(device)
        dist.init_process_group("cuda:nccl,cpu:gloo", timeout=TIMEOUT, device_id=device)
    else:
        dist.init_process_group("gloo", timeout=TIMEOUT)
    return True


def _group():
    """torch.distributed in a multi-process run whose group is up, else None.

    torch is imported only for several processes, so one-process runs and recipe loading stay
    light."""
    if world_size() <= 1:
        return None
    import torch.distributed as dist

    ok = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    return dist if ok else None


def barrier() -> None:
    """Wait until every rank gets here (no-op in a single-process run)."""
    dist = _group()
    if dist is not None:
        dist.barrier()


def broadcast_from_main(value: T) -> T:
    """Rank 0's `value` on every rank (a picklable object; no-op in a single-process run)."""
    dist = _group()
    if dist is None:
        return value
    box: list[Any] = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class RankMismatchError(ValueError):
    """The processes of one run see different inputs."""


def require_same(value: Any, what: str) -> None:
    """Raise on every rank when the ranks disagree about `value` (they would deadlock later)."""
    dist = _group()
    if dist is None:
        return
    values: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    if any(v != values[0] for v in values):
        by_rank = ", ".join(f"rank {i}: {v}" for i, v in enumerate(values))
        raise RankMismatchError(
            f"the processes disagree about {what} ({by_rank}); every rank must see the same "
            "recipe, data files and run directory (on several machines: a shared filesystem)"
        )
