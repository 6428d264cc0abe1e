"""`eval pref`: pair accuracy and margin equal a plain forward pass's log-probs."""

from __future__ import annotations

import pytest
import torch

from domaintune.data.pref import PrefRow, render_pref
from domaintune.eval.pref import pref_accuracy

ROWS = [
    PrefRow("a", [{"role": "user", "content": "the heart"}], "pumps blood .", "veins veins veins"),
    PrefRow("b", [{"role": "user", "content": "doctors"}], "measure blood pressure", "day"),
    PrefRow("c", [{"role": "user", "content": "心脏"}], "把血液泵到全身", "全身全身"),
]


def _hand(model, tok, row) -> tuple[float, int, float, int]:
    r = render_pref(tok, row, template="chatml")
    out = []
    for ids in (r.chosen_ids, r.rejected_ids):
        x = torch.tensor([r.prompt_ids + ids])
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=x).logits[0, :-1].double(), -1)
        tok_logp = logp.gather(-1, x[0, 1:, None]).squeeze(-1)[len(r.prompt_ids) - 1 :]
        out += [float(tok_logp.sum()), len(ids)]
    return tuple(out)


@pytest.mark.parametrize("score", ["sum", "mean"])
def test_accuracy_and_margin_equal_a_plain_forward(tiny_model_dir, score):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    hand = [_hand(model, tok, r) for r in ROWS]
    if score == "sum":
        margins = [c - r for c, _, r, _ in hand]
    else:
        margins = [c / nc - r / nr for c, nc, r, nr in hand]
    got = pref_accuracy(model, tok, ROWS, template="chatml", score=score, batch_size=4)
    assert got["pairs"] == 3 and got["skipped"] == 0
    assert got["accuracy"] == sum(m > 0 for m in margins) / 3
    assert got["margin"] == pytest.approx(sum(margins) / 3, abs=1e-4)
    with pytest.raises(ValueError, match="score reward needs a reference model"):
        pref_accuracy(model, tok, ROWS, template="chatml", score="reward")


def test_dt_eval_pref_is_the_file_verb(tiny_model_dir, tmp_path):
    """`dt.eval.pref(model_dir, pairs)` reads the file and scores as `pref_accuracy` does."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import domaintune as dt
    from domaintune.io import write_jsonl

    rows = [{"prompt": r.prompt[0]["content"], "chosen": r.chosen, "rejected": r.rejected}
            for r in ROWS]  # fmt: skip
    write_jsonl(tmp_path / "pairs.jsonl", rows)
    got = dt.eval.pref(tiny_model_dir, tmp_path / "pairs.jsonl", template="chatml")
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    want = pref_accuracy(model, tok, ROWS, template="chatml", score="sum")
    assert (got["pairs"], got["accuracy"]) == (3, want["accuracy"])
    assert got["margin"] == pytest.approx(want["margin"], abs=1e-5)
    assert dt.eval.pref.pref_accuracy is pref_accuracy  # still the module
