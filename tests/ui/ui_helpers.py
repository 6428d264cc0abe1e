"""Hand-written run directories (manifests, run.json, metrics.jsonl) and `domaintune ui` as a
process, for the UI tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from domaintune.io import write_jsonl, write_manifest
from domaintune.ui.runstate import process_record

ARTIFACTS = Path(__file__).resolve().parents[2] / "runs" / "test-artifacts"
CLEAN_COUNTS = {"read": 10, "kept": 7, "rejected": 3, "rejected_by_reason": {"too_short": 3}}


def metrics_rows(n: int, start: int = 1) -> list[dict]:
    return [
        {"step": s, "epoch": round(s / 100, 4), "lr": 1e-3, "loss": round(4.0 - 0.05 * s, 4),
         "grad_norm": 1.5, "tokens_seen": 128 * s, "eval_loss": {"domain": 3.9} if s % 5 == 0
         else None, "pref": {"margin": 0.01 * s, "accuracy": 0.5}}
        for s in range(start, start + n)
    ]  # fmt: skip


def write_metrics(path: Path, rows: list[dict], mode: str = "w") -> None:
    with open(path, mode, encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n")


def make_run(runs: Path, name: str, *, state: dict | None, cpt_status: str | None = "running",
             exit_code: int | None = None, metrics: int = 6) -> Path:  # fmt: skip
    """A run directory with a complete `clean` stage and a `cpt` stage in `cpt_status`."""
    run = runs / name
    run.mkdir(parents=True)
    (run / "recipe.yaml").write_text(
        f"name: {name}\nstages:\n  - {{name: clean, type: clean}}\n  - {{name: cpt, type: pt}}\n"
    )
    write_manifest(run / "clean", stage="clean", inputs={}, config={}, counts=CLEAN_COUNTS,
                   timings={"seconds": 1.5}, status="complete")  # fmt: skip
    rows = [{"text": "x" * (10 * i), "meta": {"lang": "en"}} for i in range(1, 8)]  # as clean
    write_jsonl(run / "clean" / "data.jsonl", rows)
    if cpt_status:
        write_manifest(run / "cpt", stage="pt", inputs={}, config={}, counts={}, timings={},
                       status=cpt_status)  # fmt: skip
        write_metrics(run / "cpt" / "metrics.jsonl", metrics_rows(metrics))
    if state is not None:
        (run / "run.json").write_text(json.dumps(state))
    if exit_code is not None:
        (run / "exit.json").write_text(json.dumps({"returncode": exit_code, "ended": time.time()}))
    return run


def live_state() -> dict:
    """run.json naming this (live) test process."""
    return {**process_record(), "status": "running"}


def dead_state() -> dict:
    """run.json naming a process that has exited."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return {**process_record(proc.pid), "proc_start": 1, "status": "running"}


class UiProcess:
    """`domaintune ui --port 0` as a subprocess, stopped by its pid."""

    def __init__(self, runs: Path, recipes: Path, log: Path, cwd: Path) -> None:
        cmd = [sys.executable, "-m", "domaintune.cli", "ui", "--runs", str(runs),
               "--recipes", str(recipes), "--port", "0"]  # fmt: skip
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
        with open(log, "wb") as sink:
            self.proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env,
                                         cwd=cwd)  # fmt: skip
        self.log = log
        self.url = self._wait_url()

    def _wait_url(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"ui on (http://\S+/)", self.log.read_text(errors="replace"))
            if found:
                return found.group(1).rstrip("/")
            if self.proc.poll() is not None:
                raise RuntimeError(f"ui exited {self.proc.returncode}:\n{self.log.read_text()}")
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"ui did not start:\n{self.log.read_text()}")

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=15)


def tools():
    """The entry layer's recipe functions, as `domaintune ui` hands them to the app."""
    from domaintune.recipes import load_recipe, recipe_problems
    from domaintune.ui import RecipeTools

    return RecipeTools(load_recipe, recipe_problems)
