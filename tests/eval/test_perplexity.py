"""Perplexity equals exp of the model's own mean loss, whatever the batching."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from domaintune.eval.perplexity import perplexity, windows
from domaintune.models import load_for_eval
from domaintune.records import Document
from helpers import make_texts


def test_perplexity_matches_model_loss(tiny_model_dir):
    model, tok = load_for_eval(tiny_model_dir)
    docs = [Document(id=str(i), text=t) for i, t in enumerate(make_texts(7, seed=4, hi=60))]
    nll_sum, count = 0.0, 0
    with torch.no_grad():
        for d in docs:
            ids = tok(d.text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            for s in range(0, len(ids), 32):  # same non-overlapping windows
                w = torch.tensor([ids[s : s + 32]])
                if w.shape[1] > 1:
                    nll_sum += float(model(input_ids=w, labels=w).loss) * (w.shape[1] - 1)
                    count += w.shape[1] - 1
    for batch_size in (1, 3, 16):
        got = perplexity(model, tok, docs, max_len=32, batch_size=batch_size)
        assert got["tokens"] == count
        assert math.isclose(got["nll"], nll_sum / count, rel_tol=1e-5)
        assert math.isclose(got["perplexity"], math.exp(nll_sum / count), rel_tol=1e-5)


# The implementation before sliding windows (git 4b15b86), kept to show stride == max_len (the
# default) gives the pipeline exactly the numbers it gave before.
@torch.no_grad()
def _old_perplexity(model, tokenizer, docs, *, max_len=512, batch_size=8):
    eos = tokenizer.eos_token_id
    windows = []
    for doc in docs:
        ids = tokenizer(doc.text, add_special_tokens=False)["input_ids"] + [eos]
        windows += [ids[i : i + max_len] for i in range(0, len(ids), max_len)]
    windows = [w for w in windows if len(w) > 1]
    nll, count = 0.0, 0
    windows.sort(key=len)
    for b in range(0, len(windows), batch_size):
        batch = windows[b : b + batch_size]
        width = max(len(w) for w in batch)
        ids = torch.full((len(batch), width), eos, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, w in enumerate(batch):
            ids[i, : len(w)] = torch.tensor(w)
            mask[i, : len(w)] = 1
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        token_nll = -logprobs.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        valid = mask[:, 1:].bool()
        nll += float(token_nll[valid].sum())
        count += int(valid.sum())
    mean = nll / count
    return {"perplexity": math.exp(mean), "nll": mean, "tokens": count}


def _docs(n=5, seed=4, lo=10, hi=60):
    return [
        Document(id=str(i), text=t) for i, t in enumerate(make_texts(n, seed=seed, lo=lo, hi=hi))
    ]


def test_default_stride_gives_the_old_numbers_exactly(tiny_model_dir):
    model, tok = load_for_eval(tiny_model_dir)
    docs = _docs(7)
    for max_len, batch_size in ((32, 3), (16, 8), (512, 8)):
        old = _old_perplexity(model, tok, docs, max_len=max_len, batch_size=batch_size)
        assert perplexity(model, tok, docs, max_len=max_len, batch_size=batch_size) == old
        got = perplexity(model, tok, docs, max_len=max_len, batch_size=batch_size, stride=max_len)
        assert got == old


def test_windows_golden():
    ids = list(range(10))
    # Overlapping: targets are the tokens past the previous window; all but token 0 once.
    assert list(windows(ids, 4, 2)) == [
        ([0, 1, 2, 3], 3),
        ([2, 3, 4, 5], 2),
        ([4, 5, 6, 7], 2),
        ([6, 7, 8, 9], 2),
    ]
    # Non-overlapping: a window's first token has no context and is not a target.
    assert list(windows(ids, 4, 4)) == [([0, 1, 2, 3], 3), ([4, 5, 6, 7], 3), ([8, 9], 1)]
    assert list(windows(ids, 4, 3)) == [([0, 1, 2, 3], 3), ([3, 4, 5, 6], 3), ([6, 7, 8, 9], 3)]
    assert list(windows([5], 4, 2)) == []
    for stride in range(1, 8):
        targets = sum(t for _, t in windows(list(range(23)), 8, stride))
        assert targets == (22 if stride < 8 else 22 - 2)  # stride 8: tokens 8 and 16 unscored


def test_sliding_window_equals_per_token_reference(tiny_model_dir):
    """Each token t >= 1 is scored once, given ids[start:t], start being the first window that
    has t as a target: the first window whose end passes t (begin = k * stride)."""
    model, tok = load_for_eval(tiny_model_dir)
    docs = _docs(2, seed=8, lo=30, hi=34)
    max_len, stride = 8, 3
    nll, count = 0.0, 0
    with torch.no_grad():
        for d in docs:
            ids = tok(d.text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            assert len(ids) > 3 * max_len
            for t in range(1, len(ids)):
                k = 0
                while min(k * stride + max_len, len(ids)) <= t:
                    k += 1
                start = k * stride
                assert 1 <= t - start <= max_len - 1
                assert t < max_len or t - start >= max_len - stride
                logits = model(input_ids=torch.tensor([ids[start:t]]), use_cache=False).logits
                nll -= float(torch.log_softmax(logits[0, -1].float(), -1)[ids[t]])
                count += 1
    for batch_size in (1, 5, 64):
        got = perplexity(model, tok, docs, max_len=max_len, stride=stride, batch_size=batch_size)
        assert got["tokens"] == count
        assert got["nll"] == pytest.approx(nll / count, abs=1e-5)


class CacheLM(torch.nn.Module):
    """A causal LM in which context provably helps: p(next = w) is proportional to 1 + the count
    of w among the tokens so far (a unigram cache). The untrained tiny model has no use for
    context, so the effect of the stride is shown on this one."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, input_ids, attention_mask, use_cache=False):
        seen = torch.nn.functional.one_hot(input_ids, self.vocab).float()  # [b, seq, vocab]
        counts = (seen * attention_mask[..., None]).cumsum(1)
        return SimpleNamespace(logits=torch.log1p(counts) * self.scale)


def test_shorter_stride_never_scores_worse_when_context_helps(tiny_model_dir):
    _, tok = load_for_eval(tiny_model_dir)
    model = CacheLM(len(tok))
    docs = _docs(4, seed=2, lo=40, hi=60)
    for max_len in (8, 32):
        flat = perplexity(model, tok, docs, max_len=max_len)
        for stride in (max_len // 2, 3, 1):
            slide = perplexity(model, tok, docs, max_len=max_len, stride=stride)
            assert slide["tokens"] > flat["tokens"]  # window-first tokens are scored too
            assert slide["perplexity"] < flat["perplexity"]


def test_bad_stride_is_refused(tiny_model_dir):
    model, tok = load_for_eval(tiny_model_dir)
    for max_len, stride in ((8, 9), (8, 0), (1, 1)):
        with pytest.raises(ValueError, match="stride"):
            perplexity(model, tok, _docs(1), max_len=max_len, stride=stride)
