"""MinHash signatures and LSH banding, vectorised with numpy.

MinHash: Broder 1997, "On the resemblance and containment of documents". LSH banding and the
S-curve 1 - (1 - s^r)^b: Leskovec, Rajaraman, Ullman, Mining of Massive Datasets, ch. 3.4.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence

import numpy as np
import xxhash

from domaintune.text import CJK_RANGES

# One CJK character (Han, kana, hangul: scripts written without spaces), or a run of other
# letters/digits (a latin word).
_TOKEN = re.compile(f"[{CJK_RANGES}]|[^\\W_{CJK_RANGES}]+")
_NON_WORD = re.compile(r"[\W_]+")

MAX_HASH = np.uint32(0xFFFFFFFF)  # the signature value of an empty shingle set
# Odd 64-bit multiplier (from splitmix64) combining token hashes into an n-gram hash.
_MIX = np.uint64(0x9E3779B97F4A7C15)
# Shingles per signature batch: bounds the [shingles, num_perm] uint64 scratch to ~32 MiB at 128.
_BATCH_SHINGLES = 1 << 15


def normalise(text: str) -> str:
    """NFKC, lowercase, and every run of whitespace/punctuation/symbols made one space."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def tokenize(text: str) -> list[str]:
    """Split text into CJK characters and latin words (mixed text in one stream), normalised."""
    return split_tokens(normalise(text))


def text_tokens(text: str) -> list[str]:
    """The same tokens as tokenize(text), without building the normalised string: the token
    pattern never matches the punctuation and spaces that normalise() collapses."""
    if not text.isascii():  # NFKC leaves ASCII unchanged
        text = unicodedata.normalize("NFKC", text)
    return _TOKEN.findall(text.lower())


def tokens_key(tokens: Sequence[str]) -> bytes:
    """128-bit hash of a token sequence: equal keys are exact duplicates after normalisation."""
    return xxhash.xxh3_128_digest("\x1f".join(tokens).encode("utf-8"))


def text_key(text: str) -> bytes:
    """The one definition of an exact duplicate (dedup and stats): equal after NFKC, lowercasing
    and dropping punctuation and spacing."""
    return tokens_key(text_tokens(text))


def split_tokens(normalised: str) -> list[str]:
    """Tokens of already normalised text: each CJK character, each run of other letters/digits."""
    return _TOKEN.findall(normalised)


def shingle_strings(tokens: Sequence[str], n: int) -> set[str]:
    """The n-gram shingles as strings (space-joined); used by the datasketch baseline and tests."""
    if len(tokens) < n:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def shingle_hashes(tokens: Sequence[str], n: int, *, unique: bool = True) -> np.ndarray:
    """64-bit hashes of the token n-grams; a text shorter than n is one shingle.

    Each token is hashed once with xxh64; an n-gram's hash is a polynomial of its tokens' hashes,
    computed for all n-grams at once. Returns uint64 [num_shingles], sorted and unique unless
    `unique=False` (enough for a MinHash signature: a repeated shingle cannot change a minimum).
    """
    if not tokens:
        return np.empty(0, dtype=np.uint64)
    h = _token_hashes(tokens)
    m = max(len(h) - n + 1, 1)
    out = h[:m].copy()
    for i in range(1, min(n, len(h))):
        out *= _MIX
        out += h[i : i + m]
    return np.unique(out) if unique else out


_TOKEN_HASHES: dict[str, int] = {}  # tokens repeat: most of a corpus is a small vocabulary
_MAX_CACHED_TOKENS = 1 << 20


def _token_hashes(tokens: Sequence[str]) -> np.ndarray:
    """xxh64 of each token, uint64 [tokens]; dictionary lookups in C for tokens seen before."""
    try:
        return np.fromiter(map(_TOKEN_HASHES.__getitem__, tokens), np.uint64, len(tokens))
    except KeyError:
        if len(_TOKEN_HASHES) > _MAX_CACHED_TOKENS:
            _TOKEN_HASHES.clear()  # bounded memory on corpora with huge vocabularies
        for token in set(tokens).difference(_TOKEN_HASHES):
            _TOKEN_HASHES[token] = xxhash.xxh64_intdigest(token.encode("utf-8"))
        return np.fromiter(map(_TOKEN_HASHES.__getitem__, tokens), np.uint64, len(tokens))


# Texts longer than this are tokenised and shingled a piece at a time (bounded memory).
PIECE_CHARS = 1 << 18
# A piece ends before whitespace or a CJK character: a cut there splits no token.
_CUT = re.compile(f"[\\s{CJK_RANGES}]")


def text_pieces(text: str) -> Iterator[str]:
    """`text` in pieces of about PIECE_CHARS characters, cut where no token is split."""
    start = 0
    while len(text) - start > PIECE_CHARS:
        cut = _CUT.search(text, start + PIECE_CHARS)
        if cut is None:
            break
        yield text[start : cut.start()]
        start = cut.start()
    yield text[start:]


def streamed_shingles(text: str, n: int) -> Iterator[tuple[list[str], np.ndarray]]:
    """(tokens, shingle hashes, not unique) per piece of `text`: together exactly the tokens of
    text_tokens(text) and the shingles of shingle_hashes(those tokens, n)."""
    carry: list[str] = []  # the last n - 1 tokens: shingles across a cut
    hashed = False
    for piece in text_pieces(text):
        tokens = text_tokens(piece)
        window = carry + tokens
        if len(window) >= n:
            yield tokens, shingle_hashes(window, n, unique=False)
            hashed, carry = True, window[len(window) - n + 1 :] if n > 1 else []
        else:
            yield tokens, np.empty(0, dtype=np.uint64)
            carry = window
    if not hashed and carry:  # a text shorter than n tokens is one shingle
        yield [], shingle_hashes(carry, n, unique=False)


def text_shingles(text: str, n: int) -> np.ndarray:
    """Shingle hashes of a raw text (normalised and tokenised first)."""
    return shingle_hashes(tokenize(text), n)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """True Jaccard similarity of two sorted unique shingle-hash arrays."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


class MinHasher:
    """num_perm hash functions h_i(x) = ((a_i * x + b_i) mod 2^64) >> 32 of 32-bit keys x.

    Multiply-add-shift (Dietzfelbinger 1996) is a universal family like Broder's (a x + b) mod p
    and needs no modulo (numpy's uint64 arithmetic wraps): 2.8x faster in
    benchmarks/dedup.py's setting.
    """

    def __init__(self, num_perm: int = 128, *, seed: int = 1):
        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self.a = rng.integers(0, 2**63, num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.b = rng.integers(0, 2**63, num_perm, dtype=np.uint64)[:, None]  # [num_perm, 1]

    def signature(self, shingles: np.ndarray) -> np.ndarray:
        """MinHash signature of one shingle-hash array: uint32 [num_perm]."""
        return self.signatures([shingles])[0]

    def signatures(self, shingle_sets: Sequence[np.ndarray]) -> np.ndarray:
        """Signatures of many documents: uint32 [num_docs, num_perm]."""
        out = np.full((len(shingle_sets), self.num_perm), MAX_HASH, dtype=np.uint32)
        for start, stop in _batches([len(s) for s in shingle_sets]):
            if len(shingle_sets[start]) > _BATCH_SHINGLES:  # one huge document: sign in pieces
                self.update(out[start], shingle_sets[start])
            else:
                self._fill(shingle_sets[start:stop], out[start:stop])
        return out

    def update(self, signature: np.ndarray, shingles: np.ndarray) -> None:
        """Fold more shingles of one document into its signature (uint32 [num_perm], in place),
        a batch at a time: memory stays bounded however many shingles a document has."""
        piece = np.empty((1, self.num_perm), dtype=np.uint32)
        for start in range(0, len(shingles), _BATCH_SHINGLES):
            piece.fill(MAX_HASH)
            self._fill([shingles[start : start + _BATCH_SHINGLES]], piece)
            np.minimum(signature, piece[0], out=signature)

    def _fill(self, sets: Sequence[np.ndarray], out: np.ndarray) -> None:
        sizes = np.array([len(s) for s in sets])
        nonempty = np.flatnonzero(sizes)
        if len(nonempty) == 0:
            return
        # The top 32 bits of each 64-bit shingle hash are the x in a*x + b.
        x = np.concatenate([sets[i] for i in nonempty]) >> np.uint64(32)
        # [num_perm, shingles]: each permutation's row is contiguous for the per-document minimum
        phv = np.multiply.outer(self.a, x)
        phv += self.b
        phv >>= np.uint64(32)
        offsets = np.concatenate(([0], np.cumsum(sizes[nonempty])[:-1]))
        out[nonempty] = np.minimum.reduceat(phv, offsets, axis=1).T  # values < 2^32 after the shift


def _batches(sizes: list[int]) -> Iterator[tuple[int, int]]:
    start, total = 0, 0
    for i, size in enumerate(sizes):
        if total and total + size > _BATCH_SHINGLES:
            yield start, i
            start, total = i, 0
        total += size
    if start < len(sizes):
        yield start, len(sizes)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Share of equal signature values: an unbiased Jaccard estimate (rows or whole arrays)."""
    return np.mean(sig_a == sig_b, axis=-1)


# ---------------------------------------------------------------- banding


def _collision_probability(s: np.ndarray, bands, rows) -> np.ndarray:
    # MMDS 3.4.2: two documents with Jaccard s share at least one of b bands of r rows.
    return 1.0 - (1.0 - s**rows) ** bands


@functools.lru_cache(maxsize=64)
def optimal_params(
    threshold: float, num_perm: int, *, fp_weight: float = 0.5, fn_weight: float = 0.5
) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm minimising the weighted FP + FN areas.

    FP = integral of P(candidate | s) over s in [0, threshold]; FN = integral of
    1 - P(candidate | s) over [threshold, 1] (the criterion datasketch's MinHashLSH uses).
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)])
    bands, rows = pairs[:, :1], pairs[:, 1:]  # [combos, 1] each
    below, above = np.linspace(0.0, threshold, 2001), np.linspace(threshold, 1.0, 2001)
    fp = np.trapezoid(_collision_probability(below, bands, rows), below, axis=1)
    fn = np.trapezoid(1.0 - _collision_probability(above, bands, rows), above, axis=1)
    # argmin takes the first minimum: the same (bands, rows) order as datasketch's search.
    b, r = pairs[int(np.argmin(fp * fp_weight + fn * fn_weight))]
    return int(b), int(r)


def band_pairs(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Candidate pairs: documents sharing a band bucket, each paired with the bucket's first.

    Returns int64 [num_pairs, 2] (later index, earlier index), unique, sorted.
    """
    n = len(signatures)
    found = []
    for band in range(bands):
        block = np.ascontiguousarray(signatures[:, band * rows : (band + 1) * rows])
        keys = block.view(np.dtype((np.void, block.dtype.itemsize * rows))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        leader = first[inverse.ravel()]
        member = np.flatnonzero(leader != np.arange(n))
        found.append(member.astype(np.int64) * n + leader[member])
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    codes = np.unique(np.concatenate(found))
    return np.stack([codes // n, codes % n], axis=1)
