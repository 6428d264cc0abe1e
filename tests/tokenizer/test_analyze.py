"""`tokenizer analyze`: figures checked against counts made independently, and the CLI."""

from __future__ import annotations

import json

from transformers import AutoTokenizer
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.io import write_jsonl
from domaintune.tokenizer.analyze import analyze

ZH = "龘龘龘。高血压患者需要每天测量血压。"
EN = "patients with hypertension take medicine every day ."


def _data(tmp_path):
    path = tmp_path / "mixed.jsonl"
    write_jsonl(path, [{"text": ZH}, {"text": EN}, {"text": EN}])
    return path


def test_coverage_figures_match_independent_counts(tmp_path, bpe_tokenizer_dir):
    report = analyze([bpe_tokenizer_dir], [_data(tmp_path)], min_freq=1)
    rows = {f["lang"]: f for f in report["tokenizers"][0]["files"]}
    tok = AutoTokenizer.from_pretrained(bpe_tokenizer_dir)
    n_zh = len(tok.encode(ZH, add_special_tokens=False))
    n_en = len(tok.encode(EN, add_special_tokens=False))
    zh, en = rows["zh"], rows["en"]
    assert (zh["docs"], zh["chars"], zh["tokens"]) == (1, len(ZH), n_zh)
    assert (en["docs"], en["chars"], en["tokens"]) == (2, 2 * len(EN), 2 * n_en)
    assert en["words"] == 2 * 8 and en["tokens_per_word"] == round(2 * n_en / 16, 4)
    assert zh["tokens_per_char"] == round(n_zh / len(ZH), 4)
    assert en["bytes_per_token"] == round(2 * len(EN) / (2 * n_en), 4)
    # "龘" is not in the 512-token vocabulary: 3 byte tokens each, none a whole character
    ids = tok.encode("龘", add_special_tokens=False)
    assert len(ids) == 3
    assert zh["byte_token_share"] >= round(9 / n_zh, 4) and en["byte_token_share"] == 0.0
    assert en["unk_share"] == zh["unk_share"] == 0.0


def test_fragmented_terms_and_expansion_savings(tmp_path, bpe_tokenizer_dir, medical_corpus):
    report = analyze([bpe_tokenizer_dir], [medical_corpus], add=100, top=5)
    t = report["tokenizers"][0]
    terms = t["fragmented"]
    assert len(terms) == 5
    assert [r["excess"] for r in terms] == sorted((r["excess"] for r in terms), reverse=True)
    tok = AutoTokenizer.from_pretrained(bpe_tokenizer_dir)
    for r in terms:
        assert r["tokens"] == len(tok.encode(r["term"], add_special_tokens=False))
        assert r["excess"] == r["freq"] * (r["tokens"] - 1)
    (row,) = t["expansion"]["files"]
    assert t["expansion"]["added"] == 100
    assert row["tokens_before"] == t["files"][0]["tokens"]
    assert 0.10 < row["saved_share"] < 0.9 and row["tokens_after"] < row["tokens_before"]


def test_cli_json_is_the_library_report(tmp_path, bpe_tokenizer_dir):
    data = _data(tmp_path)
    res = CliRunner().invoke(
        app, ["tokenizer", "analyze", "--tokenizer", str(bpe_tokenizer_dir), "--data", str(data),
              "--json", "--min-freq", "1"],  # fmt: skip
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == analyze([bpe_tokenizer_dir], [data], min_freq=1)
    missing = CliRunner().invoke(
        app, ["tokenizer", "analyze", "--tokenizer", str(tmp_path), "--data", str(data)]
    )
    assert missing.exit_code == 1
    assert f"{tmp_path}/tokenizer.json: no tokenizer.json" in missing.output


def test_cli_expand_writes_a_tokenizer_and_reports_bad_options(tmp_path, bpe_tokenizer_dir):
    from domaintune.io import read_documents
    from domaintune.resources import data_path

    corpus = tmp_path / "c.jsonl"
    docs = list(read_documents(data_path("domain_corpus_zh.jsonl")))[:15]
    write_jsonl(corpus, [{"text": d.text} for d in docs])
    args = ["tokenizer", "expand", "--model", str(bpe_tokenizer_dir), "--corpus", str(corpus),
            "--add", "20", "--out", str(tmp_path / "x"), "--min-freq", "2"]  # fmt: skip
    res = CliRunner().invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["added"] == 20 and rec["kind"] == "byte_level"
    assert len(AutoTokenizer.from_pretrained(tmp_path / "x")) == rec["old_vocab"] + 20
    bad = CliRunner().invoke(app, [*args[:-2], "--min-freq", "1", "--add", "0"])
    assert bad.exit_code == 1 and "--add 0: add at least one token" in bad.output
    bad = CliRunner().invoke(app, [*args, "--init", "random"])
    assert bad.exit_code == 1 and "--init 'random': choose one of mean, noise, zero" in bad.output
