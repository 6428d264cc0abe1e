"""Mode `hf`: use the tokenizer's own Jinja `chat_template`.

Trained spans come from the template's structure: the conversation is rendered prefix by prefix,
so the characters each turn adds are known exactly; inside a turn the message's own text is
located, so it is tokenized as ordinary text (no control-token injection), and an assistant turn's
text after the generation prompt (content and end-of-turn marker) is trained.
"""

from __future__ import annotations

from typing import Any

from domaintune.templates.render import Piece


def _render(tokenizer: Any, messages: list[dict], *, add_generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )


def _not_prefix(what: str) -> ValueError:
    return ValueError(
        f"the tokenizer's chat template is not prefix-consistent ({what}), so trained spans "
        "cannot be derived from it; choose a registry template (domaintune template list)"
    )


def _turn_pieces(delta: str, content: str, *, trained: bool) -> list[Piece]:
    """Split one turn's text into template text and the message's own text."""
    for needle in (content, content.strip()):
        at = delta.find(needle) if needle else -1
        if at >= 0:
            return [
                Piece(delta[:at], False, False),
                Piece(needle, trained, True),
                Piece(delta[at + len(needle) :], trained, False),
            ]
    raise ValueError(
        "the tokenizer's chat template changes message text beyond trimming, so the message "
        "cannot be located in the rendered text; choose a registry template"
    )


def hf_pieces(tokenizer: Any, messages: list[dict], *, mask_history: bool = False) -> list[Piece]:
    """Pieces of a conversation rendered by the tokenizer's own template."""
    last_assistant = max(
        (i for i, m in enumerate(messages) if m["role"] == "assistant"), default=-1
    )
    pieces: list[Piece] = []
    done = ""
    for i, msg in enumerate(messages):
        text = _render(tokenizer, messages[: i + 1], add_generation_prompt=False)
        if not text.startswith(done):
            raise _not_prefix(f"turn {i} rewrites earlier turns")
        if msg["role"] == "assistant":
            prompt = _render(tokenizer, messages[:i], add_generation_prompt=True)
            if not (prompt.startswith(done) and text.startswith(prompt)):
                raise _not_prefix(
                    f"the generation prompt of turn {i} is not what the turn starts with"
                )
            pieces.append(Piece(prompt[len(done) :], False, False))
            trained = not mask_history or i == last_assistant
            pieces += _turn_pieces(text[len(prompt) :], msg["content"], trained=trained)
        else:
            pieces += _turn_pieces(text[len(done) :], msg["content"], trained=False)
        done = text
    return [p for p in pieces if p.text]


def control_tokens(tokenizer: Any) -> list[str]:
    """Every added token (special or not, e.g. <think>): what a template may write as control."""
    return sorted(tokenizer.get_added_vocab(), key=len, reverse=True)
