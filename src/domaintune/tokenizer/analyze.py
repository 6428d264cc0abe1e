"""`tokenizer analyze`: how well tokenizers cover a corpus, and what an expansion would save.

Per file and language (Chinese by CJK share, else whitespace-separated): tokens per character,
tokens per word (jieba words for Chinese, whitespace words otherwise), bytes per token, the share
of byte tokens (byte-fallback `<0xNN>` pieces, or byte-level tokens that are not a whole
character) and of unknown tokens; the most fragmented terms; and, with `add`, the tokens an
expansion of that many tokens (chosen on the same files) saves on them.

    >>> from domaintune.tokenizer.analyze import analyze
    >>> report = analyze(["base"], ["corpus.jsonl"], add=1000)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from domaintune.tokenizer.texts import language, read_texts
from domaintune.tokenizer.vocab import BYTE_TOKEN, TokenizerFile, is_cjk_word, load_tokenizer_file

LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{3,}")  # English terms of 4+ letters


def analyze(
    tokenizers: list[str | Path],
    data: list[str | Path],
    *,
    top: int = 15,
    add: int = 0,
    min_freq: int = 3,
) -> dict:
    """Figures for each tokenizer on each (file, language); see the module docstring."""
    groups = _groups(data)
    words = {key: _words(texts, key[1]) for key, texts in groups.items()}
    return {
        "data": [{"file": f, "lang": lang, "docs": len(t)} for (f, lang), t in groups.items()],
        "tokenizers": [
            _one(Path(d), groups, words, top=top, add=add, min_freq=min_freq, data=data)
            for d in tokenizers
        ],
    }


def _groups(data: list[str | Path]) -> dict[tuple[str, str], list[str]]:
    groups: dict[tuple[str, str], list[str]] = {}
    for path in data:
        for text in read_texts([path]):
            groups.setdefault((Path(path).name, language(text)), []).append(text)
    return groups


def _words(texts: list[str], lang: str) -> Counter:
    if lang != "zh":
        return Counter(w for t in texts for w in t.split())
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return Counter(w for t in texts for w in jieba.lcut(t) if w.strip())


def _one(path: Path, groups, words, *, top: int, add: int, min_freq: int, data) -> dict:
    from tokenizers import Tokenizer

    tf = load_tokenizer_file(path)
    tok = Tokenizer.from_file(str(tf.path))
    out = {
        "tokenizer": str(path),
        "kind": tf.kind,
        "vocab": tf.next_id(),
        "files": [
            {"file": f, "lang": lang, **coverage(tf, tok, texts, words[(f, lang)])}
            for (f, lang), texts in groups.items()
        ],
        "fragmented": fragmented_terms(tf, tok, words, top=top, min_freq=min_freq),
    }
    if add:
        out["expansion"] = expansion_savings(tf, tok, groups, data, add=add, min_freq=min_freq)
    return out


def coverage(tf: TokenizerFile, tok, texts: list[str], words: Counter) -> dict:
    """Tokens per character/word, bytes per token, byte and unknown shares for some texts."""
    encs = tok.encode_batch(texts, add_special_tokens=False)
    n_tokens = sum(len(e.ids) for e in encs)
    chars = sum(len(t) for t in texts)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    byte_tokens = _byte_token_ids(tf)
    unk = tf.data["model"].get("unk_token")
    unk_id = tf.vocab.get(unk) if unk else None
    n_byte = sum(1 for e in encs for i in e.ids if i in byte_tokens)
    n_unk = sum(1 for e in encs for i in e.ids if i == unk_id)
    n_words = sum(words.values())
    return {
        "docs": len(texts),
        "chars": chars,
        "words": n_words,
        "tokens": n_tokens,
        "tokens_per_char": _ratio(n_tokens, chars),
        "tokens_per_word": _ratio(n_tokens, n_words),
        "bytes_per_token": _ratio(n_bytes, n_tokens),
        "byte_token_share": _ratio(n_byte, n_tokens),
        "unk_share": _ratio(n_unk, n_tokens),
    }


def _ratio(a: float, b: float) -> float:
    return round(a / b, 4) if b else 0.0


def _byte_token_ids(tf: TokenizerFile) -> set[int]:
    """Ids that stand for bytes rather than characters."""
    if tf.kind == "sentencepiece":
        return {i for t, i in tf.vocab.items() if BYTE_TOKEN.match(t)}
    out = set()
    for t, i in tf.vocab.items():
        try:
            tf.token_bytes(t).decode("utf-8")
        except UnicodeDecodeError:
            out.add(i)
    return out


def fragmented_terms(
    tf: TokenizerFile, tok, words: dict, *, top: int, min_freq: int
) -> list[dict]:
    """Frequent CJK words and English terms that cost the most tokens (freq x (tokens - 1))."""
    counts: Counter = Counter()
    for c in words.values():
        counts.update({w: n for w, n in c.items() if is_cjk_word(w) or LATIN_WORD.fullmatch(w)})
    terms = [w for w, n in counts.items() if n >= min_freq and (len(w) >= 2)]
    spelled = [_in_context(tf, w) for w in terms]
    rows = []
    for w, e in zip(terms, tok.encode_batch(spelled, add_special_tokens=False), strict=True):
        n = len(e.ids)
        if n > 1:
            rows.append({"term": w, "freq": counts[w], "tokens": n, "excess": counts[w] * (n - 1)})
    rows.sort(key=lambda r: (-r["excess"], r["term"]))
    return rows[:top]


def _in_context(tf: TokenizerFile, word: str) -> str:
    # an English word mid-sentence carries its space ("Ġword"); SentencePiece adds "▁" itself
    return " " + word if tf.kind == "byte_level" and word.isascii() else word


def expansion_savings(
    tf: TokenizerFile, tok, groups: dict, data: Iterable, *, add: int, min_freq: int
) -> dict:
    """Choose `add` tokens on the files' Chinese text and count tokens before/after on each."""
    from tokenizers import Tokenizer

    from domaintune.tokenizer.candidates import choose_tokens, domain_segments
    from domaintune.tokenizer.expand_vocab import expanded_json

    zh = [t for (_, lang), texts in groups.items() if lang == "zh" for t in texts]
    new = choose_tokens(tf, domain_segments(tf, tok, zh), add, min_freq=min_freq)
    data_json, _ = expanded_json(tf, new)
    after = Tokenizer.from_str(json.dumps(data_json))
    per_file = []
    for (f, lang), texts in groups.items():
        before = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
        now = sum(len(e.ids) for e in after.encode_batch(texts, add_special_tokens=False))
        chars = sum(len(t) for t in texts)
        per_file.append({
            "file": f, "lang": lang, "tokens_before": before, "tokens_after": now,
            "tokens_per_char_after": _ratio(now, chars),
            "saved_share": _ratio(before - now, before),
        })  # fmt: skip
    return {"add": add, "added": len(new), "top_new": [t.text for t in new[:20]],
            "files": per_file}  # fmt: skip
