"""Preference rows: every accepted form, every seeded defect rejected with file:line and reason,
and pairs rendered byte-equal to the SFT stage's rendering for every registered template."""

from __future__ import annotations

import json

import pytest

from domaintune.data.pref import render_pref
from domaintune.data.pref_io import convert_pref, read_pref, validate_pref
from domaintune.templates import IGNORE_INDEX, encode_conversation, get_template, list_templates
from template_helpers import family_tokenizer

GOOD = {"prompt": "What lowers blood pressure?", "chosen": "Less salt.", "rejected": "Nothing."}

# (row, expected reason, text in the message) - each a defect users hit
DEFECTS = [
    ({**GOOD, "rejected": "Less salt."}, "identical", "chosen and rejected are identical"),
    ({**GOOD, "chosen": "  "}, "empty side", "chosen is empty"),
    ({**GOOD, "rejected": ""}, "empty side", "rejected is empty"),
    (
        {
            "chosen": [
                {"role": "user", "content": "q1"},
                {"role": "assistant", "content": "good"},
            ],
            "rejected": [
                {"role": "user", "content": "q2"},
                {"role": "assistant", "content": "bad"},
            ],
        },
        "prompt mismatch",
        "differ before the last assistant reply (turn 1)",
    ),
    ({**GOOD, "chosen": "Less salt.<|im_end|>"}, "control token", "ends with the control token"),
    ({**GOOD, "rejected": "<s>Nothing.</s>"}, "control token", "rejected ends with the control"),
    ({**GOOD, "chosen": "a <|eot_id|> b"}, "control token", "contains the control token"),
    (
        {"messages": [{"role": "assistant", "content": "hi"}], "chosen": "a", "rejected": "b"},
        "role order",
        "turn 1 is assistant, expected user",
    ),
    (
        {
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
            "chosen": "a",
            "rejected": "b",
        },
        "role order",
        "the prompt must end with a user turn",
    ),
    ({"prompt": "q", "chosen": "a"}, "missing field", 'missing required field "rejected"'),
    ({"prompt": "q", "completion": "a", "label": "yes"}, "wrong type", '"label" must be true'),
    ({"prompt": "q", "chosen": 3, "rejected": "b"}, "wrong type", '"chosen" must be a string'),
]


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def test_every_seeded_defect_is_rejected_with_line_and_reason(tmp_path):
    rows = [GOOD, *[d[0] for d in DEFECTS], GOOD]
    path = tmp_path / "pairs.jsonl"
    _write(path, rows)
    report = validate_pref(path, drop_invalid=tmp_path / "kept.jsonl")
    assert (report.rows, report.valid, report.invalid) == (len(rows), 2, len(DEFECTS))
    for problem, (_, reason, text) in zip(report.problems, DEFECTS, strict=True):
        assert problem.reason == reason, problem.message
        assert text in problem.message, problem.message
        assert problem.message.startswith(f"{path}:{problem.line}: ")
    assert [p.line for p in report.problems] == list(range(2, 2 + len(DEFECTS)))
    assert len((tmp_path / "kept.jsonl").read_text().splitlines()) == 2
    rejected = (tmp_path / "kept.jsonl.rejected.jsonl").read_text().splitlines()
    assert [json.loads(x)["line"] for x in rejected] == list(range(2, 2 + len(DEFECTS)))


def test_empty_after_truncation_needs_the_tokenizer(tmp_path):
    tok = family_tokenizer({"eos_token": "<|im_end|>", "special_tokens": ["<|im_start|>"]})
    path = tmp_path / "p.jsonl"
    _write(path, [GOOD, {**GOOD, "prompt": "The heart pumps blood. " * 20}])
    report = validate_pref(path, tokenizer=tok, template="chatml", max_len=40)
    assert report.valid == 1 and [p.reason for p in report.problems] == ["empty side"]
    assert "empty after truncation" in report.problems[0].message
    assert "at or over max_len 40" in report.problems[0].message


FORMS = {
    "explicit": {"system": "S", **GOOD},
    "trl-conversational": {
        "prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": GOOD["prompt"]}],
        "chosen": [{"role": "assistant", "content": "Less salt."}],
        "rejected": [{"role": "assistant", "content": "Nothing."}],
    },
    "trl-implicit": {
        "chosen": [
            {"role": "system", "content": "S"},
            {"role": "user", "content": GOOD["prompt"]},
            {"role": "assistant", "content": "Less salt."},
        ],
        "rejected": [
            {"role": "system", "content": "S"},
            {"role": "user", "content": GOOD["prompt"]},
            {"role": "assistant", "content": "Nothing."},
        ],
    },
    "llamafactory-sharegpt": {
        "system": "S",
        "conversations": [{"from": "human", "value": GOOD["prompt"]}],
        "chosen": {"from": "gpt", "value": "Less salt."},
        "rejected": {"from": "gpt", "value": "Nothing."},
    },
    "openai": {
        "messages": [
            {"role": "system", "content": "S"},
            {"role": "user", "content": GOOD["prompt"]},
        ],
        "chosen": "Less salt.",
        "rejected": "Nothing.",
    },
}


def test_every_pair_form_reads_as_the_same_example(tmp_path):
    path = tmp_path / "forms.jsonl"
    _write(path, list(FORMS.values()))
    rows = read_pref(path)
    expected = [{"role": "system", "content": "S"}, {"role": "user", "content": GOOD["prompt"]}]
    assert [(r.prompt, r.chosen, r.rejected) for r in rows] == [
        (expected, "Less salt.", "Nothing.")
    ] * len(FORMS)


@pytest.mark.parametrize("to", ["openai", "trl", "sharegpt"])
def test_convert_round_trips_pairs_and_kto(tmp_path, to):
    src = tmp_path / "src.jsonl"
    kto = {"prompt": "q", "completion": "a", "label": False}
    _write(src, [*FORMS.values(), kto])
    assert convert_pref(src, tmp_path / "out.jsonl", to=to) == len(FORMS) + 1
    before = [(r.prompt, r.chosen, r.rejected, r.label) for r in read_pref(src)]
    after = [(r.prompt, r.chosen, r.rejected, r.label) for r in read_pref(tmp_path / "out.jsonl")]
    assert after == before


def _registry_tokenizer(t):
    specials = [s for s in t.special_tokens if not s.startswith("{")]
    fx = {"bos_token": "<s>", "eos_token": "</s>", "special_tokens": specials}
    return family_tokenizer(fx, with_template=False)


PROMPT = [
    {"role": "user", "content": "What is hypertension?"},
    {"role": "assistant", "content": "High blood pressure."},
    {"role": "user", "content": "怎么治疗？"},
]


@pytest.mark.parametrize("name", [n for n in list_templates() if n != "hf"])
def test_rendered_pairs_equal_the_sft_rendering(name, tmp_path):
    """prompt + chosen is byte-equal to the SFT encoding; one end-of-turn token per completion."""
    t = get_template(name)
    tok = _registry_tokenizer(t)
    path = tmp_path / "p.jsonl"
    chosen, rejected = "改变生活方式，必要时服药。", "Nothing to do."
    _write(path, [{"messages": PROMPT, "chosen": chosen, "rejected": rejected}])
    (row,) = read_pref(path)
    r = render_pref(tok, row, template=name)
    for completion, ids in ((chosen, r.chosen_ids), (rejected, r.rejected_ids)):
        msgs = [*PROMPT, {"role": "assistant", "content": completion}]
        sft = encode_conversation(tok, msgs, template=name, mask_history=True)
        trained = [i for i, x in enumerate(sft["labels"]) if x != IGNORE_INDEX]
        end = trained[-1] + 1
        assert r.prompt_ids + ids == sft["input_ids"][:end]
        assert tok.decode(r.prompt_ids + ids) == tok.decode(sft["input_ids"][:end])
        # the trained span of the SFT rendering is exactly the completion's tail
        assert ids[len(ids) - len(trained) :] == sft["input_ids"][trained[0] : end]
        # exactly one end-of-turn token, at the end
        eot = t.resolve(t.assistant_suffix, "<s>", "</s>").strip() or "</s>"
        eot_id = tok.convert_tokens_to_ids(eot) if eot in tok.get_vocab() else None
        if eot_id is not None:
            assert ids[-1] == eot_id and ids.count(eot_id) == 1, tok.decode(ids)
        else:  # a text suffix (alpaca-style templates end on EOS through {eos})
            assert tok.decode(ids).endswith(eot)


def test_cli_validate_and_convert_pref(tmp_path):
    from typer.testing import CliRunner

    from domaintune.cli import app

    runner = CliRunner()
    path = tmp_path / "pairs.jsonl"
    _write(path, [GOOD, {**GOOD, "rejected": "Less salt."}, FORMS["llamafactory-sharegpt"]])
    res = runner.invoke(app, ["data", "validate", "--pref", str(path)])
    assert res.exit_code == 1
    assert res.output.splitlines() == [
        f"{path}:2: chosen and rejected are identical: the pair teaches nothing; drop it or fix "
        "the rejected answer",
        f"{path}: 3 rows read, 2 valid, 1 invalid (identical: 1)",
    ]
    out = tmp_path / "trl.jsonl"
    res = runner.invoke(
        app, ["data", "convert", "--pref", str(tmp_path / "forms.jsonl"), str(out), "--to", "trl"]
    )
    assert res.exit_code == 1  # no such file: a clear error, nothing written
    assert not out.exists()
    _write(tmp_path / "ok.jsonl", [GOOD, FORMS["llamafactory-sharegpt"]])
    res = runner.invoke(
        app, ["data", "convert", "--pref", str(tmp_path / "ok.jsonl"), str(out), "--to", "trl"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text().splitlines()[1])["chosen"] == [
        {"role": "assistant", "content": "Less salt."}
    ]
