"""`eval mcq --prompt lm-eval` against lm-evaluation-harness 0.4.13's own task configs.

The configs are lm-eval's shipped `ceval-valid_clinical_medicine`, `cmmlu_anatomy` and
`mmlu_anatomy` YAMLs (each merged with the default YAML it includes), changed only to read the
fixture files instead of the Hub: prompts byte for byte, per-item log-likelihoods and accuracies.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.eval import mcq
from domaintune.io import write_jsonl

lm_eval = pytest.importorskip("lm_eval")

FIXTURES = Path(__file__).parent / "fixtures" / "mcq"
TASKS = Path(lm_eval.__file__).parent / "tasks"
# task -> (lm-eval's default YAML, its subject YAML, our test file, our dev folder)
CASES = {
    "ceval-valid_clinical_medicine": (
        TASKS / "ceval" / "_default_ceval_yaml",
        TASKS / "ceval" / "ceval-valid_clinical_medicine.yaml",
        FIXTURES / "ceval" / "val" / "clinical_medicine_val.csv",
        FIXTURES / "ceval" / "dev",
    ),
    "cmmlu_anatomy": (
        TASKS / "cmmlu" / "_default_template_yaml",
        TASKS / "cmmlu" / "cmmlu_anatomy.yaml",
        FIXTURES / "cmmlu" / "test" / "anatomy.csv",
        FIXTURES / "cmmlu" / "dev",
    ),
    "mmlu_anatomy": (
        TASKS / "mmlu" / "default" / "_default_template_yaml",
        TASKS / "mmlu" / "default" / "mmlu_anatomy.yaml",
        FIXTURES / "mmlu" / "test" / "anatomy_test.csv",
        FIXTURES / "mmlu" / "dev",
    ),
}
STYLE = {
    "ceval-valid_clinical_medicine": "lm-eval-ceval",
    "cmmlu_anatomy": "lm-eval-cmmlu",
    "mmlu_anatomy": "lm-eval-mmlu",
}
SHOTS = 2


def _mmlu_json(csv_path: Path, out: Path) -> Path:
    """An MMLU CSV in the Hub's cais/mmlu layout (question, choices, answer index)."""
    with open(csv_path, encoding="utf-8", newline="") as f:
        rows = [
            {"question": r[0], "choices": r[1:5], "answer": "ABCD".index(r[5])}
            for r in csv.reader(f)
        ]
    write_jsonl(out, rows)
    return out


def _task_yaml(task: str, tmp_path: Path) -> None:
    """lm-eval's config for `task`, reading local files: only the data source changes."""
    default, subject, test, dev = CASES[task]
    config = yaml.safe_load(default.read_text(encoding="utf-8"))
    own = yaml.safe_load(subject.read_text(encoding="utf-8"))
    assert own.pop("include") == default.name
    config.update(own)
    split = config.get("test_split") or config["validation_split"]
    dev_file = sorted(dev.iterdir())[0]
    if task.startswith("mmlu"):
        test = _mmlu_json(test, tmp_path / "mmlu_test.jsonl")
        dev_file = _mmlu_json(dev_file, tmp_path / "mmlu_dev.jsonl")
    config.pop("dataset_name")
    config["dataset_path"] = "json" if task.startswith("mmlu") else "csv"
    config["dataset_kwargs"] = {
        "data_files": {split: str(test), config["fewshot_split"]: str(dev_file)},
        "cache_dir": str(tmp_path / "hf_cache"),  # not ~/.cache
    }
    (tmp_path / f"{task}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))


def _ours(tmp_path: Path, model_dir: Path, task: str) -> dict:
    _, _, test, dev = CASES[task]
    out = tmp_path / f"{task}.json"
    args = ["eval", "mcq", "--model", str(model_dir), "--data", str(test), "--dev", str(dev)]
    args += ["--shots", str(SHOTS), "--prompt", "lm-eval", "--scoring", "letter", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_lm_eval_prompts_and_scores_match_its_own_tasks(tmp_path, tiny_model_dir):
    from lm_eval.tasks import TaskManager

    for task in CASES:
        _task_yaml(task, tmp_path)
    result = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={tiny_model_dir},dtype=float32",
        tasks=list(CASES),
        num_fewshot=SHOTS,
        task_manager=TaskManager(include_path=str(tmp_path), include_defaults=False),
        device="cpu",
        batch_size=4,
        log_samples=True,
    )
    checked = []
    for task, (_, _, test, dev) in CASES.items():
        doc = _ours(tmp_path, tiny_model_dir, task)
        questions = mcq.read_questions(test)
        shots = mcq.pick_shots(questions, mcq.read_exam([dev]), SHOTS)
        style = mcq.style_for(mcq.detect_format(test), "lm-eval")
        assert doc["settings"]["prompt"] == style.name == STYLE[task]
        samples = sorted(result["samples"][task], key=lambda s: s["doc_id"])
        assert len(samples) == len(questions) == len(doc["items"]) > 0
        for sample, q, item in zip(samples, questions, doc["items"], strict=True):
            context = style.prompt(q, shots[q.subject])
            assert [a[0] for a in sample["arguments"]] == [context] * 4  # byte for byte
            assert [a[1] for a in sample["arguments"]] == [" A", " B", " C", " D"]
            theirs = [resp[0][0] for resp in sample["resps"]]
            assert list(item["letter_raw_logprobs"].values()) == pytest.approx(theirs, abs=1e-4)
            # Letters are one character: lm-eval's acc_norm (ceval, cmmlu) is its acc.
            assert sample["acc"] == sample.get("acc_norm", sample["acc"])
            assert sample["acc"] == item["correct"]["acc_letter"]
        scores = result["results"][task]
        assert 100 * scores["acc,none"] == pytest.approx(doc["metrics"]["acc_letter"])
        checked.append(task)
    assert checked == list(CASES)
