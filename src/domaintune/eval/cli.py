"""`domaintune eval ...`: each family of commands lives beside its code and is merged here."""

from __future__ import annotations

import typer

from domaintune.eval import mcq_cli, pref, review_cli, text_cli

app = typer.Typer(no_args_is_help=True, help="Score models: exams, generation, perplexity, judge.")

for _sub in (mcq_cli.app, text_cli.app, review_cli.app, pref.app):
    app.registered_commands += _sub.registered_commands
    app.registered_groups += _sub.registered_groups
