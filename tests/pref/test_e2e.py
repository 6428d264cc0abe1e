"""End to end on the tiny model: SFT on unfiltered answers (the good and the bad answer of every
training pair, as a real SFT set mixes them), then DPO with the SFT anchor on the bundled pairs.
Held-out pairs (conditions the training pairs never mention): the share the model prefers by the
mean token log-prob rises by at least 20 points, general-text perplexity moves by at most +5%, and
the repetition of generated answers does not rise. Slow: tens of minutes on two loaded cores.

The length-normalised score, because the bundled bad answers differ in length from the good ones
by design (a vague answer is a few tokens): by log pi(y|x) a short answer is always more likely.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    # Measured 2026-12-03 (docs/preference.md, end-to-end table): accuracy 0.40 -> 0.88 but
    # general ppl +12.9% and repetition 0.60 -> 0.82. Remove once a configuration meets all three.
    pytest.mark.xfail(strict=True, reason="issue 17's e2e thresholds not met yet: ppl, repetition"),
]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pref_e2e.py"


def _experiment():
    """scripts/pref_e2e.py's run_experiment: the test runs the documented experiment itself."""
    spec = importlib.util.spec_from_file_location("pref_e2e", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run_experiment


def test_dpo_with_sft_anchor_raises_heldout_pair_accuracy(tmp_path):
    figures = _experiment()(tmp_path, sft_data="both", method="full", lr=5e-4, sft_coef=1.0)
    before, after = figures["sft"], figures["dpo"]
    print(json.dumps(figures))
    assert after["accuracy_mean"] >= before["accuracy_mean"] + 0.20
    assert after["general_ppl"] <= before["general_ppl"] * 1.05
    assert after["repetition"] <= before["repetition"]
