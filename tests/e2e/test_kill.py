"""kill -9 at any point of `domaintune run`, then the same command again: the outputs equal an
uninterrupted run's (weights within 1e-6, data files byte-identical).

Kill points: `DOMAINTUNE_KILL_AT` makes the runner SIGKILL itself at a named point (start:STAGE
after its manifest says running, end:STAGE after its work but before its manifest says complete,
after:STAGE between stages); a training stage is killed from outside once its first checkpoint
is on disk, as a user's kill would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from domaintune.io import read_manifest, write_jsonl
from domaintune.resources import data_path


def _docs(name: str, n: int) -> list[dict]:
    with open(data_path(name), encoding="utf-8") as f:
        return [json.loads(line) for _, line in zip(range(n), f, strict=False)]


def _recipe(tmp_path: Path, model: Path, out: Path, *, train: bool = True) -> Path:
    raw = tmp_path / "raw"
    if not raw.exists():
        raw.mkdir()
        en = _docs("domain_corpus_en.jsonl", 24)
        for i, d in enumerate(en[:6]):
            (raw / f"doc{i}.txt").write_text(d["text"], encoding="utf-8")
        write_jsonl(raw / "crawl.jsonl", [*en[6:], en[0], {"id": "short", "text": "too short"}])
        write_jsonl(tmp_path / "heldout.jsonl", _docs("heldout_domain.jsonl", 6))
        write_jsonl(tmp_path / "sft.jsonl", _docs("sft_domain_alpaca.jsonl", 40))
    small = {"max_steps": 6, "batch_size": 4, "logging_steps": 1, "eval_steps": 3,
             "save_steps": 2, "max_len": 64, "learning_rate": 3e-3}  # fmt: skip
    stages = [
        {"name": "clean", "type": "clean", "data": [{"path": str(raw)}]},
        {"name": "dedup", "type": "dedup", "data": [{"from": "clean"}]},
    ]
    if train:
        stages += [
            {"name": "cpt", "type": "pt", "data": [{"from": "dedup"}],
             "train": {"method": "full"}},
            {"name": "sft", "type": "sft", "model_from": "cpt", "template": "qwen",
             "data": [{"path": str(tmp_path / "sft.jsonl")}],
             "train": {"method": "lora", "max_len": 256}},
            {"name": "ppl", "type": "eval", "models": ["cpt", "sft"], "max_len": 64,
             "perplexity": {"domain": str(tmp_path / "heldout.jsonl")}},
        ]  # fmt: skip
    recipe = {"name": "k", "output_dir": str(out), "model": {"path": str(model)},
              "train": small, "stages": stages}  # fmt: skip
    path = tmp_path / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _domaintune(recipe: Path, *, kill_at: str | None = None, **kw) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env.pop("DOMAINTUNE_KILL_AT", None)
    if kill_at:
        env["DOMAINTUNE_KILL_AT"] = kill_at
    cmd = [sys.executable, "-m", "domaintune.cli", "run", str(recipe)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def _run(recipe: Path, *, kill_at: str | None = None) -> int:
    proc = _domaintune(recipe, kill_at=kill_at)
    out, _ = proc.communicate(timeout=600)
    if kill_at is None:
        assert proc.returncode == 0, out.decode()[-3000:]
    return proc.returncode


def _kill_when(recipe: Path, path: Path) -> None:
    """Start a run and SIGKILL it as soon as `path` exists (e.g. a training checkpoint)."""
    proc = _domaintune(recipe)
    deadline = time.time() + 300
    while not path.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before the kill point"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _same_files(a: Path, b: Path, names: list[str]) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _same_weights(a: Path, b: Path) -> float:
    from safetensors.numpy import load_file

    worst = 0.0
    for f in sorted(a.glob("*.safetensors")):
        x, y = load_file(f), load_file(b / f.name)
        assert x.keys() == y.keys()
        worst = max([worst, *(float(abs(x[k] - y[k]).max()) for k in x)])
    return worst


def _reference(recipe: Path) -> None:
    """The uninterrupted run, in this process (the same code; saves a start-up)."""
    from domaintune.pipeline import run_recipe
    from domaintune.recipes import load_recipe

    run_recipe(load_recipe(recipe))


def test_kill_during_data_stages_then_rerun(tmp_path, tiny_model_dir):
    ref = tmp_path / "ref"
    _reference(_recipe(tmp_path, tiny_model_dir, ref, train=False))
    run = tmp_path / "run"
    recipe = _recipe(tmp_path, tiny_model_dir, run, train=False)
    assert _run(recipe, kill_at="end:clean") == -signal.SIGKILL
    assert read_manifest(run / "clean")["status"] == "running"  # never looks complete
    assert _run(recipe, kill_at="start:dedup") == -signal.SIGKILL
    assert read_manifest(run / "clean")["status"] == "complete"
    _run(recipe)
    for stage in ("clean", "dedup"):
        _same_files(ref / stage, run / stage, ["data.jsonl", "rejects.jsonl"])
        assert read_manifest(run / stage)["counts"] == read_manifest(ref / stage)["counts"]
    assert not list(run.rglob(".*.tmp"))  # no half-written file left behind


@pytest.mark.slow
def test_kill_at_every_kind_of_point_then_rerun(tmp_path, tiny_model_dir):
    ref = tmp_path / "ref"
    _run(_recipe(tmp_path, tiny_model_dir, ref))
    run = tmp_path / "run"
    recipe = _recipe(tmp_path, tiny_model_dir, run)
    assert _run(recipe, kill_at="start:dedup") == -signal.SIGKILL  # during a data stage
    _kill_when(recipe, run / "cpt" / "checkpoints" / "checkpoint-4")  # during training
    assert read_manifest(run / "cpt")["status"] == "running"
    assert _run(recipe, kill_at="after:cpt") == -signal.SIGKILL  # between stages
    assert read_manifest(run / "cpt")["status"] == "complete"
    _kill_when(recipe, run / "sft" / "checkpoints" / "checkpoint-2")  # LoRA SFT
    assert _run(recipe, kill_at="end:ppl") == -signal.SIGKILL  # during the eval stage
    _run(recipe)
    for stage in ("clean", "dedup"):
        _same_files(ref / stage, run / stage, ["data.jsonl", "rejects.jsonl"])
    assert _same_weights(ref / "cpt" / "final", run / "cpt" / "final") <= 1e-6
    assert _same_weights(ref / "sft" / "final", run / "sft" / "final") <= 1e-6
    a = json.loads((ref / "ppl" / "perplexity.json").read_text())
    b = json.loads((run / "ppl" / "perplexity.json").read_text())
    for model in a:
        x, y = a[model]["domain"]["perplexity"], b[model]["domain"]["perplexity"]
        assert abs(x - y) <= 1e-4 * x
    for stage in ("clean", "dedup", "cpt", "sft", "ppl"):
        assert read_manifest(run / stage)["status"] == "complete"
