"""Every script under benchmarks/ runs in its smoke mode and ends with `RESULT {json}` holding a
numeric top-level `ratio` (issue 12 item 7: a change that breaks a baseline is caught here).

Scripts are found by glob, so a new benchmark is included without touching this file. A script
whose smoke mode another default test already runs is listed in ELSEWHERE (checked below, so the
list cannot go stale silently). The smoke runs are subprocesses, two at a time (the machine has
two cores; each run is mostly one thread of imports and tiny steps), started together by a
module fixture and collected by one test per script.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_"))
# script -> (the default test that runs its smoke mode, the flag it runs it with)
ELSEWHERE = {
    "gpu_check.py": ("tests/test_gpu_check.py::test_dry_run_every_section_runs", "--dry-run"),
    "synth.py": ("tests/synth/test_benchmark.py::test_benchmark_smoke", "--smoke"),
}
HERE = [s for s in SCRIPTS if s not in ELSEWHERE]
# the slowest first, so the two workers finish together
ORDER = ("train_throughput.py", "eval_mcq.py", "memory_accuracy.py", "data_memory.py")
TIMEOUT_S = 300  # per script; a smoke run takes seconds to tens of seconds on a busy machine


def run_smoke(script: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",  # two runs share two cores
    }
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), "--smoke"]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def start_smoke_runs(items, cwd: Path, workers: int) -> tuple[ThreadPoolExecutor, dict]:
    """Start the smoke runs of the selected `test_smoke_mode_ends_with_a_numeric_ratio` items."""
    selected = {
        item.callspec.params["script"]
        for item in items
        if getattr(item, "originalname", None) == "test_smoke_mode_ends_with_a_numeric_ratio"
    }
    ranked = sorted(selected, key=lambda s: ORDER.index(s) if s in ORDER else len(ORDER))
    pool = ThreadPoolExecutor(max_workers=workers)
    return pool, {s: pool.submit(run_smoke, s, cwd) for s in ranked}


@pytest.fixture(scope="module")
def smoke_runs(request, tmp_path_factory) -> dict[str, Future]:
    """The smoke runs: started by conftest.py when the session began (one worker beside the
    other tests), or here, on two workers, when this module runs alone."""
    early = getattr(request.config, "_smoke_runs", None)
    if early is not None:
        yield early[1]
        return
    pool, runs = start_smoke_runs(request.session.items, tmp_path_factory.mktemp("bench-smoke"), 2)
    yield runs
    pool.shutdown(wait=True, cancel_futures=True)  # after a failure (-x): no new runs


def test_benchmarks_are_discovered():
    assert {"train_throughput.py", "packing.py", "gpu_check.py"} <= set(SCRIPTS)
    assert set(HERE) | set(ELSEWHERE) == set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_has_a_smoke_mode_and_a_result_line(script):
    text = (ROOT / "benchmarks" / script).read_text(encoding="utf-8")
    flag = ELSEWHERE.get(script, (None, "--smoke"))[1]
    assert re.search(rf"add_argument\(\s*[\"']{flag}[\"']", text), f"{script}: no {flag} flag"
    assert '"RESULT "' in text, f"{script} does not print a RESULT line"


@pytest.mark.parametrize("script", sorted(ELSEWHERE))
def test_smoke_runs_elsewhere_are_really_run_there(script):
    test_id, flag = ELSEWHERE[script]
    test_file, test_name = test_id.split("::")
    text = (ROOT / test_file).read_text(encoding="utf-8")
    assert script in text and flag in text, f"{test_file} does not run {script} {flag}"
    tree = ast.parse(text)
    found = [f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == test_name]
    assert found, f"{test_id} is gone: update ELSEWHERE"
    marks = [ast.unparse(d) for d in found[0].decorator_list]
    module_marks = [ast.unparse(n) for n in tree.body if isinstance(n, ast.Assign)
                    and "pytestmark" in ast.unparse(n.targets[0])]  # fmt: skip
    assert not any("slow" in m for m in marks + module_marks), f"{test_id} is not a default test"


def _serve_figures(result: dict) -> None:
    """serve.py: our batched engine and the serial baseline answered alike, over HTTP too."""
    assert result["same_outputs"] and result["ratio"] == result["ours"]["8"]["ratio"] > 0
    assert result["serial"]["tokens"] == result["ours"]["8"]["tokens"] > 0
    assert result["http_8_clients"]["tokens"] == result["serial"]["tokens"]  # answers asserted


# script -> what its smoke RESULT must also hold, beyond a ratio
FIGURES = {"serve.py": _serve_figures}


@pytest.mark.parametrize("script", HERE)
def test_smoke_mode_ends_with_a_numeric_ratio(script, smoke_runs):
    proc = smoke_runs[script].result()
    assert proc.returncode == 0, f"{script} --smoke failed:\n{proc.stderr[-3000:]}"
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT "), f"{script}: last line is {last[:200]!r}"
    result = json.loads(last.removeprefix("RESULT "))
    ratio = result.get("ratio")
    assert isinstance(ratio, int | float) and not isinstance(ratio, bool), result
    assert math.isfinite(ratio) and ratio > 0, result
    FIGURES.get(script, lambda r: None)(result)
