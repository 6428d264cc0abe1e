"""Filters for generated rows: novelty (MinHash LSH + exact ROUGE-L), length, language, refusal,
answers that restate the question.

ROUGE-L is computed on tokens that are single characters for CJK text and words for latin text
(the tokens of `data dedup`), so two identical Chinese instructions score 1.0; `rouge_score`
splits on non-latin characters and scores them 0.0. The novelty rule is self-instruct's (Wang et
al. 2022, section 2.3): a new instruction is kept only if its ROUGE-L with every kept one is below
0.7. MinHash LSH over token shingles finds the few candidates to check exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from domaintune.data.minhash import MinHasher, shingle_hashes, text_tokens
from domaintune.eval.metrics import lcs_masks, rouge_l_f
from domaintune.text import HAN_RE

NOVELTY_THRESHOLD = 0.7  # self-instruct's ROUGE-L cut (Wang et al. 2022)
_LATIN = re.compile(r"[A-Za-z]")
# Openings of refusals and assistant boilerplate, zh + en (Alpaca-cleaned and BELLE filter lists).
_REFUSAL = re.compile(
    r"^\s*(i'?m sorry|i am sorry|sorry, (but )?i|i cannot|i can'?t|i'?m unable|i am unable|"
    r"as an ai|as a language model|i do not have (access|the ability)|"
    r"抱歉|对不起|很抱歉|作为(一个)?(人工智能|ai|语言模型)|我无法|我不能|我没有办法)",
    re.IGNORECASE,
)


# ---------------------------------------------------------------- ROUGE-L


def rouge_l(a: Sequence[str], b: Sequence[str], masks: dict[str, int] | None = None) -> float:
    """ROUGE-L F1 of two token sequences (eval.metrics.rouge_l_f; `masks`: lcs_masks(a))."""
    return rouge_l_f(b, a, masks)


def rouge_l_text(a: str, b: str) -> float:
    """ROUGE-L F1 of two texts on CJK characters and latin words (normalised: NFKC, lowercase)."""
    return rouge_l(text_tokens(a), text_tokens(b))


# ---------------------------------------------------------------- simple filters


def language(text: str) -> str:
    """"zh" when Han characters outnumber latin letters / 4 (a word is ~4 letters), else "en"."""
    cjk, latin = len(HAN_RE.findall(text)), len(_LATIN.findall(text))
    return "zh" if cjk and cjk >= latin / 4 else "en"


def is_refusal(text: str) -> bool:
    """True when the reply opens like a refusal or AI boilerplate."""
    return bool(_REFUSAL.match(text))


def restates(question: str, answer: str, *, threshold: float = 0.8) -> bool:
    """True when the answer adds nothing: contained in the question, or ROUGE-L >= threshold."""
    q, a = text_tokens(question), text_tokens(answer)
    if not a:
        return True
    if len(a) <= len(q) and "\x1f".join(a) in "\x1f".join(q):
        return True
    return rouge_l(q, a) >= threshold


@dataclass
class Limits:
    """Length bounds in tokens (CJK characters / latin words)."""

    min_prompt: int = 3
    max_prompt: int = 2048
    min_answer: int = 1
    max_answer: int = 4096


def check_row(
    prompt: str,
    answer: str,
    *,
    lang: str | None,
    limits: Limits,
    answer_lang: bool = True,
    restates_check: bool = True,
) -> str | None:
    """The first failing check's reason (length, language, refusal, restates), or None.

    `lang` is the prompt's expected language (None: any); `answer_lang` checks the answer too.
    """
    p, a = len(text_tokens(prompt)), len(text_tokens(answer))
    if not limits.min_prompt <= p <= limits.max_prompt:
        return "prompt_length"
    if not limits.min_answer <= a <= limits.max_answer:
        return "answer_length"
    if lang is not None and (
        language(prompt) != lang or (answer_lang and language(answer) != lang)
    ):
        return "language"
    if is_refusal(answer):
        return "refusal"
    if restates_check and restates(prompt, answer):
        return "restates_question"
    return None


# ---------------------------------------------------------------- novelty


@dataclass
class Verdict:
    """Novelty result for one text: kept, or the index and ROUGE-L of the match that rejects it."""

    novel: bool
    match: int | None = None  # index into `existing + texts` (existing first)
    score: float = 0.0


class NoveltyFilter:
    """Greedy self-instruct novelty: keep a text only if ROUGE-L <= threshold against all kept.

    Candidates come from MinHash LSH on token n-gram shingles (n=1: a pair with ROUGE-L > 0.7
    shares most of its tokens, so its unigram Jaccard is high even when words are reordered or
    replaced). Band buckets keep every kept text, so a text meets every kept text it collides
    with, not only a bucket's first. Candidates are then ordered by estimated Jaccard (equal
    signature values), those under `min_jaccard` skipped, and the rest scored exactly.
    """

    def __init__(
        self,
        threshold: float = NOVELTY_THRESHOLD,
        *,
        ngram: int = 1,
        bands: int = 24,
        rows: int = 4,
        min_jaccard: float = 0.3,
        seed: int = 1,
    ) -> None:
        self.threshold, self.ngram, self.bands, self.rows = threshold, ngram, bands, rows
        # ROUGE-L F1 > 0.7 means > 70% of the tokens in common order: unigram Jaccard about 0.5
        # or more. 0.3 leaves 4 standard deviations of estimate error at 96 permutations.
        self.min_jaccard = min_jaccard if ngram == 1 else 0.0
        self.hasher = MinHasher(bands * rows, seed=seed)
        rng = np.random.default_rng(seed + 1)
        self._mix = rng.integers(1, 2**63, rows, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.candidates_checked = 0

    def signatures(self, token_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """MinHash signatures of token n-gram shingles: uint32 [texts, bands * rows]."""
        return self.hasher.signatures([shingle_hashes(t, self.ngram) for t in token_lists])

    def band_keys(self, sigs: np.ndarray) -> np.ndarray:
        """One 64-bit key per (text, band): uint64 [texts, bands]."""
        wide = sigs.astype(np.uint64).reshape(len(sigs), self.bands, self.rows)
        keys = (wide * self._mix).sum(axis=2, dtype=np.uint64)  # wraps mod 2^64
        return keys + np.arange(self.bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)

    def filter(self, texts: Sequence[str], existing: Sequence[str] = ()) -> list[Verdict]:
        """Verdicts for `texts` in order; `existing` rows are kept first and never rejected."""
        tokens = [text_tokens(t) for t in [*existing, *texts]]
        sigs = self.signatures(tokens)
        lengths = np.array([len(t) for t in tokens], dtype=np.float64)
        buckets: dict[int, list[int]] = {}
        verdicts = []
        for i, row in enumerate(self.band_keys(sigs).tolist()):
            if i < len(existing):
                verdict = Verdict(True)
            else:
                found = [j for key in row for j in buckets.get(key, ())]
                verdict = self._check(i, found, tokens, sigs, lengths) if found else Verdict(True)
                verdicts.append(verdict)
            if verdict.novel:
                for key in row:
                    buckets.setdefault(key, []).append(i)
        return verdicts

    def _check(
        self, i: int, found: list[int], tokens: list, sigs: np.ndarray, lengths: np.ndarray
    ) -> Verdict:
        js = np.unique(np.array(found))
        n, m = lengths[i], lengths[js]
        # ROUGE-L F1 <= 2 min(n, m) / (n + m): pairs of too different lengths cannot pass.
        js = js[2.0 * np.minimum(n, m) > self.threshold * (n + m)]
        if len(js) == 0:
            return Verdict(True)
        est = np.count_nonzero(sigs[js] == sigs[i], axis=1) / sigs.shape[1]
        order = np.argsort(-est, kind="stable")
        mine, masks = tokens[i], None
        for j, e in zip(js[order].tolist(), est[order].tolist(), strict=True):
            if e < self.min_jaccard:
                break
            masks = masks or lcs_masks(mine)
            self.candidates_checked += 1
            score = rouge_l(mine, tokens[j], masks)
            if score > self.threshold:
                return Verdict(False, j, score)
        return Verdict(True)
