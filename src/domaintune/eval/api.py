"""The evaluation verbs as Python functions: `dt.eval.mcq(...)`, `dt.eval.gen(...)`.

Each returns the shared result layout (`eval/results.py`: kind, model, metrics, by_set,
by_dimension, items, counts, settings) that `--out` writes and `eval compare` reads. `model` is a
model or adapter folder, or an already loaded `(model, tokenizer)` pair.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from domaintune.io import PathLike

ModelArg = PathLike | tuple[Any, Any]
DEFAULT_GEN_METRICS = ("em", "f1", "rouge_l", "bleu")


def load_model(model: ModelArg, *, dtype: str = "float32", device: str = "auto"):
    """(model, tokenizer) from a folder (safetensors only), or the pair as given."""
    if isinstance(model, tuple):
        return model
    import torch

    from domaintune.models import load_for_eval

    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"dtype {dtype!r}: choose float32, bfloat16 or float16")
    if not Path(model).exists():
        raise FileNotFoundError(f"{model}: no such model folder")
    lm, tokenizer = load_for_eval(model, dtype=dtype)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return lm.to(device), tokenizer


def _label(model: ModelArg) -> str:
    return "model" if isinstance(model, tuple) else str(model)


def _paths(data: PathLike | Sequence[PathLike]) -> list[Path]:
    from domaintune.resources import resolve

    items = [data] if isinstance(data, str | Path) else list(data)
    return [resolve(str(p)) for p in items]  # builtin:mcq_domain.jsonl names a bundled file


def mcq(
    model: ModelArg,
    data: PathLike | Sequence[PathLike],
    *,
    fmt: str | None = None,
    prompt: str = "official",
    shots: int = 0,
    dev: Sequence[PathLike] = (),
    scoring: str = "both",
    group: str = "domain",
    batch_size: int = 8,
    max_len: int | None = None,
    dtype: str = "float32",
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score a model on multiple-choice exams (C-Eval, CMMLU, MMLU or jsonl files or folders).

    acc_letter: the likeliest answer letter after the prompt; acc_option / acc_option_norm: the
    likeliest option text (lm-eval's multiple-choice acc / acc_norm), see docs/eval-mcq.md.
    """
    from domaintune.eval import mcq as exam

    for name, value, allowed in (
        ("fmt", fmt, exam.FORMATS),
        ("prompt", prompt, (*exam.PROMPTS, *exam.STYLES)),
        ("scoring", scoring, exam.SCORINGS),
    ):
        if value is not None and value not in allowed:
            raise ValueError(f"{name} {value!r}: choose one of {', '.join(allowed)}")
    if bool(shots) != bool(dev):
        raise ValueError("shots and dev go together: the shots are the dev questions")
    files = exam.exam_files(_paths(data))
    style = _style(prompt, {fmt or exam.detect_format(f) for f in files})
    questions = [q for f in files for q in exam.read_questions(f, fmt)]
    picked = exam.pick_shots(questions, exam.read_exam(_paths(dev), fmt), shots)
    lm, tokenizer = load_model(model, dtype=dtype, device=device)
    items = exam.score(
        lm, tokenizer, questions, style=style, shots=picked, scoring=scoring,
        batch_size=batch_size, max_len=max_len, progress=progress,
    )  # fmt: skip
    settings = {
        "data": [str(f) for f in files], "format": fmt, "prompt": style.name, "shots": shots,
        "dev": [str(d) for d in dev], "scoring": scoring, "batch_size": batch_size,
        "max_len": max_len, "dtype": dtype,
    }  # fmt: skip
    return exam.mcq_result(items, _label(model), group=group, settings=settings)


def _style(prompt: str, formats: set[str]):
    from domaintune.eval.mcq import style_for

    styles = {style_for(f, prompt).name: style_for(f, prompt) for f in formats}
    if len(styles) > 1:
        raise ValueError(
            f"the files are in several formats ({', '.join(sorted(formats))}) with different "
            "prompts; pass prompt ceval, cmmlu or mmlu, or score them separately"
        )
    return next(iter(styles.values()))


def gen(
    model: ModelArg,
    data: PathLike | Sequence[PathLike],
    *,
    metrics: Sequence[str] = DEFAULT_GEN_METRICS,
    template: str | None = None,
    group: str = "domain",
    batch_size: int = 8,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int = 0,
    dtype: str = "float32",
    rouge_stemmer: bool = True,
) -> dict[str, Any]:
    """Generate answers to eval rows (greedy by default) and score them: EM, F1, ROUGE-L, BLEU."""
    from domaintune.eval.generate import generate_answers, read_gen_items

    files = _paths(data)
    items = [item for f in files for item in read_gen_items(f)]
    lm, tokenizer = load_model(model, dtype=dtype)
    options = dict(batch_size=batch_size, max_new_tokens=max_new_tokens,
                   temperature=temperature, top_p=top_p, seed=seed)  # fmt: skip
    answers = generate_answers(lm, tokenizer, items, template=template, **options)
    for item, answer in zip(items, answers, strict=True):
        item.prediction = answer
    result = gen_result(items, metrics, model=_label(model), group=group, use_stemmer=rouge_stemmer)
    result["settings"] = {
        "metrics": list(result["metrics"]), "rouge_stemmer": rouge_stemmer,
        "template": template or "tokenizer", "dtype": dtype, **options,
        "files": [str(f) for f in files],
    }  # fmt: skip
    return result


def score_predictions(
    predictions: PathLike | Sequence[PathLike],
    *,
    metrics: Sequence[str] = DEFAULT_GEN_METRICS,
    group: str = "domain",
    rouge_stemmer: bool = True,
) -> dict[str, Any]:
    """Score saved answers (rows with prediction and reference) without a model."""
    from domaintune.eval.generate import read_predictions

    files = _paths(predictions)
    items = [item for f in files for item in read_predictions(f)]
    label = ",".join(str(f) for f in files)
    result = gen_result(items, metrics, model=label, group=group, use_stemmer=rouge_stemmer)
    result["settings"] = {"metrics": list(metrics), "rouge_stemmer": rouge_stemmer,
                          "files": [str(f) for f in files]}  # fmt: skip
    return result


def gen_result(
    items: Sequence[Any], metrics: Sequence[str], *, model: str, group: str, use_stemmer: bool
) -> dict[str, Any]:
    """Score answered rows and assemble the `gen` result (results.result_doc layout).

    `metrics` as the command takes them: rouge_l is both rouge_l_char and rouge_l_word."""
    from domaintune.eval.metrics import diversity, parse_metrics, score_pair, summarize
    from domaintune.eval.results import result_doc

    metrics = parse_metrics(",".join(metrics))
    scored = [
        score_pair(i.prediction or "", i.answer, metrics, use_stemmer=use_stemmer) for i in items
    ]
    by_set: dict[str, list] = {}
    by_dim: dict[str, list] = {}
    for item, s in zip(items, scored, strict=True):
        by_set.setdefault(item.subject, []).append(s)
        if item.dimension is not None:
            by_dim.setdefault(item.dimension, []).append(s)
    rows = [
        {
            "id": item.id, "set": item.subject, "question": item.question,
            "reference": item.answer, "prediction": item.prediction,
            "dimension": item.dimension, "scores": s.scores,
        }
        for item, s in zip(items, scored, strict=True)
    ]  # fmt: skip
    overall = summarize(scored, metrics)
    counts = {
        "rows": overall.pop("n"),
        "empty_predictions": sum(not s.prediction.strip() for s in scored),
        "empty_references": sum(not s.reference.strip() for s in scored),
        "chinese_rows": sum(s.chinese for s in scored),
        "english_rows": sum(not s.chinese for s in scored),
        "no_dimension": sum(item.dimension is None for item in items),
    }
    doc = result_doc(
        "gen",
        model,
        group=group,
        metrics=overall,
        by_set={name: summarize(rows_, metrics) for name, rows_ in by_set.items()},
        by_dimension={name: summarize(rows_, metrics) for name, rows_ in sorted(by_dim.items())},
        items=rows,
        counts=counts,
        diversity=diversity([item.prediction or "" for item in items]),
    )
    from domaintune.eval.exam_formats import add_official

    add_official(doc, list(items))  # GAOKAO-Bench, CMB, LongBench rows: their own rule
    return doc
