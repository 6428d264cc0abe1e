"""Chat templates: conversation -> input_ids + labels, with the loss mask derived from structure.

Public API (`train`, `data validate` and `template render` use only this):
  list_templates() -> list[str]
  get_template(name) -> Template
  encode_conversation(tokenizer, messages, *, template=None, train_on_prompt=False,
                      mask_history=False) -> {"input_ids", "labels", "text"}
  chat_template_for(name) -> Jinja string to save with a model trained on that template
`template=None` or "hf" uses the tokenizer's own Jinja chat_template.
"""

from __future__ import annotations

from typing import Any

from domaintune.templates.hf import control_tokens, hf_pieces
from domaintune.templates.jinja import to_jinja
from domaintune.templates.registry import TEMPLATES, get_template
from domaintune.templates.render import IGNORE_INDEX, tokenize_pieces
from domaintune.templates.spec import Template, render_pieces

__all__ = [
    "IGNORE_INDEX",
    "TEMPLATES",
    "Template",
    "chat_template_for",
    "encode_conversation",
    "get_template",
    "list_templates",
    "render_pieces",
    "render_text",
]


def list_templates() -> list[str]:
    """Names accepted by `encode_conversation(template=...)`."""
    return [*sorted(TEMPLATES), "hf"]


def chat_template_for(name: str) -> str:
    return to_jinja(get_template(name))


def _tokens(tokenizer: Any) -> tuple[str, str]:
    return tokenizer.bos_token or "", tokenizer.eos_token or ""


def render_text(
    tokenizer: Any,
    messages: list[dict],
    *,
    template: str | None = None,
    add_generation_prompt: bool = False,
) -> str:
    """The prompt text a model sees at inference (what `apply_chat_template` would give)."""
    if template in (None, "hf"):
        return tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )
    bos, eos = _tokens(tokenizer)
    pieces = render_pieces(
        get_template(template),
        messages,
        bos=bos,
        eos=eos,
        add_generation_prompt=add_generation_prompt,
    )
    return "".join(p.text for p in pieces)


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
    if template in (None, "hf"):
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                "the tokenizer has no chat_template; name a registry template "
                f"(one of {sorted(TEMPLATES)})"
            )
        pieces = hf_pieces(tokenizer, messages, mask_history=mask_history)
        specials = control_tokens(tokenizer)
    else:
        t = get_template(template)
        bos, eos = _tokens(tokenizer)
        pieces = render_pieces(
            t, messages, bos=bos, eos=eos, mask_history=mask_history, for_training=True
        )
        specials = t.specials(bos, eos)
    return tokenize_pieces(tokenizer, pieces, specials, train_on_prompt=train_on_prompt)
