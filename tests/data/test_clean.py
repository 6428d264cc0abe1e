"""`data clean`: extraction, normalisation, boilerplate, PII, each quality filter, accounting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.data.clean import CleanConfig, clean_document
from domaintune.data.clean_pii import redact_pii, valid_id_card
from domaintune.data.clean_text import html_to_text, normalise, remove_boilerplate
from domaintune.data.quality import (
    dup_ngram_char_fraction,
    first_failure,
    garbled_fraction,
    measure_all,
    top_ngram_char_fraction,
)
from domaintune.io import write_jsonl
from domaintune.records import Document

runner = CliRunner()
CFG = CleanConfig()
EN = (
    "Aspirin lowers the risk of a second heart attack in patients with coronary disease.\n"
    "Doctors weigh this benefit against the risk of bleeding in the stomach and the gut.\n"
    "Low doses, typically 75 to 100 mg a day, are used for prevention in most adults.\n"
    "Higher doses add bleeding risk without giving the heart any more protection.\n"
    "Patients should take the tablet with food and report black stools to their doctor."
)
ZH = (
    "冠心病是临床上常见的心血管系统疾病，指冠状动脉粥样硬化导致心肌供血不足。\n"
    "本病多见于中老年人，尤其是男性和有多种危险因素的人群。\n"
    "常见症状为活动后胸骨后压榨样疼痛，休息后数分钟可以缓解。\n"
    "主要危险因素有高血压、血脂异常、吸烟、糖尿病以及年龄增长。\n"
    "治疗包括改善生活方式、规范服用药物，必要时进行介入或手术治疗。"
)
CLEAN = {"en": EN, "zh": ZH}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_good_documents_pass_every_filter(lang: str) -> None:
    assert first_failure(CLEAN[lang], lang, CFG) is None
    values = measure_all(CLEAN[lang], lang, CFG)
    assert values["length"] == {"en": 71, "zh": 151}[lang]  # words for English, chars for Chinese
    assert values["dup_line_fraction"] == 0.0
    assert values["terminal_punct_lines"] == 1.0
    assert values["min_sentences"] == 5


@pytest.mark.parametrize(
    ("lang", "text", "length"),
    [("en", "Take aspirin with food.", 4), ("zh", "冠心病是常见病。", 8)],
)
def test_length_in_words_for_english_and_characters_for_chinese(lang, text, length) -> None:
    assert first_failure(text, lang, CFG) == ("length", length)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_garbled_characters(lang: str) -> None:
    assert garbled_fraction("ab\ufffd\ufffd") == 0.5
    assert garbled_fraction("心脏\ufffd\ufffd") == 0.5
    text = CLEAN[lang] + "\n" + "\ufffd" * 80
    name, value = first_failure(text, lang, CFG)
    chars = sum(not c.isspace() for c in CLEAN[lang])
    assert (name, value) == ("garbled_fraction", round(80 / (chars + 80), 4))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_duplicate_lines(lang: str) -> None:
    lines = CLEAN[lang].split("\n")
    text = "\n".join(lines + lines[:3])  # 8 lines, 3 of them repeats
    assert measure_all(text, lang, CFG)["dup_line_fraction"] == 0.375
    # long repeated lines also trip the character and n-gram rules; isolate the line-count rule
    lines_only = CleanConfig(
        max_dup_line_char_fraction=1.0,
        max_top_ngram_char_fraction=(),
        max_dup_ngram_char_fraction=(),
    )
    assert first_failure(text, lang, lines_only) == ("dup_line_fraction", 0.375)
    assert first_failure("\n".join(lines + lines[:1]), lang, lines_only) is None  # 1/6 passes


def test_duplicate_line_characters() -> None:
    long = "A long repeated sentence about the dosage of aspirin in adults over sixty years old."
    short = [
        f"Short line number {w} is here." for w in ("one", "two", "three", "four", "five", "six")
    ]
    lines = [long, *short, long]  # 1 repeat in 8 lines, but a long one
    text = "\n".join(lines)
    values = measure_all(text, "en", CFG)
    assert values["dup_line_fraction"] == round(1 / 8, 4)
    expected = round(len(long) / sum(map(len, lines)), 4)
    assert values["dup_line_char_fraction"] == expected > CFG.max_dup_line_char_fraction


def test_top_and_duplicate_ngrams_words_and_characters() -> None:
    words = ["heart", "attack", "risk", "heart", "attack"]
    assert top_ngram_char_fraction(words, 2) == 22 / 26  # "heart attack" twice
    assert top_ngram_char_fraction(["a", "b", "c"], 2) == 0.0  # nothing repeats
    assert top_ngram_char_fraction("心绞痛发作心绞痛", 3) == 6 / 8
    assert dup_ngram_char_fraction("冠状动脉粥样硬化导致" * 2, 10) == 0.5
    assert dup_ngram_char_fraction("冠状动脉粥样硬化导致心肌", 10) == 0.0


def test_chinese_character_ngram_repetition_rejects() -> None:
    text = ZH + "\n" + "冠状动脉粥样硬化导致心肌供血不足，" * 6 + "。"
    name, value = first_failure(text, "zh", CFG)
    assert name.startswith(("top_char_", "dup_char_"))
    assert value == measure_all(text, "zh", CFG)[name] > 0.1


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", EN.replace(".\n", "\n").rstrip(".")), ("zh", ZH.replace("。", ""))],
)
def test_terminal_punctuation(lang: str, text: str) -> None:
    assert first_failure(text, lang, CFG) == ("terminal_punct_lines", 0.0)


def test_language_filter_and_confidence() -> None:
    french = "Le patient doit prendre son traitement tous les jours avec un grand verre d'eau. " * 5
    result = clean_document(Document("f1", french), CFG)
    assert result.reason == "language" and result.value.startswith("fr:")
    only_zh = clean_document(Document("e1", EN), CleanConfig(langs=("zh",)))
    assert (only_zh.reason, only_zh.value) == ("language", "en:1.0")
    strict = clean_document(Document("z1", ZH), CleanConfig(lang_min_score=1.01))
    assert (strict.reason, strict.value) == ("language_score", 1.0)


def test_html_page_gives_only_the_article() -> None:
    html = (
        "<html><body><nav><a href='/'>Home</a> | <a href='/a'>About</a></nav>"
        "<div class='cookie-banner'>We use cookies to improve your experience.</div>"
        "<article><h1>Aspirin and the heart</h1>"
        "<p>Aspirin lowers the risk of a second heart attack in patients with coronary disease."
        "</p><p>Low doses are used for prevention.</p></article>"
        "<footer>Copyright 2024 Example Health. All rights reserved.</footer></body></html>"
    )
    assert html_to_text(html) == (
        "Aspirin and the heart\nAspirin lowers the risk of a second heart attack in patients "
        "with coronary disease.\nLow doses are used for prevention."
    )


def test_normalise_keeps_chinese_punctuation_and_repairs_mojibake() -> None:
    assert normalise("“你好”，世界！ ＡＢＣ１２３\u3000  x\r\n\n\n\nThe â€œquoteâ€\x9d") == (
        "“你好”，世界！ ABC123 x\n\nThe “quote”"
    )


def test_boilerplate_lines_english_and_chinese() -> None:
    text = "\n".join(
        [
            "首页 | 新闻 | 健康 | 关于我们",
            "冠心病是临床上常见的心血管系统疾病。",
            "上一篇：高血压的预防",
            "版权所有 © 2024 某某医院",
            "扫码关注公众号",
            "注册护士应当按照医嘱给药。",  # prose mentioning 注册: kept
            "This site uses cookies.",
            "Please enable JavaScript to view the comments.",
        ]
    )
    kept, removed = remove_boilerplate(text)
    assert kept == "冠心病是临床上常见的心血管系统疾病。\n注册护士应当按照医嘱给药。"
    assert removed == {
        "link_list": 1,
        "navigation": 1,
        "copyright": 1,
        "social": 1,
        "c4_policy_or_javascript": 2,
    }


def test_id_card_checksum() -> None:
    assert valid_id_card("11010519491231002X")  # GB 11643-1999's example number
    assert not valid_id_card("110105194912310021")  # same number, wrong check character
    text = "身份证 11010519491231002X，另一个 110105194912310021，电话 13812345678，邮箱 a.b@x.cn"
    redacted, counts = redact_pii(text)
    assert redacted == "身份证 <ID_CARD>，另一个 110105194912310021，电话 <PHONE>，邮箱 <EMAIL>"
    assert counts == {"ID_CARD": 1, "PHONE": 1, "EMAIL": 1}
    assert redact_pii("call (555) 123-4567 or +86 138-1234-5678; order 12345678901234")[0] == (
        "call <PHONE> or <PHONE>; order 12345678901234"
    )


def _corpus(tmp_path: Path) -> Path:
    rows = [
        {"id": "en-1", "text": EN, "url": "https://a.example/1", "category": "cardiology"},
        {"id": "zh-1", "text": ZH + "\n联系电话 13812345678。", "category": "cardiology"},
        {"id": "short", "text": "Too short."},
        {"id": "dup", "text": "\n".join(EN.split("\n") * 2)},
    ]
    rows += [{"id": f"x{i}", "text": f"{ZH}\n第{i}条补充说明。"} for i in range(6)]
    path = tmp_path / "raw.jsonl"
    write_jsonl(path, rows)
    return path


def test_cli_counts_rejects_report_and_extra_fields(tmp_path: Path) -> None:
    src, out = _corpus(tmp_path), tmp_path / "clean.jsonl"
    result = runner.invoke(
        app,
        ["data", "clean", str(src), str(out), "--redact-pii", "--rejects",
         str(tmp_path / "rej.jsonl"), "--report", str(tmp_path / "report.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "10 documents read, 8 kept, 2 rejected" in result.output
    kept = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert kept[0]["id"] == "en-1" and kept[0]["url"] == "https://a.example/1"
    assert kept[0]["category"] == "cardiology" and kept[0]["meta"] == {"lang": "en"}
    assert kept[1]["text"].endswith("联系电话 <PHONE>。")
    rejected = [json.loads(line) for line in (tmp_path / "rej.jsonl").read_text().splitlines()]
    assert [(r["row"]["id"], r["reason"], r["value"]) for r in rejected] == [
        ("short", "length", 2),
        ("dup", "dup_line_fraction", 0.5),
    ]
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["read"], report["kept"], report["rejected"]) == (10, 8, 2)
    assert report["rejected_by_reason"] == {"length": 1, "dup_line_fraction": 1}
    assert report["pii_redacted"] == {"PHONE": 1}
    assert "Rae et al. 2021" in report["threshold_sources"]["max_dup_line_fraction"]


def test_num_proc_2_equals_num_proc_1(tmp_path: Path) -> None:
    src = _corpus(tmp_path)
    outputs = []
    for n in (1, 2):
        out, rej = tmp_path / f"out{n}.jsonl", tmp_path / f"rej{n}.jsonl"
        args = ["data", "clean", str(src), str(out), "--rejects", str(rej), "--num-proc", str(n)]
        assert runner.invoke(app, args).exit_code == 0
        outputs.append((out.read_bytes(), rej.read_bytes()))
    assert outputs[0] == outputs[1]


def test_cli_refuses_unknown_language_and_non_jsonl(tmp_path: Path) -> None:
    src = _corpus(tmp_path)
    bad = runner.invoke(app, ["data", "clean", str(src), str(tmp_path / "o.jsonl"), "--lang", "fr"])
    assert bad.exit_code == 2 and "--lang 'fr'" in bad.output
    bad = runner.invoke(app, ["data", "clean", str(src), str(tmp_path / "o.txt")])
    assert bad.exit_code == 2 and "give it a .jsonl name" in bad.output
    missing = runner.invoke(
        app, ["data", "clean", str(tmp_path / "no.jsonl"), str(tmp_path / "o.jsonl")]
    )
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_kept_rows_keep_the_input_format_and_get_stable_ids(tmp_path: Path) -> None:
    # Rows as read: no "source" or empty "meta" added; the cleaned text and meta.lang set; a
    # row without an id gets "<file stem>-<line>"; rejects are the rows as read too.
    src, out, rej = tmp_path / "web.jsonl", tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    write_jsonl(src, [
        {"text": EN + "\n\n\n", "url": "u1"},
        {"id": 5, "text": ZH, "meta": {"crawl": "c1"}},
        {"text": "short", "date": "2024"},
    ])  # fmt: skip
    args = ["data", "clean", str(src), str(out), "--rejects", str(rej)]
    assert runner.invoke(app, args).exit_code == 0
    kept = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert kept == [
        {"id": "web-1", "text": EN, "url": "u1", "meta": {"lang": "en"}},
        {"id": 5, "text": ZH, "meta": {"crawl": "c1", "lang": "zh"}},
    ]
    (rejected,) = [json.loads(line) for line in rej.read_text("utf-8").splitlines()]
    assert rejected["row"] == {"id": "web-3", "text": "short", "date": "2024"}


def test_language_id_equals_langid_classify() -> None:
    from domaintune.data.clean import detect_language, detect_language_reference

    texts = [EN, ZH, EN + ZH, "Bonjour, je suis médecin à Paris.", "こんにちは、元気ですか", "ok"]
    assert [detect_language(t) for t in texts] == [detect_language_reference(t) for t in texts]
    assert detect_language(EN)[0] == "en" and detect_language(ZH) == ("zh", 1.0)
