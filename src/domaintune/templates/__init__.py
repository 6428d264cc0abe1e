"""Chat templates: conversation -> input_ids + labels, with the loss mask derived from structure.

Public API (stable; `train`, `data validate` and `template render` use only this):
  list_templates() -> list[str]
  encode_conversation(tokenizer, messages, *, template=None, train_on_prompt=False,
                      mask_history=False) -> {"input_ids", "labels", "text"}
`template=None` or "hf" uses the tokenizer's own Jinja chat_template.
"""

from __future__ import annotations

from typing import Any

from domaintune.templates.hf import IGNORE_INDEX, encode_with_hf_template

__all__ = ["IGNORE_INDEX", "encode_conversation", "list_templates"]


def list_templates() -> list[str]:
    """Names accepted by `encode_conversation(template=...)`."""
    return ["hf"]


def encode_conversation(
    tokenizer: Any,
    messages: list[dict],
    *,
    template: str | None = None,
    train_on_prompt: bool = False,
    mask_history: bool = False,
) -> dict[str, Any]:
    """Render and tokenize one conversation (OpenAI-style messages, system first if any).

    Returns `input_ids`, `labels` (IGNORE_INDEX where not trained) and the rendered `text`; no
    truncation (the caller compares the length with its max_len).
    """
    if template not in (None, "hf"):
        raise ValueError(f"unknown template {template!r}; choose one of {list_templates()}")
    return encode_with_hf_template(
        tokenizer, messages, train_on_prompt=train_on_prompt, mask_history=mask_history
    )
