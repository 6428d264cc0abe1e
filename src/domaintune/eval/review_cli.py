"""Commands merged into `domaintune eval` (see eval/cli.py): judge, sheet export|import, compare."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import typer

from domaintune.cli_common import fail

app = typer.Typer()
sheet_app = typer.Typer(no_args_is_help=True, help="Blinded human review sheets (CSV for Excel).")
app.add_typer(sheet_app, name="sheet")

GROUP_HELP = "Ability group stored in the result: domain or general."


def _check_group(group: str | None) -> None:
    from domaintune.eval.results import GROUPS

    if group is not None and group not in GROUPS:
        raise fail(f"--group {group!r}: choose one of {', '.join(GROUPS)}", 2)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


# ---------------------------------------------------------------- judge


@app.command("judge")
def judge(
    answers: Path = typer.Option(..., "--answers", help="Answers JSONL or `eval gen --out` JSON."),
    against: Path | None = typer.Option(
        None, "--against", help="Second answers file: pairwise A/B judging instead of 1-10."
    ),
    endpoint: str = typer.Option(..., "--endpoint", help="OpenAI-compatible base URL (…/v1)."),
    judge_model: str = typer.Option(..., "--judge-model", help="Model name at the endpoint."),
    api_key_env: str = typer.Option(
        "OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the API key."
    ),
    name: str | None = typer.Option(None, "--name", help="Model name (default: file stem)."),
    against_name: str | None = typer.Option(None, "--against-name", help="Name for --against."),
    out: Path | None = typer.Option(None, "--out", help="Result JSON (shared eval layout)."),
    cache: Path | None = typer.Option(
        None, "--cache", help="Reply cache JSONL (default: judge-cache.jsonl beside --out)."
    ),
    group: str = typer.Option("domain", "--group", help=GROUP_HELP),
    workers: int = typer.Option(1, "--workers", help="Requests in flight at once."),
    max_retries: int = typer.Option(5, "--max-retries", help="Retries on 429/5xx/network."),
    backoff: float = typer.Option(1.0, "--backoff", help="Seconds before the first retry (x2)."),
    temperature: float = typer.Option(0.0, "--temperature", help="Judge sampling temperature."),
    max_tokens: int = typer.Option(2048, "--max-tokens", help="Longest judge reply, in tokens."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait for one reply."),
) -> None:
    """Grade answers 1-10 against references, or judge two models pairwise in both orders."""
    from domaintune.eval.judge import JudgeCache, JudgeClient, JudgeError, load_answers
    from domaintune.records import DataError

    _check_group(group)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", api_key_env):
        # Not echoed: this is most likely the key itself, passed by mistake.
        raise fail("--api-key-env takes the NAME of an environment variable, not the key", 2)
    key = os.environ.get(api_key_env)
    if not key:
        typer.echo(
            f"warning: ${api_key_env} is not set; sending a dummy key (fine for a local server "
            "without auth; set it, or pass --api-key-env, for a hosted endpoint)",
            err=True,
        )
    try:
        mine = load_answers(answers, name)
        theirs = load_answers(against, against_name) if against is not None else None
        cache_path = cache or (out or answers).parent / "judge-cache.jsonl"
        client = JudgeClient(
            endpoint,
            judge_model,
            key or "EMPTY",
            temperature=temperature,
            max_tokens=max_tokens,
            max_retries=max_retries,
            backoff=backoff,
            timeout=timeout,
        )
        doc = _run_judge(mine, theirs, client, JudgeCache(cache_path), group, workers)
        doc["cache"] = str(cache_path)
        if out is not None:
            from domaintune.io import write_json

            write_json(out, doc)
    except (DataError, JudgeError, OSError) as err:
        raise fail(str(err), 1) from None
    _print_judge(doc, out)


def _run_judge(mine, theirs, client, cache, group: str, workers: int) -> dict[str, Any]:
    from rich.progress import Progress

    from domaintune.eval.judge import grade_pairwise, grade_single, redact_url
    from domaintune.eval.results import result_doc

    total = len(mine.rows) * (1 if theirs is None else 2)
    with Progress(console=_stderr_console(), transient=True) as bar:
        task = bar.add_task(f"judging with {client.judge_model}", total=total)
        kw = {"workers": workers, "progress": lambda n: bar.advance(task, n)}
        if theirs is None:
            graded = grade_single(mine, client, cache, **kw)
        else:
            graded = grade_pairwise(mine, theirs, client, cache, **kw)
    extra = {"scale": "1-10"} if theirs is None else {"against": theirs.model}
    return result_doc(
        "judge",
        mine.model,
        group=group,
        mode="single" if theirs is None else "pairwise",
        **graded,
        **extra,
        judge_model=client.judge_model,
        endpoint=redact_url(client.endpoint),
        settings={**client.params, "max_retries": client.max_retries, "workers": workers},
        usage=dict(client.stats),
    )


def _print_judge(doc: dict[str, Any], out: Path | None) -> None:
    m, u = doc["metrics"], doc["usage"]
    if doc["mode"] == "single":
        score = "n/a" if m["score"] is None else f"{m['score']:.2f}"
        typer.echo(f"{doc['model']}: mean judge score {score} (1-10 scale) over {m['n']} answers")
    else:
        rate = "n/a" if m["win_rate"] is None else f"{m['win_rate']:.1f}%"
        typer.echo(
            f"{doc['model']} vs {doc['against']}: {m['wins']} wins, {m['ties']} ties, "
            f"{m['losses']} losses; win rate {rate}; {m['order_disagreements']} order "
            "disagreements (counted as ties)"
        )
    for tag in ("by_set", "by_dimension"):
        for part, stats in doc[tag].items():
            shown = ", ".join(f"{k} {_fmt(v)}" for k, v in stats.items())
            typer.echo(f"  {part}: {shown}")
    if doc["unparsed"]:
        where = f"listed in {out}" if out else "write --out to see them"
        typer.echo(f"{len(doc['unparsed'])} judge replies could not be parsed ({where})")
    typer.echo(
        f"{u['requests']} requests, {u['cache_hits']} cache hits, {u['retries']} retries; "
        f"tokens: {u['prompt_tokens']} prompt + {u['completion_tokens']} completion"
    )
    if out is not None:
        typer.echo(f"wrote {out}")


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------- sheets


@sheet_app.command("export")
def sheet_export(
    answers: list[Path] = typer.Option(
        ..., "--answers", help="Answers file per model (repeat the option)."
    ),
    out: Path = typer.Option(..., "--out", help="Sheet CSV for reviewers."),
    key: Path = typer.Option(..., "--key", help="Key JSON: which label is which model."),
    max_models: int = typer.Option(4, "--max-models", help="Refuse more models than this."),
    seed: int = typer.Option(0, "--seed", help="Seed of the per-question answer shuffle."),
    reviewers: int | None = typer.Option(
        None, "--reviewers", help="Write one copy per reviewer: OUT.r1.csv, OUT.r2.csv, ..."
    ),
    group: str = typer.Option("domain", "--group", help=GROUP_HELP),
) -> None:
    """Write a blinded, shuffled CSV (UTF-8 with BOM, opens in Excel) and its key."""
    from domaintune.eval.judge import load_answers
    from domaintune.eval.sheet import export_sheet
    from domaintune.records import DataError

    _check_group(group)
    try:
        loaded = [load_answers(p) for p in answers]
        paths = export_sheet(
            loaded, out, key, seed=seed, reviewers=reviewers, max_models=max_models, group=group
        )
    except DataError as err:
        raise fail(str(err), 1) from None
    except ValueError as err:
        raise fail(str(err), 2) from None
    n = len(loaded[0].rows)
    for p in paths:
        typer.echo(f"wrote {p}: {n} questions x {len(loaded)} answers")
    typer.echo(f"wrote {key} (the key: keep it away from reviewers)")


@sheet_app.command("import")
def sheet_import(
    sheets: list[Path] = typer.Argument(..., help="Filled sheets, one per reviewer."),
    key: Path = typer.Option(..., "--key", help="Key JSON written by `sheet export`."),
    out: Path | None = typer.Option(None, "--out", help="Result JSON (shared eval layout)."),
    group: str | None = typer.Option(None, "--group", help=GROUP_HELP + " Default: the key's."),
) -> None:
    """Check the scores (integers 1-5), then report per-model means and reviewer agreement."""
    from domaintune.eval.sheet import import_sheets
    from domaintune.records import DataError

    _check_group(group)
    try:
        doc = import_sheets(sheets, key, group=group)
    except DataError as err:
        raise fail(str(err), 1) from None
    except ValueError as err:
        raise fail(str(err), 2) from None
    if out is not None:
        from domaintune.io import write_json

        write_json(out, doc)
    _print_review(doc)
    if out is not None:
        typer.echo(f"wrote {out}")


def _print_review(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from domaintune.eval.sheet import CRITERIA

    console = Console()
    table = Table(title="reviewer scores (mean, 1-5)", title_justify="left")
    for col in ("model", *CRITERIA, "overall", "n"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for model, s in doc["models"].items():
        table.add_row(model, *(_fmt(s[c]) for c in (*CRITERIA, "overall")), str(s["n"]))
    console.print(table)
    missing = doc["missing"]
    console.print(
        f"{missing['blank_cells']} blank score cells and {missing['missing_rows']} missing rows "
        f"(reported as missing, not scored) across {len(doc['reviewers'])} sheets"
    )
    if doc["agreement"] is None:
        console.print("agreement needs 2 or more reviewers' sheets")
        return
    table = Table(title="agreement between reviewers", title_justify="left")
    for col in ("criterion", "exact agreement %", "Krippendorff alpha (ordinal)", "units"):
        table.add_column(col, justify="left" if col == "criterion" else "right")
    for c, a in doc["agreement"].items():
        table.add_row(c, _fmt(a["exact_agreement"]), _fmt(a["alpha_ordinal"], 3), str(a["units"]))
    console.print(table)


# ---------------------------------------------------------------- compare


@app.command("compare")
def compare_results(
    before: Path = typer.Argument(..., help="Result JSON, or a directory (tree) of them."),
    after: Path = typer.Argument(..., help="Result JSON, or a directory (tree) of them."),
    threshold: float = typer.Option(
        2.0, "--threshold", help="Flag a general-ability drop of more than this many points."
    ),
    ppl_threshold: float = typer.Option(
        5.0, "--ppl-threshold", help="Flag a perplexity-like rise of more than this percent."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
    fail_on_forgetting: bool = typer.Option(
        False, "--fail-on-forgetting", help="Exit with code 3 when a drop is flagged."
    ),
) -> None:
    """Before/after table per set, metric and dimension; flags forgetting of general ability."""
    import json

    from rich.console import Console

    from domaintune.eval.compare import compare, print_comparison
    from domaintune.records import DataError

    try:
        cmp = compare(before, after, threshold=threshold, ppl_threshold=ppl_threshold)
    except DataError as err:
        raise fail(str(err), 1) from None
    if as_json:
        typer.echo(json.dumps(cmp.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_comparison(cmp, Console())
    if fail_on_forgetting and cmp.flagged:
        raise typer.Exit(3)
