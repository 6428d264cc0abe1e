"""adversarial (eval results -> weak spots -> teacher), convert and mine (no teacher)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domaintune.eval.results import result_doc
from domaintune.io import write_json, write_jsonl
from domaintune.records import DataError
from domaintune.synth.adversarial import weak_spots
from domaintune.synth.api import (
    Output,
    make_client,
    synth_adversarial,
    synth_convert,
    synth_mine,
)
from domaintune.synth.cli import app
from domaintune.synth.mine import mine_page
from synth.scripted_server import ScriptedServer

RESPONDER = f"{Path(__file__).with_name('responder.py')}:reply"


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def _mcq_result() -> dict:
    items = [
        {"id": "1", "subject": "drugs", "dimension": "knowledge", "correct": {"acc_letter": False}},
        {"id": "2", "subject": "drugs", "dimension": "reasoning", "correct": {"acc_letter": False}},
        {"id": "3", "subject": "diet", "dimension": "knowledge", "correct": {"acc_letter": True}},
        {"id": "4", "subject": "diet", "dimension": "reasoning", "correct": {"acc_letter": True}},
        {"id": "5", "subject": "diet", "dimension": "reasoning", "correct": {"acc_letter": False}},
    ]
    return result_doc(
        "mcq", "model", group="domain", metrics={"acc_letter": 40.0},
        by_set={"drugs": {"acc_letter": 0.0, "n": 2}, "diet": {"acc_letter": 66.7, "n": 3}},
        by_dimension={"knowledge": {"acc_letter": 50.0, "n": 2},
                      "reasoning": {"acc_letter": 33.3, "n": 3}},
        items=items,
    )  # fmt: skip


def test_weak_spots_rank_groups_below_overall_with_their_failed_questions():
    questions = {"1": "阿司匹林的常用剂量是多少？", "2": "两种降压药能否同服？",
                 "5": "低盐饮食每天多少克盐？"}  # fmt: skip
    spots = weak_spots(_mcq_result(), "acc_letter", questions=questions)
    ranked = [(s.label, s.value) for s in spots]
    assert ranked == [("set drugs", 0.0), ("dimension reasoning", 33.3)]
    assert spots[0].failed == [questions["1"], questions["2"]]
    assert spots[1].failed == [questions["2"], questions["5"]]


def test_adversarial_asks_per_weak_spot(tmp_path):
    write_json(tmp_path / "mcq.json", _mcq_result())
    write_jsonl(tmp_path / "exam.jsonl", [
        {"id": "1", "question": "阿司匹林的常用剂量是多少？", "answer": "A",
         "choices": {"A": "100mg", "B": "1g"}},
        {"id": "2", "question": "两种降压药能否同服？", "answer": "B",
         "choices": {"A": "能", "B": "视情况"}},
    ])  # fmt: skip
    with ScriptedServer(responder=RESPONDER) as server:
        client = make_client(server.url, "teacher", cache=None)
        o, exam = Output(tmp_path / "adv.jsonl"), [tmp_path / "exam.jsonl"]
        report = synth_adversarial([tmp_path / "mcq.json"], o, client, per_spot=4, per_request=2,
                                   questions=exam)  # fmt: skip
    rows = _rows(tmp_path / "adv.jsonl")
    assert report["requested"] == 4 and report["read"] == 8
    assert [w["spot"] for w in report["weak_spots"]] == ["set drugs", "dimension reasoning"]
    assert report["kept"] == len(rows) > 0
    spots = {r["meta"]["provenance"]["weak_spot"] for r in rows}
    assert spots == {"set drugs", "dimension reasoning"}
    shown = ["阿司匹林的常用剂量是多少？", "两种降压药能否同服？"]
    assert rows[0]["meta"]["provenance"]["seeds"] == shown
    assert rows[0]["messages"][0]["content"].startswith("针对set drugs")


def test_convert_classification_varies_templates_and_keeps_labels(tmp_path):
    reviews = [{"review": f"这家医院的服务第{i}次让我{'满意' if i % 2 else '失望'}。",
                "sentiment": "正面" if i % 2 else "负面"} for i in range(12)]  # fmt: skip
    write_jsonl(tmp_path / "cls.jsonl", reviews)
    columns = {"text": "review", "label": "sentiment"}
    o = Output(tmp_path / "out.jsonl", novelty=None)
    report = synth_convert(tmp_path / "cls.jsonl", o, task="classification", columns=columns)
    rows = _rows(tmp_path / "out.jsonl")
    assert report["kept"] == 12 and report["rejected"] == 0
    assert [r["messages"][1]["content"] for r in rows] == [r["sentiment"] for r in reviews]
    assert len({r["meta"]["provenance"]["template"] for r in rows}) == 3
    assert all("正面、负面" in r["messages"][0]["content"] for r in rows)  # sorted labels
    assert rows[0]["meta"]["category"] == "classification"


def test_convert_ner_translation_and_qa_from_csv(tmp_path):
    write_jsonl(tmp_path / "ner.jsonl", [{"text": "张三在北京协和医院就诊。",
        "entities": [{"text": "张三", "type": "人名"}, ["北京协和医院", "机构"]]}])  # fmt: skip
    synth_convert(tmp_path / "ner.jsonl", Output(tmp_path / "n.jsonl"), task="ner")
    answer = _rows(tmp_path / "n.jsonl")[0]["messages"][1]["content"]
    assert answer == "人名：张三\n机构：北京协和医院"
    write_jsonl(tmp_path / "mt.jsonl", [{"source": "Drink more water.", "target": "多喝水。"}])
    synth_convert(tmp_path / "mt.jsonl", Output(tmp_path / "t.jsonl"), task="translation")
    (row,) = _rows(tmp_path / "t.jsonl")
    assert "Chinese" in row["messages"][0]["content"]
    assert row["messages"][1]["content"] == "多喝水。"
    (tmp_path / "qa.csv").write_text("question,answer\nWhat lowers blood pressure?,Less salt.\n",
                                     encoding="utf-8")  # fmt: skip
    synth_convert(tmp_path / "qa.csv", Output(tmp_path / "q.jsonl"), task="qa")
    (row,) = _rows(tmp_path / "q.jsonl")
    assert row["messages"][1]["content"] == "Less salt." and "{context}" not in str(row)


def test_convert_names_a_missing_column(tmp_path):
    write_jsonl(tmp_path / "cls.jsonl", [{"text": "好", "label": "正面"}, {"text": "差"}])
    with pytest.raises(DataError, match=r'cls.jsonl:2: missing column "label" .*--label-col'):
        synth_convert(tmp_path / "cls.jsonl", Output(tmp_path / "o.jsonl"), task="classification")


FAQ = """<html><head><script type="application/ld+json">
{"@context": "https://schema.org", "@type": "FAQPage", "mainEntity": [
 {"@type": "Question", "name": "高血压患者每天吃多少盐？",
  "acceptedAnswer": {"@type": "Answer", "text": "<p>每天不超过<b>5克</b>。</p>"}},
 {"@type": "Question", "name": "Can I exercise with hypertension?",
  "acceptedAnswer": {"@type": "Answer", "text": "Yes, moderate exercise helps."}}]}
</script></head><body><h2>Ignored?</h2><p>structure above wins</p></body></html>"""
FORUM = """<html><body><div itemscope itemtype="https://schema.org/Question">
<h1 itemprop="name">How often should I measure my blood pressure?</h1>
<div itemprop="suggestedAnswer" itemscope itemtype="https://schema.org/Answer">
 <span itemprop="upvoteCount">2</span><div itemprop="text">Once a year.</div></div>
<div itemprop="suggestedAnswer" itemscope itemtype="https://schema.org/Answer">
 <span itemprop="upvoteCount">9</span><div itemprop="text">Twice a day at first, then weekly.</div>
</div></div></body></html>"""
PLAIN = """<html><body>
<details><summary>What is a normal pulse?</summary><p>60 to 100 beats a minute.</p></details>
<details><summary>What is a normal pulse?</summary><p>60 to 100 beats a minute.</p></details>
<h3>什么是白大衣高血压？</h3><p>在医院测量时血压升高，</p><p>在家测量正常。</p></body></html>"""


def test_mine_reads_each_structure(tmp_path):
    assert mine_page(FAQ) == [("高血压患者每天吃多少盐？", "每天不超过5克。", "json-ld"),
                              ("Can I exercise with hypertension?",
                               "Yes, moderate exercise helps.", "json-ld")]  # fmt: skip
    assert mine_page(FORUM) == [("How often should I measure my blood pressure?",
                                 "Twice a day at first, then weekly.", "microdata")]  # fmt: skip
    pulse = ("What is a normal pulse?", "60 to 100 beats a minute.", "details")
    assert mine_page(PLAIN) == [pulse, pulse]
    heading = "<h3>什么是白大衣高血压？</h3><p>在医院测量时血压升高，</p><p>在家测量正常。</p>"
    assert mine_page(heading) == [("什么是白大衣高血压？", "在医院测量时血压升高，\n在家测量正常。",
                                   "heading")]  # fmt: skip
    for name, page in (("faq.html", FAQ), ("forum.html", FORUM), ("plain.html", PLAIN)):
        (tmp_path / name).write_text(page, encoding="utf-8")
    result = CliRunner().invoke(app, ["mine", str(tmp_path), str(tmp_path / "qa.jsonl"),
                                      "--report", str(tmp_path / "r.json")])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    # 2 json-ld + 1 microdata + 2 details (one a duplicate of the other)
    assert (report["read"], report["kept"], report["pages"]) == (5, 4, 3)
    assert report["rejected_by_reason"] == {"near_duplicate_generated": 1}
    assert "5 rows read, 4 kept, 1 rejected" in result.output


def test_mine_asks_the_teacher_only_for_pages_without_structure(tmp_path):
    (tmp_path / "faq.html").write_text(FAQ, encoding="utf-8")
    (tmp_path / "plain.html").write_text(
        "<html><body><nav>Home | About</nav><p>How long should I rest before measuring?</p>"
        "<p>Rest five minutes first.</p><p>Which arm is best?</p><p>Use the left arm.</p>"
        "</body></html>", encoding="utf-8")  # fmt: skip
    with ScriptedServer(responder=RESPONDER) as server:
        client = make_client(server.url, "teacher", cache=None)
        report = synth_mine(tmp_path, Output(tmp_path / "qa.jsonl"), client)
        asked = sum(server.stats()["received"].values())
    assert asked == 1 and report["pages_without_structure"] == 1
    assert report["structures_found"] == {"json-ld": 2, "teacher": 3}
    assert report["rejected_by_reason"] == {"answer_not_in_page": 1} and report["kept"] == 4
    mined = [r for r in _rows(tmp_path / "qa.jsonl")
             if r["meta"]["provenance"]["structure"] == "teacher"]  # fmt: skip
    assert [(r["messages"][0]["content"], r["messages"][1]["content"]) for r in mined] == [
        ("How long should I rest before measuring?", "Rest five minutes first."),
        ("Which arm is best?", "Use the left arm."),
    ]
