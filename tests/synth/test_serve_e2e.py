"""End to end: `data synth` against `domaintune serve` running the tiny model (slow).

The tiny model writes no JSON, so every reply is rejected as unparseable: what is tested is the
client against a real OpenAI-compatible server (requests, usage, cache), not the replies.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from domaintune.io import write_jsonl
from domaintune.synth.api import Output, make_client, synth_paraphrase

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tiny_model_dir, tmp_path):
    log = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "domaintune.cli", "serve", str(tiny_model_dir), "--port", "0",
           "--max-tokens", "64", "--name", "tiny"]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    with open(log, "wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (found := re.search(r"serving on (http://\S+)", log.read_text(errors="replace"))):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield found.group(1).rstrip("/")
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def test_synth_against_domaintune_serve(served, tmp_path):
    rows = [{"instruction": f"Explain step {i} of measuring blood pressure.",
             "output": f"Step {i}."} for i in range(3)]  # fmt: skip
    write_jsonl(tmp_path / "convs.jsonl", rows)
    base = served if served.endswith("/v1") else served + "/v1"

    def run() -> dict:
        client = make_client(base, "tiny", cache=tmp_path / "c.sqlite", max_tokens=32,
                             temperature=0.0, concurrency=2)  # fmt: skip
        return synth_paraphrase(tmp_path / "convs.jsonl", Output(tmp_path / "p.jsonl"), client)

    first = run()
    teacher = first["teacher"]
    assert (first["requested"], first["received"], teacher["failed"]) == (3, 3, 0)
    assert teacher["prompt_tokens"] > 0 and teacher["completion_tokens"] > 0
    assert first["rejected_by_reason"] == {"unparseable_reply": 3} and first["kept"] == 0
    second = run()
    assert second["teacher"]["cache_hits"] == 3 and second["teacher"]["sent"] == 0
    assert second["rejected_by_reason"] == {"unparseable_reply": 3}
    assert json.loads((tmp_path / "p.jsonl").read_text() or "[]") == []  # nothing kept
