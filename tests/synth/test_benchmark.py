"""benchmarks/synth.py --smoke runs (in this process: openai is imported once) and its figures
hold at tiny sizes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "synth.py"


def test_benchmark_smoke(capsys):
    spec = importlib.util.spec_from_file_location("benchmark_synth", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--smoke"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("RESULT ") and json.loads(last[7:]) == result
    # at smoke size (one wave of 32) the rate is set-up cost: only its presence is checked
    assert result["ratio"] == result["throughput"]["ratio_to_ideal"] > 0
    assert result["throughput"]["completed"] == 32
    storm = result["storm"]
    assert storm["completed"] == 32 and storm["retries_429"] >= 32
    assert storm["longest_wait_s"] <= 0.0625  # Retry-After 0.05 s plus at most 25%
    novelty = result["novelty"]
    assert novelty["instructions"] == 1000 and novelty["true_pairs"] > 0
    assert novelty["recall"] >= 0.9
