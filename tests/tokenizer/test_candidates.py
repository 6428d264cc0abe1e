"""Continued BPE on hand-made segments: merges, tokens saved, and the filters, worked by hand."""

from __future__ import annotations

from collections import Counter

from domaintune.tokenizer.candidates import ContinuedBPE, choose_tokens
from domaintune.tokenizer.vocab import TokenizerFile

# 糖尿病 x5, 糖尿 x2, 高血压 x3 (symbols are characters, all in the vocabulary)
SEGMENTS = Counter({("糖", "尿", "病"): 5, ("糖", "尿"): 2, ("高", "血", "压"): 3})
KNOWN = {"糖", "尿", "病", "高", "血", "压"}


def test_merges_come_in_order_of_tokens_saved():
    merges = ContinuedBPE(SEGMENTS, set(KNOWN)).run(10, min_freq=1)
    # 糖尿 7 times; then 糖尿+病 5; then 血压 3 vs 高血 3 (tie: smaller pair first), then 高+血压 3
    assert merges == [("糖", "尿", 7), ("糖尿", "病", 5), ("血", "压", 3), ("高", "血压", 3)]


def test_min_freq_and_unknown_symbols_stop_merges():
    assert ContinuedBPE(SEGMENTS, set(KNOWN)).run(10, min_freq=4) == [
        ("糖", "尿", 7), ("糖尿", "病", 5)
    ]  # fmt: skip
    no_gao = ContinuedBPE(SEGMENTS, KNOWN - {"高"}).run(10, min_freq=1)
    assert ("高", "血压", 3) not in no_gao and ("血", "压", 3) in no_gao


def test_max_chars_caps_new_tokens():
    data = {"model": {"type": "BPE", "vocab": {s: i for i, s in enumerate(sorted(KNOWN))},
                      "merges": []}, "added_tokens": []}  # fmt: skip
    tf = TokenizerFile(path=None, data=data, kind="sentencepiece")
    texts = [t.text for t in choose_tokens(tf, SEGMENTS, 10, min_freq=1, max_chars=2)]
    assert texts == ["糖尿", "血压"]  # three-character tokens are refused
    assert [t.text for t in choose_tokens(tf, SEGMENTS, 10, min_freq=1)] == [
        "糖尿", "糖尿病", "血压", "高血压"
    ]  # fmt: skip
