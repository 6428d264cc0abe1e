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


def _run(tmp_path, tiny_model_dir, stage: dict, train: dict | None = None) -> tuple:
    raw = {
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
    counts, rows = _run(
        tmp_path / "b",
        tiny_model_dir,
        {"type": "kto", "data": [{"path": str(tmp_path / "kto.jsonl")}]},
    )
    assert counts["data"]["kept"] == 16 and counts["training"]["global_step"] == 2
    assert "kl" in rows[-1]["pref"]
