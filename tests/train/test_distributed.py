"""`domaintune train` under torchrun, DeepSpeed and accelerate launch trains what one process does.

Each multi-process run is two CPU processes (gloo) with the single-process run's global batch of
8 (per-device batch x accumulation x 2 processes), so every optimizer step trains the same rows.
The final weights and the logged per-step losses must then agree up to float summation order.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from safetensors.torch import load_file

from domaintune import distributed
from domaintune.io import read_manifest, write_jsonl
from helpers import make_texts

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
STAGE = "cpt"


def _recipe(tmp_path: Path, model_dir: Path, name: str, batch_size: int) -> dict:
    """A one-stage recipe: full fine-tune of the tiny model on packed documents, fp32, 4 steps."""
    corpus = tmp_path / "corpus.jsonl"
    if not corpus.exists():
        write_jsonl(corpus, [{"text": t} for t in make_texts(60, seed=11)])
    settings = {
        "method": "full",
        "max_steps": 4,
        "batch_size": batch_size,
        "learning_rate": 1e-3,
        "lr_scheduler": "constant",
        "warmup_ratio": 0.0,
        "logging_steps": 1,
        "save_steps": 4,
        "max_len": 64,
    }
    return {
        "name": name,
        "output_dir": str(tmp_path / name),
        "seed": 7,
        "model": {"path": str(model_dir)},
        "train": settings,
        "stages": [{"name": STAGE, "type": "pt", "data": [{"path": str(corpus)}]}],
    }


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "WORLD_", "LOCAL_"))}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_NUM_THREADS="1")
    env.update(TOKENIZERS_PARALLELISM="false", CUDA_VISIBLE_DEVICES="")
    return env


def _launch(args: list[str], cwd: Path, timeout: int = 600) -> str:
    """Run a launcher; fail with its output when it fails. Returns stdout + stderr."""
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return out


def _torchrun(script: list[str], cwd: Path, nproc: int = 2) -> str:
    # --standalone: a free rendezvous port, so parallel test sessions do not collide
    run = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    return _launch([*run, *script], cwd)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _single_process_run(tmp_path: Path, model_dir: Path) -> Path:
    from domaintune.pipeline import run_recipe
    from domaintune.recipes import parse_recipe

    raw = _recipe(tmp_path, model_dir, "single", batch_size=8)
    run_recipe(parse_recipe(raw), console=Console(quiet=True))
    return Path(raw["output_dir"]) / STAGE


def _rows(stage_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (stage_dir / "metrics.jsonl").read_text().splitlines()]


def _compare(single: Path, multi: Path, base: Path, *, atol: float, micro: bool = True) -> float:
    """Assert same steps, losses, token counts and weights; return the max weight difference.

    micro: the runs' micro-batches hold the same rows, so their padding shares agree too (with
    smaller micro-batches each is padded to its own longest row).
    """
    one, two = read_manifest(single)["counts"], read_manifest(multi)["counts"]
    assert one["training"]["world_size"] == 1
    assert two["training"]["world_size"] == 2  # the ranks did not each train alone
    assert two["training"]["global_step"] == one["training"]["global_step"] == 4
    assert two["training"]["tokens_seen"] == one["training"]["tokens_seen"]
    rows_one, rows_two = _rows(single), _rows(multi)
    assert [r["step"] for r in rows_two] == [r["step"] for r in rows_one] == [1, 2, 3, 4]
    for a, b in zip(rows_one, rows_two, strict=True):
        assert b["tokens_seen"] == a["tokens_seen"]
        assert b["padding"] == a["padding"] or not micro
        assert b["loss"] == pytest.approx(a["loss"], abs=1e-5)
        assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-5)
    w0 = load_file(base / "model.safetensors")
    w1 = load_file(single / "final" / "model.safetensors")
    w2 = load_file(multi / "final" / "model.safetensors")
    if "lm_head.weight" in w2.keys() - w1.keys():
        # ZeRO-2 saves the tied output head as its own copy of the embeddings.
        assert bool((w2.pop("lm_head.weight") == w2["model.embed_tokens.weight"]).all())
    assert w1.keys() == w2.keys() == w0.keys()
    diff = max(float((w1[k] - w2[k]).abs().max()) for k in w1)
    moved = min(float((w1[k] - w0[k]).abs().max()) for k in w1)
    print(f"max |single - multi| = {diff:.3g}; smallest per-tensor max update {moved:.3g}")
    assert moved > 50 * atol  # every tensor trained, so the comparison says something
    assert diff <= atol
    return diff


# ------------------------------------------------------------------ rank helpers


def test_rank_helpers_in_a_single_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.world_size() == 1 and distributed.rank() == 0
    assert distributed.is_main_process()
    assert distributed.init_process_group() is False
    distributed.barrier()
    assert distributed.broadcast_from_main({"a": 1}) == {"a": 1}
    distributed.require_same("anything", "a value")
    # Before the process group exists, the launcher's variables answer.
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.world_size() == 2 and distributed.rank() == 1
    assert distributed.local_rank() == 1 and not distributed.is_main_process()


RANK_SCRIPT = """
import json, sys
from domaintune import distributed

assert distributed.init_process_group() is True
rank = distributed.rank()
out = {"world": distributed.world_size(), "main": distributed.is_main_process()}
out["from_main"] = distributed.broadcast_from_main(f"value of rank {rank}")
distributed.require_same("same everywhere", "a shared value")
try:
    distributed.require_same(rank * 10, "the answer")
except distributed.RankMismatchError as err:
    out["error"] = str(err)
distributed.barrier()
open(f"{sys.argv[1]}/rank{rank}.json", "w").write(json.dumps(out))
"""


@pytest.mark.slow
def test_rank_helpers_under_torchrun(tmp_path):
    """Two ranks: rank 0's value reaches both; a disagreement raises on both, naming each value."""
    script = tmp_path / "ranks.py"
    script.write_text(textwrap.dedent(RANK_SCRIPT))
    _torchrun([str(script), str(tmp_path)], tmp_path)
    r0, r1 = (json.loads((tmp_path / f"rank{i}.json").read_text()) for i in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert (r0["main"], r1["main"]) == (True, False)
    assert r0["from_main"] == r1["from_main"] == "value of rank 0"
    expected = (
        "the processes disagree about the answer (rank 0: 0, rank 1: 10); every rank must see "
        "the same recipe, data files and run directory (on several machines: a shared filesystem)"
    )
    assert r0["error"] == r1["error"] == expected


# ------------------------------------------------------------------ training runs


@pytest.mark.slow  # a whole training run (two processes / three epochs): make test-slow
def test_torchrun_ddp_trains_like_one_process(tmp_path, tiny_model_dir):
    """torchrun, 2 processes x batch 4 == 1 process x batch 8: same losses and weights."""
    single = _single_process_run(tmp_path, tiny_model_dir)
    recipe = _write(tmp_path, _recipe(tmp_path, tiny_model_dir, "ddp", batch_size=4))
    out = _torchrun(["-m", "domaintune.cli", "train", str(recipe)], tmp_path)
    run = tmp_path / "ddp"
    _compare(single, run / STAGE, tiny_model_dir, atol=1e-5)
    # Rank 0 alone wrote the run's files and printed; rank 1 was quiet.
    assert read_manifest(run / STAGE)["status"] == "complete"
    assert (run / "recipe.yaml").exists() and (run / "report.html").exists()
    assert (run / STAGE / "loss.png").exists()
    assert sorted(p.name for p in run.iterdir()) == ["cpt", "recipe.yaml", "report.html"]
    assert out.count(f"{STAGE} (pt)") == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "batch", "accumulation"), [("zero2.json", 4, 1), ("zero3.json", 2, 2)]
)
def test_deepspeed_trains_like_one_process(tmp_path, tiny_model_dir, config, batch, accumulation):
    """The shipped ZeRO configs ("auto" values filled by transformers) under torchrun on CPU.

    2 processes x batch 4, and 2 x batch 2 x accumulation 2 (DeepSpeed's own accumulation
    boundary), against 1 process x batch 8.

    DeepSpeed wraps the same torch AdamW but reduces gradients in its own buckets (ZeRO-2) or
    gathers partitioned parameters (ZeRO-3) and clips with a norm summed over partitions, so
    float summation order differs from DDP: atol 5e-5 on weights (seen: 1.1e-5 at lr 1e-3, against
    5e-6 for DDP), on updates of about 4e-3 per tensor.
    The first run on a machine JIT-compiles DeepSpeed's CPU communication op (minutes).
    """
    single = _single_process_run(tmp_path, tiny_model_dir)
    name = config.removesuffix(".json")
    raw = _recipe(tmp_path, tiny_model_dir, name, batch_size=batch)
    raw["train"]["gradient_accumulation_steps"] = accumulation
    raw["train"]["deepspeed"] = str(EXAMPLES / "deepspeed" / config)
    _torchrun(["-m", "domaintune.cli", "train", str(_write(tmp_path, raw))], tmp_path)
    stage = tmp_path / name / STAGE
    _compare(single, stage, tiny_model_dir, atol=5e-5, micro=accumulation == 1)
    assert (stage / "checkpoints" / "checkpoint-4" / "global_step4").is_dir()  # DeepSpeed ran


@pytest.mark.slow
@pytest.mark.parametrize("config", ["ddp.yaml", "deepspeed_zero2.yaml"])
def test_accelerate_launch_with_the_shipped_configs(tmp_path, tiny_model_dir, config):
    """`accelerate launch --config_file examples/accelerate/...` on CPU (2 processes).

    ddp.yaml is MULTI_GPU, which on a machine without GPUs trains on CPU with gloo. A second
    launch finds the stage complete: every rank skips it (none waits for the others forever).
    """
    single = _single_process_run(tmp_path, tiny_model_dir)
    name = config.removesuffix(".yaml")
    recipe = _write(tmp_path, _recipe(tmp_path, tiny_model_dir, name, batch_size=4))
    launch = [
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(EXAMPLES / "accelerate" / config),
        "--main_process_port",
        str(_free_port()),
        "-m",
        "domaintune.cli",
        "train",
        str(recipe),
    ]
    _launch(launch, ROOT)  # deepspeed_zero2.yaml names its JSON relative to the repository root
    stage = tmp_path / name / STAGE
    _compare(single, stage, tiny_model_dir, atol=1e-5 if config == "ddp.yaml" else 5e-5)
    assert (stage / "checkpoints" / "checkpoint-4" / "global_step4").is_dir() == (
        config != "ddp.yaml"  # DeepSpeed's own checkpoint layout: the DeepSpeed engine ran
    )
    if config == "ddp.yaml":
        again = _launch(launch, ROOT)
        assert again.count(f"{STAGE}: complete, skipped") == 1
        assert read_manifest(stage)["counts"]["training"]["world_size"] == 2


# ------------------------------------------------------------------ shipped configs


def _autos(node) -> list:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _autos(v)]
    return [node] if node == "auto" else []


@pytest.mark.parametrize("config", ["zero2.json", "zero3.json"])
def test_deepspeed_configs_are_filled_from_the_recipe(tmp_path, config):
    """Every "auto" in the shipped DeepSpeed JSONs is one transformers fills from our settings."""
    import torch
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    from domaintune.train.trainer import TrainSettings, training_arguments

    path = EXAMPLES / "deepspeed" / config
    raw = json.loads(path.read_text())
    assert _autos(raw), "the shipped configs defer batch sizes and clipping to the recipe"
    s = TrainSettings(batch_size=4, gradient_accumulation_steps=8, max_grad_norm=0.5)
    args = training_arguments(tmp_path, s, has_eval=False)
    ds = HfTrainerDeepSpeedConfig(str(path))
    ds.trainer_config_process(args)
    model = torch.nn.Linear(2, 2)
    model.config = type("Config", (), {"hidden_size": 64})()
    ds.trainer_config_finalize(args, model, num_training_steps=10)
    c = ds.config
    assert _autos(c) == []
    assert c["train_micro_batch_size_per_gpu"] == 4 and c["gradient_accumulation_steps"] == 8
    assert c["train_batch_size"] == 4 * 8 * args.world_size
    assert c["gradient_clipping"] == 0.5
    assert c["bf16"]["enabled"] is False and c["fp16"]["enabled"] is False
    # No optimizer or scheduler block: the recipe's AdamW and schedule are used, as without ZeRO.
    assert "optimizer" not in c and "scheduler" not in c
    stage = c["zero_optimization"]["stage"]
    assert stage == int(config[4])
    if stage == 3:
        assert c["zero_optimization"]["reduce_bucket_size"] == 64 * 64
        assert c["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


@pytest.mark.parametrize("config", ["ddp.yaml", "fsdp.yaml", "deepspeed_zero2.yaml"])
def test_accelerate_configs_load(config):
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import launch_command_parser

    path = EXAMPLES / "accelerate" / config
    cfg = load_config_from_file(str(path))  # rejects unknown top-level keys
    assert cfg.num_machines == 1 and cfg.num_processes == 2 and cfg.machine_rank == 0
    # Precision comes from the recipe's model.dtype. With a DeepSpeed JSON, accelerate refuses
    # mixed_precision in its own config (the JSON's bf16/fp16 blocks decide).
    assert cfg.mixed_precision == (None if config == "deepspeed_zero2.yaml" else "no")
    options = {a.dest for a in launch_command_parser()._actions}
    for key in cfg.fsdp_config:  # accelerate launch copies these onto its options unchecked
        assert key in options, f"{path}: fsdp_config.{key} is not an accelerate launch option"
    if config == "deepspeed_zero2.yaml":
        ds = cfg.deepspeed_config["deepspeed_config_file"]
        assert (ROOT / ds).exists()  # relative to the repository root, where the docs launch
        assert json.loads((ROOT / ds).read_text())["zero_optimization"]["stage"] == 2
    expected = {"ddp.yaml": "MULTI_GPU", "fsdp.yaml": "FSDP", "deepspeed_zero2.yaml": "DEEPSPEED"}
    assert cfg.distributed_type.value == expected[config]


def test_multi_gpu_example_recipe_validates():
    from domaintune.recipes import load_recipe
    from domaintune.train.stage import settings_from

    recipe = load_recipe(EXAMPLES / "recipes" / "multi_gpu.yaml")
    train = [s for s in recipe.stages if s.type in ("pt", "sft")]
    assert train
    for stage in train:
        assert (ROOT / stage.train.deepspeed).exists()
        assert settings_from(stage.train, recipe.seed).deepspeed == stage.train.deepspeed
