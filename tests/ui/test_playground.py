"""The playground: a run's base and tuned models answer side by side as `eval gen` answers them
(same template, same stop tokens, greedy), and the answers become a blinded review sheet."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

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


@pytest.mark.slow
def test_answers_through_a_running_server_equal_in_process(
    client, ui_dirs, tiny_model_dir, tmp_path
):
    runs, _ = ui_dirs
    run = runs / "r2"
    base = noisy(tiny_model_dir, run / "base-copy", seed=3)
    (run / "recipe.yaml").write_text(yaml.safe_dump({"name": "r2", "model": {"path": str(base)},
                                                     "stages": []}))  # fmt: skip
    log = tmp_path / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    with open(log, "wb") as sink:
        cmd = [sys.executable, "-m", "domaintune.cli", "serve", str(base), "--port", "0"]
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"serving on (http://\S+)/v1", log.read_text(errors="replace"))
            url = found.group(1) if found else time.sleep(0.2)
        assert url, log.read_text()
        _wait_health(url)  # serve prints its address just before it accepts connections
        body = {"run": "r2", "models": ["base"], "questions": ["What is a fever?"],
                "max_tokens": 12}  # fmt: skip
        local = client.post("/api/chat", json=body).json()["answers"]
        served = client.post("/api/chat", json={**body, "server": url}).json()
        assert served["answers"] == local, served and local["base"][0].strip()
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _wait_health(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{url}/health never answered")
