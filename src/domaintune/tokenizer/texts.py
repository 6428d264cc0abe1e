"""Text of data files for tokenizer work: documents' text, conversations' turns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from domaintune.io import read_records
from domaintune.records import Conversation
from domaintune.tokenizer.vocab import is_cjk


def read_texts(paths: Iterable[str | Path]) -> Iterator[str]:
    """Every document's text, or every turn (and system prompt) of every conversation."""
    for path in paths:
        for rec in read_records(path):
            if isinstance(rec, Conversation):
                if rec.system:
                    yield rec.system
                yield from (m.content for m in rec.messages)
            else:
                yield rec.text


CJK_SHARE_ZH = 0.3  # a text whose characters are at least 30% CJK counts as Chinese


def language(text: str) -> str:
    """'zh' or 'en' (anything not mostly CJK counts as the whitespace-separated group)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "en"
    return "zh" if sum(map(is_cjk, letters)) >= CJK_SHARE_ZH * len(letters) else "en"
