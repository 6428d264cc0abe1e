"""Each teacher kind against the scripted server's deterministic replies (responder.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domaintune.io import read_eval_items, write_jsonl
from domaintune.synth.api import (
    Output,
    make_client,
    synth_paraphrase,
    synth_qa,
    synth_self_instruct,
    synth_translate,
)
from domaintune.synth.filters import language
from synth.scripted_server import ScriptedServer

RESPONDER = f"{Path(__file__).with_name('responder.py')}:reply"
DOCS = [
    {"id": "doc-zh", "text": "高血压是指动脉血压持续升高。成人收缩压大于等于140毫米汞柱即可诊断。"
     "长期高血压会损害心脏和肾脏。\n\n控制盐的摄入有助于降低血压。规律运动也能改善血压。"},
    {"id": "doc-en", "text": "Hypertension is a sustained rise in arterial blood pressure. Adults "
     "with a systolic pressure of 140 mmHg or more are diagnosed. Long-term hypertension damages "
     "the heart and the kidneys.\n\nEating less salt helps lower blood pressure."},
]  # fmt: skip
SEEDS = [
    {"instruction": "请解释什么是高血压。", "output": "高血压是动脉血压持续升高的状态。"},
    {"instruction": "把这句话翻译成英文：多喝水。", "output": "Drink more water."},
    {"instruction": "Summarize the causes of hypertension in two sentences.", "output": "Genes."},
    {"instruction": "Write a short poem about the sea.", "output": "Waves roll in."},
]


@pytest.fixture(scope="module")
def server():
    with ScriptedServer(responder=RESPONDER) as s:
        yield s


@pytest.fixture
def files(tmp_path):
    write_jsonl(tmp_path / "docs.jsonl", DOCS)
    write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    return tmp_path


def _client(server, tmp_path, name="c"):
    return make_client(server.url, "teacher", cache=tmp_path / f"{name}.sqlite")


def _rows(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_qa_rows_are_grounded_with_their_quote_span(server, files):
    o = Output(files / "qa.jsonl", report=files / "r.json", rejects=files / "rej.jsonl")
    report = synth_qa(files / "docs.jsonl", o, _client(server, files))
    rows = _rows(files / "qa.jsonl")
    texts = {d["id"]: d["text"] for d in DOCS}
    assert report["requested"] == 2 and report["received"] == 2
    assert report["read"] == 6 and report["kept"] == len(rows) == 3
    assert report["rejected_by_reason"] == {"quote_not_in_source": 2, "near_duplicate_generated": 1}
    for row in rows:
        prov = row["meta"]["provenance"]
        s, e = prov["quote_span"]
        assert texts[prov["doc_id"]][s:e] == prov["quote"]
        assert prov["teacher"] == "teacher" and row["meta"]["kind"] == "qa"
        lang = "zh" if prov["doc_id"] == "doc-zh" else "en"
        assert language(row["messages"][0]["content"]) == lang
    assert json.loads((files / "r.json").read_text())["kept"] == 3
    reasons = [json.loads(line)["reason"] for line in (files / "rej.jsonl").open()]
    assert sorted(reasons) == ["near_duplicate_generated", *["quote_not_in_source"] * 2]


def test_qa_as_eval_is_decontaminated_from_the_sft_rows(server, files):
    client = _client(server, files)
    synth_qa(files / "docs.jsonl", Output(files / "sft.jsonl"), client)
    alone = synth_qa(files / "docs.jsonl", Output(files / "e1.jsonl"), client, as_eval=True)
    items = _rows(files / "e1.jsonl")
    assert alone["kept"] == 3 and {i["dimension"] for i in items} == {"knowledge", "reasoning"}
    assert all(i["meta"]["provenance"]["quote_span"] for i in items)
    read = list(read_eval_items(files / "e1.jsonl", kind="open"))  # what `eval gen` reads
    assert [(r.dimension, r.subject) for r in read] == [(i["dimension"], "docs") for i in items]
    o = Output(files / "e2.jsonl", against=[files / "sft.jsonl"])
    clean = synth_qa(files / "docs.jsonl", o, client, as_eval=True)
    # the scripted teacher asks the same questions: all 4 that pass the checks are in the SFT rows
    assert clean["kept"] == 0 and clean["rejected_by_reason"]["near_duplicate_existing"] == 4


def test_self_instruct_cycles_categories_and_rejects_copied_seeds(server, files):
    o, client = Output(files / "si.jsonl"), _client(server, files)
    report = synth_self_instruct(files / "seeds.jsonl", o, client, num=18, per_request=2, lang="zh")
    rows = _rows(files / "si.jsonl")
    assert report["requested"] == 9 and report["read"] == 18
    # item 2 of each reply copies the first seed shown: English ones fail the language check,
    # Chinese ones the novelty check against the seeds; one templated task is too close to another
    assert report["rejected_by_reason"] == {
        "language": 5, "near_duplicate_existing": 4, "near_duplicate_generated": 1}  # fmt: skip
    assert report["kept"] == len(rows) == 8
    # categories asked in turn: one kept task in each of 8 of the 9 categories
    assert sorted(report["categories"].values()) == [1] * 8
    assert all(language(r["messages"][0]["content"]) == "zh" for r in rows)


def test_paraphrase_keeps_the_answer_and_links_the_seed(server, files):
    report = synth_paraphrase(files / "seeds.jsonl", Output(files / "p.jsonl"),
                              _client(server, files), per_row=3)  # fmt: skip
    rows = _rows(files / "p.jsonl")
    # the first rewording of each row is the original itself: rejected against the seeds
    assert report["rejected_by_reason"]["near_duplicate_existing"] == 4
    for row in rows:
        seed = SEEDS[int(row["meta"]["provenance"]["seed_id"].rsplit("-", 1)[1]) - 1]
        assert row["messages"][1]["content"] == seed["output"]
        assert row["messages"][0]["content"] != seed["instruction"]


def test_translate_and_back_translate_link_pairs(server, files):
    client = _client(server, files)
    report = synth_translate(files / "seeds.jsonl", Output(files / "t.jsonl", novelty=None), client)
    rows = _rows(files / "t.jsonl")
    assert report["kept"] == 4
    assert [r["meta"]["provenance"]["pair_of"] for r in rows] == [f"seeds-{i}" for i in range(1, 5)]
    for row, seed in zip(rows, SEEDS, strict=True):
        prov = row["meta"]["provenance"]
        assert prov["from"] != prov["to"] == language(row["messages"][0]["content"])
        assert prov["from"] == language(seed["instruction"] + " " + seed["output"])
    back = synth_translate(files / "seeds.jsonl", Output(files / "b.jsonl"), client, back=True)
    assert back["requested"] == 8 + 4  # this client also ran the 4 translations above
    for row in _rows(files / "b.jsonl"):
        prov = row["meta"]["provenance"]
        assert len(prov["pivot"]) == 2 and row["meta"]["kind"] == "back-translate"


def test_cli_reports_and_refuses_a_missing_teacher(server, files):
    runner = CliRunner()
    from domaintune.synth.cli import app

    out = files / "cli.jsonl"
    result = runner.invoke(app, ["qa", str(files / "docs.jsonl"), str(out), "--base-url",
                                 server.url, "--model", "teacher", "--no-progress"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "6 rows read, 3 kept, 3 rejected" in result.output
    assert "2 requested, 2 received (0 from cache)" in result.output
    assert (files / "cli.teacher-cache.sqlite").exists()
    bad = runner.invoke(app, ["qa", str(files / "docs.jsonl"), str(out)])
    assert bad.exit_code == 2 and "--base-url and --model" in bad.output


def test_translation_keeps_the_system_prompt_translated(server, files):
    row = {"system": "You are a careful nurse.",
           "instruction": "How do I measure blood pressure at home?",
           "output": "Sit still for five minutes, then measure."}  # fmt: skip
    write_jsonl(files / "sys.jsonl", [row])
    synth_translate(files / "sys.jsonl", Output(files / "ts.jsonl"), _client(server, files))
    (row,) = _rows(files / "ts.jsonl")
    assert row["system"] and language(row["system"]) == "zh"
    assert [m["role"] for m in row["messages"]] == ["user", "assistant"]


def test_self_instruct_rounds_show_kept_generated_tasks(server, files):
    o, client = Output(files / "r.jsonl"), _client(server, files)
    report = synth_self_instruct(files / "seeds.jsonl", o, client, num=18, per_request=2,
                                 lang="zh", rounds=2)  # fmt: skip
    rows = _rows(files / "r.jsonl")
    assert report["requested"] == 10  # 9 tasks a round, 2 a request: 5 requests each
    first = {r["messages"][0]["content"] for r in rows if r["meta"]["provenance"]["round"] == 0}
    later = [r["meta"]["provenance"] for r in rows if r["meta"]["provenance"]["round"] == 1]
    assert first and later
    human = {s["instruction"] for s in SEEDS}
    for prov in later:  # 4 human + 2 machine tasks shown, the machine ones kept in round 0
        machine = [s for s in prov["seeds"] if s not in human]
        assert len(prov["seeds"]) == 6 and len(machine) == 2 and set(machine) <= first
