"""The one definition of CJK characters: Unicode ranges, compiled patterns and small helpers.

Han ideographs (Unicode blocks): CJK Unified Ideographs, Extension A, Compatibility Ideographs
and Extensions B-H (planes 2-3). Kana (Hiragana, Katakana) and Hangul syllables are the other
scripts written without spaces between words; text tools that split "a word per CJK character"
treat all three alike (`CJK_*`), tools that ask "is this Chinese" look at Han only (`HAN_*`).
"""

from __future__ import annotations

import re

__all__ = [
    "CJK_RANGES",
    "CJK_RE",
    "CJK_RUN_RE",
    "HAN_RANGES",
    "HAN_RE",
    "HANGUL_RANGES",
    "KANA_RANGES",
    "LATIN_WORD_RE",
    "cjk_share",
    "has_han",
    "is_cjk_char",
    "is_han",
]

HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
KANA_RANGES = "\u3040-\u30ff"
HANGUL_RANGES = "\uac00-\ud7af"
CJK_RANGES = HAN_RANGES + KANA_RANGES + HANGUL_RANGES

HAN_RE = re.compile(f"[{HAN_RANGES}]")  # one Han character
CJK_RE = re.compile(f"[{CJK_RANGES}]")  # one CJK character (Han, kana or hangul)
CJK_RUN_RE = re.compile(f"[{CJK_RANGES}]+")  # a run of CJK characters
# A run of letters/digits that are not CJK: a latin (or Cyrillic, Greek ...) word.
LATIN_WORD_RE = re.compile(f"[^\\W_{CJK_RANGES}]+")


def is_han(ch: str) -> bool:
    """True when the one character `ch` is a Han ideograph."""
    return HAN_RE.fullmatch(ch) is not None


def is_cjk_char(ch: str) -> bool:
    """True when the one character `ch` is Han, kana or hangul."""
    return CJK_RE.fullmatch(ch) is not None


def has_han(text: str) -> bool:
    """True when `text` holds at least one Han character."""
    return HAN_RE.search(text) is not None


def cjk_share(text: str) -> float:
    """Share of CJK characters among the letters/digits of `text` (0.0 for none)."""
    cjk = len(CJK_RE.findall(text))
    other = sum(len(w) for w in LATIN_WORD_RE.findall(text))
    return cjk / (cjk + other) if cjk + other else 0.0
