"""Shared fixtures: a tiny tokenizer and model built in the test session, fully offline."""

from __future__ import annotations

import os

import pytest

from domaintune.io import write_jsonl

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from helpers import make_texts


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A 2-layer Qwen2 model (hidden 64) with a 512-token BPE trained on a few lines."""
    from domaintune.models import build_tiny_model

    out = tmp_path_factory.mktemp("tiny") / "model"
    return build_tiny_model(
        out, texts=make_texts(400), vocab_size=512, hidden_size=64, num_layers=2, seed=0
    )


@pytest.fixture
def recipe_raw(tmp_path, tiny_model_dir):
    """A three-stage recipe (cpt, LoRA sft with merge, perplexity) on tiny data."""
    return make_recipe_raw(tmp_path, tiny_model_dir)


def make_recipe_raw(tmp_path, tiny_model_dir) -> dict:
    docs = [{"text": t} for t in make_texts(80, seed=11)]
    write_jsonl(tmp_path / "corpus.jsonl", docs[:60])
    write_jsonl(tmp_path / "heldout.jsonl", docs[60:])
    qa = make_texts(80, seed=12, lo=4, hi=20)
    rows = [{"instruction": qa[2 * i], "output": qa[2 * i + 1]} for i in range(40)]
    write_jsonl(tmp_path / "sft.jsonl", rows)
    small = {
        "max_steps": 4,
        "batch_size": 4,
        "logging_steps": 1,
        "eval_steps": 2,
        "save_steps": 2,
        "max_len": 64,
    }
    return {
        "name": "t",
        "output_dir": str(tmp_path / "run"),
        "model": {"path": str(tiny_model_dir)},
        "train": small,
        "stages": [
            {
                "name": "cpt",
                "type": "pt",
                "data": [{"path": str(tmp_path / "corpus.jsonl")}],
                "eval_data": {"domain": str(tmp_path / "heldout.jsonl")},
                "train": {"method": "full", "learning_rate": 3e-3},
            },
            {
                "name": "sft",
                "type": "sft",
                "model_from": "cpt",
                "data": [{"path": str(tmp_path / "sft.jsonl"), "fraction": 0.5}],
                "train": {"method": "lora", "merge": True, "learning_rate": 3e-3},
            },
            {
                "name": "ppl",
                "type": "eval",
                "models": ["base", "cpt", "sft"],
                "perplexity": {"domain": str(tmp_path / "heldout.jsonl")},
                "max_len": 64,
            },
        ],
    }


WAIT_LAST = ("tests/test_benchmarks.py::", "tests/test_gpu_check.py::test_dry_run")


def pytest_collection_modifyitems(session, config, items):
    """The tests that wait for the background smoke runs go last, so the runs overlap the whole
    session instead of holding up the tests that would otherwise follow them."""
    items.sort(key=lambda item: item.nodeid.startswith(WAIT_LAST))


def pytest_collection_finish(session):
    """Start the benchmarks' smoke runs (subprocesses, one at a time) as the session begins, so
    they overlap the other tests instead of holding the session up at the end."""
    import tempfile
    from pathlib import Path

    from test_benchmarks import start_smoke_runs

    if session.config.option.collectonly:
        return
    named = [i for i in session.items if i.nodeid.startswith("tests/test_benchmarks.py::")]
    if len(named) == len(session.items):
        return  # that module alone starts its own runs, two at a time
    cwd = Path(tempfile.mkdtemp(prefix="bench-smoke-"))
    pool, runs = start_smoke_runs(session.items, cwd, 1)
    session.config._smoke_runs = (pool, runs)
    if any(i.nodeid.startswith("tests/test_gpu_check.py::") for i in session.items):
        from test_gpu_check import run_dry

        out = cwd / "gpu-check.json"
        session.config._gpu_dry_run = (out, pool.submit(run_dry, out))


def pytest_sessionfinish(session):
    early = getattr(session.config, "_smoke_runs", None)
    if early is not None:
        early[0].shutdown(wait=True, cancel_futures=True)
