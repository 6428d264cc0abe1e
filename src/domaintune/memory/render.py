"""The breakdown as a rich table, then the fit verdict and the planner's suggestions."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from domaintune.memory.estimate import GIB
from domaintune.memory.plan import PlanResult

LABELS = {
    "weights": "weights",
    "weights_4bit": "weights, 4-bit (QLoRA)",
    "zero3_gathered": "ZeRO-3 gathered layers",
    "lora_weights": "LoRA adapter weights",
    "gradients": "gradients",
    "lora_gradients": "LoRA adapter gradients",
    "ddp_buckets": "DDP gradient buckets",
    "master_weights": "fp32 master copy",
    "optimizer": "optimizer states",
    "lora_optimizer": "LoRA optimizer states",
    "activations": "activations",
    "logits": "logits and loss",
    "cuda_context": "framework overhead",
    "fragmentation": "allocator overhead",
}


def print_plan(result: PlanResult, console: Console) -> None:
    """Table of terms (GiB per GPU), notes, the verdict and the suggestions."""
    est = result.estimate
    s = est.setup
    title = (
        f"{est.arch.name}: {s.method}, {s.precision}{' pure' if s.pure_16bit else ' mixed'}, "
        f"{s.optimizer}, seq {s.seq_len} x batch {s.batch}, {s.gpus} GPU(s), ZeRO {s.zero}"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("term")
    table.add_column("GiB / GPU", justify="right")
    table.add_column("note")
    for t in est.terms:
        table.add_row(LABELS.get(t.key, t.key), f"{t.bytes / GIB:,.2f}", t.note)
    table.add_section()
    table.add_row("[bold]peak[/]", f"[bold]{est.total / GIB:,.2f}[/]", "see the notes")
    console.print(table)
    console.print(
        f"parameters {est.params:,}; trainable {est.trainable_params:,} "
        f"({100 * est.trainable_params / est.params:.2f}%)"
    )
    for note in est.notes:
        console.print(f"- {note}", highlight=False)
    _print_verdict(result, console)


def _print_verdict(result: PlanResult, console: Console) -> None:
    if result.gpu_mem is None:
        return
    gpu = result.gpu_mem / GIB
    if result.fits:
        console.print(f"[green]fits[/] in {gpu:.1f} GiB per GPU")
        return
    console.print(f"[red]does not fit[/] in {gpu:.1f} GiB per GPU. Changes, best first:")
    table = Table(show_header=True)
    table.add_column("change")
    table.add_column("new peak GiB", justify="right")
    table.add_column("fits")
    for sug in result.suggestions:
        mark = "[green]yes[/]" if sug.fits else "[red]no[/]"
        table.add_row(sug.change, f"{sug.total / GIB:,.1f}", mark)
    console.print(table)
