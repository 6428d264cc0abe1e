"""`domaintune data synth KIND ...`: argument parsing and printing only (logic in api.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from domaintune.cli_common import fail, require_jsonl

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Make instruction data: from a teacher model (OpenAI-compatible), datasets or pages.",
)

# Options shared by the teacher kinds (typer reads these as metadata; sharing them is safe).
BASE_URL = typer.Option(None, "--base-url", help="Teacher endpoint, e.g. http://127.0.0.1:8000/v1")
MODEL = typer.Option(None, "--model", help="Teacher model name at the endpoint.")
KEY_ENV = typer.Option(
    "OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the key (never stored)."
)
CONCURRENCY = typer.Option(32, "--concurrency", min=1, help="Requests in flight at once.")
TEMPERATURE = typer.Option(0.7, "--temperature", help="Teacher sampling temperature.")
MAX_TOKENS = typer.Option(1024, "--max-tokens", min=1, help="Longest teacher reply, in tokens.")
RETRIES = typer.Option(10, "--max-retries", min=0, help="Retries per request (429, 5xx, ...).")
TIMEOUT = typer.Option(120.0, "--timeout", help="Seconds before a request times out.")
PRICE_IN = typer.Option(0.0, "--price-in", help="Cost per million prompt tokens.")
PRICE_OUT = typer.Option(0.0, "--price-out", help="Cost per million completion tokens.")
CACHE = typer.Option(
    None, "--cache", help="Request cache (sqlite; default OUT's stem + .teacher-cache.sqlite)."
)
REPORT = typer.Option(None, "--report", help="Write counts (requested, kept, rejected) as JSON.")
REJECTS = typer.Option(None, "--rejects", help="Write rejected rows with their reason (.jsonl).")
SOURCE = typer.Option(None, "--source", help="meta.source of the rows (default: input stem).")
NOVELTY = typer.Option(
    0.7, "--novelty", help="Reject a prompt with ROUGE-L above this against a kept one (0: off)."
)
AGAINST = typer.Option(
    None, "--against", help="Existing data (conversations or eval items): novelty pool; repeat."
)
PROGRESS = typer.Option(True, "--progress/--no-progress", help="Progress bar on a terminal.")


def _teacher(kw: dict[str, Any], out: Path) -> Any:
    from domaintune.synth.api import make_client
    from domaintune.synth.client import default_cache_path

    if not kw["base_url"] or not kw["model"]:
        raise fail("give the teacher's --base-url and --model", 2)
    return make_client(
        kw["base_url"], kw["model"], cache=kw["cache"] or default_cache_path(out),
        api_key_env=kw["api_key_env"], concurrency=kw["concurrency"],
        temperature=kw["temperature"], max_tokens=kw["max_tokens"],
        max_retries=kw["max_retries"], timeout=kw["timeout"],
        price_in=kw["price_in"], price_out=kw["price_out"],
    )  # fmt: skip


def _output(kw: dict[str, Any], out: Path) -> Any:
    from domaintune.synth.api import Output

    require_jsonl(out, "OUT")
    require_jsonl(kw["rejects"], "--rejects")
    return Output(out, report=kw["report"], rejects=kw["rejects"], source=kw["source"],
                  novelty=kw["novelty"] or None, against=kw["against"] or (),
                  progress=kw["progress"])  # fmt: skip


def _run(fn: Callable[..., dict[str, Any]], out: Path, *args: Any) -> None:
    from domaintune.records import DataError
    from domaintune.synth.client import TeacherError

    for name in ("httpx", "httpx2"):  # one INFO line per request otherwise (URLs, no keys)
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        report = fn(*args)
    except (DataError, TeacherError) as err:
        raise fail(str(err), 1) from None
    except ValueError as err:
        raise fail(str(err), 2) from None
    reasons = ", ".join(f"{k}: {v}" for k, v in report["rejected_by_reason"].items())
    line = f"{report['read']} rows read, {report['kept']} kept, {report['rejected']} rejected"
    typer.echo(line + (f" ({reasons})" if reasons else ""))
    if "teacher" in report:
        t = report["teacher"]
        typer.echo(
            f"teacher: {t['requested']} requested, {report['received']} received "
            f"({t['cache_hits']} from cache), {t['failed']} failed, retries {t['retries']}, "
            f"{t['prompt_tokens']}+{t['completion_tokens']} tokens, cost {t['cost']}"
        )
    typer.echo(f"wrote {report['kept']} rows to {out}")


@app.command()
def qa(
    docs: Path = typer.Argument(..., help="Documents (.jsonl with id and text, or .txt)."),
    out: Path = typer.Argument(..., help="Output .jsonl (conversations, or eval items)."),
    per_chunk: int = typer.Option(3, "--per-chunk", min=1, help="Questions asked per chunk."),
    chunk_chars: int = typer.Option(1500, "--chunk-chars", min=200, help="Chunk size (chars)."),
    as_: str = typer.Option("sft", "--as", help="sft (conversations) or eval (open-book set)."),
    base_url: str = BASE_URL, model: str = MODEL, api_key_env: str = KEY_ENV,
    concurrency: int = CONCURRENCY, temperature: float = TEMPERATURE, max_tokens: int = MAX_TOKENS,
    max_retries: int = RETRIES, timeout: float = TIMEOUT, price_in: float = PRICE_IN,
    price_out: float = PRICE_OUT, cache: Path = CACHE, report: Path = REPORT,
    rejects: Path = REJECTS, source: str = SOURCE, novelty: float = NOVELTY,
    against: list[Path] = AGAINST, progress: bool = PROGRESS,
) -> None:  # fmt: skip
    """Grounded question-answer pairs from document chunks (quote and span kept)."""
    from domaintune.synth.api import synth_qa

    if as_ not in ("sft", "eval"):
        raise fail(f"--as {as_!r}: choose sft or eval", 2)
    kw = locals()
    _run(lambda: synth_qa(docs, _output(kw, out), _teacher(kw, out), per_chunk=per_chunk,
                          chunk_chars=chunk_chars, as_eval=as_ == "eval"), out)  # fmt: skip


@app.command("self-instruct")
def self_instruct(
    seeds: Path = typer.Argument(..., help="Seed tasks (any conversation format)."),
    out: Path = typer.Argument(..., help="Output .jsonl conversations."),
    num: int = typer.Option(100, "--num", min=1, help="New tasks to ask for."),
    per_request: int = typer.Option(5, "--per-request", min=1, help="Tasks per teacher request."),
    lang: str = typer.Option("auto", "--lang", help="zh, en, or auto (the examples' language)."),
    seed: int = typer.Option(0, "--seed", help="Seed for picking the examples shown."),
    rounds: int = typer.Option(1, "--rounds", min=1, help="Rounds; later ones also show kept "
                               "generated tasks (Wang et al.'s bootstrapping)."),
    base_url: str = BASE_URL, model: str = MODEL, api_key_env: str = KEY_ENV,
    concurrency: int = CONCURRENCY, temperature: float = TEMPERATURE, max_tokens: int = MAX_TOKENS,
    max_retries: int = RETRIES, timeout: float = TIMEOUT, price_in: float = PRICE_IN,
    price_out: float = PRICE_OUT, cache: Path = CACHE, report: Path = REPORT,
    rejects: Path = REJECTS, source: str = SOURCE, novelty: float = NOVELTY,
    against: list[Path] = AGAINST, progress: bool = PROGRESS,
) -> None:  # fmt: skip
    """New tasks from seed tasks (Wang et al. 2022), categories taken in turn."""
    from domaintune.synth.api import synth_self_instruct

    if lang not in ("auto", "zh", "en"):
        raise fail(f"--lang {lang!r}: choose auto, zh or en", 2)
    kw = locals()
    _run(lambda: synth_self_instruct(seeds, _output(kw, out), _teacher(kw, out), num=num,
                                     per_request=per_request, lang=lang, rounds=rounds,
                                     seed=seed),
         out)  # fmt: skip


@app.command()
def paraphrase(
    data: Path = typer.Argument(..., help="Conversations whose first user turn is reworded."),
    out: Path = typer.Argument(..., help="Output .jsonl conversations."),
    per_row: int = typer.Option(3, "--per-row", min=1, help="Rewordings per conversation."),
    base_url: str = BASE_URL, model: str = MODEL, api_key_env: str = KEY_ENV,
    concurrency: int = CONCURRENCY, temperature: float = TEMPERATURE, max_tokens: int = MAX_TOKENS,
    max_retries: int = RETRIES, timeout: float = TIMEOUT, price_in: float = PRICE_IN,
    price_out: float = PRICE_OUT, cache: Path = CACHE, report: Path = REPORT,
    rejects: Path = REJECTS, source: str = SOURCE, novelty: float = NOVELTY,
    against: list[Path] = AGAINST, progress: bool = PROGRESS,
) -> None:  # fmt: skip
    """The same tasks in new wordings and styles."""
    from domaintune.synth.api import synth_paraphrase

    kw = locals()
    _run(lambda: synth_paraphrase(data, _output(kw, out), _teacher(kw, out), per_row=per_row), out)


def _translate(back: bool) -> Callable[..., None]:
    def command(
        data: Path = typer.Argument(..., help="Conversations to translate."),
        out: Path = typer.Argument(..., help="Output .jsonl conversations."),
        to: str = typer.Option("auto", "--to", help="zh, en, or auto (the other language)."),
        base_url: str = BASE_URL, model: str = MODEL, api_key_env: str = KEY_ENV,
        concurrency: int = CONCURRENCY, temperature: float = TEMPERATURE,
        max_tokens: int = MAX_TOKENS, max_retries: int = RETRIES, timeout: float = TIMEOUT,
        price_in: float = PRICE_IN, price_out: float = PRICE_OUT, cache: Path = CACHE,
        report: Path = REPORT, rejects: Path = REJECTS, source: str = SOURCE,
        novelty: float = NOVELTY, against: list[Path] = AGAINST, progress: bool = PROGRESS,
    ) -> None:  # fmt: skip
        from domaintune.synth.api import synth_translate

        if to not in ("auto", "zh", "en"):
            raise fail(f"--to {to!r}: choose auto, zh or en", 2)
        kw = locals()
        _run(lambda: synth_translate(data, _output(kw, out), _teacher(kw, out), to=to,
                                     back=back), out)  # fmt: skip

    command.__doc__ = (
        "Translate and translate back (zh <-> en): new wordings linked to their source."
        if back
        else "Translate conversations zh <-> en, each linked to its source by meta pair_of."
    )
    return command


app.command("translate")(_translate(back=False))
app.command("back-translate")(_translate(back=True))


@app.command()
def adversarial(
    results: list[Path] = typer.Argument(..., help="Eval result JSON files (`eval ... --out`)."),
    out: Path = typer.Option(..., "--out", help="Output .jsonl conversations."),
    per_spot: int = typer.Option(20, "--per-spot", min=1, help="New prompts per weak spot."),
    per_request: int = typer.Option(5, "--per-request", min=1, help="Prompts per request."),
    top: int = typer.Option(3, "--top", min=1, help="Weak spots per result (worst first)."),
    metric: str = typer.Option(None, "--metric", help="Metric to rank by (default: first)."),
    questions: list[Path] = typer.Option(
        None, "--questions", help="The eval set(s): question texts for results that keep ids only."
    ),
    lang: str = typer.Option("auto", "--lang", help="zh, en, or auto (the failed questions')."),
    base_url: str = BASE_URL, model: str = MODEL, api_key_env: str = KEY_ENV,
    concurrency: int = CONCURRENCY, temperature: float = TEMPERATURE, max_tokens: int = MAX_TOKENS,
    max_retries: int = RETRIES, timeout: float = TIMEOUT, price_in: float = PRICE_IN,
    price_out: float = PRICE_OUT, cache: Path = CACHE, report: Path = REPORT,
    rejects: Path = REJECTS, source: str = SOURCE, novelty: float = NOVELTY,
    against: list[Path] = AGAINST, progress: bool = PROGRESS,
) -> None:  # fmt: skip
    """Harder prompts aimed at the sets and dimensions where an eval shows the model weak."""
    from domaintune.synth.api import synth_adversarial

    kw = locals()
    _run(lambda: synth_adversarial(results, _output(kw, out), _teacher(kw, out),
                                   per_spot=per_spot, per_request=per_request, top=top,
                                   metric=metric, questions=questions or (), lang=lang),
         out)  # fmt: skip


@app.command()
def convert(
    data: Path = typer.Argument(..., help="Labelled dataset (.jsonl, .json or .csv)."),
    out: Path = typer.Argument(..., help="Output .jsonl conversations."),
    task: str = typer.Option(..., "--task", help="qa, classification, summarisation, "
                             "translation or ner."),
    col: list[str] = typer.Option(
        None, "--col", help="FIELD=COLUMN where your column names differ (e.g. text=review)."
    ),
    labels: str = typer.Option(None, "--labels", help="Comma-separated labels (classification)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the template choice."),
    report: Path = REPORT, rejects: Path = REJECTS, source: str = SOURCE,
    novelty: float = typer.Option(0.0, "--novelty", help="ROUGE-L novelty cut (0: off)."),
    against: list[Path] = AGAINST,
) -> None:  # fmt: skip
    """A labelled NLP dataset as instructions, with several templates per task (no teacher)."""
    from domaintune.synth.api import synth_convert

    columns = {}
    for item in col or []:
        field, sep, column = item.partition("=")
        if not sep or not column:
            raise fail(f"--col {item!r}: write FIELD=COLUMN, e.g. --col text=review", 2)
        columns[field] = column
    kw = {**locals(), "progress": False}
    label_list = [x.strip() for x in labels.split(",") if x.strip()] if labels else None
    _run(lambda: synth_convert(data, _output(kw, out), task=task, columns=columns,
                               labels=label_list, seed=seed), out)  # fmt: skip


@app.command()
def mine(
    pages: Path = typer.Argument(..., help="An FAQ/forum .html page or a folder of them."),
    out: Path = typer.Argument(..., help="Output .jsonl conversations."),
    base_url: str = typer.Option(None, "--base-url", help="Optional teacher: reads the pages "
                                 "whose HTML structure gives no pair."),
    model: str = MODEL, api_key_env: str = KEY_ENV,
    concurrency: int = CONCURRENCY, temperature: float = TEMPERATURE, max_tokens: int = MAX_TOKENS,
    max_retries: int = RETRIES, timeout: float = TIMEOUT, price_in: float = PRICE_IN,
    price_out: float = PRICE_OUT, cache: Path = CACHE, report: Path = REPORT,
    rejects: Path = REJECTS, source: str = SOURCE, novelty: float = NOVELTY,
    against: list[Path] = AGAINST, progress: bool = PROGRESS,
) -> None:  # fmt: skip
    """Question-answer pairs from FAQ and forum pages by their HTML structure (teacher optional)."""
    from domaintune.synth.api import synth_mine

    kw = locals()
    _run(lambda: synth_mine(pages, _output(kw, out),
                            _teacher(kw, out) if base_url or model else None), out)  # fmt: skip


def register(data_app: typer.Typer) -> None:
    """Mount under `domaintune data synth`."""
    data_app.add_typer(app, name="synth")


if __name__ == "__main__":  # `python -m domaintune.synth.cli KIND ...` (same as `data synth`)
    app()
