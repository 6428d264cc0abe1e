"""`domaintune eval gen` (reference metrics on generated answers) and `eval ppl` (perplexity).

Merged into `domaintune eval` (see eval/cli.py). docs/eval-gen.md defines every figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from domaintune.cli_common import fail, require_jsonl

app = typer.Typer()

GROUP_HELP = "domain or general: stored in the result (eval compare reads general as forgetting)."


def _check_group(group: str) -> None:
    from domaintune.eval.results import GROUPS

    if group not in GROUPS:
        raise fail(f"--group {group!r}: choose one of {', '.join(GROUPS)}", 2)


def _set_names(files: Sequence[Path], option: str) -> None:
    """Each file is a set named by its stem; two files with one name would merge silently."""
    from domaintune.io import file_stem

    seen: dict[str, Path] = {}
    for f in files:
        stem = file_stem(f)
        if stem in seen:
            raise fail(f"{option} {seen[stem]} and {f} are both set {stem!r}; rename one", 2)
        seen[stem] = f


def _load_model(path: Path, dtype: str):
    from domaintune.models import load_for_eval

    if not path.exists():
        raise fail(f"--model {path}: no such directory", 1)
    try:
        return load_for_eval(path, dtype=dtype)
    except (OSError, ValueError) as err:
        raise fail(f"--model {path}: cannot load the model ({err})", 1) from None


# ---------------------------------------------------------------- eval gen


@app.command("gen")
def gen(
    data: list[Path] | None = typer.Option(
        None,
        "--data",
        help="Eval rows: prompt in question|prompt|instruction(+input), reference in "
        "reference|answer|output. Repeat for several sets; each file is a set named by its stem.",
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Model directory or PEFT adapter directory (needed with --data)."
    ),
    predictions: list[Path] | None = typer.Option(
        None,
        "--predictions",
        help="Score existing predictions instead of generating: rows with prediction and "
        "reference (optional id, question, dimension, set). Repeatable.",
    ),
    metrics: str = typer.Option(
        "em,f1,rouge_l,bleu",
        "--metrics",
        help="Comma list of em, f1, rouge_l (both rouge_l_char and rouge_l_word), "
        "rouge_l_char, rouge_l_word, bleu.",
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the result JSON here."),
    predictions_out: Path | None = typer.Option(
        None, "--predictions-out", help="Also write the generations alone to this .jsonl."
    ),
    group: str = typer.Option("domain", "--group", help=GROUP_HELP),
    template: str | None = typer.Option(
        None, "--template", help="Registry chat template (default: the tokenizer's own)."
    ),
    batch_size: int = typer.Option(8, "--batch-size", help="Prompts generated together."),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="Answer length limit."),
    temperature: float = typer.Option(
        0.0, "--temperature", help="0: greedy (the default); > 0: sample at this temperature."
    ),
    top_p: float = typer.Option(1.0, "--top-p", help="Nucleus sampling mass (with sampling)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (matters only when sampling)."),
    dtype: str = typer.Option("float32", "--dtype", help="float32, bfloat16 or float16."),
    rouge_stemmer: bool = typer.Option(
        True,
        "--rouge-stemmer/--no-rouge-stemmer",
        help="Porter-stem English words for rouge_l_word (rouge-score's use_stemmer).",
    ),
) -> None:
    """Generate answers (or read predictions) and score them: EM, F1, ROUGE-L, BLEU."""
    from domaintune.eval.metrics import parse_metrics

    _check_group(group)
    try:
        chosen = parse_metrics(metrics)
    except ValueError as err:
        raise fail(f"--metrics: {err}", 2) from None
    if bool(data) == bool(predictions):
        raise fail("give --data FILE (with --model) or --predictions FILE, not both", 2)
    if data and model is None:
        raise fail("--data needs --model DIR (or score saved answers with --predictions)", 2)
    if predictions and model is not None:
        raise fail("--predictions scores saved answers: drop --model", 2)
    require_jsonl(predictions_out, "--predictions-out")
    _check_template_name(template)
    if not 0.0 <= top_p <= 1.0 or temperature < 0 or batch_size < 1 or max_new_tokens < 1:
        raise fail(
            "need --temperature >= 0, 0 <= --top-p <= 1, --batch-size and --max-new-tokens >= 1", 2
        )
    from domaintune.eval import api
    from domaintune.records import DataError

    _set_names(data or predictions or [], "--data" if data else "--predictions")
    if model is not None and not model.exists():
        raise fail(f"--model {model}: no such directory", 1)
    try:
        if model is not None:
            result = api.gen(
                model, data, metrics=chosen, template=template, group=group,
                batch_size=batch_size, max_new_tokens=max_new_tokens, temperature=temperature,
                top_p=top_p, seed=seed, dtype=dtype, rouge_stemmer=rouge_stemmer,
            )  # fmt: skip
        else:
            result = api.score_predictions(
                predictions, metrics=chosen, group=group, rouge_stemmer=rouge_stemmer
            )
    except DataError as err:
        raise fail(str(err), 1) from None
    except (OSError, ValueError) as err:
        raise fail(f"--model {model}: {err}", 1) from None
    if predictions_out is not None:
        from domaintune.io import write_jsonl

        write_jsonl(predictions_out, (_prediction_row(r) for r in result["items"]))
    if out is not None:
        from domaintune.io import write_json

        write_json(out, result)
    _print_gen(result, chosen)


def _prediction_row(row: dict[str, Any]) -> dict[str, Any]:
    """A scored result row as a `--predictions-out` row (readable by `read_predictions`)."""
    return {k: row[k] for k in ("id", "set", "question", "reference", "prediction", "dimension")}


def _check_template_name(template: str | None) -> None:
    from domaintune.templates import list_templates

    if template is not None and template not in list_templates():
        raise fail(f"--template {template!r}: choose one of {', '.join(list_templates())}", 2)


def _print_gen(result: dict[str, Any], metrics: Sequence[str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"eval gen: {result['model']} ({result['group']})")
    if "official" in result["metrics"]:  # GAOKAO-Bench, CMB, LongBench rows: their own rule
        metrics = [*metrics, "official"]
    table.add_column("set")
    table.add_column("n", justify="right")
    for m in metrics:
        table.add_column(m, justify="right")
    rows = [(Text(name), row) for name, row in result["by_set"].items()]
    rows += [(Text(name, style="dim"), row) for name, row in result["by_dimension"].items()]
    rows.append(
        (Text("overall", style="bold"), {**result["metrics"], "n": result["counts"]["rows"]})
    )
    for name, row in rows:
        table.add_row(name, str(row["n"]), *(f"{row[m]:.2f}" if m in row else "-" for m in metrics))
    console = Console()
    console.print(table)
    c = result["counts"]
    console.print(
        f"{c['rows']} rows scored ({c['chinese_rows']} Chinese, {c['english_rows']} English); "
        f"{c['empty_predictions']} empty predictions, {c['empty_references']} empty references "
        "(scored 0)",
        highlight=False,
    )
    d = result.get("diversity")
    if d:  # reference-free: repetition/length drift after DPO or a new decoding setting
        console.print(
            f"answers: distinct-1 {d['distinct_1']:.3f}, distinct-2 {d['distinct_2']:.3f}, "
            f"repetition (seq-rep-4) {d['repetition']:.3f}, mean length {d['mean_tokens']:.1f} "
            "tokens",
            highlight=False,
        )


# ---------------------------------------------------------------- eval ppl


@app.command("ppl")
def ppl(
    model: Path = typer.Option(..., "--model", help="Model directory or PEFT adapter directory."),
    data: list[Path] = typer.Option(
        ..., "--data", help="Held-out documents (text rows); repeat for several sets."
    ),
    max_len: int = typer.Option(512, "--max-len", help="Window length in tokens."),
    stride: int | None = typer.Option(
        None, "--stride", help="Tokens between window starts (default: max_len // 2)."
    ),
    batch_size: int = typer.Option(8, "--batch-size", help="Windows scored together."),
    out: Path | None = typer.Option(None, "--out", help="Write the result JSON here."),
    group: str = typer.Option("domain", "--group", help=GROUP_HELP),
    dtype: str = typer.Option("float32", "--dtype", help="float32, bfloat16 or float16."),
) -> None:
    """Sliding-window perplexity per file and token-weighted over all files."""
    from domaintune.eval.perplexity import perplexity, ppl_result
    from domaintune.io import file_stem, read_documents
    from domaintune.records import DataError

    _check_group(group)
    stride = max(1, max_len // 2) if stride is None else stride
    if max_len < 2 or not 1 <= stride <= max_len or batch_size < 1:
        raise fail("need --max-len >= 2, 1 <= --stride <= --max-len and --batch-size >= 1", 2)
    _set_names(data, "--data")
    try:
        sets = {file_stem(f): (f, list(read_documents(f))) for f in data}
    except DataError as err:
        raise fail(str(err), 1) from None
    for f, docs in sets.values():
        if not docs:
            raise fail(f"{f}: no documents; the file is empty", 1)
    lm, tokenizer = _load_model(model, dtype)
    by_set: dict[str, dict[str, Any]] = {}
    for name, (f, docs) in sets.items():
        try:
            figures = perplexity(
                lm,
                tokenizer,
                docs,
                max_len=max_len,
                stride=stride,
                batch_size=batch_size,
                show_progress=True,
            )
        except ValueError as err:
            raise fail(f"{f}: {err}", 1) from None
        by_set[name] = {**figures, "n": len(docs)}
    result = ppl_result(
        str(model),
        by_set,
        group=group,
        settings={"max_len": max_len, "stride": stride, "batch_size": batch_size, "dtype": dtype},
        counts={"documents": sum(s["n"] for s in by_set.values())},
    )
    if out is not None:
        from domaintune.io import write_json

        write_json(out, result)
    _print_ppl(result)


def _print_ppl(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"eval ppl: {result['model']} (lower is better)")
    for col in ("set", "documents", "tokens", "nll", "perplexity"):
        table.add_column(col, justify="left" if col == "set" else "right")
    rows = [(Text(name), row) for name, row in result["by_set"].items()]
    overall = {**result["metrics"], "n": result["counts"]["documents"]}
    rows.append((Text("overall", style="bold"), overall))
    for name, row in rows:
        table.add_row(
            name, str(row["n"]), str(row["tokens"]), f"{row['nll']:.4f}", f"{row['perplexity']:.3f}"
        )
    Console().print(table)
