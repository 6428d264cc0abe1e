"""Pre-flight for `train`: estimate before a GPU run and refuse one that will not fit."""

from __future__ import annotations

from pathlib import Path

from domaintune.memory.plan import PlanResult, plan
from domaintune.memory.setup import RunSetup


class WillNotFitError(RuntimeError):
    """The run's estimated peak exceeds the GPU's memory; the message lists what would fit."""


def gpu_memory_bytes(device: int = 0) -> int | None:
    """Total memory of the CUDA device, or None without a GPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_properties(device).total_memory


def preflight(
    model: str | Path | dict,
    *,
    method: str,
    seq_len: int,
    batch: int,
    grad_accum: int = 1,
    precision: str = "fp32",
    optimizer: str = "adamw",
    grad_ckpt: bool = False,
    lora_rank: int = 8,
    lora_targets: list[str] | str = "all-linear",
    lora_dropout: float = 0.0,
    trainable_layers: int = 2,
    gpus: int = 1,
    zero: int = 0,
    gpu_mem_bytes: int | None = None,
    pref: str | None = None,
    reference: str = "copy",
) -> PlanResult:
    """Estimate a training stage's peak per GPU against `gpu_mem_bytes` (default: this GPU)."""
    targets = (lora_targets,) if isinstance(lora_targets, str) else tuple(lora_targets)
    setup = RunSetup(
        method=method,
        precision=precision,
        optimizer=optimizer,
        lora_rank=lora_rank,
        lora_targets=targets,
        lora_dropout=lora_dropout,
        trainable_layers=trainable_layers,
        seq_len=seq_len,
        batch=batch,
        grad_accum=grad_accum,
        grad_ckpt=grad_ckpt,
        gpus=gpus,
        zero=zero,
        pref=pref,
        reference=reference,
    )
    return plan(model, setup, gpu_mem_bytes if gpu_mem_bytes else gpu_memory_bytes())


def require_fit(result: PlanResult, *, force: bool = False) -> None:
    """Raise WillNotFitError with the planner's suggestions unless the run fits or `force`."""
    if result.fits is False and not force:
        raise WillNotFitError(
            result.message() + "\nChange the recipe as above, or pass --force to start anyway."
        )
