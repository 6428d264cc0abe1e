"""Convert conversation files between the openai, alpaca and sharegpt formats, losslessly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from domaintune.io import read_conversations, write_jsonl
from domaintune.records import Conversation, DataError

TARGETS = ("openai", "alpaca", "sharegpt")
PathLike = str | os.PathLike[str]


def _check_pairs(conv: Conversation, target: str) -> None:
    """Raise ValueError unless the turns are (user, assistant) pairs, naming what would be lost."""
    roles = [m.role for m in conv.messages]
    for i, role in enumerate(roles):
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            raise ValueError(
                f"{target} holds only (user, assistant) turn pairs; turn {i + 1} is {role}, "
                f"expected {expected}, so it would be lost"
            )
    if not roles or len(roles) % 2:
        raise ValueError(
            f"{target} holds only (user, assistant) turn pairs; the last user turn has no "
            "assistant reply, so it would be lost"
        )


def _extras(conv: Conversation) -> dict[str, Any]:
    # Our readers take id, source and meta from these top-level keys in every format.
    extras: dict[str, Any] = {"source": conv.source}
    if conv.meta:
        extras["meta"] = dict(conv.meta)
    return extras


def to_openai(conv: Conversation) -> dict[str, Any]:
    """{"messages": [...]} with the system prompt as the first message."""
    _check_pairs(conv, "openai")
    return {"id": conv.id, "messages": conv.to_openai(), **_extras(conv)}


def to_sharegpt(conv: Conversation) -> dict[str, Any]:
    """{"conversations": [{"from", "value"}, ...]} with the system prompt as the first turn."""
    _check_pairs(conv, "sharegpt")
    names = {"system": "system", "user": "human", "assistant": "gpt"}
    turns = [{"from": names[m["role"]], "value": m["content"]} for m in conv.to_openai()]
    return {"id": conv.id, "conversations": turns, **_extras(conv)}


def to_alpaca(conv: Conversation) -> dict[str, Any]:
    """{"instruction", "input", "output", "system"?, "history"?}: earlier pairs go to history."""
    _check_pairs(conv, "alpaca")
    pairs = [
        [conv.messages[i].content, conv.messages[i + 1].content]
        for i in range(0, len(conv.messages), 2)
    ]
    # A user message merged from instruction + input cannot be split again; keeping it whole
    # as the instruction reads back as the same conversation.
    (instruction, output), history = pairs[-1], pairs[:-1]
    row: dict[str, Any] = {"id": conv.id, "instruction": instruction, "input": "", "output": output}
    if conv.system is not None:
        row["system"] = conv.system
    if history:
        row["history"] = history
    return {**row, **_extras(conv)}


_WRITERS = {"openai": to_openai, "alpaca": to_alpaca, "sharegpt": to_sharegpt}


def conversation_to_row(conv: Conversation, to: str) -> dict[str, Any]:
    """Return the row for `conv` in format `to`; ValueError if the format cannot hold it."""
    writer = _WRITERS.get(to)
    if writer is None:
        raise ValueError(f"unknown target format {to!r}; choose one of {', '.join(TARGETS)}")
    return writer(conv)


def convert_file(src: PathLike, dst: PathLike, *, to: str) -> int:
    """Read conversations in any supported format, write them to `dst` (jsonl) as `to`.

    The output is written atomically: on any error (a bad input row, or a conversation the
    target cannot hold) `dst` is left as it was. Returns the number of rows written.
    """
    if to not in _WRITERS:
        raise ValueError(f"unknown target format {to!r}; choose one of {', '.join(TARGETS)}")
    return write_jsonl(dst, _converted(src, to))


def _converted(src: PathLike, to: str) -> Iterator[dict[str, Any]]:
    for index, conv in enumerate(read_conversations(src), 1):
        try:
            yield conversation_to_row(conv, to)
        except ValueError as err:
            raise DataError(src, index, f"conversation {conv.id!r}: {err}", row=True) from None


from domaintune.verbs import make_callable  # noqa: E402 (last: the module is complete)

make_callable(__name__, "domaintune.data.api:convert")  # dt.data.convert(...) calls the verb
