"""diagnose on real tiny training runs, and on hand-written metrics for the rarer failures."""

from __future__ import annotations

import json
import math
import random

import pytest
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.diagnose import diagnose_run
from domaintune.models import build_tiny_model, load_for_eval
from domaintune.records import Document
from domaintune.train.data import build_pt_dataset
from domaintune.train.trainer import run_training
from helpers import WORDS, make_texts, train_settings

ENGLISH = [w for w in WORDS if w.isascii() and w.isalpha()]
CHINESE = [w for w in WORDS if not w.isascii()]


@pytest.fixture(scope="module")
def model_256(tmp_path_factory):
    """Big enough (5M parameters) to memorise 16 short documents in a few epochs."""
    out = tmp_path_factory.mktemp("m256") / "model"
    return build_tiny_model(
        out, texts=make_texts(400), vocab_size=512, hidden_size=256, num_layers=4
    )


def _docs(texts):
    return [Document(id=str(i), text=t) for i, t in enumerate(texts)]


def _train(model_dir, out, docs, evals, **kw):
    model, tok = load_for_eval(model_dir)
    train, _ = build_pt_dataset(docs, tok, max_len=64)
    eval_sets = {name: build_pt_dataset(d, tok, max_len=64)[0] for name, d in evals.items()}
    base = dict(
        num_epochs=6, max_steps=-1, batch_size=1, eval_steps=4, save_steps=20, save_total_limit=None
    )
    settings = train_settings(**{**base, **kw})
    run_training(model, tok, train, eval_sets, out, settings, packed=True)
    return diagnose_run(out)[out.name]


def _names(findings):
    return [f.name for f in findings]


@pytest.mark.slow  # a whole training run (two processes / three epochs): make test-slow
def test_memorisation_run_shows_epoch_drops_and_overfitting(model_256, tmp_path):
    docs = _docs(make_texts(16, seed=31, lo=20, hi=50))
    held = _docs(make_texts(16, seed=32, lo=20, hi=50))
    found = _train(model_256, tmp_path / "mem", docs, {"domain": held})
    drops = [f for f in found if f.name == "epoch_boundary_drop"]
    assert drops and all(f.cause.startswith("memorisation") for f in drops)
    for f in drops:
        assert f.evidence["drop"] > 3 * f.evidence["noise"]
        assert f.evidence["boundary_step"] % 10 == 1  # 10 steps per epoch: first step of one
    [over] = [f for f in found if f.name == "overfitting"]
    assert over.evidence["eval_set"] == "domain"
    assert over.evidence["last_eval_loss"] > over.evidence["best_eval_loss"]
    assert over.evidence["best_checkpoint"] == f"checkpoint-{over.evidence['best_step']}"


def test_far_too_high_learning_rate_is_reported(tmp_path, tiny_model_dir):
    docs = _docs(make_texts(32, seed=3, lo=20, hi=50))
    found = _train(
        tiny_model_dir, tmp_path / "hot", docs, {}, learning_rate=1.0, num_epochs=2, batch_size=2
    )
    assert {"divergence", "learning_rate"} & set(_names(found))
    lr = [f for f in found if f.name == "learning_rate"]
    assert all(f.evidence["verdict"] == "too_high" for f in lr)


def test_forgetting_general_while_learning_domain(tmp_path, tiny_model_dir):
    rng = random.Random(0)
    general = [" ".join(rng.choice(ENGLISH) for _ in range(30)) for _ in range(48)]
    domain = ["".join(rng.choice(CHINESE) for _ in range(30)) for _ in range(48)]
    first = tmp_path / "general"
    _train(tiny_model_dir, first, _docs(general[:40]), {}, num_epochs=3, batch_size=4)
    found = _train(
        first / "final",
        tmp_path / "domain",
        _docs(domain[:40]),
        {"domain": _docs(domain[40:]), "general": _docs(general[40:])},
        num_epochs=3,
        batch_size=4,
    )
    [forget] = [f for f in found if f.name == "forgetting"]
    assert forget.evidence["general"]["change"] > 0 > forget.evidence["domain"]["change"]


# --------------------------------------------------------------------- hand-written metrics


def _write(path, rows):
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "metrics.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return path


def _curve(n=60, per_epoch=20, drop_at=None, drop=0.0, warmup=0, evals=None, noise=0.01):
    """Slowly falling loss with noise; an optional step down at an epoch boundary."""
    rng = random.Random(1)
    rows = []
    for step in range(1, n + 1):
        loss = (
            3.0
            - 0.002 * step
            + rng.gauss(0, noise)
            - (drop if drop_at and step >= drop_at else 0.0)
        )
        lr = 1e-3 * min(1.0, step / warmup) if warmup else 1e-3
        rows.append(
            {"step": step, "epoch": step / per_epoch, "lr": lr, "loss": loss, "grad_norm": 1.0}
        )
    for step, value in (evals or {}).items():
        rows[step - 1]["eval_loss"] = {"domain": value}
    return rows


@pytest.mark.parametrize(
    "warmup,evals,cause",
    [
        (0, {18: 2.9, 24: 2.92}, "memorisation"),  # eval flat/rising across the boundary
        (0, {18: 2.9, 24: 2.6}, "learning"),  # eval reaches a new best
        (21, {18: 2.9, 24: 2.92}, "warm-up ended at step 21"),
        (0, None, "reshuffled order or memorisation"),
    ],
)
def test_epoch_drop_causes(tmp_path, warmup, evals, cause):
    rows = _curve(drop_at=21, drop=0.3, warmup=warmup, evals=evals)
    [f] = [
        f
        for f in diagnose_run(_write(tmp_path, rows))[tmp_path.name]
        if f.name == "epoch_boundary_drop"
    ]
    assert f.steps == [21] and cause in f.cause
    assert f.evidence["drop"] == pytest.approx(0.3, abs=0.05)


def test_no_drop_reported_on_a_smooth_curve(tmp_path):
    found = diagnose_run(_write(tmp_path, _curve()))[tmp_path.name]
    assert "epoch_boundary_drop" not in _names(found)


def test_nan_divergence_and_all_masked_batches(tmp_path):
    rows = _curve(n=30)
    for r in rows[20:]:
        r["loss"], r["grad_norm"] = "nan", "nan"
    [f] = [f for f in diagnose_run(_write(tmp_path / "a", rows))["a"] if f.name == "divergence"]
    assert f.evidence == {"kind": "nan_loss", "first_nan_step": 21}
    rows = _curve(n=30)
    rows[10]["loss"], rows[10]["grad_norm"] = "nan", 0.0  # one batch, every label masked
    [f] = [f for f in diagnose_run(_write(tmp_path / "b", rows))["b"] if f.name == "divergence"]
    assert f.evidence["kind"] == "no_trained_tokens" and f.steps == [11]
    assert "data validate" in f.advice


def test_fp16_overflow_names_bf16(tmp_path):
    rows = _curve(n=30)
    for r in rows[5:8]:
        r["grad_norm"] = "inf"
    run = _write(tmp_path / "run" / "sft", rows)
    (run.parent / "recipe.yaml").write_text("model: {path: m, dtype: float16}\nstages: []\n")
    [f] = [f for f in diagnose_run(run.parent)["sft"] if f.name == "divergence"]
    assert f.evidence["kind"] == "fp16_overflow" and f.steps == [6, 7, 8]
    assert "bf16" in f.advice


def test_loss_stuck_at_zero(tmp_path):
    rows = _curve(n=30)
    for r in rows[10:]:
        r["loss"] = 0.0
    found = diagnose_run(_write(tmp_path, rows))[tmp_path.name]
    assert any(f.evidence.get("kind") == "zero_loss" for f in found)


def test_cli_json_on_a_folder_with_only_metrics(tmp_path):
    rows = _curve(drop_at=21, drop=0.3, evals={18: 2.9, 24: 2.92})
    result = CliRunner().invoke(app, ["diagnose", str(_write(tmp_path, rows)), "--json"])
    assert result.exit_code == 0, result.output
    findings = json.loads(result.stdout)
    assert isinstance(findings, list) and findings
    assert set(findings[0]) >= {"name", "steps", "evidence", "cause", "advice"}
    assert not any(
        isinstance(v, float) and math.isnan(v) for f in findings for v in f["evidence"].values()
    )


def test_cli_names_a_bad_metrics_line(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "loss": 2.0}\n{"loss": 1}\n')
    result = CliRunner().invoke(app, ["diagnose", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'metrics.jsonl'}:2: not a metrics row" in " ".join(result.output.split())
