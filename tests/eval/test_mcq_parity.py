"""Ours vs lm-evaluation-harness 0.4.13 on the tiny model: prompts, log-likelihoods, accuracies.

lm-eval runs the tasks `mcq.lm_eval_task` describes (a local json data set, prompts written as
its jinja templates) through `simple_evaluate`, as a user would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from domaintune.eval import mcq
from domaintune.io import write_jsonl
from domaintune.models import load_for_eval

lm_eval = pytest.importorskip("lm_eval")

FIXTURES = Path(__file__).parent / "fixtures" / "mcq"
CEVAL = (FIXTURES / "ceval" / "val" / "clinical_medicine_val.csv", FIXTURES / "ceval" / "dev")
CMMLU = (FIXTURES / "cmmlu" / "test" / "anatomy.csv", FIXTURES / "cmmlu" / "dev")
MMLU = (FIXTURES / "mmlu" / "test" / "anatomy_test.csv", FIXTURES / "mmlu" / "dev")
# lm-eval's metric names on a task whose choices are the option texts -> ours.
LM_EVAL_NAMES = {
    "acc": "acc_option",
    "acc_norm": "acc_option_norm",
    "acc_bytes": "acc_option_bytes",
}


def _exam(files: tuple[Path, Path], shots: int):
    questions = mcq.read_questions(files[0])
    return questions, mcq.pick_shots(questions, mcq.read_exam([files[1]]), shots)


def _run_lm_eval(tmp_path: Path, model_args: str, cases: dict) -> dict:
    """cases: task name -> (style, questions, shots, choices). Returns lm-eval's results."""
    for name, (style, questions, shots, choices) in cases.items():
        subject = questions[0].subject
        write_jsonl(tmp_path / f"{name}.jsonl", [mcq.lm_eval_doc(q) for q in questions])
        dev = [mcq.lm_eval_doc(q) for q in shots.get(subject, [])]
        write_jsonl(tmp_path / f"{name}_dev.jsonl", dev or [mcq.lm_eval_doc(questions[0])])
        config = mcq.lm_eval_task(
            mcq.STYLES[style],
            name,
            subject,
            tmp_path / f"{name}.jsonl",
            choices=choices,
            dev_file=tmp_path / f"{name}_dev.jsonl",
            shots=len(dev),
        )
        config["dataset_kwargs"]["cache_dir"] = str(tmp_path / "hf_cache")  # not ~/.cache
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    from lm_eval.tasks import TaskManager

    return lm_eval.simple_evaluate(
        model="hf",
        model_args=model_args,
        tasks=list(cases),
        task_manager=TaskManager(include_path=str(tmp_path), include_defaults=False),
        device="cpu",
        batch_size=4,
        log_samples=True,
    )


def _assert_parity(result: dict, name: str, case: tuple, items: list[dict]) -> None:
    style, questions, shots, choices = case
    samples = sorted(result["samples"][name], key=lambda s: s["doc_id"])
    assert len(samples) == len(questions) == len(items)
    key = "letter_raw_logprobs" if choices == "letter" else "option_loglikelihoods"
    for sample, q, item in zip(samples, questions, items, strict=True):
        assert sample["arguments"][0][0] == mcq.STYLES[style].prompt(q, shots.get(q.subject, []))
        theirs = [resp[0][0] for resp in sample["resps"]]
        assert list(item[key].values()) == pytest.approx(theirs, abs=1e-4)
        if choices == "letter":
            assert sample["acc"] == item["correct"]["acc_letter"]
        else:
            for metric, ours in LM_EVAL_NAMES.items():
                assert sample[metric] == item["correct"][ours], (name, q.id, metric)
    metrics, _, _ = mcq.summarize(items)
    scores = result["results"][name]
    if choices == "letter":
        assert 100 * scores["acc,none"] == pytest.approx(metrics["acc_letter"])
    else:
        for metric, ours in LM_EVAL_NAMES.items():
            assert 100 * scores[f"{metric},none"] == pytest.approx(metrics[ours])


def _check(tmp_path: Path, model_dir: Path, model_args: str, exams: dict, max_len=None) -> dict:
    """exams: style -> (questions, shots); both scorings of each against lm-eval; our items."""
    cases = {
        f"dt_{style}_{choices}": (style, questions, shots, choices)
        for style, (questions, shots) in exams.items()
        for choices in ("letter", "option")
    }
    result = _run_lm_eval(tmp_path, model_args, cases)
    model, tok = load_for_eval(model_dir)
    scored = {}
    for style, (questions, shots) in exams.items():
        items = mcq.score(
            model, tok, questions, style=mcq.STYLES[style], shots=shots, max_len=max_len
        )
        for choices in ("letter", "option"):
            name = f"dt_{style}_{choices}"
            _assert_parity(result, name, cases[name], items)
        scored[style] = items
    return scored


def test_ceval_and_mmlu_two_shot_match_lm_eval(tmp_path, tiny_model_dir):
    # In this vocabulary " A" is two tokens: the MMLU letters check multi-token letters.
    exams = {"ceval": _exam(CEVAL, 2), "mmlu": _exam(MMLU, 2)}
    _check(tmp_path, tiny_model_dir, f"pretrained={tiny_model_dir},dtype=float32", exams)


@pytest.mark.slow
def test_cmmlu_and_two_to_ten_options_match_lm_eval(tmp_path, tiny_model_dir):
    mixed = [q for q in mcq.read_questions(FIXTURES / "mixed.jsonl") if q.subject == "mixed"]
    exams = {"cmmlu": _exam(CMMLU, 2), "ceval": _exam(CEVAL, 0), "mmlu": (mixed, {})}
    _check(tmp_path, tiny_model_dir, f"pretrained={tiny_model_dir},dtype=float32", exams)


@pytest.mark.slow
def test_truncated_prompts_match_lm_eval(tmp_path, tiny_model_dir):
    exams = {"ceval": _exam(CEVAL, 2), "mmlu": _exam(MMLU, 0)}
    args = f"pretrained={tiny_model_dir},dtype=float32,max_length=120"
    items = _check(tmp_path, tiny_model_dir, args, exams, max_len=120)
    assert [i["truncated"] for i in items["ceval"]] == [True] * 4  # 2-shot prompts: ~400 tokens
    assert [i["truncated"] for i in items["mmlu"]] == [False, True, True]  # 112, 139, 130


def test_peft_adapter_matches_lm_eval(tmp_path, tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    # init_lora_weights=False: B is random, not zero, so the adapter changes the scores.
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    adapter = tmp_path / "adapter"
    get_peft_model(base, config).save_pretrained(adapter)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(adapter)
    exams = {"ceval": _exam(CEVAL, 2), "mmlu": _exam(MMLU, 0)}
    args = f"pretrained={tiny_model_dir},peft={adapter},dtype=float32"
    _check(tmp_path / "lm_eval", adapter, args, exams)
    # The adapter really changes the scores (else this would only test the base model).
    model, tok = load_for_eval(tiny_model_dir)
    questions, shots = exams["ceval"]
    plain = mcq.score(model, tok, questions, style=mcq.STYLES["ceval"], shots=shots)
    tuned_model, _ = load_for_eval(adapter)
    tuned = mcq.score(tuned_model, tok, questions, style=mcq.STYLES["ceval"], shots=shots)
    changes = [
        abs(a["option_loglikelihoods"][k] - b["option_loglikelihoods"][k])
        for a, b in zip(plain, tuned, strict=True)
        for k in a["option_loglikelihoods"]
    ]
    assert min(changes) > 1e-3
