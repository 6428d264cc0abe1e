"""Multiple-choice exams (C-Eval, CMMLU, MMLU, jsonl): the two scorings (reading and prompts:
eval/mcq_data.py, re-exported here).

Letter scoring (`acc_letter`, the official C-Eval/CMMLU method and lm-eval's ceval-valid, cmmlu
and mmlu `acc`) compares the log-probabilities of the answer letters right after the prompt.
Option scoring is lm-evaluation-harness's `multiple_choice` over the option texts: the summed
log-probability of " " + each option's text (`acc_option`), divided by the option's length in
characters (`acc_option_norm`) or UTF-8 bytes (`acc_option_bytes`), tokenised as lm-eval's
`_encode_pair` does. Each question is one forward pass: its options (and letters) are packed
after the shared prompt, each attending only to the prompt and to itself (docs/eval-mcq.md).
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from domaintune.eval.mcq_data import (  # noqa: F401  (re-exported: the exam API in one place)
    DEFAULT_STYLE,
    FORMATS,
    LETTERS,
    METRICS,
    OPTION_DELIMITER,
    PROMPTS,
    SCORINGS,
    STYLES,
    Style,
    detect_format,
    exam_files,
    pick_shots,
    read_exam,
    read_questions,
    style_for,
    subject_of,
)
from domaintune.records import DataError, EvalItem

# ---------------------------------------------------------------- scoring


@dataclass
class _Row:
    """One forward-pass row: a shared prefix and continuations packed after it."""

    prefix: list[int]
    branches: list[tuple[int, int, list[int]]]  # (question, continuation index, tokens)

    @property
    def length(self) -> int:
        return len(self.prefix) + sum(len(b) - 1 for _, _, b in self.branches)

    @property
    def packed(self) -> bool:
        # Needs the tree mask when two continuations contribute input tokens.
        return sum(len(b) > 1 for _, _, b in self.branches) > 1


def _encode_pairs(tokenizer: Any, context: str, conts: list[str]) -> tuple[list[int], list[list]]:
    """lm-eval's `_encode_pair`: trailing spaces move to the continuation; whole minus context."""
    n = len(context) - len(context.rstrip())
    if n:
        context, conts = context[:-n], [context[-n:] + c for c in conts]
    ids = tokenizer([context] + [context + c for c in conts])["input_ids"]
    ctx = ids[0]
    return ctx, [whole[len(ctx) :] for whole in ids[1:]]


def _rows(ctx: list[int], conts: list[list[int]], q: int, max_len: int, pack: bool) -> list[_Row]:
    rows, shared = [], []
    for j, cont in enumerate(conts):
        if len(ctx) + len(cont) > max_len + 1:
            # lm-eval keeps the last max_len tokens of context + continuation (minus the last).
            keep = (ctx + cont)[-(max_len + 1) :]
            rows.append(_Row(keep[: len(keep) - len(cont)], [(q, j, cont)]))
        else:
            shared.append((q, j, cont))
    if pack:
        groups = [shared]
    else:  # one input-bearing continuation per row, so plain causal attention is exact
        single = [b for b in shared if len(b[2]) == 1]
        multi = [b for b in shared if len(b[2]) > 1]
        groups = [single + multi[:1]] + [[b] for b in multi[1:]]
    return rows + [_Row(list(ctx), g) for g in groups if g]


def _supports(model: Any, argument: str) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return argument in inspect.signature(base.forward).parameters


def _can_pack(model: Any) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    # Custom 4D masks reach the attention as-is with these two; flash attention ignores them.
    return getattr(base.config, "_attn_implementation", None) in ("sdpa", "eager")


def _pack(batch: list[_Row], pad_id: int):
    """Input ids, segment ids (0 prefix, k continuation k, -1 padding), positions, targets."""
    width = max(row.length for row in batch)
    ids, seg, pos = [], [], []
    targets: list[tuple[int, int, int, int, int]] = []  # row, position, token, question, index
    for r, row in enumerate(batch):
        n = len(row.prefix)
        ids_r, seg_r, pos_r = list(row.prefix), [0] * n, list(range(n))
        for k, (q, j, cont) in enumerate(row.branches, 1):
            # cont[0] is predicted at the prefix's last token, cont[t] at cont[t - 1]'s.
            at = [n - 1, *range(len(ids_r), len(ids_r) + len(cont) - 1)]
            targets += [(r, a, token, q, j) for a, token in zip(at, cont, strict=True)]
            ids_r += cont[:-1]
            seg_r += [k] * (len(cont) - 1)
            pos_r += range(n, n + len(cont) - 1)  # every continuation starts right after
        pad = width - len(ids_r)
        ids.append(ids_r + [pad_id] * pad)
        seg.append(seg_r + [-1] * pad)
        pos.append(pos_r + [0] * pad)
    return torch.tensor(ids), torch.tensor(seg), torch.tensor(pos), targets


@torch.no_grad()
def _score_rows(model: Any, rows: list[_Row], *, batch_size: int, pad_id: int, progress=None):
    """Summed log-prob of every continuation: {(question, continuation index): float}."""
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    keep_arg = _supports(model, "logits_to_keep")
    out: dict[tuple[int, int], float] = defaultdict(float)
    order = sorted(range(len(rows)), key=lambda i: -rows[i].length)  # longest first, as lm-eval
    for start in range(0, len(order), batch_size):
        batch = [rows[i] for i in order[start : start + batch_size]]
        ids, seg, pos, targets = _pack(batch, pad_id)
        kwargs: dict[str, Any] = {"use_cache": False}
        if any(row.packed for row in batch):
            kwargs["attention_mask"] = _tree_mask(seg.to(device), dtype)
            kwargs["position_ids"] = pos.to(device)
        # Else right padding under causal attention needs no mask: pads come after every token.
        keep = ids.shape[1] - min(len(row.prefix) for row in batch) + 1  # from the first target
        if keep_arg:
            kwargs["logits_to_keep"] = keep  # the logits of the earlier positions are never used
        logits = model(input_ids=ids.to(device), **kwargs).logits[:, -keep:]  # [b, keep, vocab]
        rows_at = torch.tensor([t[0] for t in targets], device=device)
        at = torch.tensor([t[1] - (ids.shape[1] - keep) for t in targets], device=device)
        token = torch.tensor([t[2] for t in targets], device=device)
        logprobs = logits[rows_at, at].float().log_softmax(-1)  # [targets, vocab]
        picked = logprobs.gather(-1, token[:, None]).squeeze(-1).tolist()
        for (_, _, _, q, j), lp in zip(targets, picked, strict=True):
            out[(q, j)] += lp
        if progress is not None:
            progress(min(start + batch_size, len(rows)), len(rows))
    return out


def _tree_mask(seg: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[b, 1, t, t] additive mask: causal, and a continuation sees the prefix and itself only."""
    width = seg.shape[1]
    causal = torch.ones(width, width, dtype=torch.bool, device=seg.device).tril()
    same = seg[:, :, None] == seg[:, None, :]  # padding (-1) sees only padding: no empty rows
    allowed = causal & (same | (seg[:, None, :] == 0))
    mask = torch.zeros(allowed.shape, dtype=dtype, device=seg.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]


def model_max_length(model: Any, tokenizer: Any, default: int = 2048) -> int:
    """The context length lm-eval would use: the config's, else the tokenizer's, else 2048."""
    config = model.config
    for cfg in (getattr(config, "text_config", None), config):
        for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
            if cfg is not None and isinstance(getattr(cfg, attr, None), int):
                return getattr(cfg, attr)
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and limit < 10**9 else default


def score(
    model: Any,
    tokenizer: Any,
    questions: Sequence[EvalItem],
    *,
    style: Style,
    shots: dict[str, list[EvalItem]] | None = None,
    scoring: str = "both",
    batch_size: int = 8,
    max_len: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Score each question after its prompt; one result row per question (docs/eval-mcq.md).

    `progress(done, total)` is called after each batch, counting forward rows (one per question,
    plus one per continuation that had to be cut to `max_len`).
    """
    if scoring not in SCORINGS:
        raise ValueError(f"scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}")
    plan = _plan(
        model, tokenizer, questions, style=style, shots=shots, scoring=scoring, max_len=max_len
    )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    sums = _score_rows(model, plan.rows, batch_size=batch_size, pad_id=pad, progress=progress)
    return [
        _item(q, kinds, [sums[(qi, j)] for j in range(len(kinds))], n_ctx, cut)
        for qi, (q, (kinds, n_ctx, cut)) in enumerate(zip(questions, plan.layouts, strict=True))
    ]


@dataclass
class _Plan:
    """Tokenised questions: the forward rows and, per question, what each continuation is."""

    rows: list[_Row]
    layouts: list[tuple[list[tuple[str, str]], int, bool]]  # kinds, prompt tokens, truncated


def _plan(
    model: Any,
    tokenizer: Any,
    questions: Sequence[EvalItem],
    *,
    style: Style,
    shots: dict[str, list[EvalItem]] | None = None,
    scoring: str = "both",
    max_len: int | None = None,
) -> _Plan:
    """Build every question's prompt, tokenise its continuations and pack them into rows."""
    shots = shots or {}
    max_len = max_len or model_max_length(model, tokenizer)
    pack = _can_pack(model)
    plan = _Plan([], [])
    for qi, q in enumerate(questions):
        prompt = style.prompt(q, shots.get(str(q.subject), ()))
        options = q.choices or {}
        letters = answer_strings(q)
        kinds = [("letter", k) for k in letters] if scoring != "option" else []
        kinds += [("option", k) for k in options] if scoring != "letter" else []
        texts = [
            (style.letter_delimiter + k) if kind == "letter" else (OPTION_DELIMITER + options[k])
            for kind, k in kinds
        ]
        ctx, conts = _encode_pairs(tokenizer, prompt, texts)
        for text, cont in zip(texts, conts, strict=True):
            if not cont or len(cont) > max_len:
                raise DataError(
                    q.where,
                    None,
                    f"{text!r} gives {len(cont)} tokens after the prompt; "
                    f"a continuation needs 1 to --max-len ({max_len})",
                )
        plan.rows += _rows(ctx, conts, qi, max_len, pack)
        cut = any(len(ctx) + len(c) > max_len + 1 for c in conts)
        plan.layouts.append((kinds, len(ctx), cut))
    return plan


MAX_MULTI_OPTIONS = 7  # a multiple-answer question scores 2^n - 1 letter strings


def answer_strings(q: EvalItem) -> list[str]:
    """The answers letter scoring compares: each letter, or for a multiple-answer question
    (`meta["multi"]`, or an answer of several letters) every non-empty set of letters written
    in letter order ("A", ..., "AB", ..., "ABCD"); option scoring still scores single options."""
    letters = list(q.choices or {})
    if not (q.meta.get("multi") or len(q.answer) > 1):
        return letters
    if len(letters) > MAX_MULTI_OPTIONS:
        raise DataError(
            q.where,
            None,
            f"a multiple-answer question has at most "
            f"{MAX_MULTI_OPTIONS} options to score every letter set",
        )
    return [
        "".join(c) for n in range(1, len(letters) + 1) for c in itertools.combinations(letters, n)
    ]


def _argmax(scores: dict[str, float]) -> str:
    keys = list(scores)
    values = [scores[k] for k in keys]
    return keys[values.index(max(values))]  # first of equal maxima, as numpy's argmax


def _item(
    q: EvalItem, kinds: list[tuple[str, str]], lls: list[float], n_ctx: int, truncated: bool
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": q.id,
        "subject": q.subject,
        "dimension": q.dimension,
        "answer": q.answer,
        "where": q.where,
        "prompt_tokens": n_ctx,
        "truncated": truncated,
    }
    pred: dict[str, str] = {}
    letter = {k: ll for (kind, k), ll in zip(kinds, lls, strict=True) if kind == "letter"}
    if letter:
        top = max(letter.values())
        lse = top + math.log(sum(math.exp(v - top) for v in letter.values()))
        item["letter_logprobs"] = {k: v - lse for k, v in letter.items()}
        item["letter_raw_logprobs"] = letter
        pred["acc_letter"] = _argmax(letter)
    option = {k: ll for (kind, k), ll in zip(kinds, lls, strict=True) if kind == "option"}
    if option:
        texts = q.choices or {}
        chars = {k: len(texts[k]) for k in option}
        nbytes = {k: len(texts[k].encode("utf-8")) for k in option}
        item["option_loglikelihoods"] = option
        item["option_chars"] = chars
        item["option_bytes"] = nbytes
        pred["acc_option"] = _argmax(option)
        pred["acc_option_norm"] = _argmax({k: option[k] / chars[k] for k in option})
        pred["acc_option_bytes"] = _argmax({k: option[k] / nbytes[k] for k in option})
    item["pred"] = pred
    item["correct"] = {metric: choice == q.answer for metric, choice in pred.items()}
    return item


def summarize(items: Sequence[dict[str, Any]]) -> tuple[dict, dict, dict]:
    """(metrics, by_set, by_dimension) in percent; metrics hold micro and `_macro` averages.

    Micro: over all questions (lm-eval's group score). Macro: the mean of the subjects'
    accuracies (what C-Eval, CMMLU and MMLU papers report).
    """
    if not items:
        raise ValueError("no questions were scored")
    names = [m for m in METRICS if m in items[0]["correct"]]
    by_set = _accuracy_by(items, "subject", names)
    by_dimension = _accuracy_by([i for i in items if i["dimension"]], "dimension", names)
    metrics = {m: 100.0 * sum(i["correct"][m] for i in items) / len(items) for m in names}
    for m in names:
        metrics[f"{m}_macro"] = sum(s[m] for s in by_set.values()) / len(by_set)
    return metrics, by_set, by_dimension


def mcq_result(
    items: Sequence[dict[str, Any]], model: str, *, group: str, settings: dict
) -> dict[str, Any]:
    """Scored items as an `mcq` result (results.result_doc layout) with their counts."""
    from domaintune.eval.results import result_doc

    metrics, by_set, by_dimension = summarize(items)
    counts = {
        "questions": len(items),
        "subjects": len(by_set),
        "truncated": sum(i["truncated"] for i in items),
        "untagged": sum(i["dimension"] is None for i in items),  # left out of by_dimension
    }
    return result_doc(
        "mcq",
        model,
        group=group,
        metrics=metrics,
        by_set=by_set,
        by_dimension=by_dimension,
        items=list(items),
        settings=settings,
        counts=counts,
    )


def _accuracy_by(items: Sequence[dict[str, Any]], key: str, names: list[str]) -> dict:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        groups[item[key]].append(item)
    return {
        name: {
            **{m: 100.0 * sum(i["correct"][m] for i in group) / len(group) for m in names},
            "n": len(group),
        }
        for name, group in groups.items()
    }


# ---------------------------------------------------------------- lm-eval parity


def lm_eval_doc(q: EvalItem) -> dict[str, Any]:
    """A question as a row of the data file `lm_eval_task` reads."""
    return {
        "id": q.id,
        "question": q.question.strip(),  # as Style.item writes it
        "letters": list(q.choices or {}),
        "options": list((q.choices or {}).values()),
        "answer": q.answer,
    }


def lm_eval_task(
    style: Style,
    task: str,
    subject: str,
    test_file: str | Path,
    *,
    choices: str,
    dev_file: str | Path | None = None,
    shots: int = 0,
) -> dict[str, Any]:
    """An lm-evaluation-harness task config (for its YAML) that builds exactly our prompts.

    `choices="letter"` scores the answer letters (our letter scoring), `"option"` the option
    texts (lm-eval's acc/acc_norm/acc_bytes: our acc_option/_norm/_bytes). The files hold
    `lm_eval_doc` rows of one subject; the `shots` are the first rows of `dev_file`.
    """
    if choices not in ("letter", "option"):
        raise ValueError(f'choices must be "letter" or "option", got {choices!r}')
    if shots and not dev_file:
        raise ValueError("shots come from dev_file: give one")
    options = "{% for i in range(letters|length) %}\n{{letters[i]}}. {{options[i]}}{% endfor %}"
    files = {"test": str(test_file), **({"dev": str(dev_file)} if dev_file else {})}
    config: dict[str, Any] = {
        "task": task,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": files},
        "test_split": "test",
        "output_type": "multiple_choice",
        "description": style.header.format(subject=style.subject_name(subject)),
        "doc_to_text": style.item_prefix + "{{question}}" + options + "\n" + style.cue,
        "doc_to_choice": "{{letters}}" if choices == "letter" else "{{options}}",
        "doc_to_target": "{{letters.index(answer)}}",
        "target_delimiter": style.letter_delimiter if choices == "letter" else OPTION_DELIMITER,
        "metric_list": [{"metric": m} for m in ("acc", "acc_norm", "acc_bytes")],
    }
    if shots:
        # Shots show the answer letter whatever the choices are, as in our prompts.
        config["num_fewshot"] = shots
        config["fewshot_split"] = "dev"
        config["fewshot_config"] = {
            "sampler": "first_n",
            "doc_to_target": "{{answer}}",
            "target_delimiter": style.letter_delimiter,
        }
    return config


from domaintune.verbs import make_callable  # noqa: E402 (last: the module is complete)

make_callable(__name__, "domaintune.eval.api:mcq")  # dt.eval.mcq(model, exam, ...)
