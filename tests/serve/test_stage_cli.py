"""The export stage, the CLI's refusals and the vLLM hand-off (no vLLM needed). The serving
benchmark's smoke run and its figures: tests/test_benchmarks.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError
from rich.console import Console
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.serve.stage import ExportStage, run_export
from domaintune.serve.vllm import exec_vllm, vllm_command


def test_export_stage_config_and_run(tiny_model_dir, tmp_path):
    stage = ExportStage.model_validate(
        {"name": "gguf", "type": "export", "model_from": "sft", "format": "gguf", "quant": "q8_0"}
    )
    assert stage.upstream() == ["sft"] and stage.produces == ""
    with pytest.raises(ValidationError, match="format"):
        ExportStage.model_validate({"name": "x", "type": "export", "format": "onnx"})
    models = {"sft": tiny_model_dir}
    ctx = SimpleNamespace(out=tmp_path / "gguf", console=Console(quiet=True), model_dir=models.get)
    counts = run_export(stage, ctx)
    assert counts["files"] == 1 and counts["format"] == "gguf"
    assert counts["path"] == str(tmp_path / "gguf" / "export" / "model-q8_0.gguf")
    assert counts["bytes"] == Path(counts["path"]).stat().st_size


def test_cli_refusals(tiny_model_dir, tmp_path, monkeypatch):
    runner = CliRunner()
    out = str(tmp_path / "o")
    r = runner.invoke(app, ["export", str(tiny_model_dir), out, "--format", "onnx"])
    assert r.exit_code == 2 and "--format 'onnx': choose one of hf, gguf, ollama" in r.output
    r = runner.invoke(app, ["export", str(tiny_model_dir), out, "--format", "gguf"])
    assert r.exit_code == 0 and (tmp_path / "o" / "model-f16.gguf").stat().st_size > 0
    monkeypatch.delenv("DT_NO_SUCH_KEY", raising=False)
    r = runner.invoke(app, ["serve", str(tiny_model_dir), "--api-key-env", "DT_NO_SUCH_KEY"])
    assert r.exit_code == 2 and "DT_NO_SUCH_KEY: that environment variable is not set" in r.output
    r = runner.invoke(app, ["serve", str(tiny_model_dir), "--adapter", "nodir"])
    assert r.exit_code == 2 and "write NAME=DIR" in r.output


def test_vllm_hand_off(tiny_model_dir, adapters):
    cmd = vllm_command(adapters["med"], {"law": str(adapters["law"])}, host="127.0.0.1",
                       port=8001, max_batch=8, dtype="bfloat16")  # fmt: skip
    assert cmd[1:5] == ["-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_model_dir)]
    at = cmd.index("--lora-modules")
    assert cmd[at + 1 :] == [f"med={adapters['med']}", f"law={adapters['law']}"]
    assert "--api-key" not in cmd  # the key travels in VLLM_API_KEY, never in argv
    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(ImportError, match="--engine vllm needs vLLM, which is not installed"):
            exec_vllm(tiny_model_dir, {}, host="127.0.0.1", port=1, api_key=None, max_batch=1,
                      dtype="float32")  # fmt: skip
