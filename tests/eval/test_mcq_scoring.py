"""The packed one-pass scoring equals scoring each continuation on its own, as lm-eval does."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from domaintune.eval import mcq
from domaintune.models import load_for_eval

FIXTURES = Path(__file__).parent / "fixtures" / "mcq"


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_for_eval(tiny_model_dir)


@pytest.fixture(scope="module")
def questions():
    # Chinese options (many byte tokens in the 512-token vocabulary) and 2 to 10 options.
    return mcq.read_questions(FIXTURES / "ceval" / "val" / "clinical_medicine_val.csv")[:2] + (
        mcq.read_questions(FIXTURES / "mixed.jsonl")
    )


@torch.no_grad()
def _reference(model, tok, prompt: str, text: str, max_len: int = 10**6) -> float:
    """lm-eval's loglikelihood of one (context, continuation), one sequence at a time."""
    ctx = tok(prompt)["input_ids"]
    cont = tok(prompt + text)["input_ids"][len(ctx) :]
    inp = (ctx + cont)[-(max_len + 1) :][:-1]
    logprobs = model(torch.tensor([inp])).logits[0].log_softmax(-1)  # [seq, vocab]
    first = len(inp) - len(cont)
    return sum(float(logprobs[first + i, t]) for i, t in enumerate(cont))


def _check_against_reference(model, tok, questions, items, style, max_len=10**6):
    for q, item in zip(questions, items, strict=True):
        prompt = style.prompt(q)
        for k, text in q.choices.items():
            letter = _reference(model, tok, prompt, style.letter_delimiter + k, max_len)
            option = _reference(model, tok, prompt, " " + text, max_len)
            assert item["letter_raw_logprobs"][k] == pytest.approx(letter, abs=1e-4)
            assert item["option_loglikelihoods"][k] == pytest.approx(option, abs=1e-4)


@pytest.mark.parametrize("style", ["ceval", "mmlu"])  # mmlu: " A" is two tokens here
def test_packed_scores_equal_separate_sequences(tiny, questions, style, monkeypatch):
    model, tok = tiny
    items = mcq.score(model, tok, questions, style=mcq.STYLES[style], batch_size=3)
    _check_against_reference(model, tok, questions, items, mcq.STYLES[style])
    monkeypatch.setattr(mcq, "_can_pack", lambda model: False)  # e.g. flash attention
    flat = mcq.score(model, tok, questions, style=mcq.STYLES[style], batch_size=1)
    for a, b in zip(items, flat, strict=True):
        assert a["option_loglikelihoods"] == pytest.approx(b["option_loglikelihoods"], abs=1e-4)
        assert a["letter_raw_logprobs"] == pytest.approx(b["letter_raw_logprobs"], abs=1e-4)


def test_one_forward_pass_per_question(tiny, questions):
    model, tok = tiny
    calls: list[int] = []
    hook = model.register_forward_hook(
        lambda m, args, kwargs, out: calls.append(1), with_kwargs=True
    )
    try:
        rows: list[int] = []
        mcq.score(
            model,
            tok,
            questions,
            style=mcq.STYLES["ceval"],
            batch_size=2,
            progress=lambda done, total: rows.append(total),
        )
    finally:
        hook.remove()
    assert len(calls) == math.ceil(len(questions) / 2)  # letters and options, one pass
    assert set(rows) == {len(questions)}


def test_truncation_keeps_the_end_as_lm_eval(tiny, questions):
    model, tok = tiny
    style = mcq.STYLES["mmlu"]
    # Prompts of 165, 165, 109 and 104 tokens: the third fits with its letters only.
    items = mcq.score(model, tok, questions[:4], style=style, max_len=112)
    assert [i["truncated"] for i in items] == [True, True, True, False]
    _check_against_reference(model, tok, questions[:4], items, style, max_len=112)


def test_letter_logprobs_are_normalised_over_the_letters(tiny, questions):
    model, tok = tiny
    items = mcq.score(model, tok, questions, style=mcq.STYLES["ceval"], scoring="letter")
    for item in items:
        assert "option_loglikelihoods" not in item
        assert sum(math.exp(v) for v in item["letter_logprobs"].values()) == pytest.approx(1.0)
        shift = {item["letter_raw_logprobs"][k] - v for k, v in item["letter_logprobs"].items()}
        assert max(shift) - min(shift) == pytest.approx(0.0, abs=1e-9)
        best = max(item["letter_raw_logprobs"], key=item["letter_raw_logprobs"].get)
        assert item["pred"] == {"acc_letter": best}
        assert item["correct"] == {"acc_letter": best == item["answer"]}


def test_option_predictions_follow_lm_eval_normalisations(tiny, questions):
    model, tok = tiny
    items = mcq.score(model, tok, questions, style=mcq.STYLES["mmlu"], scoring="option")
    q = questions[5]  # options "37.0 °C", "39.4 °C", "36.5 °C": 7 characters, 8 bytes
    assert items[5]["option_chars"] == {"A": 7, "B": 7, "C": 7}
    assert items[5]["option_bytes"] == {"A": 8, "B": 8, "C": 8}
    for q, item in zip(questions, items, strict=True):
        lls = item["option_loglikelihoods"]
        letters = list(q.choices)
        by_chars = [lls[k] / len(q.choices[k]) for k in letters]
        by_bytes = [lls[k] / len(q.choices[k].encode()) for k in letters]
        assert (
            item["pred"]["acc_option"]
            == letters[max(range(len(letters)), key=[lls[k] for k in letters].__getitem__)]
        )
        assert item["pred"]["acc_option_norm"] == letters[by_chars.index(max(by_chars))]
        assert item["pred"]["acc_option_bytes"] == letters[by_bytes.index(max(by_bytes))]


def test_summarize_micro_and_macro():
    def item(subject, dimension, letter, acc):
        return {
            "subject": subject,
            "dimension": dimension,
            "correct": {
                "acc_letter": letter,
                "acc_option": acc,
                "acc_option_norm": acc,
                "acc_option_bytes": acc,
            },
        }

    items = [
        item("law", "knowledge", True, True),
        item("law", None, True, False),
        item("law", "reasoning", False, False),
        item("art", "knowledge", False, True),
    ]
    metrics, by_set, by_dimension = mcq.summarize(items)
    assert metrics["acc_letter"] == 50.0  # 2 of 4 questions
    assert metrics["acc_letter_macro"] == pytest.approx((200 / 3 + 0) / 2)  # law 66.7, art 0
    assert metrics["acc_option"] == 50.0
    assert metrics["acc_option_macro"] == pytest.approx((100 / 3 + 100) / 2)
    assert by_set["law"] == pytest.approx(
        {
            "acc_letter": 200 / 3,
            "acc_option": 100 / 3,
            "acc_option_norm": 100 / 3,
            "acc_option_bytes": 100 / 3,
            "n": 3,
        }
    )
    assert by_dimension == {
        "knowledge": {
            "acc_letter": 50.0,
            "acc_option": 100.0,
            "acc_option_norm": 100.0,
            "acc_option_bytes": 100.0,
            "n": 2,
        },
        "reasoning": {
            "acc_letter": 0.0,
            "acc_option": 0.0,
            "acc_option_norm": 0.0,
            "acc_option_bytes": 0.0,
            "n": 1,
        },
    }
