"""kill -9 in the middle of `data synth`, then rerun: no answered request is sent again and the
output equals an uninterrupted run's, byte for byte."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from domaintune.io import write_jsonl
from domaintune.synth.api import Output, make_client, synth_paraphrase
from domaintune.synth.client import default_cache_path
from synth.scripted_server import ScriptedServer

RESPONDER = f"{Path(__file__).with_name('responder.py')}:reply"
ROWS = [
    {"instruction": f"请解释第{i}种常见的高血压药物的作用和副作用。",
     "output": f"第{i}种药物可以降压。"}
    if i % 2
    else {"instruction": f"Explain how drug number {i} lowers blood pressure.",
          "output": f"Drug {i} relaxes the vessels."}
    for i in range(10)
]  # fmt: skip


def _cli(data: Path, out: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "domaintune.synth.cli", "paraphrase", str(data),
            str(out), "--base-url", url, "--model", "teacher", "--concurrency", "4",
            "--report", str(out.with_suffix(".report.json")), "--no-progress"]  # fmt: skip


def _api(data: Path, out: Path, url: str) -> dict:
    """The same run as `_cli`, in this process (openai's import alone takes seconds here)."""
    client = make_client(url, "teacher", cache=default_cache_path(out), concurrency=4)
    return synth_paraphrase(data, Output(out, report=out.with_suffix(".report.json")), client)


def _wait(predicate, what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _cached(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_killed_run_repeats_no_answered_request(tmp_path):
    data = tmp_path / "convs.jsonl"
    write_jsonl(data, ROWS)
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "run"
    ref_dir.mkdir(), run_dir.mkdir()
    with ScriptedServer(responder=RESPONDER) as server:
        _api(data, ref_dir / "out.jsonl", server.url)

    out = run_dir / "out.jsonl"
    cache = run_dir / "out.teacher-cache.sqlite"
    with ScriptedServer(responder=RESPONDER, delay=0.02, hang_after=4) as server:
        proc = subprocess.Popen(_cli(data, out, server.url))
        try:
            _wait(lambda: sum(server.stats()["received"].values()) >= 8, "held requests")
            _wait(lambda: _cached(cache) == 4, "4 cached replies")
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        first = server.stats()
        assert not out.exists()  # outputs are written atomically at the end
        server.control(hang_after=None)
        _api(data, out, server.url)
        final = server.stats()

    assert sum(first["answered"].values()) == 4
    held = set(first["received"]) - set(first["answered"])
    assert len(held) == 4  # in flight when killed: never answered, so asked again
    assert set(final["answered"].values()) == {1}  # no request answered twice
    assert len(final["answered"]) == 10
    assert {h for h, n in final["received"].items() if n > 1} == held
    assert out.read_bytes() == (ref_dir / "out.jsonl").read_bytes()
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["teacher"]["cache_hits"] == 4 and report["teacher"]["received"] == 6
    assert report["kept"] == json.loads((ref_dir / "out.report.json").read_text())["kept"]
