"""Render a conversation into text pieces and tokenize them with labels from the structure.

A rendered conversation is a list of `Piece`s: template text (which may hold the family's control
tokens) and message content (always ordinary text). Tokenization cuts the text at the control tokens
that the template itself wrote, turns those into their ids, and tokenizes everything between them
with special-token parsing off, so a message that spells `<|im_end|>` or `</s>` stays text. Because
a tokenizer always splits at special tokens before its own pre-tokenization, this gives the same ids
as tokenizing the template's official string whenever the messages contain no control-token text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IGNORE_INDEX = -100  # the label value torch's cross-entropy skips


@dataclass(frozen=True)
class Piece:
    text: str
    trained: bool  # part of an assistant turn that the loss covers
    content: bool  # a message's own text: never parsed for control tokens


def control_spans(text: str, specials: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping [start, end) spans of control tokens in template text, longest first."""
    spans, i = [], 0
    ordered = sorted(set(specials), key=len, reverse=True)
    while i < len(text):
        for tok in ordered:
            if tok and text.startswith(tok, i):
                spans.append((i, i + len(tok)))
                i += len(tok)
                break
        else:
            i += 1
    return spans


def tokenize_pieces(
    tokenizer: Any, pieces: list[Piece], specials: list[str], *, train_on_prompt: bool = False
) -> dict[str, Any]:
    """Token ids and labels for rendered pieces (see module docstring)."""
    text = "".join(p.text for p in pieces)
    cuts: list[tuple[int, int]] = []  # control-token spans, from template pieces only
    trained: list[tuple[int, int]] = []
    pos = 0
    for p in pieces:
        if not p.content:
            cuts += [(pos + s, pos + e) for s, e in control_spans(p.text, specials)]
        if p.trained or train_on_prompt:
            trained.append((pos, pos + len(p.text)))
        pos += len(p.text)
    ids: list[int] = []
    spans: list[tuple[int, int]] = []  # each token's character span in `text`
    prev = 0
    for s, e in [*cuts, (len(text), len(text))]:
        if s > prev:
            chunk = tokenizer(
                text[prev:s],
                add_special_tokens=False,
                split_special_tokens=True,
                return_offsets_mapping=True,
            )
            ids += chunk["input_ids"]
            spans += [(prev + a, prev + b) for a, b in chunk["offset_mapping"]]
        if e > s:
            tok_id = tokenizer.convert_tokens_to_ids(text[s:e])
            # Round trip, since an unknown token maps to the unk id (or None, or 0 with no unk).
            if tok_id is None or tokenizer.convert_ids_to_tokens(tok_id) != text[s:e]:
                raise ValueError(
                    f"the tokenizer has no token {text[s:e]!r}, which this template needs; use "
                    "the template of the model's family, or add the token (and train embeddings)"
                )
            ids.append(tok_id)
            spans.append((s, e))
        prev = e
    # A token is trained when it overlaps trained text: a token that merges the prompt's last
    # space with the answer's first word (" answer") is something the model must produce.
    labels = [
        t if any(a < te and ts < b for a, b in trained) else IGNORE_INDEX
        for t, (ts, te) in zip(ids, spans, strict=True)
    ]
    return {"input_ids": ids, "labels": labels, "text": text}
