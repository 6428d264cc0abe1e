"""Perplexity equals exp of the model's own mean loss, whatever the batching."""

from __future__ import annotations

import math

import torch

from domaintune.eval.perplexity import perplexity
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
