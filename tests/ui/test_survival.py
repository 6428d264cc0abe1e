"""A run launched from the UI outlives the UI: kill the UI process, start a new one, and it shows
the run's true status; the run's final loss equals the same recipe run without the UI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from domaintune.diagnose.curves import read_metrics
from domaintune.io import write_jsonl
from domaintune.ui import run_status
from helpers import make_texts
from ui.ui_helpers import UiProcess


def small_recipe(tmp_path, model_dir) -> str:
    write_jsonl(tmp_path / "corpus.jsonl", [{"text": t} for t in make_texts(60, seed=5)])
    recipe = {
        "name": "small",
        "seed": 3,
        "model": {"path": str(model_dir)},
        "train": {
            "max_steps": 8,
            "batch_size": 2,
            "max_len": 64,
            "logging_steps": 1,
            "save_steps": 4,
            "eval_steps": 1000,
        },  # fmt: skip
        "stages": [
            {
                "name": "cpt",
                "type": "pt",
                "data": [{"path": "corpus.jsonl"}],
                "train": {"method": "full", "learning_rate": 1.0e-3},
            }
        ],  # fmt: skip
    }
    return yaml.safe_dump(recipe, sort_keys=False)


def _status(url: str, run: str) -> dict:
    return httpx.get(f"{url}/api/runs/{run}", timeout=30).json()


@pytest.mark.slow
def test_a_run_survives_the_ui_and_matches_a_plain_run(tmp_path, tiny_model_dir):
    runs, recipes = tmp_path / "runs", tmp_path / "recipes"
    text = small_recipe(tmp_path, tiny_model_dir)
    first = UiProcess(runs, recipes, tmp_path / "ui1.log", cwd=tmp_path)
    r = httpx.post(f"{first.url}/api/launch", json={"yaml": text, "save_as": "small"}, timeout=60)
    assert r.status_code == 200, r.text
    assert _status(first.url, "small")["status"] == "running"
    first.kill(signal.SIGKILL)  # the UI dies; the run is in its own session

    second = UiProcess(runs, recipes, tmp_path / "ui2.log", cwd=tmp_path)
    try:
        info = _status(second.url, "small")
        if info["status"] == "running":  # the true status: that process is alive
            os.kill(info["pid"], 0)
        deadline = time.monotonic() + 600
        while info["status"] == "running" and time.monotonic() < deadline:
            time.sleep(1)
            info = _status(second.url, "small")
        assert (info["status"], info["detail"]) == ("finished", "exit code 0"), info
        assert [s["status"] for s in info["stages"]] == ["complete"]
    finally:
        second.kill()

    plain = tmp_path / "plain"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "domaintune.cli", "run", str(recipes / "small.yaml"),
           "--set", f"output_dir={plain}"]  # fmt: skip
    subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=600)
    # A run started in a terminal records itself too (pipeline writes run.json).
    assert run_status(plain)[:2] == ("finished", "run recorded its end")
    state = json.loads((plain / "run.json").read_text())
    assert state["status"] == "finished"
    assert state["argv"][1:3] == ["run", str(recipes / "small.yaml")]
    via_ui = read_metrics(runs / "small" / "cpt" / "metrics.jsonl")
    without = read_metrics(plain / "cpt" / "metrics.jsonl")
    assert [r["step"] for r in via_ui] == list(range(1, 9))
    assert via_ui[-1]["loss"] == without[-1]["loss"]
    assert [r["loss"] for r in via_ui] == [r["loss"] for r in without]
