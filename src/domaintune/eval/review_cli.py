"""Commands merged into `domaintune eval` (see eval/cli.py)."""

from __future__ import annotations

import typer

app = typer.Typer()
