"""ROUGE-L on CJK characters / latin words, the novelty filter, the row checks, reply parsing."""

from __future__ import annotations

import random

import pytest
from rouge_score import rouge_scorer

from domaintune.data.minhash import text_tokens
from domaintune.eval.metrics import lcs_length, lcs_masks
from domaintune.synth.client import load_json_reply
from domaintune.synth.filters import (
    Limits,
    NoveltyFilter,
    check_row,
    language,
    rouge_l,
    rouge_l_text,
)
from domaintune.synth.kinds import chunks, find_quote


def _lcs_dp(a, b) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            best = max(table[i][j + 1], table[i + 1][j])
            table[i + 1][j + 1] = table[i][j] + 1 if x == y else best
    return table[-1][-1]


def test_bit_parallel_lcs_with_reused_masks_equals_dynamic_programming():
    """The novelty filter reuses one text's masks against many (eval.metrics.lcs_length)."""
    rng = random.Random(0)
    for _ in range(400):
        a = [rng.choice("abcdef") for _ in range(rng.randint(0, 70))]  # > 64: several words
        b = [rng.choice("abcdef") for _ in range(rng.randint(0, 70))]
        assert lcs_length(a, b, lcs_masks(a)) == _lcs_dp(a, b)


def test_rouge_l_scores_chinese_where_rouge_score_cannot():
    same = "请解释高血压的主要成因和预防方法"
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    assert scorer.score(same, same)["rougeL"].fmeasure == 0.0  # it drops every CJK character
    assert rouge_l_text(same, same) == 1.0
    # 请解释高血压的成因 (9) vs 请说明高血压的主要成因 (11): LCS 请…高血压的…成因 = 7
    assert rouge_l_text("请解释高血压的成因", "请说明高血压的主要成因") == pytest.approx(2 * 7 / 20)


def test_rouge_l_equals_rouge_score_on_english():
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    pairs = [
        ("Explain the causes of high blood pressure.", "What causes high blood pressure?"),
        ("Don't skip the 2 daily doses, take them with water.", "Take 2 doses daily with water."),
        ("Write a poem about the sea", "Write a short poem about a calm sea at night"),
    ]
    for a, b in pairs:
        theirs = scorer.score(a, b)["rougeL"].fmeasure
        assert rouge_l_text(a, b) == pytest.approx(theirs, abs=1e-12)


def _greedy_brute_force(texts: list[str], threshold: float = 0.7) -> list[bool]:
    tokens, kept, out = [text_tokens(t) for t in texts], [], []
    for i, toks in enumerate(tokens):
        novel = all(rouge_l(toks, tokens[j]) <= threshold for j in kept)
        out.append(novel)
        if novel:
            kept.append(i)
    return out


def _instructions(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    zh = "高血压糖尿病心脏肾脏药物剂量症状诊断治疗预防饮食运动睡眠检查"
    en = ["blood", "pressure", "heart", "kidney", "dose", "drug", "symptom", "diagnosis",
          "treatment", "diet", "sleep", "test"]  # fmt: skip
    out = []
    for i in range(n):
        if out and rng.random() < 0.2:  # a near copy of an earlier one: one token changed
            toks = list(rng.choice(out)) if rng.random() < 0.5 else rng.choice(out).split()
            toks[rng.randrange(len(toks))] = rng.choice(zh) if i % 2 else rng.choice(en)
            out.append("".join(toks) if all(len(t) == 1 for t in toks) else " ".join(toks))
        elif i % 2:
            out.append("请说明" + "".join(rng.choice(zh) for _ in range(rng.randint(8, 20))))
        else:
            out.append("Explain " + " ".join(rng.choice(en) for _ in range(rng.randint(6, 14))))
    return out


def test_novelty_filter_matches_brute_force_greedy():
    texts = _instructions(400)
    ours = [v.novel for v in NoveltyFilter().filter(texts)]
    assert ours == _greedy_brute_force(texts)
    assert 40 < ours.count(False) < 120  # the planted copies (and some chance pairs) are found


def test_novelty_against_existing_rows_names_the_match():
    f = NoveltyFilter()
    verdicts = f.filter(["请解释高血压的成因。", "天气很好"], existing=["请解释高血压的成因"])
    assert (verdicts[0].novel, verdicts[0].match, verdicts[0].score) == (False, 0, 1.0)
    assert verdicts[1].novel


@pytest.mark.parametrize(
    ("prompt", "answer", "lang", "reason"),
    [
        ("Hi", "A long enough answer.", None, "prompt_length"),
        ("What is blood pressure?", "", None, "answer_length"),
        ("什么是高血压？", "Blood pressure that stays high.", "zh", "language"),
        ("What is blood pressure?", "I'm sorry, but I cannot help.", "en", "refusal"),
        ("什么是高血压？", "抱歉，作为一个AI我无法回答。", "zh", "refusal"),
        ("什么是高血压的定义？", "高血压的定义", "zh", "restates_question"),
        ("What is blood pressure?", "What is blood pressure?", "en", "restates_question"),
        ("什么是高血压？", "动脉血压持续升高。", "zh", None),
    ],
)
def test_row_checks(prompt, answer, lang, reason):
    assert check_row(prompt, answer, lang=lang, limits=Limits()) == reason


def test_language_chunks_quotes_and_json_replies():
    assert [language(t) for t in ("高血压 DNA", "DNA is 高", "mmHg 是单位")] == ["zh", "en", "zh"]
    text = "第一段。\n\n" + "第二段很长。" * 50 + "\n\n第三段。"
    spans = chunks(text, size=200)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert text[spans[0][0] : spans[0][1]] == "第一段。\n\n"
    assert find_quote("Eat less\n salt  daily.", "less salt daily") == (4, 21)
    assert load_json_reply('Sure!\n```json\n[{"a": 1}]\n```') == [{"a": 1}]
    assert load_json_reply('Result: {"q": [1, 2]} done') == {"q": [1, 2]}
    with pytest.raises(ValueError, match="no JSON"):
        load_json_reply("no json here")
