"""The terms: 16 bytes/param, 16-bit moments, ZeRO sharding, QLoRA constants, planner, CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.memory import (
    RunSetup,
    WillNotFitError,
    estimate,
    parse_size,
    plan,
    preflight,
    require_fit,
)
from domaintune.memory.estimate import GIB

N7B = 6_738_415_616


def _states(est) -> int:
    return est.group("weights") + est.group("gradients") + est.group("optimizer")


def test_llama2_7b_full_mixed_adamw_is_16_bytes_per_param():
    est = estimate("llama2-7b", RunSetup(method="full"))
    tensors = 291  # 32 layers x 9 tensors + embedding + final norm + lm_head: 4-byte step each
    assert _states(est) == 16 * N7B + 4 * tensors
    assert 107e9 < _states(est) < 108e9
    assert any("84 GB" in n for n in est.notes)


def test_bf16_moments_give_12_bytes_per_param():
    est = estimate("llama2-7b", RunSetup(optimizer_state_precision="bf16"))
    assert _states(est) == 12 * N7B + 4 * 291


def test_zero_stages_shard_optimizer_then_gradients_then_weights():
    base = RunSetup(gpus=8, grad_accum=2)
    e = {z: estimate("llama2-7b", base.with_(zero=z)) for z in range(4)}
    assert e[1].group("optimizer") * 8 == pytest.approx(e[0].group("optimizer"), abs=64)
    assert e[2].term("gradients") * 8 == pytest.approx(e[1].term("gradients"), abs=8)
    assert e[3].term("weights") * 8 == pytest.approx(e[2].term("weights"), abs=8)
    assert e[0].term("ddp_buckets") == e[0].term("gradients")


def test_qlora_double_quant_constants():
    # QLoRA §3: 0.5 bits/param of constants without DQ, 0.127 with: 4.5 vs ~4.127 bits/param.
    dq = estimate("llama2-7b", RunSetup(method="qlora")).term("weights_4bit")
    no = estimate("llama2-7b", RunSetup(method="qlora", double_quant=False)).term("weights_4bit")
    linear = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    assert no * 8 / linear == pytest.approx(4.5, abs=1e-6)
    assert dq * 8 / linear == pytest.approx(4.127, abs=1e-3)


def test_lora_qwen25_7b_trainable_count():
    est = estimate("qwen2.5-7b", RunSetup(method="lora", lora_rank=8))
    assert est.trainable_params == 20_185_088  # what peft prints for r=8, all linear layers


def test_checkpointing_and_long_vocab_logits():
    s = RunSetup(method="lora", seq_len=8192)
    plain = estimate("qwen2.5-7b", s)
    ckpt = estimate("qwen2.5-7b", s.with_(grad_ckpt=True))
    assert ckpt.term("activations") < plain.term("activations") / 10
    assert ckpt.term("logits") == 12 * 152_064 * 8192  # fp32 loss dominates with checkpointing
    assert ckpt.term("logits") > ckpt.term("activations")


def test_planner_lists_fitting_changes_best_first():
    result = plan("llama2-7b", RunSetup(method="full", seq_len=4096, batch=4), parse_size("80GiB"))
    assert result.fits is False
    fitting = [s for s in result.suggestions if s.fits]
    assert fitting and all(s.total <= 80 * GIB for s in fitting)
    ranks = [s.rank for s in fitting]
    assert ranks == sorted(ranks)


def test_preflight_refuses_unless_forced():
    result = preflight("llama2-13b", method="full", seq_len=2048, batch=1, gpu_mem_bytes=24 * GIB)
    with pytest.raises(WillNotFitError, match="--force"):
        require_fit(result)
    require_fit(result, force=True)
    ok = preflight("qwen2.5-0.5b", method="lora", seq_len=512, batch=1, gpu_mem_bytes=80 * GIB)
    assert ok.fits
    require_fit(ok)


def test_parse_size():
    assert parse_size("80GiB") == 80 * GIB
    assert parse_size("80GB") == 80 * 10**9
    with pytest.raises(ValueError, match="80GiB"):
        parse_size("lots")


def test_cli_json_and_table():
    runner = CliRunner()
    res = runner.invoke(app, ["memory", "--model", "llama2-7b", "--method", "full", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for key in ("params", "trainable_params", "weights", "gradients", "optimizer"):
        assert key in out
    assert out["total"] >= out["weights"] + out["optimizer"] + out["activations"]
    res = runner.invoke(app, ["memory", "--model", "qwen2.5-7b", "--gpu-mem", "24GiB"])
    assert res.exit_code == 1
    assert "does not fit" in res.output and "QLoRA" in res.output


def test_cli_bad_option_is_an_error():
    res = CliRunner().invoke(app, ["memory", "--model", "llama2-7b", "--method", "lorax"])
    assert res.exit_code == 2
    assert "choose one of" in res.output
