"""Batched, left-padded greedy generation equals one-by-one generation and a plain argmax loop."""

from __future__ import annotations

import json

import pytest
import torch

from domaintune.eval.generate import (
    generate_answers,
    generate_ids,
    pad_token_id,
    read_gen_items,
    read_predictions,
    render_prompts,
    stop_token_ids,
)
from domaintune.models import load_for_eval
from domaintune.records import DataError, EvalItem
from helpers import make_texts


def noisy_model_dir(tiny_model_dir, out):
    """The tiny model with large random weights, so greedy answers differ from prompt to prompt
    (the untrained model repeats one token whatever the prompt)."""
    model, tok = load_for_eval(tiny_model_dir)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def noisy(tiny_model_dir, tmp_path_factory):
    path = noisy_model_dir(tiny_model_dir, tmp_path_factory.mktemp("noisy") / "model")
    return load_for_eval(path)


def _items(n, seed=3):
    texts = make_texts(n, seed=seed, lo=2, hi=30)
    return [EvalItem(str(i), t, "", subject="s") for i, t in enumerate(texts)]


def _greedy_loop(model, prompt, stop_ids, steps):
    """Reference: argmax of a full forward pass per step (no cache, no padding, no generate)."""
    ids = list(prompt)
    out = []
    with torch.no_grad():
        for _ in range(steps):
            logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits  # [1, seq, vocab]
            nxt = int(logits[0, -1].argmax())
            if nxt in stop_ids:
                break
            out.append(nxt)
            ids.append(nxt)
    return out


def test_batched_generation_equals_one_by_one(noisy):
    model, tok = noisy
    prompts = render_prompts(tok, _items(6))
    assert len({len(p) for p in prompts}) > 3  # different lengths: real left padding
    stops = stop_token_ids(model, tok)
    kwargs = dict(stop_ids=stops, pad_id=pad_token_id(tok, stops), max_new_tokens=12)
    one = generate_ids(model, prompts, batch_size=1, show_progress=False, **kwargs)
    assert len({tuple(x) for x in one}) == len(one)  # answers depend on the prompt
    assert any(len(x) < 12 for x in one)  # at least one answer ended on a stop token
    for batch_size in (3, 8):
        assert generate_ids(model, prompts, batch_size=batch_size, **kwargs) == one
    for prompt, got in zip(prompts[:2], one, strict=False):
        assert got == _greedy_loop(model, prompt, stops, 12)


def test_generation_stops_at_any_stop_token(noisy):
    model, tok = noisy
    prompts = render_prompts(tok, _items(1, seed=9))
    pad = pad_token_id(tok, [0])
    vocab = set(range(len(tok)))
    free = generate_ids(model, prompts, stop_ids=[0], pad_id=pad, max_new_tokens=10)
    unused = min(vocab - {t for x in free for t in x} - {0})
    full = generate_ids(model, prompts, stop_ids=[unused], pad_id=pad, max_new_tokens=10)
    assert full[0][: len(free[0])] == free[0]
    stop = full[0][5]  # cut at the first occurrence of this token, stop token not kept
    cut = generate_ids(model, prompts, stop_ids=[unused, stop], pad_id=pad, max_new_tokens=10)
    assert cut[0] == full[0][: full[0].index(stop)]


def test_stop_tokens_come_from_generation_config(noisy):
    model, tok = noisy
    im_end, eos = tok.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    assert model.generation_config.eos_token_id == [im_end, eos]
    assert stop_token_ids(model, tok) == [im_end, eos]
    model.generation_config.eos_token_id = eos
    try:
        assert stop_token_ids(model, tok) == [eos]
        # A registry template adds its own end-of-turn tokens.
        assert stop_token_ids(model, tok, template="chatml") == [eos, im_end]
    finally:
        model.generation_config.eos_token_id = [im_end, eos]


def test_prompt_is_the_chat_template(noisy):
    model, tok = noisy
    item = EvalItem("1", "Q?", "", subject="s", system="Be brief.")
    (ids,) = render_prompts(tok, [item])
    want = (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert tok.decode(ids) == want
    answers = generate_answers(model, tok, _items(3), max_new_tokens=8)
    new = generate_ids(
        model,
        render_prompts(tok, _items(3)),
        stop_ids=stop_token_ids(model, tok),
        pad_id=pad_token_id(tok, [0]),
        max_new_tokens=8,
    )
    assert answers == [tok.decode(x, skip_special_tokens=True).strip() for x in new]
    assert any(answers)


def test_no_chat_template_needs_template_option(noisy):
    _, tok = noisy
    saved = tok.chat_template
    tok.chat_template = None
    try:
        with pytest.raises(ValueError, match="--template"):
            render_prompts(tok, _items(1))
        (ids,) = render_prompts(tok, _items(1), template="chatml")
        assert tok.decode(ids).endswith("<|im_end|>\n<|im_start|>assistant\n")
    finally:
        tok.chat_template = saved


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_read_gen_items_fields(tmp_path):
    path = _write(
        tmp_path / "med.jsonl",
        [
            {"id": "a", "question": "Q1", "answer": "A1", "dimension": "safety"},
            {"instruction": "Translate", "input": "heart", "output": "心脏", "system": "S"},
            {"prompt": "P", "reference": 42},
            {"instruction": "I", "input": "", "reference": ""},
        ],
    )
    items = read_gen_items(path)
    assert [(i.id, i.subject, i.question, i.answer) for i in items] == [
        ("a", "med", "Q1", "A1"),
        ("med-2", "med", "Translate\nheart", "心脏"),
        ("med-3", "med", "P", "42"),
        ("med-4", "med", "I", ""),
    ]
    assert items[0].dimension == "safety" and items[1].system == "S"


@pytest.mark.parametrize(
    "row, message",
    [
        ({"answer": "x"}, 'missing the question: give it in one of the fields "question", '),
        ({"question": "q"}, 'missing the reference answer: give it in one of the fields "refer'),
        ({"question": " ", "answer": "x"}, 'field "question" is empty'),
        ({"question": "q", "answer": None}, "missing the reference answer"),
        ({"question": "q", "answer": ["x"]}, 'field "answer" must be a string, got array'),
        ({"question": "q", "answer": "x", "dimension": "math"}, "field \"dimension\" is 'math'"),
    ],
)
def test_read_gen_items_errors_name_file_and_line(tmp_path, row, message):
    path = _write(tmp_path / "bad.jsonl", [{"question": "ok", "answer": "ok"}, row])
    with pytest.raises(DataError) as err:
        read_gen_items(path)
    assert str(err.value).startswith(f"{path}:2: {message}")


def test_read_predictions(tmp_path):
    path = _write(
        tmp_path / "preds.jsonl",
        [
            {"prediction": "", "reference": "r", "question": "q", "set": "other"},
            {"prediction": "p", "reference": "", "dimension": "general"},
        ],
    )
    items = read_predictions(path)
    assert [(i.subject, i.question, i.prediction, i.answer, i.dimension) for i in items] == [
        ("other", "q", "", "r", None),
        ("preds", "", "p", "", "general"),
    ]
    with pytest.raises(DataError, match=r"empty\.jsonl: no rows"):
        read_predictions(_write(tmp_path / "empty.jsonl", []))
    bad = _write(tmp_path / "bad.jsonl", [{"reference": "r"}])
    with pytest.raises(DataError, match=r'bad\.jsonl:1: missing the prediction: .*"prediction"'):
        read_predictions(bad)
