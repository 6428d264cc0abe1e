"""Reference-based scores for generated answers: EM, token F1, ROUGE-L (characters, words), BLEU.

Every score is a percentage, 0-100. Each row is scored in one language, decided from its
reference (from the prediction when the reference is empty): a row is Chinese when that text
holds a Han character (`has_cjk`), English otherwise. docs/eval-gen.md gives the exact definitions.

- em / f1: SQuAD v1.1's `normalize_answer` and bag-of-words F1 for English rows; for Chinese rows
  CMRC2018-style normalisation (lowercase, punctuation and whitespace removed) with each Han
  character one token and each run of other characters one word.
- rouge_l_char: ROUGE-L F1 on the lowercased non-whitespace characters.
- rouge_l_word: ROUGE-L F1 on words: the `rouge-score` library's tokenizer for English rows (its
  RougeScorer(["rougeL"]) figure), jieba words (default mode, whitespace dropped) for Chinese rows
  (the `rouge-chinese` figure on jieba-segmented text, without its 1e-8 in the F denominator).
- bleu: sacrebleu BLEU-4, tokenizer `zh` for Chinese rows and `13a` for English rows; per row
  sentence_bleu (exp smoothing), per set corpus BLEU from the summed n-gram statistics.

A pair whose prediction or reference is empty (or only whitespace) scores 0 on every metric.
"""

from __future__ import annotations

import functools
import logging
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from domaintune.text import HAN_RE

METRICS = ("em", "f1", "rouge_l_char", "rouge_l_word", "bleu")
# Names accepted by --metrics; "rouge_l" selects both ROUGE-L figures.
METRIC_CHOICES = {
    "em": ("em",),
    "f1": ("f1",),
    "rouge_l": ("rouge_l_char", "rouge_l_word"),
    "rouge_l_char": ("rouge_l_char",),
    "rouge_l_word": ("rouge_l_word",),
    "bleu": ("bleu",),
}

# Han ideographs: CJK Unified Ideographs, Extension A, Compatibility Ideographs, Extensions B-H.
_HAN = HAN_RE  # the project's one definition (domaintune.text)
_SQUAD_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def parse_metrics(spec: str) -> tuple[str, ...]:
    """`em,f1,rouge_l,bleu` -> the metric names, in METRICS order; ValueError on unknown names."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for name in names or [""]:
        if name not in METRIC_CHOICES:
            raise ValueError(f"unknown metric {name!r}; choose from {', '.join(METRIC_CHOICES)}")
    chosen = {m for n in names for m in METRIC_CHOICES[n]}
    return tuple(m for m in METRICS if m in chosen)


def has_cjk(text: str) -> bool:
    """True when `text` holds a Han character."""
    return _HAN.search(text) is not None


def is_chinese_row(prediction: str, reference: str) -> bool:
    """A row's language follows its reference; the prediction decides only when that is empty."""
    return has_cjk(reference) if reference.strip() else has_cjk(prediction)


# ---------------------------------------------------------------- EM and F1


def normalize_en(text: str) -> str:
    """SQuAD v1.1 `normalize_answer`: lowercase, drop ASCII punctuation and a/an/the, one space."""
    text = "".join(ch for ch in text.lower() if ch not in _SQUAD_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


@functools.lru_cache(maxsize=4096)
def _is_punct(ch: str) -> bool:
    # Unicode punctuation (P*: ，。、《》“” ...) plus ASCII punctuation and its full-width forms
    # (＋ ～ ＄ are symbols, S*, in Unicode; CMRC2018's list removes ～ and +).
    return unicodedata.category(ch).startswith("P") or (
        unicodedata.normalize("NFKC", ch) in _SQUAD_PUNCT
    )


def zh_tokens(text: str) -> list[str]:
    """CMRC2018-style tokens: lowercase, punctuation removed, each Han character one token,
    each whitespace-separated run of other characters one word."""
    tokens: list[str] = []
    word: list[str] = []
    for ch in text.lower():
        if _is_punct(ch):
            continue  # removed in place, as SQuAD does: "covid-19" -> "covid19"
        if ch.isspace() or _HAN.match(ch):
            if word:
                tokens.append("".join(word))
                word = []
            if not ch.isspace():
                tokens.append(ch)
        else:
            word.append(ch)
    if word:
        tokens.append("".join(word))
    return tokens


def answer_tokens(text: str, chinese: bool) -> list[str]:
    """The normalised tokens EM and F1 compare."""
    return zh_tokens(text) if chinese else normalize_en(text).split()


def exact_match(prediction: str, reference: str, chinese: bool) -> float:
    """100 when the normalised texts are equal and not empty, else 0 (Chinese: spaces ignored)."""
    pred, ref = answer_tokens(prediction, chinese), answer_tokens(reference, chinese)
    if not pred or not ref:
        return 0.0
    joiner = "" if chinese else " "
    return 100.0 if joiner.join(pred) == joiner.join(ref) else 0.0


def bag_f1(prediction: Sequence[str], reference: Sequence[str], scale: float = 1.0) -> float:
    """SQuAD's bag-of-tokens F1 times `scale`; 0 when nothing is shared. `scale` multiplies
    before the division, as SQuAD's and LongBench's scripts order it, so figures stay bit-equal."""
    same = sum((Counter(prediction) & Counter(reference)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(prediction), same / len(reference)
    return scale * (2 * precision * recall) / (precision + recall)


def token_f1(prediction: str, reference: str, chinese: bool) -> float:
    """SQuAD's bag-of-tokens F1 (x100) over `answer_tokens`; 0 when either side has none."""
    pred, ref = answer_tokens(prediction, chinese), answer_tokens(reference, chinese)
    return bag_f1(pred, ref, scale=100.0)


# ---------------------------------------------------------------- ROUGE-L


def lcs_masks(a: Sequence[Any]) -> dict[Any, int]:
    """Bit masks of `a` for lcs_length: bit i of masks[t] is set where a[i] == t."""
    masks: dict[Any, int] = {}
    for i, x in enumerate(a):
        masks[x] = masks.get(x, 0) | (1 << i)
    return masks


def lcs_length(a: Sequence[Any], b: Sequence[Any], masks: dict[Any, int] | None = None) -> int:
    """Length of the longest common subsequence, bit-parallel (Hyyro 2004): O(len(a)*len(b)/64).

    `masks` (lcs_masks(a)) may be given when `a` is compared with many sequences."""
    if not a or not b:
        return 0
    get = (lcs_masks(a) if masks is None else masks).get
    full = (1 << len(a)) - 1
    v = full  # zero bits of v mark the LCS positions found so far
    for y in b:
        u = v & get(y, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l_f(
    prediction: Sequence[Any],
    reference: Sequence[Any],
    reference_masks: dict[Any, int] | None = None,
) -> float:
    """ROUGE-L F-measure (0-1) of two token sequences, as rouge_score's `_score_lcs` computes it:
    2PR / (P + R) = 2 * lcs / (len(prediction) + len(reference))."""
    lcs = lcs_length(reference, prediction, reference_masks)
    if lcs == 0:
        return 0.0
    return 2.0 * lcs / (len(prediction) + len(reference))


def char_tokens(text: str) -> list[str]:
    """Characters for rouge_l_char: lowercased, whitespace dropped."""
    return [ch for ch in text.lower() if not ch.isspace()]


@functools.cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is info level
    return jieba


def jieba_words(text: str) -> list[str]:
    """jieba.lcut in its default mode (accurate, HMM on), whitespace tokens dropped."""
    return [w for w in _jieba().lcut(text) if w.strip()]


@functools.cache
def _rouge_tokenizer(use_stemmer: bool) -> Any:
    from rouge_score.tokenizers import DefaultTokenizer

    return DefaultTokenizer(use_stemmer=use_stemmer)


def word_tokens(text: str, chinese: bool, *, use_stemmer: bool = True) -> list[str]:
    """Words for rouge_l_word: jieba for Chinese rows, rouge-score's tokenizer for English rows."""
    return jieba_words(text) if chinese else _rouge_tokenizer(use_stemmer).tokenize(text)


# ---------------------------------------------------------------- BLEU


def bleu_tokenizer(chinese: bool) -> str:
    return "zh" if chinese else "13a"


def sentence_bleu(prediction: str, reference: str, chinese: bool) -> float:
    """sacrebleu.sentence_bleu with its defaults (exp smoothing, effective order)."""
    import sacrebleu

    if not prediction.strip() or not reference.strip():
        return 0.0
    return sacrebleu.sentence_bleu(prediction, [reference], tokenize=bleu_tokenizer(chinese)).score


def corpus_bleu(
    predictions: Sequence[str], references: Sequence[str], chinese: Sequence[bool]
) -> float:
    """Corpus BLEU-4 with each row tokenised for its language, from the summed statistics.

    Rows of one language give exactly `sacrebleu.corpus_bleu(preds, [refs], tokenize=...)`; in a
    mixed set the n-gram matches, totals and lengths of the `zh` and `13a` rows are added and BLEU
    is computed once from the sums (exp smoothing, as corpus_bleu does). Returns 0 for no rows.
    """
    from sacrebleu.metrics.bleu import BLEU

    correct, total, sys_len, ref_len = [0] * 4, [0] * 4, 0, 0
    for zh in (False, True):
        rows = [i for i, c in enumerate(chinese) if c == zh]
        if not rows:
            continue
        metric = BLEU(tokenize=bleu_tokenizer(zh), force=True)  # force: only silences a warning
        stats = metric.corpus_score([predictions[i] for i in rows], [[references[i] for i in rows]])
        correct = [a + b for a, b in zip(correct, stats.counts, strict=True)]
        total = [a + b for a, b in zip(total, stats.totals, strict=True)]
        sys_len, ref_len = sys_len + stats.sys_len, ref_len + stats.ref_len
    return BLEU.compute_bleu(correct, total, sys_len, ref_len, smooth_method="exp").score


# ---------------------------------------------------------------- rows and sets


@dataclass(frozen=True)
class Scored:
    """One prediction/reference pair with its language and per-row scores."""

    prediction: str
    reference: str
    chinese: bool
    scores: dict[str, float]

    @property
    def empty(self) -> bool:
        return not self.prediction.strip() or not self.reference.strip()


def score_pair(
    prediction: str,
    reference: str,
    metrics: Iterable[str] = METRICS,
    *,
    use_stemmer: bool = True,
) -> Scored:
    """Score one pair on `metrics` (percentages); an empty side scores 0 everywhere."""
    chinese = is_chinese_row(prediction, reference)
    metrics = tuple(metrics)
    if not prediction.strip() or not reference.strip():
        return Scored(prediction, reference, chinese, dict.fromkeys(metrics, 0.0))
    scores: dict[str, float] = {}
    for m in metrics:
        if m == "em":
            scores[m] = exact_match(prediction, reference, chinese)
        elif m == "f1":
            scores[m] = token_f1(prediction, reference, chinese)
        elif m == "rouge_l_char":
            scores[m] = 100.0 * rouge_l_f(char_tokens(prediction), char_tokens(reference))
        elif m == "rouge_l_word":
            pred = word_tokens(prediction, chinese, use_stemmer=use_stemmer)
            ref = word_tokens(reference, chinese, use_stemmer=use_stemmer)
            scores[m] = 100.0 * rouge_l_f(pred, ref)
        elif m == "bleu":
            scores[m] = sentence_bleu(prediction, reference, chinese)
        else:
            raise ValueError(f"unknown metric {m!r}; choose from {', '.join(METRICS)}")
    return Scored(prediction, reference, chinese, scores)


def summarize(rows: Sequence[Scored], metrics: Iterable[str] = METRICS) -> dict[str, Any]:
    """Set figures: the mean of the row scores, except bleu (corpus BLEU); plus the row count n."""
    out: dict[str, Any] = {}
    for m in metrics:
        if m == "bleu":
            out[m] = corpus_bleu(
                [r.prediction for r in rows], [r.reference for r in rows], [r.chinese for r in rows]
            )
        else:
            out[m] = sum(r.scores[m] for r in rows) / len(rows) if rows else 0.0
    out["n"] = len(rows)
    return out


def _ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def diversity(predictions: Sequence[str]) -> dict[str, float]:
    """Reference-free figures of a set of generated answers (tokens as for em/f1: Han characters
    and words):
    - distinct_1, distinct_2: distinct n-grams / all n-grams over the set (Li et al. 2016);
    - repetition: mean over answers of seq-rep-4 = 1 - distinct 4-grams / 4-grams within the
      answer (Welleck et al. 2019); 0 for an answer of fewer than 4 tokens. A model stuck in a
      loop scores near 1;
    - mean_tokens: the answers' mean length in those tokens (length drift before/after).
    """
    toks = [answer_tokens(p, has_cjk(p)) for p in predictions]
    out: dict[str, float] = {}
    for n in (1, 2):
        grams = [g for t in toks for g in _ngrams(t, n)]
        out[f"distinct_{n}"] = len(set(grams)) / len(grams) if grams else 0.0
    reps = []
    for t in toks:
        grams = _ngrams(t, 4)
        reps.append(1 - len(set(grams)) / len(grams) if grams else 0.0)
    out["repetition"] = sum(reps) / len(reps) if reps else 0.0
    out["mean_tokens"] = sum(len(t) for t in toks) / len(toks) if toks else 0.0
    return out
