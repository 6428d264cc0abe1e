"""Read generation eval rows, render prompts with a chat template and generate answers in batches.

Batches are left-padded (every prompt ends where generation starts) and length-sorted (longest
first, so a batch that does not fit shows up at once); greedy unless a temperature is given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from domaintune.io import PathLike, read_eval_items
from domaintune.records import EvalItem


def prediction_row(item: EvalItem) -> dict[str, Any]:
    """An answered item as a `--predictions-out` row, readable again by `read_predictions`."""
    return {
        "id": item.id,
        "set": item.subject,
        "question": item.question,
        "reference": item.answer,
        "prediction": item.prediction,
        "dimension": item.dimension,
    }


# ---------------------------------------------------------------- reading


def read_gen_items(path: PathLike) -> list[EvalItem]:
    """Open questions to answer (io.read_eval_items, kind "open"): a prompt (question | prompt |
    instruction [+ input]) and a reference (reference | answer | output), optional id, system,
    dimension; the set is the row's, else the file's. GAOKAO-Bench, CMB and LongBench files
    are read by eval/exam_formats.py (the benchmark's prompt, its rule in `official`)."""
    from domaintune.eval.exam_formats import detect_exam_format, read_exam_file

    fmt = detect_exam_format(path)
    if fmt is not None:
        return read_exam_file(path, fmt, kind="open")
    return list(read_eval_items(path, kind="open", default_subject=True))


def read_predictions(path: PathLike) -> list[EvalItem]:
    """Answered rows (kind "answered"): `prediction` and a reference (either may be empty);
    optional id, question, dimension and set (default: the file's)."""
    return list(read_eval_items(path, kind="answered", default_subject=True))


# ---------------------------------------------------------------- prompts


def check_template(tokenizer: Any, template: str | None) -> None:
    """Fail early when there is no chat template to render prompts with."""
    from domaintune.templates import TEMPLATES

    if template in (None, "hf") and not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            "the tokenizer has no chat template; pass --template with one of "
            f"{', '.join(sorted(TEMPLATES))}"
        )


def render_prompts(
    tokenizer: Any, items: Sequence[EvalItem], *, template: str | None = None
) -> list[list[int]]:
    """Token ids of each row's chat prompt, ending with the assistant's generation prompt."""
    check_template(tokenizer, template)
    prompts = []
    for item in items:
        messages = [{"role": "system", "content": item.system}] if item.system else []
        messages.append({"role": "user", "content": item.question})
        prompts.append(render_prompt(tokenizer, messages, template=template))
    return prompts


def render_prompt(
    tokenizer: Any, messages: Sequence[dict[str, str]], *, template: str | None = None
) -> list[int]:
    """Token ids of one chat prompt ending with the assistant's generation prompt (what `eval
    gen` and `serve` feed the model)."""
    from domaintune.templates import render_text

    text = render_text(tokenizer, list(messages), template=template, add_generation_prompt=True)
    # The template writes any BOS itself; adding special tokens again would double it.
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def stop_token_ids(model: Any, tokenizer: Any, *, template: str | None = None) -> list[int]:
    """End-of-answer ids: the model's generation_config eos_token_id (an int or a list), else
    the tokenizer's EOS, plus a registry template's stop tokens found in the vocabulary."""
    config = getattr(model, "generation_config", None)
    eos = getattr(config, "eos_token_id", None)
    if eos is None:
        eos = tokenizer.eos_token_id
    ids = [eos] if isinstance(eos, int) else list(eos or [])
    if template not in (None, "hf"):
        from domaintune.templates import get_template

        vocab = tokenizer.get_vocab()
        t = get_template(template)
        for token in t.stop_tokens:
            token = t.resolve(token, tokenizer.bos_token or "", tokenizer.eos_token or "")
            if token in vocab and vocab[token] not in ids:
                ids.append(vocab[token])
    if not ids:
        raise ValueError(
            "no stop token: the model's generation_config has no eos_token_id and the tokenizer "
            "no eos_token; set eos_token_id in generation_config.json"
        )
    return ids


# ---------------------------------------------------------------- generation


def _generation_config(
    stop_ids: list[int], pad_id: int, *, max_new_tokens: int, temperature: float, top_p: float
) -> Any:
    from transformers import GenerationConfig

    sample = temperature > 0
    return GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=sample,
        # Greedy: the neutral values, so a model's sampling defaults neither apply nor warn.
        temperature=temperature if sample else 1.0,
        top_p=top_p if sample else 1.0,
        top_k=0 if sample else None,  # sampling is shaped by temperature and top-p only
        repetition_penalty=1.0,
        eos_token_id=stop_ids,
        pad_token_id=pad_id,
        use_cache=True,
    )


def _until_stop(ids: list[int], stop_ids: Sequence[int]) -> list[int]:
    stops = set(stop_ids)
    for i, t in enumerate(ids):
        if t in stops:
            return ids[:i]
    return ids


@torch.no_grad()
def generate_ids(
    model: Any,
    prompts: Sequence[Sequence[int]],
    *,
    stop_ids: list[int],
    pad_id: int,
    batch_size: int = 8,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int = 0,
    show_progress: bool = True,
) -> list[list[int]]:
    """New token ids per prompt, cut before the first stop token, in the prompts' order.

    Greedy (temperature 0) gives the same tokens whatever the batch size; sampled outputs depend
    on the seed and on which prompts share a batch.
    """
    if batch_size < 1 or max_new_tokens < 1:
        raise ValueError("batch_size and max_new_tokens must be at least 1")
    config = _generation_config(
        stop_ids, pad_id, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p
    )
    device = next(model.parameters()).device
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    out: list[list[int]] = [[] for _ in prompts]
    torch.manual_seed(seed)
    with progress_bar(len(prompts), "generating", enabled=show_progress) as advance:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(prompts[i]) for i in rows)
            ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):  # left padding: every prompt ends at column `width`
                ids[r, width - len(prompts[i]) :] = torch.tensor(prompts[i], dtype=torch.long)
                mask[r, width - len(prompts[i]) :] = 1
            gen = model.generate(
                input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=config
            )  # [batch, width + new]
            for r, i in enumerate(rows):
                out[i] = _until_stop(gen[r, width:].tolist(), stop_ids)
            advance(len(rows))
    return out


@contextlib.contextmanager
def progress_bar(
    total: int, description: str, *, enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr; yields `advance(n)` (a no-op when disabled)."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def pad_token_id(tokenizer: Any, stop_ids: Sequence[int]) -> int:
    """The tokenizer's pad id, else the first stop id (padding is masked either way)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]


def generate_answers(
    model: Any,
    tokenizer: Any,
    items: Sequence[EvalItem],
    *,
    template: str | None = None,
    **options: Any,
) -> list[str]:
    """Generate each row's answer: decoded without special tokens and stripped."""
    prompts = render_prompts(tokenizer, items, template=template)
    stop_ids = stop_token_ids(model, tokenizer, template=template)
    new = generate_ids(
        model, prompts, stop_ids=stop_ids, pad_id=pad_token_id(tokenizer, stop_ids), **options
    )
    return [tokenizer.decode(ids, skip_special_tokens=True).strip() for ids in new]
