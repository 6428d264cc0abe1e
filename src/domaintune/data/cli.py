"""`domaintune data ...` verbs."""

from __future__ import annotations

from pathlib import Path

import typer

from domaintune.cli_common import fail, require_jsonl

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.command()
def validate(
    file: Path = typer.Argument(
        ..., help="Conversation data file (.jsonl[.gz], .json, .csv, ...)."
    ),
    fmt: str = typer.Option("auto", "--format", help="auto, alpaca, sharegpt or openai."),
    template: str | None = typer.Option(
        None, "--template", help="Chat template name (default: the tokenizer's own)."
    ),
    tokenizer: Path | None = typer.Option(
        None, "--tokenizer", help="Tokenizer directory: also check token lengths and labels."
    ),
    max_len: int | None = typer.Option(
        None, "--max-len", help="Maximum tokens per sample after templating (needs --tokenizer)."
    ),
    drop_invalid: Path | None = typer.Option(
        None,
        "--drop-invalid",
        help="Write the valid rows to this .jsonl and the rest to OUT.rejected.jsonl; exit 0.",
    ),
    pref: bool = typer.Option(
        False, "--pref", help="Preference rows (DPO pairs or KTO rows): docs/preference.md."
    ),
) -> None:
    """Check every row; print each problem as file:line: message, then a summary."""
    from domaintune.data.validate import rejected_path, validate_file

    if drop_invalid is not None:
        require_jsonl(drop_invalid, "--drop-invalid")
    tok = _load_tokenizer(tokenizer) if tokenizer is not None else None
    try:
        if pref:
            from domaintune.data.pref_io import validate_pref

            report = validate_pref(
                file, tokenizer=tok, template=template, max_len=max_len, drop_invalid=drop_invalid
            )
        else:
            report = validate_file(
                file,
                fmt=fmt,
                tokenizer=tok,
                template=template,
                max_len=max_len,
                drop_invalid=drop_invalid,
            )
    except ValueError as err:
        raise fail(str(err), 2) from None
    for problem in report.problems:
        typer.echo(problem.message)
    if report.file_error is not None:
        typer.echo(f"error: {report.file_error}", err=True)
    typer.echo(report.summary())
    if report.file_error is not None:
        raise typer.Exit(1)
    if drop_invalid is not None:
        typer.echo(
            f"wrote {report.valid} valid rows to {drop_invalid} and {report.invalid} "
            f"rejected rows to {rejected_path(drop_invalid)}"
        )
    elif report.problems:
        raise typer.Exit(1)


def _load_tokenizer(path: Path):
    from domaintune.data.validate import load_tokenizer

    try:
        return load_tokenizer(path)
    except (OSError, ValueError) as err:
        raise fail(f"--tokenizer {path}: cannot load a tokenizer ({err})", 1) from None


@app.command()
def convert(
    src: Path = typer.Argument(..., help="Input conversations (alpaca, sharegpt or openai)."),
    out: Path = typer.Argument(..., help="Output .jsonl file (written atomically)."),
    to: str = typer.Option(..., "--to", help="Target format: openai, alpaca or sharegpt."),
    pref: bool = typer.Option(
        False, "--pref", help="Preference rows; --to openai, trl or sharegpt (LLaMA-Factory)."
    ),
) -> None:
    """Convert a conversation file to another format without losing anything."""
    from domaintune.data.convert import TARGETS, convert_file
    from domaintune.data.pref_io import PREF_TARGETS, convert_pref
    from domaintune.records import DataError

    targets = PREF_TARGETS if pref else TARGETS
    if to not in targets:
        raise fail(f"--to {to!r}: choose one of {', '.join(targets)}", 2)
    require_jsonl(out, "OUT")
    try:
        count = (convert_pref if pref else convert_file)(src, out, to=to)
    except DataError as err:
        typer.echo(f"error: {err}", err=True)
        typer.echo(
            f"nothing written; run `domaintune data validate {src}` to list every problem", err=True
        )
        raise typer.Exit(1) from None
    except OSError as err:
        raise fail(f"{src}: cannot read the file ({err})", 1) from None
    typer.echo(f"wrote {count} {to} rows to {out}")


def _register_corpus_verbs() -> None:
    """clean/stats/decontaminate and dedup/select live in their own modules."""
    from domaintune.data import corpus_cli, select_cli

    corpus_cli.register(app)
    select_cli.register(app)
    from domaintune.synth import cli as synth_cli

    synth_cli.register(app)


_register_corpus_verbs()
