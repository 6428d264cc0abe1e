"""`data stats`: exact figures on a small fixture."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.data.minhash import text_key
from domaintune.data.stats import corpus_stats
from domaintune.io import write_jsonl
from domaintune.records import Document

runner = CliRunner()


def _docs() -> list[Document]:
    # lengths 10, 20, 30, 40, 100, 22 characters; the last repeats the second, recased, respaced
    b = "b" * 10 + " " + "b" * 9
    texts = ["a" * 10, b, "c" * 30, "d" * 40, "e" * 100, "B" * 10 + "  \n" + "b" * 9]
    docs = [Document(f"d{i}", t, source="wiki" if i < 4 else "forum") for i, t in enumerate(texts)]
    docs[0].extra["category"] = "cardiology"
    docs[1].extra["domain"] = "oncology"
    for d in docs:
        d.meta["lang"] = "en"
    return docs


def test_exact_figures() -> None:
    stats = corpus_stats(_docs())
    assert stats["documents"] == 6 and stats["characters"] == 10 + 20 + 30 + 40 + 100 + 22
    length = stats["length"]
    # sorted 10, 20, 22, 30, 40, 100; linear interpolation at (n-1) * p / 100
    assert (length["p5"], length["p25"], length["p50"]) == (12.5, 20.5, 26.0)
    assert (length["p75"], length["p95"], length["max"]) == (37.5, 85.0, 100)
    assert sum(length["histogram"]["counts"]) == 6 and length["histogram"]["edges"][0] == 10.0
    assert stats["sources"] == {"wiki": 4, "forum": 2}
    assert stats["domains"] == {"cardiology": 1, "oncology": 1}
    assert stats["languages"] == {"en": 6}
    assert (stats["exact_duplicates"], stats["exact_duplicate_rate"]) == (1, round(1 / 6, 4))
    assert stats["tokens"] is None and any("--tokenizer" in n for n in stats["notes"])


def test_text_key_ignores_case_width_spacing_and_punctuation() -> None:
    # the same key as `data dedup` uses, so stats and dedup agree on what an exact duplicate is
    assert (
        text_key("Heart  Attack\n") == text_key("ｈｅａｒｔ attack") == text_key("Heart, attack!")
    )
    assert text_key("heart attack") != text_key("heart attacks")


def test_with_tokenizer_and_cli(tmp_path: Path, tiny_model_dir) -> None:
    from domaintune.data.validate import load_tokenizer

    tok = load_tokenizer(tiny_model_dir)
    stats = corpus_stats(_docs(), tokenizer=tok)
    expected = [len(tok(d.text, add_special_tokens=False)["input_ids"]) for d in _docs()]
    assert stats["tokens"] == sum(expected) and stats["length"]["max"] == max(expected)
    assert stats["share_over_2048_tokens"] == 0.0
    src = tmp_path / "docs.jsonl"
    write_jsonl(src, _docs())
    png = tmp_path / "len.png"
    result = runner.invoke(app, ["data", "stats", str(src), "--json", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["length"]["p50"] == 26.0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_reports_the_near_duplicate_rate(tmp_path: Path) -> None:
    base = (
        "Hypertension is a long-term condition in which the blood pressure in the arteries is "
        "persistently elevated. It usually does not cause symptoms, but it is a major risk factor "
        "for stroke, coronary artery disease, heart failure and chronic kidney disease."
    )
    other = "Asthma is a chronic inflammatory disease of the airways with episodes of wheezing."
    src = tmp_path / "docs.jsonl"
    write_jsonl(
        src,
        [
            {"id": "a", "text": base},
            {"id": "b", "text": base.replace("kidney disease.", "kidney failure.")},
            {"id": "c", "text": other},
        ],
    )
    figures = json.loads(runner.invoke(app, ["data", "stats", str(src), "--json"]).output)
    assert figures["near_duplicates"] == 1 and figures["near_duplicate_rate"] == round(1 / 3, 4)
    assert figures["exact_duplicates"] == 0


def test_num_proc_gives_the_same_figures() -> None:
    assert corpus_stats(_docs() * 3, num_proc=2) == corpus_stats(_docs() * 3)
