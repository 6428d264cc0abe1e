"""Attention for packed rows that costs what its samples cost, not what the row costs.

With packing, a row of `max_len` tokens holds several samples and attention must stay inside each
one. transformers' SDPA path builds a block-diagonal [L, L] mask from `position_ids` and then
computes attention over the whole row, masked or not: on CPU that is L^2 work per row however
short the samples are. `segment_sdpa` reads the sample boundaries from `position_ids` (a new
sample wherever the position restarts at 0) and runs causal SDPA on each sample alone: the same
result (tested: loss and gradients equal the masked path), with sum(l_i^2) instead of L^2 work and
no [L, L] mask to build. On a GPU, flash-attention's variable-length kernel does the same thing
(`attn_implementation: flash_attention_2`).

It is used for packed training only (rows without a padding attention mask), registered with
transformers' AttentionInterface under the name "domaintune_segments"; `packed_attention` switches
a model to it for the duration of a run.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import repeat_kv
from transformers.masking_utils import AttentionMaskInterface

NAME = "domaintune_segments"


def segment_bounds(position_ids: torch.Tensor) -> list[list[tuple[int, int]]]:
    """Per row, (start, end) of each sample: a sample starts wherever the position is 0."""
    bounds = []
    for row in position_ids.tolist():
        starts = [i for i, p in enumerate(row) if p == 0] or [0]
        ends = starts[1:] + [len(row)]
        bounds.append(list(zip(starts, ends, strict=True)))
    return bounds


def segment_sdpa(
    module: torch.nn.Module,
    query: torch.Tensor,  # [batch, heads, seq, dim]
    key: torch.Tensor,  # [batch, kv_heads, seq, dim]
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    position_ids = kwargs.get("position_ids")
    if attention_mask is not None or position_ids is None or query.shape[2] != key.shape[2]:
        raise ValueError(
            f"{NAME} attention is for packed training rows (position_ids, no attention mask, "
            "no cache); this call has a mask, a cache or no position_ids"
        )
    groups = getattr(module, "num_key_value_groups", query.shape[1] // key.shape[1])
    key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    if position_ids.shape[0] == 1 and query.shape[0] > 1:
        position_ids = position_ids.expand(query.shape[0], -1)
    out = torch.empty_like(query)
    for b, row in enumerate(segment_bounds(position_ids)):
        for start, end in row:
            out[b : b + 1, :, start:end] = F.scaled_dot_product_attention(
                query[b : b + 1, :, start:end],
                key[b : b + 1, :, start:end],
                value[b : b + 1, :, start:end],
                dropout_p=dropout,
                scale=scaling,
                is_causal=end - start > 1,
            )
    return out.transpose(1, 2).contiguous(), None  # [batch, seq, heads, dim] like sdpa's


def _no_mask(*args, **kwargs) -> None:
    return None  # the boundaries come from position_ids; no [L, L] mask is built


AttentionInterface.register(NAME, segment_sdpa)
AttentionMaskInterface.register(NAME, _no_mask)


@contextlib.contextmanager
def packed_attention(model: torch.nn.Module):
    """Use segment attention while the block is active, when the model runs SDPA or eager."""
    config = getattr(model, "config", None)
    current = getattr(config, "_attn_implementation", None)
    if current not in ("sdpa", "eager") or not hasattr(model, "set_attn_implementation"):
        yield False
        return
    model.set_attn_implementation(NAME)
    try:
        yield True
    finally:
        model.set_attn_implementation(current)
