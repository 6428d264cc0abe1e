"""Perplexity of a model on held-out documents: exp(total NLL / predicted tokens).

Each document is scored on its own (EOS appended) in windows of `max_len` tokens that start every
`stride` tokens, as in Hugging Face's "Perplexity of fixed-length models" guide: a window's
tokens past the previous window's end are its targets, the rest is context only, so every token is
scored once, with up to max_len - 1 tokens of context.

- stride == max_len (the default): non-overlapping windows; a window's first token has no
  context and is not counted (as in the pt packing, where the first token of every piece is not
  a target).
- stride < max_len: every token but a document's first is counted; a token past the first window
  sees at least max_len - stride tokens of context.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import torch

from domaintune.records import Document


def windows(ids: list[int], max_len: int, stride: int) -> Iterator[tuple[list[int], int]]:
    """Yield (window tokens, number of targets at the window's end) for one document."""
    prev_end = 0
    for begin in range(0, len(ids), stride):
        end = min(begin + max_len, len(ids))
        targets = end - max(prev_end, begin + 1)  # the window's first token has no context
        if targets > 0:
            yield ids[begin:end], targets
        prev_end = end
        if end == len(ids):
            break


@torch.no_grad()
def perplexity(
    model: Any,
    tokenizer: Any,
    docs: Iterable[Document],
    *,
    max_len: int = 512,
    batch_size: int = 8,
    stride: int | None = None,
    show_progress: bool = False,
) -> dict[str, float]:
    """Token-level perplexity over all documents, with the token count and mean NLL.

    `stride` defaults to `max_len` (non-overlapping windows).
    """
    from domaintune.eval.generate import progress_bar

    stride = max_len if stride is None else stride
    if max_len < 2 or not 1 <= stride <= max_len:
        raise ValueError(f"need max_len >= 2 and 1 <= stride <= max_len, got {max_len}, {stride}")
    eos = tokenizer.eos_token_id
    chunks: list[tuple[list[int], int]] = []
    for doc in docs:
        ids = tokenizer(doc.text, add_special_tokens=False, verbose=False)["input_ids"] + [eos]
        chunks += windows(ids, max_len, stride)
    device = next(model.parameters()).device
    nll, count = 0.0, 0
    chunks.sort(key=lambda c: len(c[0]))  # similar lengths per batch: less padding
    with progress_bar(len(chunks), "perplexity", enabled=show_progress) as advance:
        for b in range(0, len(chunks), batch_size):
            batch = chunks[b : b + batch_size]
            nll_b, count_b = _score_batch(model, batch, eos, device)
            nll, count = nll + nll_b, count + count_b
            advance(len(batch))
    if count == 0:
        raise ValueError("no tokens to score: the documents are empty")
    mean = nll / count
    return {"perplexity": math.exp(mean), "nll": mean, "tokens": count}


def _score_batch(
    model: Any, batch: list[tuple[list[int], int]], eos: int, device: Any
) -> tuple[float, int]:
    """Summed NLL and count of the target tokens of a batch of (window, targets)."""
    width = max(len(w) for w, _ in batch)
    ids = torch.full((len(batch), width), eos, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    valid = torch.zeros((len(batch), width - 1), dtype=torch.bool)
    for i, (w, targets) in enumerate(batch):
        ids[i, : len(w)] = torch.tensor(w)
        mask[i, : len(w)] = 1
        valid[i, len(w) - 1 - targets : len(w) - 1] = True  # logit j predicts token j + 1
    ids, mask, valid = ids.to(device), mask.to(device), valid.to(device)
    logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits  # [b, seq, vocab]
    logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    target = ids[:, 1:]
    token_nll = -logprobs.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # [b, seq-1]
    return float(token_nll[valid].sum()), int(valid.sum())


def ppl_result(model: str, by_set: dict[str, dict], *, group: str, settings: dict, **extra) -> dict:
    """`by_set` ({set: perplexity() figures + n}) as a `ppl` result, token-weighted overall."""
    from domaintune.eval.results import result_doc

    tokens = sum(s["tokens"] for s in by_set.values())
    nll = sum(s["nll"] * s["tokens"] for s in by_set.values()) / tokens
    return result_doc(
        "ppl",
        model,
        group=group,
        metrics={"perplexity": math.exp(nll), "nll": nll, "tokens": tokens},
        by_set=by_set,
        settings=settings,
        **extra,
    )
