"""EM/F1 golden values, ROUGE-L parity with rouge-score and rouge-chinese, BLEU with sacrebleu."""

from __future__ import annotations

import random
import re
import string
from collections import Counter

import pytest
import sacrebleu

from domaintune.eval.metrics import (
    char_tokens,
    corpus_bleu,
    exact_match,
    is_chinese_row,
    lcs_length,
    normalize_en,
    parse_metrics,
    rouge_l_f,
    score_pair,
    summarize,
    token_f1,
    zh_tokens,
)


# The SQuAD v1.1 official evaluation script (evaluate-v1.1.py), verbatim but for formatting.
def squad_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def squad_f1_score(prediction, ground_truth):
    prediction_tokens = squad_normalize_answer(prediction).split()
    ground_truth_tokens = squad_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


EN_PAIRS = [
    ("The Cat sat.", "cat sat"),
    ("The Cat sat.", "the cat sat down"),
    ("Aspirin, 100 mg, twice a day!", "aspirin 100mg twice daily"),
    ("The patients were running; the doctor runs.", "A patient runs and the doctors ran."),
    ("Blood pressure: 120/80 mmHg", "blood-pressure 120/80 mmHg (normal)"),
    ("an apple a day", "The apple of my eye"),
    ("", "the heart pumps blood"),
    ("Hypertension", ""),
]
ZH_PAIRS = [
    ("高血压患者，需要每天服药。", "高血压患者需要每天服药"),
    ("心脏把血液泵到全身。肺负责交换氧气！", "肺负责交换氧气，心脏把血液泵到全身。"),
    ("医生每天测量血压？ 是的。", "医生 每天 都 测量 血压"),
    ("服用阿司匹林（Aspirin）100mg，每日两次", "每日服用 aspirin 100 mg 两次"),
    ("《内科学》第九版……", "内科学 第九版"),
    ("高血压", "低血压患者"),
]
# Both languages in one row: the reference decides how the row is scored.
MIXED_PAIRS = [
    ("心脏 pumps blood!", "The heart pumps blood."),  # English row: rouge-score drops the Han
    ("The heart 泵血, every day.", "心脏每天泵血。"),  # Chinese row: jieba words
]


# ---------------------------------------------------------------- EM / F1


@pytest.mark.parametrize(
    "prediction, reference, em, f1",
    [
        # Both normalise to "cat sat" (SQuAD drops "the" and the full stop): a match.
        ("The Cat sat.", "cat sat", 100.0, 100.0),
        # cat sat vs cat sat down: P = 2/2, R = 2/3 -> F1 = 0.8
        ("The Cat sat.", "the cat sat down", 0.0, 80.0),
        ("a cat", "the dog", 0.0, 0.0),
        # Only articles and punctuation: nothing left to compare -> 0, not a match.
        ("The.", "a", 0.0, 0.0),
        # Chinese: full-width punctuation removed, each Han character a token.
        ("高血压患者，需要每天服药。", "高血压患者需要每天服药", 100.0, 100.0),
        # 高 血 压 vs 高 血 压 患 者: P = 1, R = 3/5 -> F1 = 0.75
        ("高血压。", "高血压患者", 0.0, 75.0),
        # EM ignores spaces ("服用aspirin100mg" both); F1 tokens differ: 服 用 aspirin 100mg
        # vs 服 用 aspirin100mg: 2 common, P = 2/4, R = 2/3 -> F1 = 4/7
        ("服用 Aspirin 100mg！", "服用aspirin100mg", 100.0, 400.0 / 7),
        # ～ (full-width tilde, a symbol in Unicode) and brackets are removed as CMRC2018 does.
        ("（阿司匹林）～", "阿司匹林", 100.0, 100.0),
        ("", "心脏", 0.0, 0.0),
        ("心脏", "", 0.0, 0.0),
        ("", "", 0.0, 0.0),
    ],
)
def test_em_f1_golden(prediction, reference, em, f1):
    scores = score_pair(prediction, reference, ("em", "f1"))
    assert scores.scores["em"] == em
    assert scores.scores["f1"] == pytest.approx(f1, abs=1e-9)


def test_english_normalisation_is_squad():
    texts = [p for pair in EN_PAIRS for p in pair] + ['  The   AN a-n ’quoted’ "x" ']
    for text in texts:
        assert normalize_en(text) == squad_normalize_answer(text)
    for pred, ref in EN_PAIRS:
        if pred.strip() and ref.strip():
            assert token_f1(pred, ref, False) == pytest.approx(100 * squad_f1_score(pred, ref))
            want = 100.0 if squad_normalize_answer(pred) == squad_normalize_answer(ref) else 0.0
            assert exact_match(pred, ref, False) == want


def test_chinese_tokens():
    assert zh_tokens("COVID-19疫苗， 第2剂！") == ["covid19", "疫", "苗", "第", "2", "剂"]
    assert zh_tokens("“心脏”、《肺》：氧气；") == ["心", "脏", "肺", "氧", "气"]
    assert zh_tokens("deep learning 很好") == ["deep", "learning", "很", "好"]


def test_row_language_follows_the_reference():
    assert is_chinese_row("the heart", "心脏")
    assert not is_chinese_row("心脏", "the heart")
    assert is_chinese_row("心脏", "")  # no reference: the prediction decides
    assert not is_chinese_row("heart", " ")


# ---------------------------------------------------------------- ROUGE-L


def _lcs_dp(a, b):
    # The textbook O(n*m) table, for the bit-parallel version to agree with.
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i][j] = (
                table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
            )
    return table[-1][-1]


def test_lcs_length_matches_dynamic_programming():
    rng = random.Random(0)
    for _ in range(300):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 90))]
        b = [rng.choice("abcdef") for _ in range(rng.randint(0, 90))]
        assert lcs_length(a, b) == _lcs_dp(a, b)
    assert lcs_length("abcbdab", "bdcaba") == 4


def test_rouge_l_char_golden():
    # a b c d vs a b d: LCS 3, P = 3/3, R = 3/4 -> F = 6/7
    assert score_pair("ab d", "abc d", ("rouge_l_char",)).scores["rouge_l_char"] == pytest.approx(
        600 / 7
    )
    assert char_tokens("Ab c\n") == ["a", "b", "c"]


@pytest.mark.parametrize("use_stemmer", [True, False])
def test_rouge_l_word_english_equals_rouge_score(use_stemmer):
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=use_stemmer)
    for pred, ref in EN_PAIRS:
        ours = score_pair(pred, ref, ("rouge_l_word",), use_stemmer=use_stemmer)
        theirs = scorer.score(ref, pred)["rougeL"].fmeasure
        assert ours.scores["rouge_l_word"] == pytest.approx(100 * theirs, abs=1e-9)
    # The stemmer matters: "running"/"runs" and "patients"/"patient" meet only when stemmed.
    pred, ref = EN_PAIRS[3]
    stemmed = score_pair(pred, ref, ("rouge_l_word",), use_stemmer=True).scores["rouge_l_word"]
    plain = score_pair(pred, ref, ("rouge_l_word",), use_stemmer=False).scores["rouge_l_word"]
    assert stemmed > plain


def test_rouge_l_word_mixed_rows_follow_the_reference_library():
    from rouge_score import rouge_scorer

    (en_pred, en_ref), (zh_pred, zh_ref) = MIXED_PAIRS
    assert not is_chinese_row(en_pred, en_ref) and is_chinese_row(zh_pred, zh_ref)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    ours = score_pair(en_pred, en_ref, ("rouge_l_word",)).scores["rouge_l_word"]
    assert ours == pytest.approx(100 * scorer.score(en_ref, en_pred)["rougeL"].fmeasure, abs=1e-9)
    ours = score_pair(zh_pred, zh_ref, ("rouge_l_word",)).scores["rouge_l_word"] / 100
    assert ours == pytest.approx(_rouge_chinese(zh_pred, zh_ref)["f"], abs=1e-6)
    assert ours > 0


def _rouge_chinese(hyp, ref):
    import jieba
    from rouge_chinese import Rouge

    return Rouge().get_scores(" ".join(jieba.cut(hyp)), " ".join(jieba.cut(ref)))[0]["rouge-l"]


def test_rouge_l_word_chinese_equals_rouge_chinese():
    for pred, ref in ZH_PAIRS:
        ours = score_pair(pred, ref, ("rouge_l_word",)).scores["rouge_l_word"] / 100
        assert ours == pytest.approx(_rouge_chinese(pred, ref)["f"], abs=1e-6)


def test_rouge_chinese_differences_are_the_epsilon_and_empty_input():
    """rouge-chinese's F is 2PR / (P + R + 1e-8) and it raises on an empty hypothesis; we report
    the exact 2PR / (P + R) (as rouge-score does) and 0 for an empty side."""
    from domaintune.eval.metrics import jieba_words

    pred, ref = ZH_PAIRS[1]
    theirs = _rouge_chinese(pred, ref)
    p, r = theirs["p"], theirs["r"]
    lcs = lcs_length(jieba_words(ref), jieba_words(pred))
    assert (p, r) == (lcs / len(jieba_words(pred)), lcs / len(jieba_words(ref)))
    ours = rouge_l_f(jieba_words(pred), jieba_words(ref))
    assert ours == 2 * p * r / (p + r)
    assert theirs["f"] == 2.0 * ((p * r) / (p + r + 1e-8))
    assert 0 < ours - theirs["f"] < 1e-7
    with pytest.raises(ValueError):
        _rouge_chinese("", ref)
    assert score_pair("", ref).scores["rouge_l_word"] == 0.0


# ---------------------------------------------------------------- BLEU


def test_corpus_bleu_equals_sacrebleu():
    preds, refs = zip(*EN_PAIRS, strict=True)
    want = sacrebleu.corpus_bleu(list(preds), [list(refs)]).score
    assert want > 0
    assert corpus_bleu(preds, refs, [False] * len(preds)) == want
    preds, refs = zip(*ZH_PAIRS, strict=True)
    want = sacrebleu.corpus_bleu(list(preds), [list(refs)], tokenize="zh").score
    assert want > 0
    assert corpus_bleu(preds, refs, [True] * len(preds)) == want


def test_mixed_set_bleu_sums_statistics_per_language():
    from sacrebleu.metrics.bleu import BLEU

    pairs = EN_PAIRS + ZH_PAIRS
    preds, refs = [p for p, _ in pairs], [r for _, r in pairs]
    zh = [is_chinese_row(p, r) for p, r in pairs]
    assert zh == [False] * len(EN_PAIRS) + [True] * len(ZH_PAIRS)
    en_stats = sacrebleu.corpus_bleu(preds[:8], [refs[:8]], tokenize="13a")
    zh_stats = sacrebleu.corpus_bleu(preds[8:], [refs[8:]], tokenize="zh")
    correct = [a + b for a, b in zip(en_stats.counts, zh_stats.counts, strict=True)]
    total = [a + b for a, b in zip(en_stats.totals, zh_stats.totals, strict=True)]
    want = BLEU.compute_bleu(
        correct,
        total,
        en_stats.sys_len + zh_stats.sys_len,
        en_stats.ref_len + zh_stats.ref_len,
        smooth_method="exp",
    ).score
    got = corpus_bleu(preds, refs, zh)
    assert got == want
    # sacrebleu's zh tokenizer splits Han characters and runs 13a's rules on the rest, so on
    # plain-ASCII English rows it tokenises as 13a does: the sum equals one zh corpus BLEU.
    assert got == pytest.approx(sacrebleu.corpus_bleu(preds, [refs], tokenize="zh").score)


def test_sentence_bleu_per_row():
    for pred, ref in EN_PAIRS + ZH_PAIRS + MIXED_PAIRS:
        zh = is_chinese_row(pred, ref)
        want = sacrebleu.sentence_bleu(pred, [ref], tokenize="zh" if zh else "13a").score
        assert score_pair(pred, ref, ("bleu",)).scores["bleu"] == want


def test_summarize_means_and_corpus_bleu():
    rows = [score_pair(p, r) for p, r in ZH_PAIRS]
    got = summarize(rows)
    assert got["n"] == len(ZH_PAIRS)
    for m in ("em", "f1", "rouge_l_char", "rouge_l_word"):
        assert got[m] == pytest.approx(sum(r.scores[m] for r in rows) / len(rows))
    preds, refs = zip(*ZH_PAIRS, strict=True)
    assert got["bleu"] == sacrebleu.corpus_bleu(list(preds), [list(refs)], tokenize="zh").score
    # Corpus BLEU is not the mean of the sentence BLEUs.
    assert got["bleu"] != pytest.approx(sum(r.scores["bleu"] for r in rows) / len(rows))


def test_empty_sides_score_zero_but_count_in_corpus_bleu():
    rows = [score_pair("the heart pumps blood", "the heart pumps blood"), score_pair("", "x y z")]
    assert rows[0].scores == pytest.approx(
        {"em": 100.0, "f1": 100.0, "rouge_l_char": 100.0, "rouge_l_word": 100.0, "bleu": 100.0}
    )
    assert rows[1].scores == dict.fromkeys(rows[0].scores, 0.0)
    got = summarize(rows)
    assert got["em"] == 50.0
    # The empty prediction is not skipped: its reference length lowers the brevity penalty.
    assert (
        got["bleu"]
        == sacrebleu.corpus_bleu(
            ["the heart pumps blood", ""], [["the heart pumps blood", "x y z"]]
        ).score
    )
    assert got["bleu"] < 100.0


def test_parse_metrics():
    assert parse_metrics("em,f1,rouge_l,bleu") == (
        "em",
        "f1",
        "rouge_l_char",
        "rouge_l_word",
        "bleu",
    )
    assert parse_metrics("bleu, em") == ("em", "bleu")
    with pytest.raises(ValueError, match="unknown metric 'rouge'"):
        parse_metrics("em,rouge")
    with pytest.raises(ValueError):
        parse_metrics("")
