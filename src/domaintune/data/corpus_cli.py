"""`data clean`, `data stats`, `data decontaminate` verbs."""

from __future__ import annotations

from pathlib import Path

import typer

from domaintune.cli_common import fail, require_jsonl

# --engine/--address/--num-cpus, the same on clean, dedup, decontaminate and stats
ENGINE = typer.Option("local", "--engine", help="local (processes) or ray (Ray Data).")
ADDRESS = typer.Option(
    None, "--address", help="Ray cluster (--engine ray): auto, HOST:PORT or ray://HOST:PORT."
)
NUM_CPUS = typer.Option(None, "--num-cpus", min=1, help="Ray workers (default: every CPU).")


SHARDS = typer.Option(
    None, "--shards", min=1, help="Write OUT as a folder of N part files + _SUCCESS (or OUT/)."
)


def input_arg(src: str, engine: str) -> str | Path:
    """A local path, or a URI (s3://, gs://, hdfs://, file://) that Ray's workers read."""
    from domaintune.data.ray_read import is_uri

    if not is_uri(src):
        return Path(src)
    if engine != "ray":
        raise fail(f"{src}: a URI input is read by Ray's workers: add --engine ray", 2)
    return src


def output_arg(out: str, shards: int | None) -> str | Path:
    """OUT: a .jsonl file, or a folder of part files (`--shards N`, a trailing `/`)."""
    from domaintune.data.ray_shards import is_sharded

    if is_sharded(out, shards):
        return out  # a str keeps the trailing "/" that marks a folder
    require_jsonl(Path(out), "OUT")
    return Path(out)


def check_engine(engine: str, address: str | None, num_proc: int, num_cpus: int | None) -> None:
    """Exit 2 on a bad engine choice, 1 when Ray is asked for but not installed."""
    from domaintune.data.parallel import ENGINES

    if engine not in ENGINES:
        raise fail(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}", 2)
    if engine == "local" and (address is not None or num_cpus is not None):
        option = "--address" if address is not None else "--num-cpus"
        raise fail(f"{option} is for the Ray engine: add --engine ray (or use --num-proc)", 2)
    if engine == "ray":
        if num_proc > 1:
            raise fail("--num-proc is the local engine's: give --num-cpus with --engine ray", 2)
        from domaintune.data.ray_engine import require_ray

        try:
            require_ray()
        except ImportError as err:
            raise fail(str(err), 1) from None


def clean(
    src: str = typer.Argument(
        ..., help="Raw documents: .jsonl/.json/.csv/.parquet/.txt, a dir, or a URI (Ray)."
    ),
    out: str = typer.Argument(..., help="Cleaned documents: .jsonl, or a folder OUT/ of parts."),
    lang: str = typer.Option("auto", "--lang", help="auto (zh and en), zh or en: languages kept."),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="Write rejected rows with the filter and measured value here."
    ),
    report: Path | None = typer.Option(None, "--report", help="JSON report: counts by reason."),
    redact_pii: bool = typer.Option(
        False, "--redact-pii", help="Replace e-mails, phones, ID numbers by <EMAIL> ... tags."
    ),
    num_proc: int = typer.Option(1, "--num-proc", min=1, help="Worker processes."),
    engine: str = ENGINE,
    address: str | None = ADDRESS,
    num_cpus: int | None = NUM_CPUS,
    shards: int | None = SHARDS,
) -> None:
    """HTML to text, unicode repair, boilerplate removal, quality and language filters."""
    from domaintune.data import api
    from domaintune.records import DataError

    if lang not in api.LANGS:
        raise fail(f"--lang {lang!r}: choose one of {', '.join(api.LANGS)}", 2)
    check_engine(engine, address, num_proc, num_cpus)
    src, out = input_arg(src, engine), output_arg(out, shards)
    require_documents(src, "clean")
    try:
        result = api.clean(
            src, out, lang=lang, redact_pii=redact_pii, rejects=rejects, report=report,
            num_proc=num_proc, engine=engine, address=address, num_cpus=num_cpus, shards=shards,
        )  # fmt: skip
    except DataError as err:
        raise fail(f"{err}; nothing written", 1) from None
    typer.echo(result.counts.summary("documents"))
    removed, pii = result.details["lines_removed_by_rule"], result.details["pii_redacted"]
    if removed:
        typer.echo(
            "boilerplate lines removed: " + ", ".join(f"{k}: {v}" for k, v in removed.items())
        )
    if pii:
        typer.echo("PII redacted: " + ", ".join(f"{k}: {v}" for k, v in pii.items()))
    typer.echo(f"wrote {result.kept} documents to {out}")


def require_documents(src: str | Path, verb: str) -> None:
    """Exit 1 on an input without documents (as `data validate` does), before writing anything.
    A URI is not opened here: Ray's workers read it (and count what they read)."""
    from domaintune.io import read_documents
    from domaintune.records import DataError

    if isinstance(src, str):
        return

    try:
        empty = next(iter(read_documents(src)), None) is None
    except DataError as err:
        raise fail(f"{err}; nothing written", 1) from None
    if empty:
        raise fail(f"{src}: no documents (it is empty or blank); nothing to {verb}", 1)


def decontaminate(
    src: str = typer.Argument(..., help="Training rows: documents or conversations (or a URI)."),
    out: str = typer.Argument(..., help="Rows without overlap: .jsonl, or a folder OUT/ of parts."),
    against: list[Path] = typer.Option(
        ..., "--against", help="Evaluation file(s): questions with choices, documents or chats."
    ),
    ngram: int = typer.Option(13, "--ngram", min=1, help="Word n-gram (GPT-3's 13)."),
    char_ngram: int = typer.Option(25, "--char-ngram", min=1, help="Chinese character n-gram."),
    rejects: Path | None = typer.Option(None, "--rejects", help="Write removed rows here."),
    report: Path | None = typer.Option(None, "--report", help="JSON report with every hit."),
    num_proc: int = typer.Option(1, "--num-proc", min=1, help="Worker processes."),
    engine: str = ENGINE,
    address: str | None = ADDRESS,
    num_cpus: int | None = NUM_CPUS,
    shards: int | None = SHARDS,
) -> None:
    """Remove training rows sharing a long n-gram with any evaluation item; list each hit."""
    from domaintune.data.decontaminate import build_index, decontaminate_file
    from domaintune.data.parallel import open_engine
    from domaintune.records import DataError

    check_engine(engine, address, num_proc, num_cpus)
    src, out = input_arg(src, engine), output_arg(out, shards)
    try:
        index = build_index(against, word_n=ngram, char_n=char_ngram)
        with open_engine(engine, address=address, num_cpus=num_cpus) as eng:
            counts, hits = decontaminate_file(
                src, out, index, rejects=rejects, report=report, num_proc=num_proc, engine=eng,
                shards=shards,
            )  # fmt: skip
    except DataError as err:
        raise fail(f"{err}; nothing written", 1) from None
    for hit in hits:
        typer.echo(f'{hit["id"]}: overlaps {hit["eval_item"]}: "{hit["ngram"]}"')
    if index.too_short:
        typer.echo(
            f"warning: {len(index.too_short)} eval items are shorter than the n-gram and cannot "
            "be checked; lower --ngram/--char-ngram to cover them",
            err=True,
        )
    typer.echo(counts.summary("rows"))
    typer.echo(f"wrote {counts.kept} rows to {out}")


def stats(
    src: str = typer.Argument(..., help="Documents: a data file, a directory or a URI (Ray)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    plot: Path | None = typer.Option(None, "--plot", help="Write a length histogram (.png)."),
    tokenizer: Path | None = typer.Option(
        None, "--tokenizer", help="Tokenizer directory: lengths in tokens, long-document shares."
    ),
    num_proc: int = typer.Option(1, "--num-proc", min=1, help="Worker processes."),
    engine: str = ENGINE,
    address: str | None = ADDRESS,
    num_cpus: int | None = NUM_CPUS,
) -> None:
    """Documents, characters, tokens, length percentiles, languages, sources, duplicates."""
    import json

    from domaintune.data.accounting import progress
    from domaintune.data.parallel import open_engine
    from domaintune.data.stats import corpus_stats, plot_lengths
    from domaintune.io import read_documents
    from domaintune.records import DataError

    check_engine(engine, address, num_proc, num_cpus)
    src = input_arg(src, engine)
    tok = None
    if tokenizer is not None:
        from domaintune.data.validate import load_tokenizer

        try:
            tok = load_tokenizer(tokenizer)
        except (OSError, ValueError) as err:
            raise fail(f"--tokenizer {tokenizer}: cannot load a tokenizer ({err})", 1) from None
    with open_engine(engine, address=address, num_cpus=num_cpus) as eng:
        try:
            # on Ray the workers read a JSONL/Parquet input (ray_read): give them the path
            docs = src if eng is not None else progress(read_documents(src), "reading")
            figures = corpus_stats(docs, tokenizer=tok, num_proc=num_proc, engine=eng)
        except DataError as err:
            raise fail(str(err), 1) from None
        if figures["documents"] and (isinstance(src, str) or src.is_file()):
            figures.update(_near_duplicates(src, eng))
        figures["notes"] = [n for n in figures["notes"] if not n.startswith("near-duplicates")]
    if plot is not None and figures["documents"]:
        plot_lengths(figures, plot)
    if as_json:
        typer.echo(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    for key, value in figures.items():
        if key == "length":
            value = {k: v for k, v in value.items() if k != "histogram"}
        typer.echo(f"{key}: {value}")


def _near_duplicates(src: Path, engine=None) -> dict:
    """Near-duplicate rate from a `data dedup` pass at its defaults (output discarded)."""
    import tempfile

    from domaintune.data.dedup import DEFAULT_THRESHOLD, dedup_documents

    with tempfile.TemporaryDirectory() as tmp:
        result = dedup_documents(src, Path(tmp) / "kept.jsonl", engine=engine)
    counts = result.counts
    near = counts.rejected_by_reason.get("near_duplicate", 0)
    return {
        "near_duplicates": near,
        "near_duplicate_rate": round(near / counts.read, 4),
        "near_duplicate_threshold": DEFAULT_THRESHOLD,
    }


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `data` group."""
    app.command()(clean)
    app.command()(stats)
    app.command()(decontaminate)
