"""Which tokens to add: BPE merges continued on the domain corpus, inside Chinese words.

The domain corpus is encoded with the current tokenizer; jieba cuts it into words, and each
all-CJK word's run of tokens is a "segment". BPE training then continues on these segments: the
most frequent adjacent pair is merged, counts are updated, and so on (Sennrich et al. 2016, here
starting from the existing vocabulary as in Liu et al. 2025, arXiv 2509.26124). Each merge saves
exactly its pair count on the segments, so candidates come out ranked by tokens saved; merges
never cross a jieba word boundary, so the new tokens are words and word pieces, not fragments
such as "的高". For SentencePiece vocabularies, characters missing from the vocabulary (spelt
as 3-4 `<0xNN>` byte tokens) are added first, ranked by the byte tokens they save.
"""

from __future__ import annotations

import heapq
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from domaintune.tokenizer.vocab import BYTE_TOKEN, TokenizerFile, is_cjk_word

log = logging.getLogger(__name__)

MIN_WORD_CHARS = 2  # a one-character jieba word has nothing to merge above the character


@dataclass(frozen=True)
class NewToken:
    """A vocabulary entry to append: `symbol` (vocabulary spelling), its text, how it is built."""

    symbol: str
    text: str
    parts: tuple[str, str] | None  # the merge that makes it; None: a new base character
    saved: int  # tokens saved on the corpus segments when it was chosen
    freq: int  # occurrences (pairs merged, or characters spelt in bytes)


def domain_segments(
    tf: TokenizerFile, tok, texts: Iterable[str], *, within: str = "word"
) -> Counter:
    """Counts of token runs inside all-CJK jieba words (SentencePiece: unknown chars collapsed).

    `within="run"`: inside whole runs of CJK characters instead (phrases may become tokens).
    """
    segments: Counter = Counter()
    for text in texts:
        word_of = _cjk_units(text, within)
        enc = tok.encode(text, add_special_tokens=False)
        run: list[str] = []
        key = last_byte_span = None
        for token, (s, e), wid in zip(enc.tokens, enc.offsets, enc.word_ids, strict=True):
            k = (word_of[s], wid) if e > s and word_of[s] == word_of[e - 1] else (-1, wid)
            if k != key or k[0] == -1:
                _count_run(run, segments)
                run, key = [], k
            is_byte = tf.kind == "sentencepiece" and BYTE_TOKEN.match(token) is not None
            if k[0] != -1 and not (is_byte and last_byte_span == (s, e)):
                # the 2-4 byte-fallback tokens of one character stand for that character
                run.append(text[s:e] if is_byte else token)
            last_byte_span = (s, e) if is_byte else None
        _count_run(run, segments)
    return segments


def _cjk_units(text: str, within: str) -> list[int]:
    """Per character: the index of the CJK word (or run) it belongs to, -1 outside any."""
    word_of = [-1] * len(text)
    if within == "run":
        for i, m in enumerate(re.finditer(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", text)):
            word_of[m.start() : m.end()] = [i] * (m.end() - m.start())
        return word_of
    if within != "word":
        raise ValueError(f"within={within!r}: choose word (jieba words) or run (CJK runs)")
    import jieba

    jieba.setLogLevel(logging.WARNING)
    for i, (word, start, end) in enumerate(jieba.tokenize(text)):
        if len(word) >= MIN_WORD_CHARS and is_cjk_word(word):
            word_of[start:end] = [i] * (end - start)
    return word_of


def _count_run(run: list[str], segments: Counter) -> None:
    if len(run) >= 2:
        segments[tuple(run)] += 1


def choose_tokens(
    tf: TokenizerFile,
    segments: Counter,
    n_add: int,
    *,
    min_freq: int = 3,
    max_chars: int | None = None,
) -> list[NewToken]:
    """Up to `n_add` new tokens, most tokens saved first (new characters, then merges).

    `max_chars`: no new token longer than this many characters (None: no limit).
    """
    chosen = _new_chars(tf, segments, n_add, min_freq) if tf.kind == "sentencepiece" else []
    known = set(tf.vocab) | {t.symbol for t in chosen}
    fits = None
    if max_chars is not None:
        def fits(symbol: str) -> bool:
            return len(tf.token_bytes(symbol).decode("utf-8", "ignore")) <= max_chars
    merges = ContinuedBPE(segments, known, fits=fits).run(n_add - len(chosen), min_freq)
    return chosen + [
        NewToken(a + b, tf.token_bytes(a + b).decode("utf-8", "replace"), (a, b), saved, saved)
        for a, b, saved in merges
    ]


def _new_chars(tf: TokenizerFile, segments: Counter, n_add: int, min_freq: int) -> list[NewToken]:
    counts: Counter = Counter()
    for seg, c in segments.items():
        for sym in seg:
            if sym not in tf.vocab:
                counts[sym] += c
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1] * (len(kv[0].encode()) - 1), kv[0]))
    return [
        NewToken(ch, ch, None, c * (len(ch.encode()) - 1), c)
        for ch, c in ranked[:n_add]
        if c >= min_freq
    ]


class ContinuedBPE:
    """BPE training on weighted symbol sequences, with incremental pair counts and a lazy heap."""

    def __init__(self, segments: Counter, known: set[str], *, fits=None):
        self.fits = fits or (lambda symbol: True)
        self.words = [list(seg) for seg in segments]
        self.counts = list(segments.values())
        self.known = known  # symbols the vocabulary has (a pair with an unknown one cannot merge)
        self.pairs: Counter = Counter()
        self.where: dict[tuple[str, str], set[int]] = defaultdict(set)
        for wi in range(len(self.words)):
            self._add(wi, +1)
        self.heap = [(-c, p) for p, c in self.pairs.items()]
        heapq.heapify(self.heap)

    def _add(self, wi: int, sign: int) -> set[tuple[str, str]]:
        w, c = self.words[wi], self.counts[wi]
        touched = set()
        for p in zip(w, w[1:], strict=False):
            self.pairs[p] += sign * c
            touched.add(p)
            if sign > 0:
                self.where[p].add(wi)
        return touched

    def run(self, n: int, min_freq: int) -> list[tuple[str, str, int]]:
        """Merge up to n pairs seen at least min_freq times: [(left, right, tokens saved)]."""
        out: list[tuple[str, str, int]] = []
        while self.heap and len(out) < n:
            neg, pair = heapq.heappop(self.heap)
            if self.pairs.get(pair, 0) != -neg:
                continue  # stale entry: a fresher one for this pair is in the heap
            if -neg < min_freq:
                break
            a, b = pair
            mergeable = a in self.known and b in self.known and self.fits(a + b)
            if a + b in self.known or not mergeable:
                self.pairs[pair] = 0  # already a token, or not mergeable: never pick it
                continue
            out.append((a, b, self._merge(pair)))
            self.known.add(a + b)
        return out

    def _merge(self, pair: tuple[str, str]) -> int:
        before = self.pairs[pair]
        touched: set[tuple[str, str]] = set()
        for wi in list(self.where.pop(pair, ())):
            touched |= self._add(wi, -1)
            self.words[wi] = _merge_word(self.words[wi], pair)
            touched |= self._add(wi, +1)
        for p in touched:
            if self.pairs[p] > 0:
                heapq.heappush(self.heap, (-self.pairs[p], p))
        return before


def _merge_word(w: list[str], pair: tuple[str, str]) -> list[str]:
    a, b = pair
    out, i = [], 0
    while i < len(w):
        if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(w[i])
            i += 1
    return out
