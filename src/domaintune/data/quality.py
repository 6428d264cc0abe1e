"""Document quality filters for `data clean`: named thresholds, each with the paper it comes from.

English uses words (split on whitespace); Chinese has no spaces, so lengths and n-grams are counted
in characters. Every check returns the measured value, so a rejected document says by how much.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

GOPHER = "Gopher rules, Rae et al. 2021, Table A1"
C4 = "C4, Raffel et al. 2020, Sec. 2.2"
FINEWEB = "FineWeb, Penedo et al. 2024, Sec. 3.3"
OURS = "our choice"  # no published value fits; say so rather than borrow a citation


@dataclass(frozen=True)
class CleanConfig:
    """Thresholds of `data clean`; `SOURCES` names where each default comes from."""

    langs: tuple[str, ...] = ("zh", "en")
    lang_min_score: float = 0.65
    redact_pii: bool = False
    min_words: int = 50
    max_words: int = 100_000
    min_chars_zh: int = 100
    max_chars_zh: int = 200_000
    mean_word_length: tuple[float, float] = (3.0, 10.0)
    max_symbol_word_ratio: float = 0.1
    min_alpha_word_fraction: float = 0.8
    min_stop_words: int = 2
    max_garbled_fraction: float = 0.1
    max_bullet_line_fraction: float = 0.9
    max_ellipsis_line_fraction: float = 0.3
    max_dup_line_fraction: float = 0.3
    max_dup_paragraph_fraction: float = 0.3
    max_dup_line_char_fraction: float = 0.2
    max_dup_paragraph_char_fraction: float = 0.2
    # (n, max fraction) pairs; tuples keep the config hashable
    max_top_ngram_char_fraction: tuple[tuple[int, float], ...] = ((2, 0.20), (3, 0.18), (4, 0.16))
    max_dup_ngram_char_fraction: tuple[tuple[int, float], ...] = (
        (5, 0.15),
        (6, 0.14),
        (7, 0.13),
        (8, 0.12),
        (9, 0.11),
        (10, 0.10),
    )
    zh_chars_per_word: int = 2
    min_terminal_punct_line_fraction: float = 0.12
    max_short_line_fraction: float = 0.67
    short_line_chars: int = 30
    short_line_chars_zh: int = 15
    min_sentences: int = 3


SOURCES: dict[str, str] = {
    "langs": OURS + " (Chinese and English domain corpora)",
    "lang_min_score": FINEWEB + " (fastText score 0.65; here langid's normalised probability)",
    "min_words": GOPHER,
    "max_words": GOPHER,
    "min_chars_zh": GOPHER + " x zh_chars_per_word (our conversion)",
    "max_chars_zh": GOPHER + " x zh_chars_per_word (our conversion)",
    "mean_word_length": GOPHER,
    "max_symbol_word_ratio": GOPHER + " ('#' and ellipses per word)",
    "min_alpha_word_fraction": GOPHER,
    "min_stop_words": GOPHER + " (the, be, to, of, and, that, have, with)",
    "max_garbled_fraction": OURS + " (Gopher's 0.1 symbol ratio, per character)",
    "max_bullet_line_fraction": GOPHER,
    "max_ellipsis_line_fraction": GOPHER,
    "max_dup_line_fraction": GOPHER,
    "max_dup_paragraph_fraction": GOPHER,
    "max_dup_line_char_fraction": GOPHER,
    "max_dup_paragraph_char_fraction": GOPHER,
    "max_top_ngram_char_fraction": GOPHER + "; Chinese: character n-grams of n x zh_chars_per_word",
    "max_dup_ngram_char_fraction": GOPHER + "; Chinese: character n-grams of n x zh_chars_per_word",
    "zh_chars_per_word": OURS + " (maps Gopher's word n-grams and lengths onto characters)",
    "min_terminal_punct_line_fraction": FINEWEB + " (line_punct_ratio)",
    "max_short_line_fraction": FINEWEB + " (short_line_ratio)",
    "short_line_chars": FINEWEB,
    "short_line_chars_zh": OURS + " (FineWeb's 30 characters, halved for Chinese)",
    "min_sentences": C4 + " (pages with fewer than 3 sentences dropped)",
}

STOP_WORDS = frozenset(("the", "be", "to", "of", "and", "that", "have", "with"))  # Gopher
ZH_TERMINAL = "。！？!?"  # ！？ kept full width by normalise(); ASCII forms from mixed text
EN_TERMINAL = ".!?"
CLOSING = "\"'”’」』)）]"  # a sentence may end inside quotes or brackets
_BULLET_RE = re.compile(r"^\s*(?:[-*•·●▪◦]|\d+[.)、]|[（(]?[一二三四五六七八九十]+[、.）)])")
_ELLIPSIS_RE = re.compile(r"(?:\.\.\.|…)$")
_EN_SENTENCE_RE = re.compile(r"[.!?][\"')\]]*(?:\s|$)")
_OK_SYMBOLS = set("%+-=<>/°×÷~·•●▪◦|#&*^_$€£¥@\\©®™→←↑↓≤≥±")
CheckFn = Callable[["Text", CleanConfig], "tuple[Any, bool]"]


@dataclass
class Text:
    """A document split the ways the filters need it, computed once."""

    text: str
    lang: str

    @functools.cached_property
    def lines(self) -> list[str]:
        return [line for line in self.text.split("\n") if line.strip()]

    @functools.cached_property
    def paragraphs(self) -> list[str]:
        return [p for p in re.split(r"\n\s*\n", self.text) if p.strip()]

    @functools.cached_property
    def words(self) -> list[str]:
        return self.text.split()

    @functools.cached_property
    def chars(self) -> str:
        return "".join(self.words)  # characters without whitespace: Chinese "words"

    @functools.cached_property
    def line_dups(self) -> tuple[float, float]:
        """(duplicate line share, share of characters in duplicate lines)."""
        return duplicate_fraction([line.strip() for line in self.lines])

    @functools.cached_property
    def paragraph_dups(self) -> tuple[float, float]:
        """(duplicate paragraph share, share of characters in duplicate paragraphs)."""
        return duplicate_fraction([p.strip() for p in self.paragraphs])


# ---------------------------------------------------------------- measures


def garbled_fraction(text: str) -> float:
    """Fraction of non-space characters that are neither letters, digits, punctuation nor common
    symbols (replacement characters, control and private-use code points, dingbats ...)."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    bad = sum(unicodedata.category(c)[0] not in "LNP" and c not in _OK_SYMBOLS for c in chars)
    return bad / len(chars)


def duplicate_fraction(items: list[str]) -> tuple[float, float]:
    """(repeated items / items, characters in repeated items / characters): second and later
    occurrences count, as in Gopher's duplicate line and paragraph rules."""
    seen: set[str] = set()
    dup_items = dup_chars = 0
    for item in items:
        if item in seen:
            dup_items += 1
            dup_chars += len(item)
        seen.add(item)
    total_chars = sum(len(i) for i in items)
    return dup_items / max(len(items), 1), dup_chars / max(total_chars, 1)


def _grams(tokens: list[str] | str, n: int) -> tuple[list, list[int]]:
    """The n-grams as hashable keys, and each n-gram's length in characters (spaces excluded).

    A str is a character sequence (Chinese): its slices are the n-grams. Word n-grams are tuples
    built by zip, much cheaper than joining strings, with lengths from running sums.
    """
    if isinstance(tokens, str):
        count = max(len(tokens) - n + 1, 0)
        return [tokens[i : i + n] for i in range(count)], [n] * count
    grams = list(zip(*(tokens[k:] for k in range(n)), strict=False))
    ends = list(itertools.accumulate(map(len, tokens), initial=0))
    return grams, [ends[i + n] - ends[i] for i in range(len(grams))]


def _char_len(tokens: list[str] | str) -> int:
    return len(tokens) if isinstance(tokens, str) else sum(map(len, tokens))


def top_ngram_char_fraction(tokens: list[str] | str, n: int) -> float:
    """Characters covered by the most frequent n-gram (counted only if it repeats) / all."""
    grams, lengths = _grams(tokens, n)
    if not grams:
        return 0.0
    counts = Counter(grams)
    gram, count = counts.most_common(1)[0]
    if count < 2:
        return 0.0
    return count * lengths[grams.index(gram)] / max(_char_len(tokens), 1)


def dup_ngram_char_fraction(tokens: list[str] | str, n: int) -> float:
    """Characters inside repeated n-grams (non-overlapping, after the first occurrence) / all."""
    grams, lengths = _grams(tokens, n)
    if len(set(grams)) == len(grams):
        return 0.0  # no n-gram repeats (most good text): skip the sequential scan
    seen: set = set()
    dup_chars, i = 0, 0
    while i < len(grams):
        if grams[i] in seen:
            dup_chars += lengths[i]
            i += n
        else:
            seen.add(grams[i])
            i += 1
    return dup_chars / max(_char_len(tokens), 1)


def ends_with_terminal(line: str, lang: str) -> bool:
    """True when a line ends a sentence (。！？ for Chinese, .!? for English), quotes allowed."""
    stripped = line.rstrip().rstrip(CLOSING)
    return bool(stripped) and stripped[-1] in (ZH_TERMINAL if lang == "zh" else EN_TERMINAL)


def sentence_count(text: str, lang: str) -> int:
    """Sentence ends: each 。！？ in Chinese; .!? followed by a space or the end in English."""
    if lang == "zh":
        return sum(text.count(c) for c in ZH_TERMINAL)
    return len(_EN_SENTENCE_RE.findall(text))


def _fraction(lines: list[str], pred: Callable[[str], bool]) -> float:
    return sum(map(pred, lines)) / max(len(lines), 1)


# ---------------------------------------------------------------- checks: (value, passed)


def _length(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    if t.lang == "zh":
        n = len(t.chars)
        return n, c.min_chars_zh <= n <= c.max_chars_zh
    n = len(t.words)
    return n, c.min_words <= n <= c.max_words


def _mean_word_length(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = round(sum(map(len, t.words)) / max(len(t.words), 1), 4)
    return v, c.mean_word_length[0] <= v <= c.mean_word_length[1]


def _symbol_ratio(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    symbols = t.text.count("#") + t.text.count("...") + t.text.count("…")
    v = round(symbols / max(len(t.words), 1), 4)
    return v, v <= c.max_symbol_word_ratio


def _alpha_words(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = round(_fraction(t.words, lambda w: any(ch.isalpha() for ch in w)), 4)
    return v, v >= c.min_alpha_word_fraction


def _stop_words(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = len(STOP_WORDS.intersection(w.lower() for w in t.words))
    return v, v >= c.min_stop_words


def _garbled(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = round(garbled_fraction(t.text), 4)
    return v, v <= c.max_garbled_fraction


def _bullets(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = round(_fraction(t.lines, lambda line: bool(_BULLET_RE.match(line))), 4)
    return v, v <= c.max_bullet_line_fraction


def _ellipsis(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = round(_fraction(t.lines, lambda line: bool(_ELLIPSIS_RE.search(line.rstrip()))), 4)
    return v, v <= c.max_ellipsis_line_fraction


def _dup_lines(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = round(t.line_dups[0], 4)
    return v, v <= c.max_dup_line_fraction


def _dup_paragraphs(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = round(t.paragraph_dups[0], 4)
    return v, v <= c.max_dup_paragraph_fraction


def _dup_line_chars(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = round(t.line_dups[1], 4)
    return v, v <= c.max_dup_line_char_fraction


def _dup_paragraph_chars(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = round(t.paragraph_dups[1], 4)
    return v, v <= c.max_dup_paragraph_char_fraction


def _ngram_check(measure: Callable, n: int, limit: float) -> CheckFn:
    def check(t: Text, c: CleanConfig) -> tuple[Any, bool]:
        tokens = t.chars if t.lang == "zh" else t.words
        size = n * c.zh_chars_per_word if t.lang == "zh" else n
        v = round(measure(tokens, size), 4)
        return v, v <= limit

    return check


def _terminal_lines(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = round(_fraction(t.lines, lambda line: ends_with_terminal(line, t.lang)), 4)
    return v, v >= c.min_terminal_punct_line_fraction


def _short_lines(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    limit = c.short_line_chars_zh if t.lang == "zh" else c.short_line_chars
    v = round(_fraction(t.lines, lambda line: len(line.strip()) < limit), 4)
    return v, v <= c.max_short_line_fraction


def _sentences(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = sentence_count(t.text, t.lang)
    return v, v >= c.min_sentences


def _lorem_ipsum(t: Text, c: CleanConfig) -> tuple[Any, bool]:
    v = t.text.lower().count("lorem ipsum")  # C4 drops any page containing it
    return v, v == 0


_COMMON: list[tuple[str, CheckFn]] = [
    ("length", _length),
    ("garbled_fraction", _garbled),
    ("bullet_lines", _bullets),
    ("ellipsis_lines", _ellipsis),
    ("dup_line_fraction", _dup_lines),
    ("dup_paragraph_fraction", _dup_paragraphs),
    ("dup_line_char_fraction", _dup_line_chars),
    ("dup_paragraph_char_fraction", _dup_paragraph_chars),
]
_EN_ONLY: list[tuple[str, CheckFn]] = [
    ("mean_word_length", _mean_word_length),
    ("symbol_word_ratio", _symbol_ratio),
    ("alpha_words", _alpha_words),
    ("stop_words", _stop_words),
    ("lorem_ipsum", _lorem_ipsum),
]
_PUNCTUATION: list[tuple[str, CheckFn]] = [
    ("terminal_punct_lines", _terminal_lines),
    ("short_lines", _short_lines),
    ("min_sentences", _sentences),
]


@functools.lru_cache(maxsize=16)
def _checks(config: CleanConfig, lang: str) -> list[tuple[str, CheckFn]]:
    unit = "char_" if lang == "zh" else ""
    scale = config.zh_chars_per_word if lang == "zh" else 1
    ngram = [
        (f"top_{unit}{n * scale}gram_char_fraction", _ngram_check(top_ngram_char_fraction, n, v))
        for n, v in config.max_top_ngram_char_fraction
    ] + [
        (f"dup_{unit}{n * scale}gram_char_fraction", _ngram_check(dup_ngram_char_fraction, n, v))
        for n, v in config.max_dup_ngram_char_fraction
    ]
    lang_only = [] if lang == "zh" else _EN_ONLY
    return _COMMON + lang_only + ngram + _PUNCTUATION


def first_failure(text: str, lang: str, config: CleanConfig) -> tuple[str, Any] | None:
    """Run the filters in order; return (filter name, measured value) of the first that fails."""
    doc = Text(text, lang)
    for name, check in _checks(config, lang):
        value, passed = check(doc, config)
        if not passed:
            return name, value
    return None


def measure_all(text: str, lang: str, config: CleanConfig) -> dict[str, Any]:
    """Every filter's measured value (for tests, stats and tuning thresholds)."""
    doc = Text(text, lang)
    return {name: check(doc, config)[0] for name, check in _checks(config, lang)}
