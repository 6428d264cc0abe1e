"""Serving fixtures: two random LoRA adapters on the tiny model, and the server as a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import make_texts

API_KEY = "sk-test-7f3a9c"  # what the server under test expects; never printed by it
KEY_ENV = "DT_TEST_SERVE_KEY"


def make_adapter(base: Path, out: Path, seed: int) -> Path:
    """A LoRA adapter with random (non-zero) B matrices, so its answers differ from the base's."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(base))
    torch.manual_seed(seed)
    config = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj", "down_proj"],
                        init_lora_weights=False)  # fmt: skip
    peft = get_peft_model(model, config)
    peft.save_pretrained(str(out))
    AutoTokenizer.from_pretrained(str(base)).save_pretrained(str(out))
    model.generation_config.save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def adapters(tiny_model_dir, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("adapters")
    return {name: make_adapter(tiny_model_dir, root / name, seed)
            for name, seed in (("med", 1), ("law", 2))}  # fmt: skip


@pytest.fixture(scope="session")
def questions() -> list[str]:
    return make_texts(6, seed=21, lo=3, hi=12)


class Server:
    def __init__(self, proc: subprocess.Popen, url: str, log: Path, key: str = "") -> None:
        self.proc, self.url, self.log, self.key = proc, url, log, key

    def stop(self) -> str:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.log.read_text(errors="replace")


def launch_server(args: list[str], log: Path, env: dict[str, str] | None = None) -> Server:
    """Start `domaintune serve ARGS --port 0` in a subprocess (see `wait_ready`)."""
    cmd = [sys.executable, "-m", "domaintune.cli", "serve", *args, "--port", "0"]
    # One torch thread: on a shared 2-core machine, tiny matmuls are 10x slower with two.
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    with open(log, "wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=full_env)
    return Server(proc, "", log)


def wait_ready(srv: Server) -> Server:
    """Wait for the server's `serving on URL` line; fail with its log if it exits or hangs."""
    proc, log = srv.proc, srv.log
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"serving on (http://\S+)", log.read_text(errors="replace"))
        if found:
            srv.url = found.group(1)
            return srv
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        time.sleep(0.1)
    srv.stop()
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server_launch(tiny_model_dir, adapters, tmp_path_factory):
    """Start the server (the tiny model as `model`, adapters `med` and `law`, an API key, batches
    of up to 8); tests that do not need it yet may ask for this so its start overlaps them."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    args = [str(tiny_model_dir), "--adapter", f"med={adapters['med']}",
            "--adapter", f"law={adapters['law']}", "--api-key-env", KEY_ENV,
            "--max-batch", "8", "--max-tokens", "1000"]  # fmt: skip
    srv = launch_server(args, log, env={KEY_ENV: API_KEY})
    srv.key = API_KEY
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def server(server_launch):
    return wait_ready(server_launch)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models on a shared 2-core machine run faster on one thread; restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
