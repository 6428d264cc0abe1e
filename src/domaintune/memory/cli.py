"""`domaintune memory`: how much GPU memory a fine-tuning run needs, and what makes it fit."""

from __future__ import annotations

import json

import typer
from rich.console import Console

console = Console()


def memory(
    model: str = typer.Option(..., "--model", help="Model directory (config.json) or built-in."),
    method: str = typer.Option("full", help="full, freeze, lora or qlora."),
    precision: str = typer.Option("bf16", help="bf16, fp16 or fp32."),
    pure_16bit: bool = typer.Option(False, "--pure-16bit", help="No fp32 master copy."),
    optimizer: str = typer.Option(
        "adamw", help="adamw, adamw_8bit, paged_adamw_8bit, adafactor or sgd."
    ),
    state_precision: str | None = typer.Option(
        None, "--optimizer-state-precision", help="Adam moments in fp32 (default) or bf16."
    ),
    lora_rank: int = typer.Option(8, "--lora-rank"),
    lora_targets: str = typer.Option("all-linear", "--lora-targets", help="Comma-separated."),
    lora_dropout: float = typer.Option(0.0, "--lora-dropout"),
    trainable_layers: int = typer.Option(2, "--trainable-layers", help="freeze: last N layers."),
    no_double_quant: bool = typer.Option(False, "--no-double-quant", help="qlora."),
    seq_len: int = typer.Option(2048, "--seq-len"),
    batch: int = typer.Option(1, "--batch", help="Micro-batch per GPU."),
    grad_accum: int = typer.Option(1, "--grad-accum"),
    grad_ckpt: bool = typer.Option(False, "--grad-ckpt", help="Gradient checkpointing."),
    attention: str = typer.Option("sdpa", help="sdpa (or flash) or eager."),
    zero: int = typer.Option(0, "--zero", help="DeepSpeed ZeRO stage 0-3."),
    gpus: int = typer.Option(1, "--gpus"),
    offload: str | None = typer.Option(None, "--offload", help="optimizer or params."),
    gpu_mem: str | None = typer.Option(None, "--gpu-mem", help="e.g. 80GiB: check the fit."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Estimate per-GPU memory term by term; with --gpu-mem, say whether it fits and what would."""
    from domaintune.memory.plan import parse_size, plan
    from domaintune.memory.render import print_plan
    from domaintune.memory.setup import RunSetup

    try:
        setup = RunSetup(
            method=method,
            precision=precision,
            pure_16bit=pure_16bit,
            optimizer=optimizer,
            optimizer_state_precision=state_precision,
            lora_rank=lora_rank,
            lora_targets=tuple(t.strip() for t in lora_targets.split(",") if t.strip()),
            lora_dropout=lora_dropout,
            trainable_layers=trainable_layers,
            double_quant=not no_double_quant,
            seq_len=seq_len,
            batch=batch,
            grad_accum=grad_accum,
            grad_ckpt=grad_ckpt,
            attention="sdpa" if attention == "flash" else attention,
            zero=zero,
            gpus=gpus,
            offload=offload,
        )
        result = plan(model, setup, parse_size(gpu_mem) if gpu_mem else None)
    except (ValueError, KeyError) as err:
        console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(result.to_json()))
    else:
        print_plan(result, console)
    if result.fits is False:
        raise typer.Exit(1)
