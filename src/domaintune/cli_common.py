"""Helpers every CLI verb shares: one error format and exit codes, output-name checks."""

from __future__ import annotations

from pathlib import Path

import typer


def fail(message: str, code: int) -> typer.Exit:
    """Print `error: message` on stderr; return the Exit to raise (1: bad input, 2: usage)."""
    # Plain echo, not rich: messages quote fields like "history[0]" that rich reads as markup.
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def require_jsonl(path: Path | None, option: str) -> None:
    """Outputs are jsonl: refuse another file name before any work is done."""
    if path is not None and not path.name.lower().endswith(".jsonl"):
        raise fail(f"{option} {path}: the output is jsonl; give it a .jsonl name", 2)
