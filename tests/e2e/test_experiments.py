"""The four bundled experiments (examples/experiments/*.yaml), as docs/experiments.md ran them
(about 25-45 minutes on 2 shared CPU cores): `make test-slow`. The tables in the docs must be
what a fresh run writes (`sweep.md`), and the findings the docs state must hold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from domaintune.report.sweep import markdown_tables, read_sweep

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "experiments.md"
# In this order: later experiments reuse earlier ones' stages (same fingerprints).
EXPERIMENTS = ("general_share", "learning_rate", "cpt_prompts", "cpt_vs_sft")


def _run(name: str, out: Path) -> dict:
    # One thread per process: on a shared 2-core machine torch's default two threads ran 10x
    # slower (docs/experiments.md); results are the same run to run with the same setting.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    recipe = ROOT / "examples" / "experiments" / f"{name}.yaml"
    cmd = [sys.executable, "-m", "domaintune.cli", "run", str(recipe), "--set",
           f"output_dir={out / name}"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return read_sweep(out / name)


def _mean(summary: dict, setting: str, column: str) -> tuple[float, float]:
    cell = summary["by_setting"][setting][column]
    return cell["mean"], cell["spread"]


@pytest.mark.slow
def test_experiments_reproduce_the_docs(tmp_path):
    docs = DOCS.read_text(encoding="utf-8")
    results = {name: _run(name, tmp_path) for name in EXPERIMENTS}
    for name, summary in results.items():
        assert markdown_tables(summary) in docs, f"docs/experiments.md is not this run's {name}"
    forget, gain = "general Δ% vs pretrain", "domain Δ% vs pretrain"
    share = results["general_share"]
    means = [_mean(share, f"general_{p}", forget)[0] for p in (0, 5, 15, 30)]
    assert means == sorted(means, reverse=True)  # more general text, less forgetting
    (m0, s0), (m30, s30) = (_mean(share, f"general_{p}", forget) for p in (0, 30))
    assert m0 - m30 > s0 + s30  # larger than the seed-to-seed spread
    assert _mean(share, "general_15_ptx", forget)[0] < _mean(share, "general_15", forget)[0]
    # stages shared across experiments were hard-linked, not rerun
    both = results["cpt_vs_sft"]["variants"]
    assert both["cpt=on,seed=1"]["stages"] == {
        "base-model": "reused", "pretrain": "reused", "cpt": "reused", "sft": "reused",
        "eval": "reused",
    }  # fmt: skip
    assert results["cpt_prompts"]["variants"]["plain,seed=2"]["stages"]["cpt"] == "reused"
    # CPT then SFT beats SFT alone on domain perplexity, by more than the spread
    (on, s_on), (off, s_off) = (
        _mean(results["cpt_vs_sft"], k, gain) for k in ("cpt=on", "cpt=off")
    )
    assert off - on > s_on + s_off
    lr = results["learning_rate"]
    low, mid = (_mean(lr, f"learning_rate={x}", forget)[0] for x in ("0.0006667", "0.002"))
    assert low < mid
    assert _mean(lr, "learning_rate=0.0006667", gain)[0] > _mean(lr, "learning_rate=0.002", gain)[0]
