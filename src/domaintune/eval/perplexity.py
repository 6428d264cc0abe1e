"""Perplexity of a model on held-out documents: exp(total NLL / predicted tokens).

Each document is scored on its own (EOS appended), in non-overlapping windows of `max_len`
tokens; a window's first token is predicted from nothing, so it is not counted (as in the pt
packing, where the first token of every piece is not a target).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from domaintune.records import Document


@torch.no_grad()
def perplexity(
    model: Any, tokenizer: Any, docs: Iterable[Document], *, max_len: int = 512, batch_size: int = 8
) -> dict[str, float]:
    """Token-level perplexity over all documents, with the token count and mean NLL."""
    eos = tokenizer.eos_token_id
    windows: list[list[int]] = []
    for doc in docs:
        ids = tokenizer(doc.text, add_special_tokens=False)["input_ids"] + [eos]
        windows += [ids[i : i + max_len] for i in range(0, len(ids), max_len)]
    windows = [w for w in windows if len(w) > 1]
    device = next(model.parameters()).device
    nll, count = 0.0, 0
    windows.sort(key=len)  # similar lengths per batch: less padding
    for b in range(0, len(windows), batch_size):
        batch = windows[b : b + batch_size]
        width = max(len(w) for w in batch)
        ids = torch.full((len(batch), width), eos, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, w in enumerate(batch):
            ids[i, : len(w)] = torch.tensor(w)
            mask[i, : len(w)] = 1
        ids, mask = ids.to(device), mask.to(device)
        logits = model(
            input_ids=ids, attention_mask=mask, use_cache=False
        ).logits  # [b, seq, vocab]
        logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        target = ids[:, 1:]
        token_nll = -logprobs.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # [b, seq-1]
        valid = mask[:, 1:].bool()
        nll += float(token_nll[valid].sum())
        count += int(valid.sum())
    if count == 0:
        raise ValueError("no tokens to score: the documents are empty")
    mean = nll / count
    return {"perplexity": math.exp(mean), "nll": mean, "tokens": count}
