"""Mode `hf`: use the tokenizer's own Jinja `chat_template`.

Trained spans come from the template's structure: the conversation is rendered prefix by
prefix, so the characters each assistant turn adds (its content and end-of-turn marker) are
known exactly, and tokens are labelled by their character offsets. No token ids are searched
for marker strings.
"""

from __future__ import annotations

from typing import Any

IGNORE_INDEX = -100  # the label value torch's cross-entropy skips


def _render(tokenizer: Any, messages: list[dict], *, add_generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )


def assistant_spans(tokenizer: Any, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """Rendered text and the [start, end) character span of every assistant turn."""
    spans = []
    for i, msg in enumerate(messages):
        if msg["role"] != "assistant":
            continue
        start = len(_render(tokenizer, messages[:i], add_generation_prompt=True))
        end = len(_render(tokenizer, messages[: i + 1], add_generation_prompt=False))
        spans.append((start, end))
    text = _render(tokenizer, messages, add_generation_prompt=False)
    for start, end in spans:
        if end > len(text) or start > end:
            raise ValueError(
                "the tokenizer's chat template does not render conversations prefix-consistently "
                "(an earlier turn changes when later turns are added); use a registry template"
            )
    return text, spans


def encode_with_hf_template(
    tokenizer: Any,
    messages: list[dict],
    *,
    train_on_prompt: bool = False,
    mask_history: bool = False,
) -> dict[str, Any]:
    """Tokenize a conversation; labels are IGNORE_INDEX outside the trained assistant turns."""
    text, spans = assistant_spans(tokenizer, messages)
    if mask_history:
        spans = spans[-1:]
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    input_ids: list[int] = enc["input_ids"]
    labels = []
    for tok_id, (start, _end) in zip(input_ids, enc["offset_mapping"], strict=True):
        trained = train_on_prompt or any(s <= start < e for s, e in spans)
        labels.append(tok_id if trained else IGNORE_INDEX)
    return {"input_ids": input_ids, "labels": labels, "text": text}
