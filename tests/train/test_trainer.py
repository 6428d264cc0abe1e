"""Training on the tiny model: loss falls, methods train the right parameters, resume is exact."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from domaintune.models import load_for_eval
from domaintune.records import Conversation, Document, Message
from domaintune.train.data import build_pt_dataset, build_sft_dataset
from domaintune.train.trainer import apply_method, run_training
from helpers import make_texts, train_settings


def _docs(n=120, seed=1):
    return [Document(id=str(i), text=t) for i, t in enumerate(make_texts(n, seed=seed))]


def _convs(n=64):
    texts = make_texts(2 * n, seed=3, lo=5, hi=30)
    return [
        Conversation(
            id=str(i),
            system="you are a doctor ." if i % 2 else None,
            messages=[Message("user", texts[2 * i]), Message("assistant", texts[2 * i + 1])],
        )
        for i in range(n)
    ]


def _settings(**kw):
    return train_settings(**kw)


def _losses(run_dir) -> list[float]:
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


def test_pt_loss_goes_down_and_metrics_rows_are_complete(tiny_model_dir, tmp_path):
    model, tok = load_for_eval(tiny_model_dir)
    train_set, stats = build_pt_dataset(_docs(), tok, max_len=64)
    eval_set, _ = build_pt_dataset(_docs(20, seed=9), tok, max_len=64)
    summary = run_training(
        model, tok, train_set, {"domain": eval_set}, tmp_path, _settings(), packed=True
    )
    losses = _losses(tmp_path)
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.5
    rows = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(0, 13))
    # step 0: the model as it came in, evaluated before any update
    assert set(rows[0]) == {"step", "epoch", "tokens_seen", "time", "eval_loss"}
    assert rows[0]["tokens_seen"] == 0 and rows[0]["epoch"] == 0.0
    keys = {"step", "epoch", "lr", "loss", "grad_norm", "tokens_seen", "padding", "time"}
    assert set(rows[1]) == keys
    # padding share of each step's batch agrees with its real tokens: real / (1 - padding) is the
    # batch's slot count, 4 rows x the widest row (at most max_len 64)
    for prev, row in zip(rows[1:], rows[2:], strict=False):
        real = row["tokens_seen"] - prev["tokens_seen"]
        slots = real / (1.0 - row["padding"])
        assert slots == pytest.approx(round(slots), abs=1e-6)
        assert round(slots) % 4 == 0 and real <= round(slots) <= 4 * 64
    assert all(b["time"] >= a["time"] for a, b in zip(rows, rows[1:], strict=False))
    assert set(rows[6]["eval_loss"]) == {"domain"} and "eval_loss" in rows[12]
    assert rows[12]["eval_loss"]["domain"] < rows[0]["eval_loss"]["domain"] - 0.5
    assert rows[12]["tokens_seen"] == summary["tokens_seen"]
    # tokens_seen counts real (non-padding) tokens: 12 steps x 4 rows of at most 64.
    assert 0.8 * 12 * 4 * 64 < summary["tokens_seen"] <= 12 * 4 * 64
    assert rows[-1]["epoch"] == pytest.approx(12 * 4 / stats.sequences, abs=1e-5)
    assert (tmp_path / "final" / "model.safetensors").exists()
    assert not (tmp_path / "final" / "pytorch_model.bin").exists()
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sft_masks_prompt_and_loss_goes_down(tiny_model_dir, tmp_path):
    model, tok = load_for_eval(tiny_model_dir)
    train_set, stats = build_sft_dataset(_convs(), tok, max_len=128)
    assert stats.kept == 64 and stats.truncated == 0
    row = train_set[1]  # has a system prompt
    text = tok.decode([t for t in row["labels"] if t != -100])
    conv = _convs()[1]
    assert text == conv.messages[1].content + "<|im_end|>\n"
    run_training(model, tok, train_set, {}, tmp_path, _settings(max_steps=16), packed=False)
    losses = _losses(tmp_path)
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.5


def test_lora_step_changes_exactly_the_trainable_parameters(tiny_model_dir):
    model, tok = load_for_eval(tiny_model_dir)
    model.train()
    model = apply_method(model, _settings(method="lora", lora={"r": 4, "dropout": 0.0}))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    # every linear layer of every block has an adapter: 7 projections x 2 layers x (A, B)
    assert len(trainable) == 7 * 2 * 2
    train_set, _ = build_pt_dataset(_docs(8), tok, max_len=64)
    from domaintune.train.data import PackedCollator

    batch = PackedCollator(pad_id=tok.pad_token_id)([train_set[i] for i in range(4)])
    batch.pop("num_tokens")
    batch.pop("source")
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    # Two steps: after the first only lora_B moves (it starts at zero, so A's gradient is zero).
    for _ in range(2):
        model(**batch, use_cache=False).loss.backward()
        opt.step()
        opt.zero_grad()
    for name, p in model.named_parameters():
        changed = not torch.equal(before[name], p.detach())
        assert changed == (name in trainable), name


def test_freeze_trains_only_the_last_layers(tiny_model_dir, tmp_path):
    model, tok = load_for_eval(tiny_model_dir)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    train_set, _ = build_pt_dataset(_docs(40), tok, max_len=64)
    run_training(
        model,
        tok,
        train_set,
        {},
        tmp_path,
        _settings(method="freeze", freeze_trainable_layers=1, max_steps=2),
        packed=True,
    )
    after = load_file(tmp_path / "final" / "model.safetensors")
    for name, old in before.items():
        changed = not torch.equal(old, after[name]) if name in after else False
        assert changed == name.startswith("model.layers.1."), name


class _StopAfter(TrainerCallback):
    """Simulate a crash: raise once the given step has finished (after its checkpoint)."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step + 1:
            raise KeyboardInterrupt


@pytest.mark.parametrize("method", ["full", "lora"])
def test_resume_matches_uninterrupted_run(tiny_model_dir, tmp_path, method):
    settings = _settings(
        method=method,
        max_steps=8,
        save_steps=4,
        lora={"dropout": 0.1},
        lr_scheduler="cosine",
        warmup_ratio=0.2,
        gradient_accumulation_steps=2,
    )
    weights = {}
    for name in ("straight", "resumed"):
        model, tok = load_for_eval(tiny_model_dir)
        train_set, _ = build_pt_dataset(_docs(), tok, max_len=64)
        out = tmp_path / name
        if name == "resumed":
            with pytest.raises(KeyboardInterrupt):
                run_training(
                    model, tok, train_set, {}, out, settings, packed=True, callbacks=[_StopAfter(4)]
                )
            assert (out / "checkpoints" / "checkpoint-4").exists()
            model, tok = load_for_eval(tiny_model_dir)
            run_training(model, tok, train_set, {}, out, settings, packed=True, resume=True)
        else:
            run_training(model, tok, train_set, {}, out, settings, packed=True)
        fname = "adapter_model.safetensors" if method == "lora" else "model.safetensors"
        weights[name] = load_file(out / "final" / fname)
    assert weights["straight"].keys() == weights["resumed"].keys()
    for key, value in weights["straight"].items():
        torch.testing.assert_close(weights["resumed"][key], value, atol=1e-6, rtol=0)
    rows = [
        json.loads(x) for x in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["step"] for r in rows] == list(range(1, 9))  # no duplicated rows after the resume
    straight = _losses(tmp_path / "straight")
    assert _losses(tmp_path / "resumed") == pytest.approx(straight, abs=1e-6)


def test_gradient_accumulation_matches_large_batch(tiny_model_dir, tmp_path):
    """batch 8 x accumulation 1 and batch 2 x accumulation 4 take the same steps."""
    weights, losses = {}, {}
    for bs, acc in ((8, 1), (2, 4)):
        model, tok = load_for_eval(tiny_model_dir)
        train_set, _ = build_pt_dataset(_docs(), tok, max_len=64)
        out = tmp_path / f"b{bs}"
        run_training(
            model,
            tok,
            train_set,
            {},
            out,
            _settings(batch_size=bs, gradient_accumulation_steps=acc, max_steps=4),
            packed=True,
        )
        weights[bs] = load_file(out / "final" / "model.safetensors")
        losses[bs] = _losses(out)
    assert losses[2] == pytest.approx(losses[8], abs=1e-4)
    for key, value in weights[8].items():
        torch.testing.assert_close(weights[2][key], value, atol=1e-4, rtol=1e-4)
