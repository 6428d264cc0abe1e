"""The one CJK definition (domaintune.text) and the modules that use it."""

from __future__ import annotations

import pytest

from domaintune.data import decontaminate, minhash, select
from domaintune.eval import metrics
from domaintune.text import (
    CJK_RANGES,
    CJK_RUN_RE,
    HAN_RE,
    LATIN_WORD_RE,
    cjk_share,
    has_han,
    is_cjk_char,
    is_han,
)


@pytest.mark.parametrize(
    ("ch", "han", "cjk"),
    [
        ("中", True, True),  # U+4E2D, CJK Unified Ideographs
        ("㐀", True, True),  # U+3400, Extension A
        ("豈", True, True),  # U+F900, Compatibility Ideographs
        ("\U00020000", True, True),  # Extension B
        ("\U0003134a", True, True),  # Extension G
        ("ひ", False, True),  # hiragana
        ("カ", False, True),  # katakana
        ("한", False, True),  # hangul syllable
        ("a", False, False),
        ("，", False, False),  # full-width comma is punctuation, not CJK text
        ("。", False, False),
        ("1", False, False),
    ],
)
def test_each_character_class(ch, han, cjk):
    assert is_han(ch) is han and is_cjk_char(ch) is cjk
    assert (HAN_RE.fullmatch(ch) is not None) is han


def test_runs_words_and_shares():
    text = "COVID-19疫苗，ワクチン and 백신 2024"
    assert CJK_RUN_RE.findall(text) == ["疫苗", "ワクチン", "백신"]
    assert LATIN_WORD_RE.findall(text) == ["COVID", "19", "and", "2024"]
    assert cjk_share(text) == 8 / (8 + 14)
    assert cjk_share("") == 0.0 and cjk_share("...") == 0.0 and cjk_share("中文") == 1.0
    assert has_han(text) and not has_han("ワクチン 백신")
    assert "\u3040-\u30ff" in CJK_RANGES and "\uac00-\ud7af" in CJK_RANGES


def test_the_four_users_share_the_definition():
    # dedup tokens: one token per CJK character (Extension B included), words otherwise
    assert minhash.tokenize("Ab 𠀀中ワ한 cd") == ["ab", "\U00020000", "中", "ワ", "한", "cd"]
    # decontamination: Chinese when at least half the units are Han
    assert decontaminate._is_chinese(["中", "文", "ab"]) and not decontaminate._is_chinese(["ワ"])
    # selection features: CJK 1-3 grams of runs, latin words and bigrams
    assert select._features("中文 ok go") == ["中", "文", "中文", "ok", "go", "ok go"]
    # eval metrics: the same Han pattern object
    assert metrics._HAN is HAN_RE and metrics.has_cjk("𠀀") and not metrics.has_cjk("ワ")
