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


@pytest.fixture(scope="module", params=["bpe"])
def pair(request, expanded_bpe):
    old_dir, new_dir, rec = {"bpe": expanded_bpe}[request.param]
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
    assert rec["added"] == 300
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
    render = [t.apply_chat_template(msgs, tokenize=False) for t in (a, b)]
    assert render[0] == render[1]
    ja = json.loads((old_dir / "tokenizer.json").read_text())
    jb = json.loads((new_dir / "tokenizer.json").read_text())
    ma, mb = ja["model"]["merges"], jb["model"]["merges"]
    assert mb[: len(ma)] == ma  # existing merge priority untouched; new merges after
    assert len(mb) - len(ma) == sum(t["symbol"] not in ja["model"]["vocab"] for t in rec["tokens"])
    assert all(jb["model"]["vocab"][k] == v for k, v in ja["model"]["vocab"].items())
    assert [t["id"] for t in rec["tokens"]] == list(range(len(a), len(a) + rec["added"]))
    assert jb["added_tokens"] == ja["added_tokens"]


def test_candidates_are_cjk_and_ranked_by_tokens_saved(pair):
    _, _, rec, old, new = pair
    saved = [t["saved"] for t in rec["tokens"]]
    assert saved == sorted(saved, reverse=True)
    texts = [t["text"].replace("\ufffd", "") for t in rec["tokens"]]
    assert all(all("\u4e00" <= c <= "\u9fff" for c in t) for t in texts)
    # frequent terms of the corpus become one token (this weak vocabulary spells them in bytes)
    lengths = {t: (len(old.encode(t).ids), len(new.encode(t).ids)) for t in ("糖尿病", "诊断")}
    assert lengths == {"糖尿病": (9, 1), "诊断": (6, 1)}
