"""End to end on the tiny model: SFT on unfiltered answers (the good and the bad answer of every
training pair, as a real SFT set mixes them), then DPO with the SFT anchor on the bundled pairs.
Held-out pairs (conditions the training pairs never mention): the share the model prefers by the
mean token log-prob rises by at least 20 points, general-text perplexity moves by at most +5%, and
the repetition of generated answers does not rise. Slow: tens of minutes on two loaded cores.

The length-normalised score, because the bundled bad answers differ in length from the good ones
by design (a vague answer is a few tokens): by log pi(y|x) a short answer is always more likely.
"""

from __future__ import annotations

import json

import pytest

from domaintune.data.pref_io import read_pref
from domaintune.eval.generate import generate_answers
from domaintune.eval.metrics import diversity
from domaintune.eval.perplexity import perplexity
from domaintune.eval.pref import pref_accuracy
from domaintune.io import read_documents, write_jsonl
from domaintune.models import build_tiny_model, load_for_eval
from domaintune.pipeline import run_recipe
from domaintune.recipes import parse_recipe
from domaintune.records import EvalItem
from domaintune.resources import resolve

pytestmark = [
    pytest.mark.slow,
    # Measured 2026-12-03 (docs/preference.md, end-to-end table): accuracy 0.40 -> 0.88 but
    # general ppl +12.9% and repetition 0.60 -> 0.82. Remove once a configuration meets all three.
    pytest.mark.xfail(strict=True, reason="issue 17's e2e thresholds not met yet: ppl, repetition"),
]

SFT = {
    "method": "full",
    "learning_rate": 3e-3,
    "max_steps": 120,
    "batch_size": 16,
    "max_len": 160,
    "logging_steps": 20,
}
DPO = {
    "method": "full",
    "learning_rate": 5e-4,
    "max_steps": 60,
    "batch_size": 8,
    "max_len": 160,
    "logging_steps": 5,
    "warmup_ratio": 0.1,
}


def _measure(model_dir, held, general, items) -> dict:
    model, tok = load_for_eval(model_dir)
    model.eval()
    acc = pref_accuracy(model, tok, held, template="chatml", score="mean")
    answers = generate_answers(
        model, tok, items, template="chatml", max_new_tokens=60, show_progress=False
    )
    ppl = perplexity(model, tok, general, max_len=160)["perplexity"]
    return {"accuracy": acc["accuracy"], "ppl": ppl, **diversity(answers)}


def test_dpo_with_sft_anchor_raises_heldout_pair_accuracy(tmp_path):
    pairs = read_pref(resolve("builtin:pref_pairs.jsonl"))
    held = read_pref(resolve("builtin:pref_heldout.jsonl"))
    general = [d.text for d in read_documents(resolve("builtin:general_corpus.jsonl"))]
    texts = [t for r in pairs for t in (r.prompt[-1]["content"], r.chosen, r.rejected)]
    build_tiny_model(
        tmp_path / "model",
        texts=texts + general[:200],
        vocab_size=2048,
        hidden_size=128,
        num_layers=2,
        seed=0,
    )
    sft_rows = [
        {"messages": [*r.prompt, {"role": "assistant", "content": answer}]}
        for r in pairs
        for answer in (r.chosen, r.rejected)
    ]
    write_jsonl(tmp_path / "sft.jsonl", sft_rows)
    write_jsonl(tmp_path / "general.jsonl", [{"text": t} for t in general[:150]])
    raw = {
        "name": "e2e",
        "output_dir": str(tmp_path / "run"),
        "model": {"path": str(tmp_path / "model")},
        "stages": [
            {
                "name": "sft",
                "type": "sft",
                "template": "chatml",
                "train": SFT,
                "data": [{"path": str(tmp_path / "sft.jsonl")}],
                "ptx": {"data": [{"path": str(tmp_path / "general.jsonl")}], "share": 0.2},
            },
            {
                "name": "dpo",
                "type": "dpo",
                "model_from": "sft",
                "template": "chatml",
                "data": [{"path": "builtin:pref_pairs.jsonl"}],
                "loss": "sigmoid",
                "beta": 0.1,
                "sft_coef": 1.0,
                "train": DPO,
            },
        ],
    }
    run_recipe(parse_recipe(raw))
    heldout_general = list(read_documents(resolve("builtin:heldout_general.jsonl")))[:20]
    items = [EvalItem(id=r.id, question=r.prompt[-1]["content"], answer=r.chosen) for r in held]
    items = items[:40]
    before = _measure(tmp_path / "run/sft/final", held, heldout_general, items)
    after = _measure(tmp_path / "run/dpo/final", held, heldout_general, items)
    print(json.dumps({"before": before, "after": after}))
    assert after["accuracy"] >= before["accuracy"] + 0.20
    assert after["ppl"] <= before["ppl"] * 1.05
    assert after["repetition"] <= before["repetition"]
