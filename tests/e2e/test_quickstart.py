"""The whole quickstart from raw pages, as `make demo` runs it (minutes on 2 CPU cores):
`make test-slow`. The README's table must be what a fresh run prints."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from domaintune.io import read_manifest

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_block() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Quickstart results") :]
    block = re.search(r"```\n(.*?)```", section, flags=re.S).group(1)
    return [line.rstrip() for line in block.splitlines() if line.strip()]


def _printed_summary(stdout: str) -> list[str]:
    start = stdout.index("Data stages (read = kept + rejected)")
    end = stdout.index("done.", start)
    return [line.rstrip() for line in stdout[start:end].splitlines() if line.strip()]


@pytest.mark.slow
def test_quickstart_from_raw_pages_matches_the_readme(tmp_path):
    out = tmp_path / "qs"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "domaintune.cli", "run", "--set", f"output_dir={out}"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # every stage folder has a complete manifest; data stages' counts add up
    stages = ("clean", "dedup", "decontaminate", "decontaminate_exam", "pretrain", "cpt", "sft")
    for stage in (*stages, "perplexity"):
        manifest = read_manifest(out / stage)
        assert manifest["status"] == "complete", stage
        c = manifest["counts"]
        if "read" in c:
            assert c["read"] == c["kept"] + sum(c["rejected_by_reason"].values())
    assert read_manifest(out / "dedup")["counts"]["rejected_by_reason"]["near_duplicate"] > 0
    assert read_manifest(out / "decontaminate")["counts"]["rejected_by_reason"]["eval_overlap"] > 0
    ppl = json.loads((out / "perplexity" / "perplexity.json").read_text())
    before, after = ppl["pretrain"]["domain"]["perplexity"], ppl["cpt"]["domain"]["perplexity"]
    assert after < 0.1 * before
    # forgetting: measured +88% after CPT, +44% after SFT with general instructions and PTX
    general = {m: ppl[m]["general"]["perplexity"] for m in ("pretrain", "cpt", "sft")}
    assert general["sft"] < general["cpt"] < 2.0 * general["pretrain"]
    for stage in ("pretrain", "cpt", "sft"):
        assert (out / stage / "loss.png").exists()
    assert (out / "sft" / "merged" / "model.safetensors").exists()
    # the README's quickstart table is this run's summary, line for line
    assert _printed_summary(proc.stdout) == _readme_block()
