"""`data dedup`, `data select` and `data categories` verbs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from domaintune.cli_common import fail, require_jsonl
from domaintune.data import corpus_cli


def dedup(
    src: str = typer.Argument(..., help="Input documents (file, directory, or a URI on Ray)."),
    out: str = typer.Argument(..., help="One document per cluster: .jsonl, or a folder OUT/."),
    threshold: float = typer.Option(  # = dedup.DEFAULT_THRESHOLD (a test checks)
        0.55, "--threshold", help="Jaccard similarity to merge at."
    ),
    ngram: int = typer.Option(5, "--ngram", help="Shingle size in tokens (CJK chars, words)."),
    num_perm: int = typer.Option(128, "--num-perm", help="MinHash permutations."),
    clusters: Path | None = typer.Option(None, "--clusters", help="Write clusters (.jsonl)."),
    rejects: Path | None = typer.Option(None, "--rejects", help="Write dropped rows (.jsonl)."),
    report: Path | None = typer.Option(None, "--report", help="Write counts as JSON."),
    verify: bool = typer.Option(False, "--verify", help="Check candidates by true Jaccard."),
    num_proc: int = typer.Option(1, "--num-proc", min=1, help="Processes for hashing (pass 1)."),
    engine: str = corpus_cli.ENGINE,
    address: str | None = corpus_cli.ADDRESS,
    num_cpus: int | None = corpus_cli.NUM_CPUS,
    shards: int | None = corpus_cli.SHARDS,
) -> None:
    """Drop exact and near duplicates (MinHash LSH); keep the longest document per cluster."""
    from domaintune.data.corpus_cli import check_engine, input_arg, output_arg, require_documents
    from domaintune.data.dedup import dedup_documents
    from domaintune.data.parallel import open_engine
    from domaintune.records import DataError

    for path, option in ((clusters, "--clusters"), (rejects, "--rejects")):
        require_jsonl(path, option)
    if not 0.0 < threshold < 1.0:
        raise fail(f"--threshold {threshold}: give a value between 0 and 1", 2)
    check_engine(engine, address, num_proc, num_cpus)
    src, out = input_arg(src, engine), output_arg(out, shards)
    require_documents(src, "deduplicate")
    try:
        with open_engine(engine, address=address, num_cpus=num_cpus) as eng:
            result = dedup_documents(
                src, out, threshold=threshold, ngram=ngram, num_perm=num_perm, verify=verify,
                clusters=clusters, rejects=rejects, report=report, num_proc=num_proc, engine=eng,
                shards=shards,
            )  # fmt: skip
    except DataError as err:
        raise fail(str(err), 1) from None
    except ValueError as err:
        raise fail(str(err), 2) from None
    typer.echo(result.counts.summary("documents"))
    typer.echo(
        f"{len(result.clusters)} clusters (LSH {result.bands} bands x {result.rows} rows); "
        f"wrote {result.counts.kept} documents to {out}"
    )


def select(
    src: Path = typer.Argument(..., help="Conversation file (alpaca, sharegpt or openai)."),
    out: Path = typer.Argument(..., help="Output .jsonl with the selected rows, unchanged."),
    n: int = typer.Option(..., "--n", help="How many conversations to select."),
    by: str = typer.Option("cluster", "--by", help="cluster (k-means of prompts) or category."),
    embedder: Path | None = typer.Option(
        None, "--embedder", help="Local sentence-transformers model (default: hashed TF-IDF)."
    ),
    k: int | None = typer.Option(None, "--k", help="Clusters (default sqrt(rows/2), <= n)."),
    seed: int = typer.Option(0, "--seed", help="Seed for k-means++ and category sampling."),
    report: Path | None = typer.Option(None, "--report", help="Write counts as JSON."),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="Write the rows not selected, with their cluster or category."
    ),
) -> None:
    """Select n diverse conversations: even over prompt clusters or task categories."""
    from domaintune.data.select import select_file
    from domaintune.records import DataError

    require_jsonl(out, "OUT")
    try:
        result = select_file(
            src, out, n=n, by=by, k=k, seed=seed, embedder=embedder, report=report,
            rejects=rejects,
        )  # fmt: skip
    except DataError as err:
        raise fail(str(err), 1) from None
    except ValueError as err:
        raise fail(str(err), 2) from None
    groups = result.get("clusters") or result.get("per_category") or []
    typer.echo(f"{result['read']} rows read, {result['kept']} selected, wrote {out}")
    for g in groups:
        typer.echo(f"  {g['group']!s:>14}: {g['selected']:>5} of {g['size']}")
    _echo_gaps(result["category_balance"])


def categories(
    src: Path = typer.Argument(..., help="Conversation file (alpaca, sharegpt or openai)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Task-category balance: count and share per category, missing and thin ones."""
    from domaintune.data.select import category_report, load_prompts
    from domaintune.records import DataError

    try:
        balance = category_report(load_prompts(src).categories)
    except DataError as err:
        raise fail(str(err), 1) from None
    if as_json:
        typer.echo(json.dumps(balance, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{balance['total']} conversations")
    for name, row in balance["categories"].items():
        typer.echo(f"  {name:>14}: {row['count']:>6}  {row['share']:6.1%}")
    _echo_gaps(balance)


def _echo_gaps(balance: dict) -> None:
    if balance["missing"]:
        typer.echo(f"missing: {', '.join(balance['missing'])}; add examples of these tasks")
    if balance["thin"]:
        typer.echo(f"thin (under half an even share): {', '.join(balance['thin'])}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `data` group."""
    app.command()(dedup)
    app.command()(select)
    app.command()(categories)
