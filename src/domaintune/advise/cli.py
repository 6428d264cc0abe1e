"""`domaintune advise`: CPT or SFT, how much general data, which method, from the user's data."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

console = Console()


def advise(
    model: str = typer.Option(..., "--model", help="Base model directory to measure."),
    domain: list[Path] = typer.Option(..., "--domain", help="Raw domain documents (repeatable)."),
    general: list[Path] = typer.Option([], "--general", help="General text (repeatable)."),
    sft: list[Path] = typer.Option([], "--sft", help="Instruction data (repeatable)."),
    gpu_mem: str | None = typer.Option(None, "--gpu-mem", help="e.g. 80GiB: check the fit."),
    seq_len: int = typer.Option(2048, "--seq-len", help="Training sequence length."),
    arch: str | None = typer.Option(
        None,
        "--arch",
        help="Plan memory for this architecture (built-in name or model dir) "
        "instead of --model's, e.g. measure with a small sibling, train the large one.",
    ),  # fmt: skip
    eval_domain: str | None = typer.Option(None, "--eval-domain", help="Held-out domain text."),
    eval_general: str | None = typer.Option(None, "--eval-general", help="Held-out general."),
    write_recipe: Path | None = typer.Option(
        None, "--write-recipe", help="Write the advised recipe here (domaintune check accepts it)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Measure the model on your data and recommend a plan, with the numbers behind each choice."""
    from domaintune.advise.advisor import advise as run_advise
    from domaintune.advise.recipe import recipe_for, recipe_yaml
    from domaintune.io import write_text

    try:
        advice = run_advise(model, domain, general=general, sft=sft, gpu_mem=gpu_mem,
                            seq_len=seq_len, arch=arch)  # fmt: skip
    except (ValueError, FileNotFoundError) as err:
        console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if write_recipe is not None:
        recipe = recipe_for(advice, domain=domain, general=general, sft=sft,
                            eval_domain=eval_domain, eval_general=eval_general,
                            name=write_recipe.stem)  # fmt: skip
        write_text(write_recipe, recipe_yaml(advice, recipe))
    if as_json:
        print(json.dumps(advice.to_json(), ensure_ascii=False))
        return
    print_advice(advice, console)
    if write_recipe is not None:
        console.print(f"wrote {write_recipe} (check it: domaintune check {write_recipe})")


def print_advice(advice, console: Console) -> None:
    """The measurements as a table, then each recommendation with its reason."""
    from rich.table import Table

    m = advice.measurements
    table = Table(title=f"Measured: {m.model}", min_width=40)
    for col in ("text", "documents", "tokens", "tokens/char", "bits/char"):
        table.add_column(col, justify="left" if col == "text" else "right")
    for side, f in (("domain", m.domain), ("general", m.general)):
        if f is not None:
            table.add_row(side, f"{f.documents:,}", f"{f.tokens:,}", f"{f.fertility:.3f}",
                          f"{f.bpc:.3f}")  # fmt: skip
    if m.sft_rows:
        table.add_row("instructions", f"{m.sft_rows:,}", f"{m.sft_tokens:,}", "", "")
    console.print(table)
    kind = "chat/instruct" if m.chat_model else "base"
    gap = f"; knowledge gap {m.gap:.2f}x (domain / general bits per character)" if m.gap else ""
    console.print(f"model: {m.parameters:,} parameters, {kind}{gap}")
    for r in advice.recommendations:
        mark = "[yellow]![/]" if r.warning else "[green]*[/]"
        console.print(f"{mark} [bold]{r.topic}[/]: {r.choice}. {r.reason}", soft_wrap=True)
