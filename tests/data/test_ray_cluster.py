"""A real two-node Ray cluster on loopback: `ray start --head` plus one worker node, each one CPU
in its own processes; `data dedup --engine ray --address` writes the local engine's bytes.

The test stops the cluster itself: it kills the processes whose command line names this
cluster's port or temp folder, by process id (never `ray stop`, which stops every Ray on the
machine, other people's included).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cluster_pids(markers: tuple[str, ...]) -> list[int]:
    """Processes whose command line holds one of `markers` (this cluster's port, temp dir)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(m in cmd for m in markers):
            pids.append(int(entry.name))
    return pids


def _stop(markers: tuple[str, ...]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _cluster_pids(markers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.time() + 10
        while _cluster_pids(markers) and time.time() < deadline:
            time.sleep(0.2)


def _env() -> dict[str, str]:
    # `ray start --head` turns on token authentication (ray 2.5x+): every node and client must
    # say so too, and they read the token from ~/.ray/auth_token (docs/scale.md).
    return {**os.environ, "RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0"}


def _ray_start(*args: str) -> None:
    proc = subprocess.run([BIN / "ray", "start", *args], capture_output=True, text=True,
                          env=_env(), timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


@pytest.fixture
def loopback_cluster():
    pytest.importorskip("ray")
    port = _free_port()
    temp = Path(tempfile.mkdtemp(prefix="rt18-", dir="/tmp"))  # short: socket paths <= 107
    markers = (f":{port}", str(temp))  # the GCS port is in every node process's command line
    common = ["--num-cpus", "1", "--object-store-memory", str(200 * 2**20),
              "--node-ip-address", "127.0.0.1", "--disable-usage-stats"]  # fmt: skip
    try:
        _ray_start("--head", "--port", str(port), "--include-dashboard", "false",
                   "--temp-dir", str(temp), *common)  # fmt: skip
        _ray_start("--address", f"127.0.0.1:{port}", *common)
        yield f"127.0.0.1:{port}"
    finally:
        _stop(markers)
        shutil.rmtree(temp, ignore_errors=True)
    assert _cluster_pids(markers) == []


def test_dedup_through_address_on_a_two_node_cluster(tmp_path, loopback_cluster, planted_copies):
    from domaintune.data.dedup import dedup_documents

    src, _ = planted_copies
    nodes = subprocess.run(
        [sys.executable, "-c", f"import ray; ray.init(address='{loopback_cluster}', "
         "log_to_driver=False); "
         "print(sum(n['Alive'] for n in ray.nodes()), ray.cluster_resources()['CPU'])"],
        check=True, capture_output=True, text=True, env=_env(), timeout=120,
    )  # fmt: skip
    assert nodes.stdout.split()[-2:] == ["2", "2.0"]  # head + worker node, one CPU each
    ray_dir = tmp_path / "ray"
    cli = subprocess.run(
        [BIN / "domaintune", "data", "dedup", src, ray_dir / "out.jsonl", "--engine", "ray",
         "--address", loopback_cluster, "--rejects", ray_dir / "rej.jsonl",
         "--report", ray_dir / "report.json"],
        capture_output=True, text=True, env=_env(), timeout=600,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert "90 rejected (exact_duplicate: 57, near_duplicate: 33)" in cli.stdout
    local = tmp_path / "local"
    dedup_documents(src, local / "out.jsonl", rejects=local / "rej.jsonl",
                    report=local / "report.json")  # fmt: skip
    for name in ("out.jsonl", "rej.jsonl"):
        assert (ray_dir / name).read_bytes() == (local / name).read_bytes()
    assert json.loads((ray_dir / "report.json").read_text()) == json.loads(
        (local / "report.json").read_text()
    )
