"""The playground: a run's base and tuned models answer side by side as `eval gen` answers them
(same template, same stop tokens, greedy), and the answers become a blinded review sheet."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import yaml


def noisy(src, out, seed: int):
    """A copy of the tiny model with noised weights: a freshly initialised one answers newlines
    only, whatever it is asked, which would make any two models agree."""
    import torch

    from domaintune.models import load_model

    shutil.copytree(src, out)
    model = load_model(out, dtype="float32")
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.5)
    model.save_pretrained(out)
    return out


@pytest.mark.slow
def test_base_and_tuned_answer_as_eval_gen_does(client, ui_dirs, tiny_model_dir):
    from domaintune.eval.generate import generate_answers
    from domaintune.models import load_model, load_tokenizer
    from domaintune.records import EvalItem

    runs, _ = ui_dirs
    run = runs / "r1"
    base = noisy(tiny_model_dir, run / "base-copy", seed=1)
    tuned = noisy(tiny_model_dir, run / "sft" / "final", seed=2)
    recipe = {"name": "r1", "model": {"path": str(base)},
              "stages": [{"name": "sft", "type": "sft"}]}  # fmt: skip
    (run / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    questions = ["What is a fever?", "How much water per day?"]
    body = {"run": "r1", "models": ["base", "sft"], "questions": questions, "max_tokens": 12,
            "save_sheet": True}  # fmt: skip
    got = client.post("/api/chat", json=body)
    assert got.status_code == 200, got.text
    answers = got.json()["answers"]
    items = [EvalItem(id=f"q{i}", question=q, answer="") for i, q in enumerate(questions)]
    for name, path in (("base", base), ("sft", tuned)):
        model, tok = load_model(path, dtype="float32"), load_tokenizer(path)
        expected = generate_answers(model, tok, items, max_new_tokens=12)
        assert [a.strip() for a in answers[name]] == expected, name
    assert answers["base"] != answers["sft"]

    sheet = runs / got.json()["sheet"]
    rows = list(csv.DictReader(sheet.open(encoding="utf-8-sig")))  # the sheet has a BOM
    key = json.loads((sheet.parent / "review_key.json").read_text())
    assert [r["question"] for r in rows] == [q for q in questions for _ in range(2)]
    for r in rows:
        model = key["items"][r["item"]]["labels"][r["answer_label"]]
        assert r["answer"] == answers[model][questions.index(r["question"])]
    shutil.rmtree(run)
