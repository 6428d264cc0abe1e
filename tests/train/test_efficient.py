"""Issue #6: packing without cross-contamination, our exact loss, accumulation, mixing, PTX,
QLoRA, the NaN watchdog, a separate embedding learning rate, early stopping and keep_best."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from domaintune.models import load_for_eval
from domaintune.records import Conversation, Document, Message
from domaintune.train.data import (
    PackedCollator,
    PaddedCollator,
    build_sft_dataset,
    encode_conversations,
    encode_documents,
    pack_samples,
)
from domaintune.train.loss import LossComputer, output_head
from domaintune.train.mixing import MixedDataset, Stream
from domaintune.train.trainer import TrainingDiverged, run_training
from helpers import make_texts, train_settings


def _convs(n=48, seed=3, hi=30):
    texts = make_texts(2 * n, seed=seed, lo=3, hi=hi)
    return [
        Conversation(
            id=str(i),
            system="you are a doctor ." if i % 3 == 0 else None,
            messages=[Message("user", texts[2 * i]), Message("assistant", texts[2 * i + 1])],
        )
        for i in range(n)
    ]


def _docs(n=80, seed=1, lo=5, hi=60):
    return [
        Document(id=str(i), text=t) for i, t in enumerate(make_texts(n, seed=seed, lo=lo, hi=hi))
    ]


def _settings(**kw):
    return train_settings(**{"max_steps": 6, "eval_steps": 100, **kw})


def _rows(run_dir) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]


# ----------------------------------------------------------------------------- packing and loss


def test_packed_sft_batch_equals_its_samples_one_by_one(tiny_model_dir):
    """Loss and gradients of a packed batch == the samples run alone (fp32, atol 1e-5)."""
    model, tok = load_for_eval(tiny_model_dir)
    model.train()
    samples = encode_conversations(_convs(10), tok, max_len=128)
    rows = pack_samples(samples, max_len=128)
    assert len(rows) < len(samples)  # several conversations really share a row
    batch = PackedCollator(pad_id=tok.pad_token_id)(rows)
    batch.pop("num_tokens")
    n_targets = sum(s.trained for s in samples)

    t = LossComputer()(model, dict(batch))
    packed_loss = t.ce.sum() / n_targets
    packed_loss.backward()
    packed_grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()

    total = torch.zeros(())
    for s in samples:  # the reference: transformers' own loss, one sample per forward pass
        ids = torch.tensor([s.input_ids])
        out = model(input_ids=ids, labels=torch.tensor([s.labels]), use_cache=False)
        total = total + out.loss * s.trained
    (total / n_targets).backward()
    assert float(packed_loss) == pytest.approx(float(total / n_targets), abs=1e-5)
    for name, p in model.named_parameters():
        torch.testing.assert_close(packed_grads[name], p.grad, atol=1e-5, rtol=0)


def test_lm_head_at_targets_only_gives_transformers_loss(tiny_model_dir):
    """The fast path (head on trained positions only) is taken and equals model(labels=...)."""
    model, tok = load_for_eval(tiny_model_dir)
    ds, _ = build_sft_dataset(_convs(6), tok, max_len=128)
    batch = PaddedCollator(pad_id=tok.pad_token_id)(ds.rows)
    batch.pop("num_tokens")
    computer = LossComputer()
    t = computer(
        model, {k: v for k, v in batch.items() if k != "labels"} | {"labels": batch["labels"]}
    )
    assert computer.fast is True and output_head(model) is model.lm_head
    ref = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        labels=batch["labels"],
        use_cache=False,
    ).loss
    assert float(t.ce.mean()) == pytest.approx(float(ref), abs=1e-6)


def test_accumulation_8x1_equals_2x4_with_uneven_micro_batches(tiny_model_dir, tmp_path):
    """Per-step losses equal within 1e-5 for 10 steps; micro-batches differ in trained tokens."""
    losses, weights, counts = {}, {}, {}
    for bs, acc in ((8, 1), (2, 4)):
        model, tok = load_for_eval(tiny_model_dir)
        train_set, _ = build_sft_dataset(_convs(80, hi=40), tok, max_len=96)  # unpacked rows
        out = tmp_path / f"b{bs}"
        run_training(
            model,
            tok,
            train_set,
            {},
            out,
            _settings(batch_size=bs, gradient_accumulation_steps=acc, max_steps=10, seed=3),
            packed=False,
        )
        losses[bs] = [r["loss"] for r in _rows(out)]
        weights[bs] = load_file(out / "final" / "model.safetensors")
        counts[bs] = [sum(s != -100 for s in r["labels"][1:]) for r in train_set.rows]
    assert len(losses[8]) == 10
    assert losses[2] == pytest.approx(losses[8], abs=1e-5)
    assert len(set(counts[2])) > 5  # the rows (hence micro-batches) hold different token counts
    for key, value in weights[8].items():
        torch.testing.assert_close(weights[2][key], value, atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------- mixing


def _mixed(tok, kind: str, *, rows_per_step=4, max_len=64, on_exhausted="repeat", seed=5):
    if kind == "pt":
        domain = encode_documents(_docs(400, seed=1), tok, max_len=max_len, source=0)
        general = encode_documents(_docs(60, seed=2), tok, max_len=max_len, source=1)
    else:  # conversations are not cut: a step must hold many of them (as real steps do)
        rows_per_step, max_len = 8, 256
        domain = encode_conversations(_convs(2400, seed=4, hi=12), tok, max_len=max_len, source=0)
        general = encode_conversations(_convs(400, seed=5, hi=12), tok, max_len=max_len, source=1)
    streams = [
        Stream("domain", domain, 0.85, splittable=kind == "pt"),
        Stream("general", general, 0.15, splittable=kind == "pt"),
    ]
    return MixedDataset(
        streams,
        rows_per_step=rows_per_step,
        max_len=max_len,
        seed=seed,
        on_exhausted=on_exhausted,
    )


def _realised(ds: MixedDataset, rows_per_step: int) -> list[float]:
    """General share of trained tokens per step, counted from the rows themselves."""
    out = []
    for step in range(len(ds) // rows_per_step):
        n = [0, 0]
        for row in ds.rows[step * rows_per_step : (step + 1) * rows_per_step]:
            for src, label in zip(row["source"][1:], row["labels"][1:], strict=True):
                if label != -100:
                    n[src] += 1
        out.append(n[1] / sum(n))
    return out


@pytest.mark.parametrize("kind", ["pt", "sft"])
def test_every_step_holds_the_token_shares(tiny_model_dir, kind):
    _, tok = load_for_eval(tiny_model_dir)
    ds = _mixed(tok, kind)
    shares = _realised(ds, ds.rows_per_step)
    assert len(shares) >= 50
    worst = max(abs(x - 0.15) for x in shares[:50])
    assert worst <= 0.02, f"{kind}: a step is {worst:.3f} away from the 0.15 share"
    assert sum(shares) / len(shares) == pytest.approx(0.15, abs=0.005)
    # the price of exact shares: some padding (docs/training.md); measured 6.4% pt, 6.5% sft
    slots = len(ds.rows) * ds.max_len
    padding = 1 - sum(len(r["input_ids"]) for r in ds.rows) / slots
    assert padding < 0.08
    # every row fits, positions restart per sample, pad never trained
    for row in ds.rows:
        assert len(row["input_ids"]) <= ds.max_len
        assert len(row["source"]) == len(row["labels"]) == len(row["position_ids"])


def test_epochs_reshuffle_with_the_seed_and_keep_their_length(tiny_model_dir):
    _, tok = load_for_eval(tiny_model_dir)
    ds = _mixed(tok, "pt")
    first = [r["input_ids"] for r in ds.rows]
    n = len(ds)
    ds.set_epoch(1)
    assert len(ds) == n and [r["input_ids"] for r in ds.rows] != first
    again = _mixed(tok, "pt")
    again.set_epoch(1)
    assert [r["input_ids"] for r in again.rows] == [r["input_ids"] for r in ds.rows]
    shares = _realised(ds, 4)
    assert max(abs(x - 0.15) for x in shares) <= 0.02


def test_on_exhausted_repeat_or_stop(tiny_model_dir):
    """The small source repeats (epoch = one pass of the main one), or the epoch ends with it."""
    _, tok = load_for_eval(tiny_model_dir)
    domain = encode_documents(_docs(300, seed=1), tok, max_len=64, source=0)
    small = encode_documents(_docs(5, seed=2), tok, max_len=64, source=1)
    streams = [Stream("domain", domain, 0.8, True), Stream("general", small, 0.2, True)]
    kw = dict(rows_per_step=4, max_len=64, seed=1)
    repeat = MixedDataset(streams, on_exhausted="repeat", **kw)
    stop = MixedDataset(streams, on_exhausted="stop", **kw)
    trained = [sum(s.trained for s in x.samples) for x in streams]
    seen = [sum(p.trained[i] for p in repeat.steps) for i in (0, 1)]
    assert seen[0] == pytest.approx(trained[0], rel=0.02)  # the domain source once
    assert seen[1] > 3 * trained[1]  # the small source several times
    seen_stop = [sum(p.trained[i] for p in stop.steps) for i in (0, 1)]
    assert seen_stop[1] <= trained[1] and stop.n_steps < repeat.n_steps / 3


def test_pipeline_logs_loss_per_source_and_ptx_parts(tiny_model_dir, tmp_path):
    """A mixed SFT stage with PTX text: loss = main + coef * ptx at every logged step."""
    from domaintune.io import write_jsonl
    from domaintune.pipeline import run_recipe
    from domaintune.recipes import parse_recipe

    qa = make_texts(240, seed=12, lo=4, hi=16)
    write_jsonl(
        tmp_path / "domain.jsonl",
        [{"instruction": qa[2 * i], "output": qa[2 * i + 1]} for i in range(100)],
    )
    write_jsonl(
        tmp_path / "general.jsonl",
        [{"instruction": qa[2 * i], "output": qa[2 * i + 1]} for i in range(100, 120)],
    )
    write_jsonl(tmp_path / "pre.jsonl", [{"text": t} for t in make_texts(40, seed=13)])
    recipe = parse_recipe(
        {
            "name": "mix",
            "output_dir": str(tmp_path / "run"),
            "model": {"path": str(tiny_model_dir)},
            "train": {
                "method": "full",
                "max_steps": 3,
                "batch_size": 4,
                "logging_steps": 1,
                "save_steps": 100,
                "eval_steps": 100,
                "max_len": 256,
                "learning_rate": 1e-3,
            },
            "stages": [
                {
                    "name": "sft",
                    "type": "sft",
                    "data": [
                        {"path": str(tmp_path / "domain.jsonl"), "share": 0.8},
                        {"path": str(tmp_path / "general.jsonl"), "share": 0.2},
                    ],
                    "ptx": {
                        "data": [{"path": str(tmp_path / "pre.jsonl")}],
                        "coef": 0.5,
                        "share": 0.2,
                    },
                }
            ],
        }
    )
    counts = run_recipe(recipe)["sft"]
    assert set(counts["sources"]) == {"domain", "general", "ptx/pre"}
    rows = _rows(tmp_path / "run" / "sft")
    assert len(rows) == 3
    for r in rows:
        parts = r["loss_by_source"]
        assert set(parts) == {"domain", "general", "ptx/pre"}
        # main = token mean over domain + general; weights from the step's own token counts
        assert r["loss"] == pytest.approx(_main(r, counts) + 0.5 * parts["ptx/pre"], rel=1e-3)


def _main(row, counts):
    """Token-weighted main loss (domain 0.8 : general 0.2 of the main tokens, per step)."""
    p = row["loss_by_source"]
    return 0.8 * p["domain"] + 0.2 * p["general"]


# ----------------------------------------------------------------------------- qlora, control


def test_qlora_steps_lower_the_loss(tiny_model_dir, tmp_path):
    from domaintune.train.stage import load_trainable

    model, tok = load_trainable(
        tiny_model_dir,
        dtype="float32",
        trust_remote_code=False,
        qlora={"quant_type": "nf4", "double_quant": True, "compute_dtype": "auto"},
    )
    assert model.is_loaded_in_4bit
    train_set, _ = build_sft_dataset(_convs(16), tok, max_len=64, pack=True)
    summary = run_training(
        model,
        tok,
        train_set,
        {},
        tmp_path / "q",
        _settings(method="qlora", learning_rate=5e-3, max_steps=12, num_epochs=12),
        packed=True,
    )
    losses = [r["loss"] for r in _rows(tmp_path / "q")]
    assert summary["parameters"]["trainable"] < summary["parameters"]["total"] / 5
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.1
    assert (tmp_path / "q" / "final" / "adapter_model.safetensors").exists()
    # Evaluation loads the adapter on the 4-bit base it trained against: same logits.
    loaded, _ = load_for_eval(tmp_path / "q" / "final")
    assert loaded.get_base_model().is_loaded_in_4bit
    ids = torch.tensor([train_set.rows[0]["input_ids"][:32]])
    model.eval()
    with torch.no_grad():
        want = model(input_ids=ids, use_cache=False).logits
        got = loaded(input_ids=ids, use_cache=False).logits
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


class _PoisonAt(TrainerCallback):
    """Fill one weight with NaN after step `step` (the next forward pass gives a NaN loss)."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == self.step:
            with torch.no_grad():
                next(model.parameters()).fill_(math.nan)


def test_watchdog_stops_on_nan_naming_the_step(tiny_model_dir, tmp_path):
    model, tok = load_for_eval(tiny_model_dir)
    train_set, _ = build_sft_dataset(_convs(32), tok, max_len=64, pack=True)
    with pytest.raises(TrainingDiverged, match=r"the loss is nan at step 3 \(micro-batch 1 of 1\)"):
        run_training(
            model,
            tok,
            train_set,
            {},
            tmp_path / "w",
            _settings(max_steps=6),
            packed=True,
            callbacks=[_PoisonAt(2)],
        )
    assert [r["step"] for r in _rows(tmp_path / "w")] == [1, 2]  # the rows before the stop


def test_embedding_learning_rate_is_its_own_group(tiny_model_dir, tmp_path):
    model, tok = load_for_eval(tiny_model_dir)
    train_set, _ = build_sft_dataset(_convs(16), tok, max_len=64, pack=True)
    seen = {}

    class Grab(TrainerCallback):
        def on_step_end(self, args, state, control, optimizer=None, **kwargs):
            emb = model.get_input_embeddings().weight
            for g in optimizer.param_groups:
                for p in g["params"]:
                    if p is emb:
                        seen["emb"] = g["lr"]
            seen["other"] = [
                g["lr"] for g in optimizer.param_groups if all(p is not emb for p in g["params"])
            ]

    run_training(
        model,
        tok,
        train_set,
        {},
        tmp_path / "e",
        _settings(max_steps=1, learning_rate=1e-3, embedding_learning_rate=1e-5),
        packed=True,
        callbacks=[Grab()],
    )
    assert seen["emb"] == pytest.approx(1e-5)
    assert seen["other"] and all(lr == pytest.approx(1e-3) for lr in seen["other"])


class _DegradeAfter(TrainerCallback):
    """From step `step` on, add growing noise to the weights: eval loss rises from then on."""

    def __init__(self, step):
        self.step = step
        self.gen = torch.Generator().manual_seed(0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step > self.step:
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(torch.randn(p.shape, generator=self.gen) * 0.02 * state.global_step)


def test_early_stopping_and_keep_best(tiny_model_dir, tmp_path):
    """Eval loss improves to step 4, then rises: the run stops two evaluations later and
    final/ holds the step-4 checkpoint."""
    model, tok = load_for_eval(tiny_model_dir)
    train_set, _ = build_sft_dataset(_convs(64), tok, max_len=64, pack=True)
    eval_set, _ = build_sft_dataset(_convs(16, seed=9), tok, max_len=64, pack=True)
    out = tmp_path / "es"
    summary = run_training(
        model,
        tok,
        train_set,
        {"heldout": eval_set},
        out,
        _settings(
            max_steps=30,
            learning_rate=3e-3,
            eval_steps=2,
            save_steps=2,
            save_total_limit=None,
            early_stopping_patience=2,
            keep_best=True,
        ),
        packed=True,
        callbacks=[_DegradeAfter(4)],
    )
    evals = [(r["step"], r["eval_loss"]["heldout"]) for r in _rows(out) if "eval_loss" in r]
    assert [s for s, _ in evals] == [0, 2, 4, 6, 8]
    assert evals[2][1] < evals[1][1] < evals[0][1] and evals[2][1] < evals[3][1] < evals[4][1]
    assert summary["stopped_early"] and summary["global_step"] == 8
    assert summary["best_checkpoint"].endswith("checkpoint-4")
    final = load_file(out / "final" / "model.safetensors")
    best = load_file(out / "checkpoints" / "checkpoint-4" / "model.safetensors")
    for key, value in best.items():
        torch.testing.assert_close(final[key], value)


def test_qlora_without_bitsandbytes_fails_before_any_work(recipe_raw, tmp_path, monkeypatch):
    import sys

    import yaml
    from typer.testing import CliRunner

    from domaintune.cli import app

    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # import fails as if not installed
    recipe_raw["stages"] = [recipe_raw["stages"][0]]
    recipe_raw["stages"][0]["train"] = {"method": "qlora"}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe_raw))
    result = CliRunner().invoke(app, ["train", str(path)])
    assert result.exit_code == 1
    assert "method qlora needs bitsandbytes" in result.output
    assert "use method: lora" in result.output
    stage = tmp_path / "run" / recipe_raw["stages"][0]["name"]
    assert not (stage / "metrics.jsonl").exists() and not (stage / "final").exists()


def test_merge_under_zero3_is_refused_before_training(tiny_model_dir, tmp_path):
    from pathlib import Path

    model, tok = load_for_eval(tiny_model_dir)
    train_set, _ = build_sft_dataset(_convs(8), tok, max_len=64, pack=True)
    zero3 = Path(__file__).parents[2] / "examples" / "deepspeed" / "zero3.json"
    with pytest.raises(ValueError, match="merge: true is not supported with ZeRO-3 or FSDP"):
        run_training(
            model,
            tok,
            train_set,
            {},
            tmp_path / "z",
            _settings(method="lora", merge=True, deepspeed=str(zero3)),
            packed=True,
        )
    assert not (tmp_path / "z" / "metrics.jsonl").exists()


def test_segment_attention_equals_the_masked_path(tiny_model_dir):
    """Per-sample SDPA on packed rows: same loss and gradients as transformers' masked SDPA."""
    from domaintune.train.attention import packed_attention, segment_bounds

    model, tok = load_for_eval(tiny_model_dir)
    model.train()
    rows = pack_samples(encode_conversations(_convs(20), tok, max_len=128), max_len=128)
    batch = PackedCollator(pad_id=tok.pad_token_id)(rows)
    batch.pop("num_tokens")
    assert max(len(b) for b in segment_bounds(batch["position_ids"])) >= 3  # really packed

    def loss_and_grads():
        model.zero_grad()
        t = LossComputer()(model, dict(batch))
        loss = t.ce.mean()
        loss.backward()
        return float(loss), {n: p.grad.clone() for n, p in model.named_parameters()}

    masked, masked_grads = loss_and_grads()
    with packed_attention(model) as used:
        assert used and model.config._attn_implementation == "domaintune_segments"
        seg, seg_grads = loss_and_grads()
    assert model.config._attn_implementation == "sdpa"  # restored
    assert seg == pytest.approx(masked, abs=1e-6)
    for name, grad in masked_grads.items():
        torch.testing.assert_close(seg_grads[name], grad, atol=1e-6, rtol=0)


def test_attn_implementation_from_the_recipe_reaches_the_model(tiny_model_dir):
    from domaintune.train.attention import packed_attention
    from domaintune.train.stage import load_trainable

    model, _ = load_trainable(
        tiny_model_dir, dtype="float32", trust_remote_code=False, attn_implementation="eager"
    )
    assert model.config._attn_implementation == "eager"
    with packed_attention(model) as used:  # packed rows still attend per sample
        assert used
    assert model.config._attn_implementation == "eager"


def test_unpacked_rows_keep_their_source_for_the_per_source_loss(tiny_model_dir):
    """pack: false with two sources: every token still names its source (not all source 0)."""
    from domaintune.train.sources import Source, build_train_set

    _, tok = load_for_eval(tiny_model_dir)
    sources = [Source("a", _convs(6), "sft"), Source("b", _convs(4, seed=5), "sft")]
    train = build_train_set(sources, tok, max_len=64, pack=False)
    assert not train.packed and train.names == ["a", "b"]
    per_row = [set(r["source"]) for r in train.dataset.rows]
    assert per_row == [{0}] * 6 + [{1}] * 4
    batch = PaddedCollator(pad_id=tok.pad_token_id)(train.dataset.rows[4:8])
    assert batch["source"][2, 0] == 1 and batch["source"][0, 0] == 0
