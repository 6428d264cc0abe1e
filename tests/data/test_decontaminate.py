"""`data decontaminate`: word and Chinese character n-grams, hits reported, near-misses kept."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.data.decontaminate import build_index, units
from domaintune.io import write_jsonl

runner = CliRunner()
EN_Q = "Which of the following drugs is commonly used as first line treatment for type 2 diabetes"
ZH_Q = "患者男性六十五岁，活动后胸骨后压榨样疼痛三个月，休息后数分钟可以缓解，最可能的诊断是什么"


def _eval_file(tmp_path: Path) -> Path:
    path = tmp_path / "exam.jsonl"
    rows = [
        {"id": "q-en", "question": EN_Q + "?", "A": "metformin", "B": "insulin", "answer": "A"},
        {"id": "q-zh", "question": ZH_Q + "？", "A": "稳定型心绞痛", "B": "胃炎", "answer": "A"},
        {"id": "q-short", "question": "什么是高血压？", "A": "一种病", "B": "不是", "answer": "A"},
    ]
    write_jsonl(path, rows)
    return path


def test_units_split_chinese_into_characters_and_drop_punctuation() -> None:
    assert units("Type-2 糖尿病，ＨbA1c!") == ["type", "2", "糖", "尿", "病", "hba1c"]


def test_hits_found_with_their_ngram_and_near_misses_kept(tmp_path: Path) -> None:
    index = build_index([_eval_file(tmp_path)])
    assert index.items == 3 and index.too_short == ["exam.jsonl:q-short"]
    # copied with different case and punctuation: still 13 words in a row
    en_hit = "Study notes. WHICH of the following drugs is commonly used, as first-line treatment"
    assert index.first_hit(en_hit + " for type 2 diabetes? Metformin.") == (
        "exam.jsonl:q-en",
        "which of the following drugs is commonly used as first line treatment for",
    )
    # 12 words in a row only: a near miss
    assert (
        index.first_hit("which of the following drugs is commonly used as first line cure") is None
    )
    zh_text = "模拟题：" + ZH_Q[:30] + "。答案略。"
    assert index.first_hit(zh_text) == (
        "exam.jsonl:q-zh",
        "患者男性六十五岁活动后胸骨后压榨样疼痛三个月休息后",
    )
    assert index.first_hit(ZH_Q[:24]) is None  # 23 characters without the comma: too short


def test_cli_removes_rows_and_reports_each_hit(tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    write_jsonl(
        train,
        [
            {"instruction": "Answer: " + EN_Q, "output": "metformin", "id": "c1"},
            {"instruction": "What is metformin?", "output": "A biguanide drug.", "id": "c2"},
        ],
    )
    out, rej, rep = tmp_path / "out.jsonl", tmp_path / "rej.jsonl", tmp_path / "report.json"
    args = ["data", "decontaminate", str(train), str(out), "--against", str(_eval_file(tmp_path))]
    result = runner.invoke(app, [*args, "--rejects", str(rej), "--report", str(rep)])
    assert result.exit_code == 0, result.output
    assert "2 rows read, 1 kept, 1 rejected (eval_overlap: 1)" in result.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["c2"]
    report = json.loads(rep.read_text())
    assert report["hits"] == [
        {
            "id": "c1",
            "eval_item": "exam.jsonl:q-en",
            "ngram": "which of the following drugs is commonly used as first line treatment for",
        }
    ]
    assert (report["read"], report["kept"], report["rejected"]) == (2, 1, 1)
    assert json.loads(rej.read_text())["reason"] == "eval_overlap"


def test_num_proc_gives_the_same_output(tmp_path: Path) -> None:
    rows = [
        {"id": f"r{i}", "text": t}
        for i, t in enumerate(
            [
                "clean text about the heart",
                EN_Q + " and more words",
                ZH_Q + "。",
                "另一段干净的文本",
            ]
            * 3
        )
    ]
    write_jsonl(tmp_path / "train.jsonl", rows)
    outs = []
    for procs in ("1", "2"):
        out = tmp_path / f"out{procs}.jsonl"
        result = runner.invoke(
            app,
            [
                "data",
                "decontaminate",
                str(tmp_path / "train.jsonl"),
                str(out),
                "--against",
                str(_eval_file(tmp_path)),
                "--num-proc",
                procs,
            ],
        )
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0].count(b"\n") == 6  # 6 of 12 rows overlap the exam


def test_alpaca_rows_stay_alpaca_with_their_ids(tmp_path: Path) -> None:
    train, out, rej = tmp_path / "sft.jsonl", tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    rows = [
        {"id": "a1", "instruction": "What is metformin?", "input": "", "output": "A drug."},
        {"instruction": "Explain.", "input": EN_Q, "output": "metformin", "tag": "x"},
        {"instruction": "什么是冠心病？", "output": "一种心脏病。", "history": []},
    ]
    write_jsonl(train, rows)
    args = ["data", "decontaminate", str(train), str(out), "--against", str(_eval_file(tmp_path))]
    result = runner.invoke(app, [*args, "--rejects", str(rej)])
    assert result.exit_code == 0, result.output
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    # alpaca as written (not OpenAI messages); a row without an id: "<file stem>-<line>"
    assert kept == [rows[0], {"id": "sft-3", **rows[2]}]
    (rejected,) = [json.loads(line) for line in rej.read_text().splitlines()]
    assert rejected["row"] == {"id": "sft-2", **rows[1]}
