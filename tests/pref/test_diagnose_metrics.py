"""Preference findings on hand-written metrics.jsonl curves; distinct-n and repetition figures."""

from __future__ import annotations

import json

import pytest

from domaintune.diagnose import diagnose_stage
from domaintune.eval.metrics import diversity


def _run(tmp_path, prefs):
    rows = [
        {"step": s, "epoch": s / 100, "loss": 0.6, "lr": 1e-5, "pref": p}
        for s, p in enumerate(prefs, start=1)
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {f.name: f for f in diagnose_stage(tmp_path)}


def _pref(i, *, chosen, rejected, acc, lc=40.0, lr=40.0):
    return {
        "logp_chosen": chosen,
        "logp_rejected": rejected,
        "margin": 0.1 * (chosen - rejected),
        "accuracy": acc,
        "length_chosen": lc,
        "length_rejected": lr,
    }


def test_likelihood_displacement_and_easy_pairs(tmp_path):
    # chosen falls 100 -> 120 nats while rejected falls faster; accuracy 1.0 from step 2 of 40
    prefs = [
        _pref(i, chosen=-100 - 0.5 * i, rejected=-100 - 2.0 * i, acc=0.5 if i == 0 else 1.0)
        for i in range(40)
    ]
    found = _run(tmp_path, prefs)
    d = found["likelihood_displacement"]
    assert d.evidence["logp_chosen"] == [
        -101.75,
        -117.75,
    ]  # first and last 8 of 40: mean i 3.5, 35.5
    assert d.evidence["margin"] == [0.525, 5.325]
    assert found["easy_pairs"].evidence == {"step": 2, "accuracy": 1.0, "of_steps": 40}
    assert "length_gap" not in found


def test_no_finding_on_a_healthy_curve_and_length_gap(tmp_path):
    prefs = [
        _pref(i, chosen=-100 + 0.2 * i, rejected=-100 - 0.5 * i, acc=0.5 + 0.01 * i, lc=90, lr=30)
        for i in range(40)
    ]
    found = _run(tmp_path, prefs)
    assert "likelihood_displacement" not in found and "easy_pairs" not in found
    assert found["length_gap"].evidence == {
        "length_chosen": 90.0,
        "length_rejected": 30.0,
        "ratio": 3.0,
    }


def test_diversity_figures():
    got = diversity(["the heart pumps blood", "b c d b c d b c d", "头痛，头痛，头痛，头痛，头痛"])
    # tokens: [heart pumps blood] (article dropped), [b c d]x3, [头 痛]x5
    assert got["repetition"] == pytest.approx((0 + (1 - 3 / 6) + (1 - 2 / 7)) / 3)
    assert got["distinct_1"] == pytest.approx((3 + 3 + 2) / (3 + 9 + 10))
    assert got["distinct_2"] == pytest.approx((2 + 3 + 2) / (2 + 8 + 9))
    assert got["mean_tokens"] == pytest.approx((3 + 9 + 10) / 3)


@pytest.mark.slow  # matplotlib: ~10 s on a loaded machine
def test_report_plots_the_preference_curves(tmp_path):
    from domaintune.report.html import build_report

    prefs = [_pref(i, chosen=-100 - 0.5 * i, rejected=-100 - 2.0 * i, acc=1.0) for i in range(12)]
    (tmp_path / "dpo").mkdir()
    _run(tmp_path / "dpo", prefs)
    html = build_report(tmp_path)
    assert html.count("<img") == 5  # loss, lr, grad norm, log-probs, margin/accuracy/KL
    assert "dpo: log-prob" in html and "dpo: reward margin, accuracy, KL" in html
    assert "likelihood_displacement" in html
