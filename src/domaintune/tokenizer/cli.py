"""`domaintune tokenizer analyze|expand`: parse options, call the library, print."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from domaintune.cli_common import fail

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()


@app.command()
def analyze(
    tokenizer: list[Path] = typer.Option(
        ..., "--tokenizer", help="Tokenizer or model folder with tokenizer.json (repeatable)."
    ),
    data: list[Path] = typer.Option(..., "--data", help="Text or conversation file (repeatable)."),
    add: int = typer.Option(0, "--add", help="Also measure an expansion of N tokens (0: no)."),
    top: int = typer.Option(15, "--top", help="How many fragmented terms to list."),
    min_freq: int = typer.Option(3, "--min-freq", help="Terms and merges seen fewer times: skip."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Tokens per character/word, bytes per token, byte/unknown shares, fragmented terms."""
    from domaintune.tokenizer.analyze import analyze as run

    try:
        with console.status("tokenizing ..."):
            report = run(tokenizer, data, top=top, add=add, min_freq=min_freq)
    except (OSError, ValueError) as err:
        raise fail(str(err), 1) from None
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for t in report["tokenizers"]:
        console.print(_coverage_table(t))
        console.print(_terms_table(t))
        if "expansion" in t:
            console.print(_expansion_table(t["expansion"]))


def _coverage_table(t: dict) -> Table:
    table = Table(title=f"{t['tokenizer']} ({t['kind']}, {t['vocab']:,} ids)")
    cols = ("file", "lang", "chars", "tokens", "tok/char", "tok/word", "bytes/tok", "byte tok",
            "unk")  # fmt: skip
    for c in cols:
        table.add_column(c, justify="left" if c in ("file", "lang") else "right")
    for f in t["files"]:
        table.add_row(
            f["file"], f["lang"], f"{f['chars']:,}", f"{f['tokens']:,}",
            f"{f['tokens_per_char']:.3f}", f"{f['tokens_per_word']:.3f}",
            f"{f['bytes_per_token']:.2f}", f"{f['byte_token_share']:.1%}", f"{f['unk_share']:.1%}",
        )  # fmt: skip
    return table


def _terms_table(t: dict) -> Table:
    table = Table(title="most fragmented terms (freq x extra tokens)")
    for c in ("term", "freq", "tokens", "extra tokens"):
        table.add_column(c, justify="left" if c == "term" else "right")
    for r in t["fragmented"]:
        table.add_row(r["term"], str(r["freq"]), str(r["tokens"]), f"{r['excess']:,}")
    return table


def _expansion_table(e: dict) -> Table:
    table = Table(title=f"expansion of {e['added']} tokens (chosen on these files' Chinese text)")
    for c in ("file", "lang", "tokens before", "after", "tok/char after", "saved"):
        table.add_column(c, justify="left" if c in ("file", "lang") else "right")
    for f in e["files"]:
        table.add_row(
            f["file"], f["lang"], f"{f['tokens_before']:,}", f"{f['tokens_after']:,}",
            f"{f['tokens_per_char_after']:.3f}", f"{f['saved_share']:.1%}",
        )  # fmt: skip
    return table


@app.command()
def expand(
    model: Path = typer.Option(..., "--model", help="Model (or tokenizer) folder."),
    corpus: list[Path] = typer.Option(..., "--corpus", help="Domain text file (repeatable)."),
    add: int = typer.Option(..., "--add", help="How many tokens to add at most."),
    out: Path = typer.Option(..., "--out", help="Output folder (model + tokenizer)."),
    init: str = typer.Option("mean", "--init", help="New rows: mean | noise | zero."),
    min_freq: int = typer.Option(3, "--min-freq", help="Merge pairs seen fewer times: never."),
    within: str = typer.Option(
        "word", "--within", help="word: new tokens inside jieba words; run: inside CJK runs."
    ),
    max_chars: int | None = typer.Option(None, "--max-chars", help="Longest new token, chars."),
    as_json: bool = typer.Option(False, "--json", help="Print the expansion record as JSON."),
) -> None:
    """Append merges/pieces chosen on the corpus; resize embeddings and LM head."""
    from domaintune.tokenizer.expand import expand_model

    try:
        with console.status("choosing tokens and resizing ..."):
            rec = expand_model(model, corpus, add=add, out=out, init=init, min_freq=min_freq,
                               within=within, max_chars=max_chars)  # fmt: skip
    except (OSError, ValueError) as err:
        raise fail(str(err), 1) from None
    if as_json:
        typer.echo(json.dumps(rec, ensure_ascii=False, indent=2))
        return
    saved = sum(t["saved"] for t in rec["tokens"])
    first = ", ".join(t["text"] for t in rec["tokens"][:12])
    console.print(
        f"added {rec['added']} tokens ({rec['kind']}; ids {rec['first_id']}..) saving {saved:,} "
        f"tokens on the corpus; first: {first}\nwrote {out}"
        + (f" (embeddings {rec['old_rows']} -> {rec['rows']} rows, init {rec['init']})"
           if "rows" in rec else ""),  # fmt: skip
        highlight=False,
    )
