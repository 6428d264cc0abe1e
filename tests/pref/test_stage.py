"""Stages `dpo` and `kto` on the tiny model (slow: each trains a few steps)."""

from __future__ import annotations

import json

import pytest

from domaintune.io import write_jsonl
from domaintune.pipeline import run_recipe
from domaintune.recipes import parse_recipe
from domaintune.resources import resolve

pytestmark = pytest.mark.slow


def _pairs(n: int) -> list[dict]:
    rows = [json.loads(x) for x in resolve("builtin:pref_pairs.jsonl").read_text().splitlines()]
    return rows[:n]


def _general(n: int) -> list[str]:
    lines = resolve("builtin:general_corpus.jsonl").read_text().splitlines()
    return [json.loads(x)["text"] for x in lines[:n]]


def _raw(tmp_path, tiny_model_dir, stage: dict, train: dict | None = None) -> dict:
    return {
        "name": "p",
        "output_dir": str(tmp_path / "run"),
        "model": {"path": str(tiny_model_dir)},
        "train": {
            "max_steps": 2,
            "batch_size": 4,
            "logging_steps": 1,
            "max_len": 256,
            **(train or {}),
        },
        "stages": [{"name": "pref", "template": "chatml", **stage}],
    }


def _run(tmp_path, tiny_model_dir, stage: dict, train: dict | None = None) -> tuple:
    raw = _raw(tmp_path, tiny_model_dir, stage, train)
    counts = run_recipe(parse_recipe(raw))["pref"]
    rows = [json.loads(x) for x in (tmp_path / "run/pref/metrics.jsonl").read_text().splitlines()]
    return counts, rows


def test_dpo_lora_reference_is_the_adapter_disabled(tmp_path, tiny_model_dir):
    write_jsonl(tmp_path / "pairs.jsonl", [*_pairs(12), {**_pairs(1)[0], "chosen": "x<|im_end|>"}])
    stage = {"type": "dpo", "data": [{"path": str(tmp_path / "pairs.jsonl")}], "sft_coef": 0.5}
    counts, rows = _run(tmp_path, tiny_model_dir, stage, {"method": "lora"})
    assert counts["data"] == {
        "read": 13,
        "kept": 12,
        "rejected": 1,
        "rejected_by_reason": {"control token": 1},
    }
    assert counts["training"]["reference"] == "adapter"
    assert counts["training"]["global_step"] == 2
    keys = {
        "reward_chosen",
        "reward_rejected",
        "margin",
        "accuracy",
        "logp_chosen",
        "logp_rejected",
        "kl",
        "completion_length",
        "length_chosen",
        "length_rejected",
        "sft_loss",
    }
    assert [sorted(r["pref"]) for r in rows] == [sorted(keys)] * 2
    # the first step's policy is the reference (LoRA B starts at zero): rewards and KL are 0
    assert rows[0]["pref"]["kl"] == 0.0 and rows[0]["pref"]["margin"] == 0.0
    assert (tmp_path / "run/pref/final/adapter_config.json").exists()


def test_simpo_full_is_reference_free_and_kto_runs(tmp_path, tiny_model_dir):
    data = [{"path": "builtin:pref_heldout.jsonl", "fraction": 0.1}]
    counts, rows = _run(
        tmp_path / "a",
        tiny_model_dir,
        {"type": "dpo", "loss": "simpo", "data": data},
        {"method": "full", "batch_size": 1},
    )
    assert counts["training"]["reference"] == "precomputed"
    # SimPO's reward: beta (2.0) x the mean token log-prob
    p = rows[0]["pref"]
    assert p["reward_chosen"] == pytest.approx(
        2.0 * p["logp_chosen"] / p["length_chosen"], rel=0.05
    )
    kto = []
    for r in _pairs(8):
        kto += [
            {"prompt": r["prompt"], "completion": r["chosen"], "label": True},
            {"prompt": r["prompt"], "completion": r["rejected"], "label": False},
        ]
    write_jsonl(tmp_path / "kto.jsonl", kto)
    write_jsonl(tmp_path / "general.jsonl", [{"text": t} for t in _general(20)])
    ptx = {"data": [{"path": str(tmp_path / "general.jsonl")}], "share": 0.3}
    counts, rows = _run(
        tmp_path / "b",
        tiny_model_dir,
        {"type": "kto", "data": [{"path": str(tmp_path / "kto.jsonl")}], "ptx": ptx},
    )
    assert counts["data"]["kept"] == 16 and counts["training"]["global_step"] == 2
    assert "kl" in rows[-1]["pref"]
    assert all(r["pref"]["ptx_loss"] > 0 for r in rows)  # KTO takes the PTX term too


def test_dpo_with_ptx_resumes_from_its_checkpoint_as_if_never_stopped(tmp_path, tiny_model_dir):
    """A dpo stage writes checkpoints like the training stages; a stage stopped after
    checkpoint-2 resumes there and ends with the weights of the run that never stopped (the PTX
    text of each step depends on the step only). PTX counts, tokens_seen and the ptx_loss rows."""
    import shutil

    from safetensors.torch import load_file

    write_jsonl(tmp_path / "general.jsonl", [{"text": t} for t in _general(40)])
    stage = {
        "type": "dpo",
        "data": [{"path": "builtin:pref_heldout.jsonl", "fraction": 0.2}],
        "sft_coef": 0.5,
        "ptx": {"data": [{"path": str(tmp_path / "general.jsonl")}], "share": 0.5, "coef": 0.5},
    }
    train = {"method": "full", "max_steps": 4, "save_steps": 2, "batch_size": 2}
    counts, rows = _run(tmp_path / "a", tiny_model_dir, stage, train)
    ptx = counts["data"]["ptx"]
    assert (ptx["in"], ptx["kept"], ptx["coef"]) == (40, 40, 0.5)
    assert ptx["rows_per_batch"] >= 1 and 0.3 < ptx["share"] < 0.8
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert all(r["pref"]["ptx_loss"] > 0 for r in rows)
    seen = [r["tokens_seen"] for r in rows]
    assert seen == sorted(seen) and seen[0] > 0 and counts["training"]["tokens_seen"] == seen[-1]
    straight = load_file(tmp_path / "a/run/pref/final/model.safetensors")

    shutil.copytree(tmp_path / "a", tmp_path / "b", symlinks=True)
    stopped = tmp_path / "b/run/pref"
    shutil.rmtree(stopped / "final")
    shutil.rmtree(stopped / "checkpoints/checkpoint-4")
    manifest = json.loads((stopped / "manifest.json").read_text())
    (stopped / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    resumed = run_recipe(parse_recipe(_raw(tmp_path / "b", tiny_model_dir, stage, train)))["pref"][
        "training"
    ]
    assert resumed["resumed_from"] == str(stopped / "checkpoints/checkpoint-2")
    assert resumed["global_step"] == 4
    assert resumed["train_loss"] == pytest.approx(counts["training"]["train_loss"], abs=1e-5)
    weights = load_file(stopped / "final/model.safetensors")
    assert weights.keys() == straight.keys()
    for key, value in straight.items():
        assert (weights[key] - value).abs().max().item() < 1e-6, key
    steps = [json.loads(x)["step"] for x in (stopped / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_dpo_qlora_trains_the_adapter_on_a_4bit_base(tmp_path, tiny_model_dir):
    """QLoRA DPO (bitsandbytes runs 4-bit layers on the CPU): the reference is the 4-bit base with
    the adapter disabled (KL 0 at the first step), only the adapter trains, the margin grows."""
    pytest.importorskip("bitsandbytes")
    stage = {"type": "dpo", "data": [{"path": "builtin:pref_pairs.jsonl", "fraction": 0.1}]}
    train = {"method": "qlora", "max_steps": 8, "learning_rate": 5e-3, "batch_size": 4}
    counts, rows = _run(tmp_path, tiny_model_dir, stage, train)
    assert counts["training"]["reference"] == "adapter"
    params = counts["training"]["parameters"]
    assert 0 < params["trainable"] < params["total"] / 5
    assert rows[0]["pref"]["kl"] == 0.0 and rows[0]["pref"]["margin"] == 0.0
    assert rows[-1]["pref"]["margin"] > 0.05 and rows[-1]["pref"]["accuracy"] >= 0.75
    assert (tmp_path / "run/pref/final/adapter_config.json").exists()
