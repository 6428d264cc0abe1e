"""Vocabulary expansion never makes text longer (Liu et al. 2025's guarantee), tested on every
bundled text: never more tokens, identical ids where no new token's text occurs, exact
round trip, special tokens unchanged, existing merges and ids untouched."""

from __future__ import annotations

import json
import random

import pytest
from tokenizers import Tokenizer
from transformers import AutoTokenizer

from domaintune.io import iter_rows
from domaintune.models import TOKENIZER_FILES
from domaintune.resources import data_path
from domaintune.tokenizer.texts import read_texts
from domaintune.tokenizer.vocab import load_tokenizer_file

HELD_OUT = ("heldout_domain.jsonl", "heldout_general.jsonl")
NUMBERS = [
    "3.14159 2718 1e-5 0.001% 100,000,000 ¥12.50 -42 2024-06-01 12:30:45",
    "剂量 10-40 mg，每日 1 次；eGFR < 30 ml/min/1.73m²；HbA1c 7.0%",
]


def bundled_texts(every: int = 1) -> list[str]:
    """Every bundled text (`every`=k: held-out sets whole, every k-th training text)."""
    train = list(read_texts([data_path(n) for n in TOKENIZER_FILES]))[::every]
    held = list(read_texts([data_path(n) for n in HELD_OUT]))
    exam = [v for _, row in iter_rows(data_path("mcq_domain.jsonl")) for v in row.values()]
    return train + held + exam + NUMBERS


# The default run checks a sample (budget: seconds); the slow run checks every bundled text.
SAMPLES = [pytest.param(12, id="sample"), pytest.param(1, id="all", marks=pytest.mark.slow)]


@pytest.fixture(
    scope="module", params=["bpe", "sp", pytest.param("qwen", marks=pytest.mark.slow)]
)
def pair(request):
    old_dir, new_dir, rec = request.getfixturevalue(f"expanded_{request.param}")
    rec = {**rec, "fixture": request.param}
    old = Tokenizer.from_file(str(old_dir / "tokenizer.json"))
    new = Tokenizer.from_file(str(new_dir / "tokenizer.json"))
    return old_dir, new_dir, rec, old, new


def _ids(tok: Tokenizer, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]


def _adversarial(rec: dict, n: int = 300) -> list[str]:
    """Strings glued from new tokens' texts, cut mid-token and mid-character."""
    rng = random.Random(0)
    pieces = [t["text"].replace("\ufffd", "") for t in rec["tokens"]] + ["的", "，", " ", "a"]
    out = []
    for _ in range(n):
        s = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        i, j = sorted(rng.sample(range(len(s) + 1), 2)) if len(s) > 1 else (0, len(s))
        out.append(s[i:j] or s)
    return out


@pytest.mark.parametrize("every", SAMPLES)
def test_no_text_encodes_longer_and_unaffected_text_is_identical(pair, every):
    _, new_dir, rec, old, new = pair
    texts = bundled_texts(every) + _adversarial(rec)
    tf = load_tokenizer_file(new_dir)
    new_bytes = [tf.token_bytes(t["symbol"]) for t in rec["tokens"]]
    shorter = same = 0
    for text, a, b in zip(texts, _ids(old, texts), _ids(new, texts), strict=True):
        assert len(b) <= len(a), text[:80]
        raw = text.encode("utf-8")
        if not any(nb in raw for nb in new_bytes):
            assert b == a, text[:80]
            same += 1
        shorter += len(b) < len(a)
    assert rec["added"] == {"bpe": 300, "sp": 1000, "qwen": 300}[rec["fixture"]]
    assert shorter > 150 and same > 150  # both kinds of text were seen


@pytest.mark.parametrize("every", SAMPLES)
def test_round_trip_on_every_bundled_text(pair, every):
    _, new_dir, _, _, _ = pair
    tok = AutoTokenizer.from_pretrained(new_dir)
    assert tok.is_fast
    texts = bundled_texts(every)
    ids = tok(texts, add_special_tokens=False)["input_ids"]
    decoded = tok.batch_decode(ids, clean_up_tokenization_spaces=False)
    bad = [t[:60] for t, d in zip(texts, decoded, strict=True) if t != d]
    assert bad == []
    assert len(texts) > (2500 if every == 1 else 300)


def test_special_tokens_vocab_and_merges_untouched(pair):
    old_dir, new_dir, rec, _, _ = pair
    a = AutoTokenizer.from_pretrained(old_dir)
    b = AutoTokenizer.from_pretrained(new_dir)
    assert b.all_special_tokens == a.all_special_tokens
    assert b.all_special_ids == a.all_special_ids
    assert len(b) == len(a) + rec["added"]
    msgs = [{"role": "user", "content": "高血压怎么办"}, {"role": "assistant", "content": "ok"}]
    if a.chat_template:
        render = [t.apply_chat_template(msgs, tokenize=False) for t in (a, b)]
        assert render[0] == render[1]
    ja = json.loads((old_dir / "tokenizer.json").read_text())
    jb = json.loads((new_dir / "tokenizer.json").read_text())
    ma, mb = ja["model"]["merges"], jb["model"]["merges"]
    assert mb[: len(ma)] == ma  # existing merge priority untouched; new merges after
    assert mb[len(ma) :] == [t["merge"] for t in rec["tokens"] if t["merge"]]
    assert len(mb) > len(ma)
    assert all(jb["model"]["vocab"][k] == v for k, v in ja["model"]["vocab"].items())
    assert [t["id"] for t in rec["tokens"]] == list(range(len(a), len(a) + rec["added"]))
    assert jb["added_tokens"] == ja["added_tokens"]


# Tokens before -> after for two frequent terms: the weak byte-level vocabulary gets whole words;
# the SentencePiece one first adds the characters it spelt in bytes (~800 of its 1,000); Qwen2.5
# gets its most fragmented medical words (`tokenizer analyze`).
TERM_LENGTHS = {"bpe": {"糖尿病": (9, 1), "诊断": (6, 1)},
                "sp": {"糖尿病": (8, 2), "诊断": (3, 2)},
                "qwen": {"心力衰竭": (4, 1), "对乙酰氨基酚": (5, 1)}}  # fmt: skip


def test_candidates_are_cjk_and_ranked_by_tokens_saved(pair):
    _, _, rec, old, new = pair
    chars = [t["saved"] for t in rec["tokens"] if not t["merge"]]  # new characters come first
    saved = [t["saved"] for t in rec["tokens"] if t["merge"]]
    assert saved == sorted(saved, reverse=True) and chars == sorted(chars, reverse=True)
    assert rec["kind"] == "sentencepiece" or chars == []
    texts = [t["text"].replace("\ufffd", "") for t in rec["tokens"]]
    assert all(all("\u4e00" <= c <= "\u9fff" for c in t) for t in texts)
    # frequent terms of the corpus become one token (this weak vocabulary spells them in bytes)
    def n(tok, text):
        return len(tok.encode(text, add_special_tokens=False).ids)

    want = TERM_LENGTHS[rec["fixture"]]
    assert {t: (n(old, t), n(new, t)) for t in want} == want


def test_sentencepiece_model_proto_gets_the_pieces_too(expanded_sp):
    """tokenizer.model (slow tokenizer, GGUF converters) is expanded in step: never longer."""
    import sentencepiece as spm

    old_dir, new_dir, rec = expanded_sp
    a = spm.SentencePieceProcessor(model_file=str(old_dir / "tokenizer.model"))
    b = spm.SentencePieceProcessor(model_file=str(new_dir / "tokenizer.model"))
    assert b.get_piece_size() == a.get_piece_size() + rec["added"]
    texts = bundled_texts(12)
    la, lb = a.encode(texts), b.encode(texts)
    assert all(len(y) <= len(x) for x, y in zip(la, lb, strict=True))
    assert sum(map(len, lb)) < 0.9 * sum(map(len, la))
    assert b.decode(lb) == a.decode(la)
