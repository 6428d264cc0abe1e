"""Resize a model's embeddings and LM head for appended tokens and initialise the new rows.

Init methods:
- "mean" (default): each new row is the mean of the rows of the tokens it replaces (the old
  tokenization of its text); Mundra et al. 2024 find this on par with more elaborate schemes.
- "noise": the mean of all old rows plus N(0, 1/d) noise, as LLaMA-Factory's
  `_noisy_mean_initialization` does when it resizes a vocabulary.
- "zero": zeros (for comparison only).
Rows between the new tokens and the padded size are set to the mean of all old rows. Tied
embeddings stay tied: the input matrix is resized and the head follows it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from domaintune.tokenizer.candidates import NewToken
from domaintune.tokenizer.vocab import TokenizerFile

if TYPE_CHECKING:
    import torch

INITS = ("mean", "noise", "zero")
PAD_MULTIPLE = 64  # tensor-core friendly, and bitsandbytes' CPU 4-bit path needs multiples of 64


def padded_size(n: int, multiple: int = PAD_MULTIPLE) -> int:
    return -(-n // multiple) * multiple


def replaced_ids(tf: TokenizerFile, new: list[NewToken]) -> list[list[int]]:
    """For each new token, the old ids its text encoded to (following the merge tree)."""
    parts = {t.symbol: t.parts for t in new}
    byte_ids = {b: tf.vocab.get(f"<0x{b:02X}>") for b in range(256)}

    def old(symbol: str) -> list[int]:
        if symbol in tf.vocab:
            return [tf.vocab[symbol]]
        p = parts.get(symbol)
        if p is None:  # a new base character: its byte-fallback tokens
            return [byte_ids[b] for b in symbol.encode("utf-8") if byte_ids[b] is not None]
        return old(p[0]) + old(p[1])

    return [old(t.symbol) for t in new]


def resize_and_init(
    model, new_ids: list[int], sources: list[list[int]], *, init: str = "mean", seed: int = 0
) -> dict:
    """Resize input/output embeddings to cover `new_ids` (padded to 64) and fill the new rows."""
    import torch

    if init not in INITS:
        raise ValueError(f"--init {init!r}: choose one of {', '.join(INITS)}")
    emb = model.get_input_embeddings()
    old_rows = emb.weight.shape[0]
    size = max(old_rows, padded_size(max(new_ids, default=old_rows - 1) + 1))
    tied = _is_tied(model)
    model.resize_token_embeddings(size, mean_resizing=False)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        _fill(model.get_input_embeddings().weight, old_rows, new_ids, sources, init, gen)
        head = model.get_output_embeddings()
        if head is not None and not tied:
            _fill(head.weight, old_rows, new_ids, sources, init, gen)
    model.config.vocab_size = size
    return {"old_rows": old_rows, "rows": size, "tied": tied, "init": init}


def _is_tied(model) -> bool:
    head = model.get_output_embeddings()
    return head is not None and head.weight is model.get_input_embeddings().weight


def _fill(
    weight: torch.Tensor,  # [rows, hidden]
    old_rows: int,
    new_ids: list[int],
    sources: list[list[int]],
    init: str,
    gen: torch.Generator,
) -> None:
    import torch

    mean_all = weight[:old_rows].mean(dim=0)  # [hidden]
    weight[old_rows:] = mean_all
    for i, src in zip(new_ids, sources, strict=True):
        if init == "zero":
            weight[i] = 0.0
        elif init == "mean":
            weight[i] = weight[src].mean(dim=0) if src else mean_all
        else:
            std = 1.0 / math.sqrt(weight.shape[1])
            noise = torch.randn(weight.shape[1], generator=gen, dtype=torch.float32) * std
            weight[i] = mean_all + noise.to(weight.dtype)
