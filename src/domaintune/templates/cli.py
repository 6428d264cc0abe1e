"""`domaintune template ...` verbs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
OPEN, CLOSE = "\u27e6", "\u27e7"  # ⟦trained⟧ when stdout is not a terminal


@app.command("list")
def list_() -> None:
    """The registry's templates, their stop tokens and references."""
    from rich.console import Console
    from rich.table import Table

    from domaintune.templates import TEMPLATES

    table = Table(title="Chat templates (plus 'hf': the tokenizer's own)")
    for col in ("name", "description", "stop tokens", "reference"):
        table.add_column(col)
    for name in sorted(TEMPLATES):
        t = TEMPLATES[name]
        stops = ", ".join(t.resolve(s, *t.family_tokens) or s for s in t.stop_tokens)
        table.add_row(name, t.description, stops, t.reference)
    Console().print(table)


def _messages(path: Path) -> list[dict]:
    """A JSON list of {role, content}, or one row in any supported conversation format."""
    from domaintune.records import RawRow, parse_conversation

    data = json.loads(path.read_text(encoding="utf-8-sig"))
    if isinstance(data, list) and all(isinstance(m, dict) and "role" in m for m in data):
        # A bare message list may end with the user (a prompt to render for inference).
        for i, m in enumerate(data):
            if m.get("role") not in ("system", "user", "assistant"):
                raise ValueError(f"{path}: [{i}].role must be system, user or assistant")
            if not isinstance(m.get("content"), str):
                raise ValueError(f"{path}: [{i}].content must be a string")
        return data
    return parse_conversation(RawRow(data, str(path), 1, stem=path.stem)).to_openai()


@app.command()
def render(
    template: str = typer.Option(..., "--template", help="Registry name, or hf."),
    messages: Path = typer.Option(..., "--messages", help="JSON file with the conversation."),
    tokenizer: Path | None = typer.Option(None, "--tokenizer", help="Tokenizer directory."),
    show_labels: bool = typer.Option(False, "--show-labels", help="Mark the trained spans."),
    generation_prompt: bool = typer.Option(
        False, "--generation-prompt", help="End with the assistant prompt (inference)."
    ),
) -> None:
    """Print the conversation exactly as the template renders it (nothing added on stdout)."""
    from domaintune.records import DataError

    try:
        msgs = _messages(messages)
        text = _render(template, msgs, tokenizer, show_labels, generation_prompt)
    except (DataError, ValueError, OSError, json.JSONDecodeError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    sys.stdout.write(text)


def _render(template: str, msgs: list[dict], tok_dir: Path | None, labels: bool, gen: bool) -> str:
    from domaintune.models import load_tokenizer
    from domaintune.templates import (
        IGNORE_INDEX,
        encode_conversation,
        get_template,
        render_pieces,
        render_text,
    )

    tokenizer = load_tokenizer(tok_dir) if tok_dir else None
    if tokenizer is None and template == "hf":
        raise ValueError("--template hf uses the tokenizer's own template: pass --tokenizer DIR")
    if not labels:
        if tokenizer is not None:
            return render_text(tokenizer, msgs, template=template, add_generation_prompt=gen)
        t = get_template(template)
        pieces = render_pieces(
            t, msgs, bos=t.family_tokens[0], eos=t.family_tokens[1], add_generation_prompt=gen
        )
        return "".join(p.text for p in pieces)
    if tokenizer is None:  # piece-level marks, from the template's structure alone
        t = get_template(template)
        pieces = render_pieces(
            t, msgs, bos=t.family_tokens[0], eos=t.family_tokens[1], for_training=True
        )
        return _marked([(p.text, p.trained) for p in pieces])
    enc = encode_conversation(tokenizer, msgs, template=template)
    spans = [
        (tokenizer.decode([i]), lab != IGNORE_INDEX)
        for i, lab in zip(enc["input_ids"], enc["labels"], strict=True)
    ]
    return _marked(spans)


def _marked(spans: list[tuple[str, bool]]) -> str:
    """Join text spans, wrapping trained runs: underlined on a terminal, else in ⟦ ⟧."""
    tty = sys.stdout.isatty()
    start, end = ("\x1b[4;32m", "\x1b[0m") if tty else (OPEN, CLOSE)
    out, inside = [], False
    for text, trained in spans:
        if trained != inside:
            out.append(start if trained else end)
            inside = trained
        out.append(text)
    if inside:
        out.append(end)
    return "".join(out)
