"""Packing: packed loss equals unpacked loss; documents are split only when too long."""

from __future__ import annotations

import torch

from domaintune.models import load_for_eval
from domaintune.records import Document
from domaintune.train.data import PackedCollator, build_pt_dataset, pack_pieces, sample_fraction
from helpers import make_texts


def test_pack_pieces_best_fit_decreasing():
    bins = pack_pieces([5, 3, 8, 2, 6, 4], max_len=10)
    lengths = [5, 3, 8, 2, 6, 4]
    assert sorted(i for b in bins for i in b) == list(range(6))  # every piece once
    assert all(sum(lengths[i] for i in b) <= 10 for b in bins)
    assert bins == [[2, 3], [4, 5], [0, 1]]  # 28 tokens in 3 bins of 10: optimal


def test_documents_split_only_when_longer_than_max_len(tiny_model_dir):
    _, tok = load_for_eval(tiny_model_dir)
    texts = make_texts(30, seed=5, lo=3, hi=60)
    docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    ds, stats = build_pt_dataset(docs, tok, max_len=48)
    lengths = [len(tok(t, add_special_tokens=False)["input_ids"]) + 1 for t in texts]
    assert stats.split_documents == sum(n > 48 for n in lengths)
    assert stats.tokens == sum(lengths) == sum(len(r["input_ids"]) for r in ds.rows)
    eos = tok.eos_token_id
    for row in ds.rows:
        assert len(row["input_ids"]) <= 48
        starts = [i for i, p in enumerate(row["position_ids"]) if p == 0]
        for s in starts:
            assert row["labels"][s] == -100  # no document learns to follow another
        # every segment but a split document's head ends with EOS
        ends = [s - 1 for s in starts[1:]] + [len(row["input_ids"]) - 1]
        short = [e for e in ends if row["input_ids"][e] == eos]
        assert len(short) >= len(ends) - stats.split_documents


def test_packed_loss_equals_unpacked_loss(tiny_model_dir):
    model, tok = load_for_eval(tiny_model_dir)
    docs = [Document(id=str(i), text=t) for i, t in enumerate(make_texts(6, seed=2, hi=25))]
    ds, _ = build_pt_dataset(docs, tok, max_len=128)
    assert any(r["position_ids"].count(0) > 1 for r in ds.rows)  # rows really hold several docs
    batch = PackedCollator(pad_id=tok.pad_token_id)(ds.rows)
    batch.pop("num_tokens")
    batch.pop("source")
    torch.set_grad_enabled(False)
    out = model(**batch, use_cache=False)
    n_targets = int((batch["labels"][:, 1:] != -100).sum())
    packed_sum = float(out.loss) * n_targets
    unpacked_sum = 0.0
    for d in docs:
        ids = torch.tensor(
            [tok(d.text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]]
        )
        unpacked_sum += float(model(input_ids=ids, labels=ids).loss) * (ids.shape[1] - 1)
    torch.set_grad_enabled(True)
    assert abs(packed_sum - unpacked_sum) < 1e-3 * unpacked_sum / n_targets


def test_sample_fraction_is_seeded_and_ordered():
    items = list(range(100))
    a = sample_fraction(items, 0.2, seed=3)
    assert a == sample_fraction(items, 0.2, seed=3) and len(a) == 20 and a == sorted(a)
    assert a != sample_fraction(items, 0.2, seed=4)
    assert sample_fraction(items, 1.0, seed=3) is items
