"""`domaintune eval mcq`: multiple-choice exams (merged into `domaintune eval`, see eval/cli.py)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import typer

from domaintune.cli_common import fail

app = typer.Typer()


@app.command("mcq")
def mcq(
    model: Path = typer.Option(..., "--model", help="Model directory or PEFT adapter directory."),
    data: list[Path] = typer.Option(
        ..., "--data", help="Exam file, or folder of them; one subject per file (repeatable)."
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="ceval, cmmlu, mmlu, jsonl, gaokao or cmb (default: detected for each file).",
    ),
    prompt: str = typer.Option(
        "official",
        "--prompt",
        help="official (each format's own prompt; jsonl: C-Eval's) or lm-eval (lm-evaluation-"
        "harness's ceval-valid, cmmlu, mmlu task prompts); or a style: ceval, lm-eval-mmlu ...",
    ),
    shots: int = typer.Option(0, "--shots", min=0, help="Solved examples before each question."),
    dev: list[Path] = typer.Option(
        [], "--dev", help="Dev file or folder the shots come from: the first K per subject."
    ),
    scoring: str = typer.Option("both", "--scoring", help="both, letter or option."),
    out: Path | None = typer.Option(None, "--out", help="Write the results (JSON) here."),
    group: str = typer.Option("domain", "--group", help="domain or general."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Questions per forward pass."),
    max_len: int | None = typer.Option(
        None,
        "--max-len",
        min=1,
        help="Token limit; longer prompts lose their start, as in lm-eval.",
    ),
    dtype: str = typer.Option("float32", "--dtype", help="float32, bfloat16 or float16."),
    device: str = typer.Option(
        "auto", "--device", help="auto (cuda when present), cpu, cuda:1 ..."
    ),
) -> None:
    """Score a model on multiple-choice exams (C-Eval, CMMLU, MMLU or jsonl), two ways.

    acc_letter: which answer letter is likeliest after the prompt (official C-Eval/CMMLU method;
    lm-eval's ceval-valid/cmmlu/mmlu `acc`). acc_option / acc_option_norm: which option text is
    likeliest (lm-eval's multiple_choice `acc` / `acc_norm` over the option texts).
    """
    from domaintune.eval import api
    from domaintune.eval import mcq as exam
    from domaintune.eval.results import GROUPS
    from domaintune.records import DataError

    _check_choice("--format", fmt, exam.FORMATS)
    _check_choice("--prompt", prompt, (*exam.PROMPTS, *exam.STYLES))
    _check_choice("--scoring", scoring, exam.SCORINGS)
    _check_choice("--group", group, GROUPS)
    _check_choice("--dtype", dtype, ("float32", "bfloat16", "float16"))
    if bool(shots) != bool(dev):
        raise fail("--shots K and --dev PATH go together: the shots are the dev questions", 2)
    if not model.exists():
        raise fail(f"--model {model}: no such directory", 1)
    try:
        with _progress() as progress:
            result = api.mcq(
                model, data, fmt=fmt, prompt=prompt, shots=shots, dev=dev, scoring=scoring,
                group=group, batch_size=batch_size, max_len=max_len, dtype=dtype,
                device=device, progress=progress,
            )  # fmt: skip
    except (DataError, ValueError) as err:
        raise fail(str(err), 1) from None
    except OSError as err:  # unreadable file or folder, or a model that cannot load
        raise fail(f"cannot read the exam or the model ({err})", 1) from None
    except RuntimeError as err:  # e.g. an unknown --device
        raise fail(f"--device {device}: {err}", 2) from None
    _print_table(result["metrics"], result["by_set"])
    if result["counts"]["truncated"]:
        typer.echo(
            f"warning: {result['counts']['truncated']} questions were longer than --max-len and "
            "lost the start of their prompt; raise --max-len or use fewer --shots",
            err=True,
        )
    if out is not None:
        from domaintune.io import write_json

        write_json(out, result)
        typer.echo(f"wrote {out}")


def _check_choice(option: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise fail(f"{option} {value!r}: choose one of {', '.join(allowed)}", 2)


@contextlib.contextmanager
def _progress():
    """Yields the callback the scorer reports (done, total) to; the bar (stderr) starts with the
    first report, so errors found while reading the exam print alone."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    bar = Progress(*columns, console=Console(stderr=True), transient=True)
    task = None

    def report(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("scoring", total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield report
    finally:
        if task is not None:
            bar.stop()


def _print_table(metrics: dict[str, float], by_set: dict[str, dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    names = [m for m in ("acc_letter", "acc_option", "acc_option_norm") if m in metrics]
    table = Table("subject", "n", *names)
    for subject, row in by_set.items():
        table.add_row(subject, str(row["n"]), *(f"{row[m]:.2f}" for m in names))
    total = sum(row["n"] for row in by_set.values())
    table.add_section()
    table.add_row(
        "average (micro, per question)", str(total), *(f"{metrics[m]:.2f}" for m in names)
    )
    table.add_row(
        "average (macro, per subject)",
        str(len(by_set)),
        *(f"{metrics[m + '_macro']:.2f}" for m in names),
    )
    Console().print(table)
