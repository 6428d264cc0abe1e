"""End to end on the tiny model: SFT on unfiltered answers (the good and the bad answer of every
training pair, as a real SFT set mixes them), then DPO with the SFT anchor and general text (PTX)
on the bundled pairs. Held-out pairs (conditions the training pairs never mention): the share the
model prefers by the mean token log-prob rises by at least 20 points, general-text perplexity
moves by at most +5%, and the repetition of the greedy answers to the 100 held-out questions does
not rise. Slow: about 10 minutes on two loaded cores (SFT 600 steps, DPO 60).

The length-normalised score, because the bundled bad answers differ in length from the good ones
by design (a vague answer is a few tokens): by log pi(y|x) a short answer is always more likely.
docs/preference.md's end-to-end table has the figures of this and neighbouring configurations.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pref_e2e.py"


def _experiment():
    """scripts/pref_e2e.py's run_experiment: the test runs the documented experiment itself."""
    spec = importlib.util.spec_from_file_location("pref_e2e", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run_experiment


def test_dpo_with_sft_anchor_and_ptx_raises_heldout_pair_accuracy(tmp_path):
    figures = _experiment()(
        tmp_path,
        sft_data="both",
        sft_steps=600,
        method="full",
        lr=4e-4,
        sft_coef=1.0,
        ptx_share=0.5,
        questions=100,
    )
    before, after = figures["sft"], figures["dpo"]
    print(json.dumps(figures))
    assert after["accuracy_mean"] >= before["accuracy_mean"] + 0.20
    assert after["general_ppl"] <= before["general_ppl"] * 1.05
    assert after["repetition"] <= before["repetition"]
