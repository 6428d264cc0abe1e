"""`domaintune eval mcq`: the JSON it writes, its numbers, its table and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.eval import mcq
from domaintune.models import load_for_eval

FIXTURES = Path(__file__).parent / "fixtures" / "mcq"
runner = CliRunner()


def _run(*args):
    return runner.invoke(app, ["eval", "mcq", *map(str, args)])


def test_ceval_two_shot_writes_the_shared_layout(tmp_path, tiny_model_dir):
    out = tmp_path / "mcq.json"
    ceval = FIXTURES / "ceval"
    result = _run(
        "--model", tiny_model_dir, "--data", ceval / "val", "--shots", 2, "--dev", ceval / "dev",
        "--out", out, "--batch-size", 3,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert list(doc) == [
        "kind", "model", "group", "metrics", "by_set", "by_dimension", "items", "settings",
        "counts",
    ]  # fmt: skip
    assert (doc["kind"], doc["model"], doc["group"]) == ("mcq", str(tiny_model_dir), "domain")
    assert doc["counts"] == {"questions": 4, "subjects": 1, "truncated": 0, "untagged": 4}
    assert doc["settings"]["prompt"] == "ceval" and doc["settings"]["shots"] == 2
    assert doc["by_dimension"] == {}
    # The same numbers as the Python API, and the summaries follow from the items.
    questions = mcq.read_exam([ceval / "val"])
    shots = mcq.pick_shots(questions, mcq.read_exam([ceval / "dev"]), 2)
    model, tok = load_for_eval(tiny_model_dir)
    items = mcq.score(model, tok, questions, style=mcq.STYLES["ceval"], shots=shots)
    assert [i["id"] for i in doc["items"]] == ["0", "1", "2", "3"]
    for got, want in zip(doc["items"], items, strict=True):
        assert got["option_loglikelihoods"] == pytest.approx(want["option_loglikelihoods"])
        assert got["letter_logprobs"] == pytest.approx(want["letter_logprobs"])
        assert got["pred"] == want["pred"]
    for metric in mcq.METRICS:
        right = sum(i["correct"][metric] for i in doc["items"])
        assert doc["metrics"][metric] == pytest.approx(100 * right / 4)
        assert doc["metrics"][f"{metric}_macro"] == pytest.approx(100 * right / 4)  # 1 subject
        assert doc["by_set"]["clinical_medicine"][metric] == pytest.approx(100 * right / 4)
    assert doc["by_set"]["clinical_medicine"]["n"] == 4
    for header in ("subject", "acc_letter", "acc_option_norm", "clinical_medicine", "macro"):
        assert header in result.stdout


def test_jsonl_dimensions_and_subjects(tmp_path, tiny_model_dir):
    out = tmp_path / "mcq.json"
    result = _run(
        "--model", tiny_model_dir, "--data", FIXTURES / "mixed.jsonl", "--prompt", "mmlu",
        "--group", "general", "--scoring", "letter", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["group"] == "general"
    assert {k: v["n"] for k, v in doc["by_set"].items()} == {"mixed": 3, "arithmetic": 1}
    assert {k: v["n"] for k, v in doc["by_dimension"].items()} == {"knowledge": 2, "reasoning": 1}
    assert doc["counts"]["untagged"] == 1
    assert set(doc["metrics"]) == {"acc_letter", "acc_letter_macro"}
    flags = {i["id"]: i["correct"]["acc_letter"] for i in doc["items"]}
    mixed = 100 * (flags["q1"] + flags["mixed-3"] + flags["4"]) / 3
    assert doc["by_set"]["mixed"]["acc_letter"] == pytest.approx(mixed)
    assert doc["metrics"]["acc_letter"] == pytest.approx(100 * sum(flags.values()) / 4)
    assert doc["metrics"]["acc_letter_macro"] == pytest.approx((mixed + 100 * flags["q2"]) / 2)
    knowledge = 100 * (flags["q1"] + flags["4"]) / 2
    assert doc["by_dimension"]["knowledge"]["acc_letter"] == pytest.approx(knowledge)
    assert [len(i["letter_logprobs"]) for i in doc["items"]] == [2, 5, 10, 3]


def test_bad_rows_and_options(tmp_path, tiny_model_dir):
    bad = tmp_path / "law_val.csv"
    bad.write_text("id,question,A,B,C,D,answer\n0,q,a,b,c,d,A\n1,q,a,b,c,d,F\n", encoding="utf-8")
    result = _run("--model", tiny_model_dir, "--data", bad)
    assert result.exit_code == 1
    assert result.stderr.startswith(f'error: {bad}:row 2: field "answer" is "F" but the choices')
    result = _run("--model", tiny_model_dir, "--data", tmp_path / "nope.csv")
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path / 'nope.csv'}: no such file; check the path\n"
    result = _run("--model", tiny_model_dir, "--data", bad, "--shots", 2)
    assert result.exit_code == 2
    assert "--shots K and --dev PATH go together" in result.stderr
    result = _run("--model", tiny_model_dir, "--data", bad, "--format", "csv")
    assert result.exit_code == 2
    assert "--format 'csv': choose one of ceval, cmmlu, mmlu, jsonl" in result.stderr
    ceval, cmmlu = FIXTURES / "ceval" / "val", FIXTURES / "cmmlu" / "test"
    result = _run("--model", tiny_model_dir, "--data", ceval, "--data", cmmlu)
    assert result.exit_code == 1
    assert "several formats (ceval, cmmlu)" in result.stderr
    dev = FIXTURES / "ceval" / "dev"
    result = _run("--model", tiny_model_dir, "--data", ceval, "--shots", 4, "--dev", dev)
    assert result.exit_code == 1
    assert "--shots 4 but subject 'clinical_medicine' has 3 dev questions" in result.stderr
