"""`domaintune eval gen` and `eval ppl` through the CLI: the --out numbers, modes and errors."""

from __future__ import annotations

import json
import math

import pytest
import sacrebleu
import torch
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.eval.generate import generate_answers, read_gen_items
from domaintune.eval.perplexity import perplexity
from domaintune.io import read_documents, write_jsonl
from domaintune.models import load_for_eval
from helpers import make_texts

runner = CliRunner()

ITEM_FIELDS = ["id", "set", "question", "reference", "prediction", "dimension", "scores"]
SCORES = ["em", "f1", "rouge_l_char", "rouge_l_word", "bleu"]


def _run(*args):
    return runner.invoke(app, ["eval", *map(str, args)])


@pytest.fixture(scope="module")
def noisy_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model with large random weights: non-empty answers that differ per prompt."""
    model, tok = load_for_eval(tiny_model_dir)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    out = tmp_path_factory.mktemp("noisy") / "model"
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_gen_predictions_mode_numbers(tmp_path):
    rows = [
        {
            "id": "e1",
            "prediction": "The Cat sat.",
            "reference": "cat sat",
            "dimension": "knowledge",
        },
        {"id": "e2", "prediction": "The Cat sat.", "reference": "the cat sat down"},
        {"id": "e3", "prediction": "", "reference": "blood", "dimension": "knowledge"},
        {"id": "z1", "prediction": "高血压。", "reference": "高血压患者", "set": "zh"},
        {"id": "z2", "prediction": "心脏", "reference": "", "set": "zh", "dimension": "safety"},
    ]
    preds = tmp_path / "answers.jsonl"
    write_jsonl(preds, rows)
    out = tmp_path / "gen.json"
    result = _run("gen", "--predictions", preds, "--out", out, "--group", "general")
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert (doc["kind"], doc["model"], doc["group"]) == ("gen", str(preds), "general")
    # EM 100, 0, 0 (empty prediction); F1 100, 80, 0 (golden, see test_metrics)
    en, zh = doc["by_set"]["answers"], doc["by_set"]["zh"]
    assert (en["n"], en["em"], en["f1"]) == (3, 100 / 3, 60.0)
    assert (zh["n"], zh["em"], zh["f1"]) == (2, 0.0, 37.5)  # 75 and 0 (empty reference)
    assert doc["metrics"]["em"] == 20.0
    assert doc["metrics"]["f1"] == pytest.approx((100 + 80 + 75) / 5)
    assert (
        en["bleu"]
        == sacrebleu.corpus_bleu(
            ["The Cat sat.", "The Cat sat.", ""], [["cat sat", "the cat sat down", "blood"]]
        ).score
    )
    assert (
        zh["bleu"]
        == sacrebleu.corpus_bleu(["高血压。", "心脏"], [["高血压患者", ""]], tokenize="zh").score
    )
    assert doc["by_dimension"]["knowledge"]["n"] == 2
    assert doc["by_dimension"]["knowledge"]["em"] == 50.0
    assert doc["by_dimension"]["safety"] == {**dict.fromkeys(SCORES, 0.0), "n": 1}
    assert doc["counts"] == {
        "rows": 5,
        "empty_predictions": 1,
        "empty_references": 1,
        "chinese_rows": 2,
        "english_rows": 3,
        "no_dimension": 2,
    }
    assert [list(item) for item in doc["items"]] == [ITEM_FIELDS] * 5
    assert list(doc["items"][0]["scores"]) == SCORES
    assert [i["set"] for i in doc["items"]] == ["answers"] * 3 + ["zh"] * 2
    assert "overall" in result.output and "zh" in result.output
    # answer tokens: [cat sat] x2, [], [高 血 压], [心 脏]: 7 of 9 unigrams and 4 of 5 bigrams
    # distinct, no repeated 4-gram, 9 tokens over 5 answers
    assert doc["diversity"] == pytest.approx(
        {"distinct_1": 7 / 9, "distinct_2": 0.8, "repetition": 0.0, "mean_tokens": 1.8}
    )
    assert "distinct-1 0.778, distinct-2 0.800, repetition (seq-rep-4) 0.000, mean length 1.8" in (
        " ".join(result.output.split())
    )


def test_gen_metrics_option(tmp_path):
    preds = tmp_path / "p.jsonl"
    write_jsonl(preds, [{"prediction": "a b", "reference": "a b c"}])
    out = tmp_path / "gen.json"
    assert _run("gen", "--predictions", preds, "--metrics", "bleu,em", "--out", out).exit_code == 0
    doc = json.loads(out.read_text())
    assert list(doc["metrics"]) == ["em", "bleu"]
    assert list(doc["items"][0]["scores"]) == ["em", "bleu"]
    bad = _run("gen", "--predictions", preds, "--metrics", "rouge")
    assert bad.exit_code == 2 and "unknown metric 'rouge'" in bad.stderr


def test_gen_with_model_then_rescore_predictions(noisy_dir, tmp_path):
    data = tmp_path / "med.jsonl"
    questions, answers = make_texts(5, seed=6, lo=3, hi=20), make_texts(5, seed=7, lo=3, hi=8)
    dims = ["reasoning", "knowledge"] * 3
    rows = [
        {"question": q, "answer": a, "dimension": d}
        for q, a, d in zip(questions, answers, dims[:5], strict=True)
    ]
    write_jsonl(data, rows)
    out, saved = tmp_path / "gen.json", tmp_path / "saved.jsonl"
    args = ["--batch-size", 2, "--max-new-tokens", 10]
    result = _run("gen", "--model", noisy_dir, "--data", data, "--out", out,
                  "--predictions-out", saved, *args)  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    model, tok = load_for_eval(noisy_dir)
    want = generate_answers(model, tok, read_gen_items(data), batch_size=5, max_new_tokens=10)
    assert [i["prediction"] for i in doc["items"]] == want
    assert any(want)
    assert doc["settings"]["max_new_tokens"] == 10 and doc["settings"]["temperature"] == 0.0
    for m in ("em", "f1", "rouge_l_char", "rouge_l_word"):
        mean = sum(i["scores"][m] for i in doc["items"]) / 5
        assert doc["metrics"][m] == pytest.approx(mean)
    # Scoring the saved generations again gives the same figures without the model.
    again = tmp_path / "again.json"
    assert _run("gen", "--predictions", saved, "--out", again).exit_code == 0
    redo = json.loads(again.read_text())
    for key in ("metrics", "by_set", "by_dimension", "items", "counts"):
        assert redo[key] == doc[key]


@pytest.fixture(scope="module")
def adapter_dir(noisy_dir, tmp_path_factory):
    """A LoRA adapter on the noisy model, with random B so it changes the outputs."""
    from peft import LoraConfig, get_peft_model

    from domaintune.models import load_model

    torch.manual_seed(0)
    lora = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    adapter = tmp_path_factory.mktemp("lora") / "adapter"
    get_peft_model(load_model(noisy_dir), lora).save_pretrained(adapter)
    load_for_eval(noisy_dir)[1].save_pretrained(adapter)
    return adapter


def test_gen_on_peft_adapter(adapter_dir, noisy_dir, tmp_path):
    data = tmp_path / "q.jsonl"
    write_jsonl(data, [{"question": q, "answer": "x"} for q in make_texts(2, seed=2, lo=3, hi=9)])
    out = tmp_path / "gen.json"
    result = _run("gen", "--model", adapter_dir, "--data", data, "--out", out,
                  "--max-new-tokens", 6)  # fmt: skip
    assert result.exit_code == 0, result.output
    got = [i["prediction"] for i in json.loads(out.read_text())["items"]]
    model, tok = load_for_eval(adapter_dir)
    assert got == generate_answers(model, tok, read_gen_items(data), max_new_tokens=6)
    base, _ = load_for_eval(noisy_dir)
    assert got != generate_answers(base, tok, read_gen_items(data), max_new_tokens=6)


def test_gen_errors(noisy_dir, tmp_path):
    data = tmp_path / "bad.jsonl"
    write_jsonl(data, [{"question": "q", "answer": "a"}, {"query": "q", "answer": "a"}])
    result = _run("gen", "--model", noisy_dir, "--data", data)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f'error: {data}:2: missing the question: give it in one of the fields "question", '
        '"prompt", "instruction"'
    )
    both = _run("gen", "--model", noisy_dir, "--data", data, "--predictions", data)
    assert both.exit_code == 2 and "not both" in both.stderr
    assert _run("gen", "--data", data).exit_code == 2  # --data needs --model
    assert _run("gen", "--model", noisy_dir, "--predictions", data).exit_code == 2
    preds = tmp_path / "p.jsonl"
    write_jsonl(preds, [{"prediction": "a", "reference": "a", "dimension": "maths"}])
    bad_dim = _run("gen", "--predictions", preds)
    assert bad_dim.exit_code == 1 and f"{preds}:1: field \"dimension\" is 'maths'" in bad_dim.stderr


def test_gen_without_chat_template(noisy_dir, tmp_path):
    import shutil

    plain = tmp_path / "plain"
    shutil.copytree(noisy_dir, plain)
    (plain / "chat_template.jinja").unlink()
    data = tmp_path / "q.jsonl"
    write_jsonl(data, [{"question": "q", "answer": "a"}])
    result = _run("gen", "--model", plain, "--data", data, "--max-new-tokens", 2)
    assert result.exit_code == 1
    assert "has no chat template; pass --template with one of" in result.stderr
    ok = _run(
        "gen", "--model", plain, "--data", data, "--max-new-tokens", 2, "--template", "chatml"
    )
    assert ok.exit_code == 0, ok.output


# ---------------------------------------------------------------- ppl


def test_ppl_cli_numbers(tiny_model_dir, tmp_path):
    texts = make_texts(9, seed=5, lo=20, hi=70)
    write_jsonl(tmp_path / "dom.jsonl", [{"text": t} for t in texts[:5]])
    write_jsonl(tmp_path / "gen.jsonl", [{"text": t} for t in texts[5:]])
    out = tmp_path / "ppl.json"
    result = _run("ppl", "--model", tiny_model_dir, "--data", tmp_path / "dom.jsonl",
                  "--data", tmp_path / "gen.jsonl", "--max-len", 16, "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["kind"] == "ppl" and doc["settings"]["stride"] == 8  # default max_len // 2
    model, tok = load_for_eval(tiny_model_dir)
    for name, n in (("dom", 5), ("gen", 4)):
        docs = list(read_documents(tmp_path / f"{name}.jsonl"))
        want = perplexity(model, tok, docs, max_len=16, stride=8)
        assert doc["by_set"][name] == pytest.approx({**want, "n": n})
    sets = doc["by_set"].values()
    tokens = sum(s["tokens"] for s in sets)
    nll = sum(s["nll"] * s["tokens"] for s in sets) / tokens
    assert doc["metrics"] == pytest.approx(
        {"perplexity": math.exp(nll), "nll": nll, "tokens": tokens}
    )
    assert doc["counts"] == {"documents": 9}
    assert "overall" in result.output


def test_ppl_on_adapter_and_errors(adapter_dir, noisy_dir, tiny_model_dir, tmp_path):
    data = tmp_path / "held.jsonl"
    write_jsonl(data, [{"text": t} for t in make_texts(3, seed=1, lo=20, hi=40)])
    docs = list(read_documents(data))
    out = tmp_path / "ppl.json"
    args = ["--data", data, "--max-len", 16, "--stride", 16, "--out", out]
    assert _run("ppl", "--model", adapter_dir, *args).exit_code == 0
    got = json.loads(out.read_text())["metrics"]
    model, tok = load_for_eval(adapter_dir)
    assert got == pytest.approx(perplexity(model, tok, docs, max_len=16))
    base = perplexity(load_for_eval(noisy_dir)[0], tok, docs, max_len=16)
    assert got["perplexity"] != pytest.approx(base["perplexity"])

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = _run("ppl", "--model", tiny_model_dir, "--data", empty)
    assert result.exit_code == 1 and f"error: {empty}: no documents" in result.stderr
    bad = _run("ppl", "--model", tiny_model_dir, "--data", data, "--max-len", 8, "--stride", 9)
    assert bad.exit_code == 2 and "--stride" in bad.stderr
