"""One eval record (records.EvalItem) and one reader (io.read_eval_items) behind mcq, gen,
predictions, judge and review sheets, and data decontaminate."""

from __future__ import annotations

import re
from pathlib import Path

from domaintune.data.decontaminate import build_index
from domaintune.eval import mcq
from domaintune.eval.generate import read_gen_items, read_predictions
from domaintune.eval.judge import load_answers
from domaintune.io import read_eval_items, write_jsonl
from domaintune.records import EvalItem

SRC = Path(__file__).resolve().parents[2] / "src" / "domaintune"


def test_every_eval_reader_returns_the_same_item(tmp_path):
    row = {"id": "q1", "question": "Q?", "reference": "R", "prediction": "P", "set": "s"}
    write_jsonl(tmp_path / "answers.jsonl", [{**row, "dimension": "safety", "note": 1}])
    want = EvalItem("q1", "Q?", "R", None, {"note": 1}, "s", "safety", prediction="P")
    assert load_answers(tmp_path / "answers.jsonl").rows == [want]
    assert read_predictions(tmp_path / "answers.jsonl") == [want]
    assert read_gen_items(tmp_path / "answers.jsonl") == [want]  # open rows keep a prediction
    assert list(read_eval_items(tmp_path / "answers.jsonl")) == [want]
    item = load_answers(tmp_path / "answers.jsonl").rows[0]
    assert (item.where, item.line) == (f"{tmp_path / 'answers.jsonl'}:1", 1)


def test_exam_rows_through_the_one_reader(tmp_path):
    path = tmp_path / "law_val.csv"
    path.write_text("id,Question,A,B,C,answer,E\n7,q,x,y,z,b,\n", encoding="utf-8")
    want = EvalItem("7", "q", "B", {"A": "x", "B": "y", "C": "z"}, subject="law")
    assert mcq.read_questions(path) == [want]
    assert [q.where for q in mcq.read_questions(path)] == [f"{path}:row 1"]
    assert list(read_eval_items(path, kind="choice", default_subject=True)) == [want]
    index = build_index([path])  # decontaminate: the question and the options, by item id
    assert index.items == 1 and index.too_short == ["law_val.csv:7"]


def test_no_other_eval_row_type_or_reader():
    eval_dir = SRC / "eval"
    sources = {p.name: p.read_text(encoding="utf-8") for p in sorted(eval_dir.glob("*.py"))}
    # exam_formats.py reads the benchmarks' own layouts (GAOKAO-Bench JSON, CMB, LongBench), which
    # read_eval_items does not; it takes io.iter_rows for the encoding checks and file:line
    rows = [n for n, s in sources.items() if re.search(r"\biter_rows\b|\bRawRow\b", s)]
    assert rows == ["exam_formats.py"]
    assert [
        n for n, s in sources.items() if re.search(r"class (Question|GenItem|AnswerRow)", s)
    ] == []
    readers = sorted(n for n, s in sources.items() if "read_eval_items(" in s)
    assert readers == ["generate.py", "judge.py", "mcq_data.py"]
    assert not (SRC / "data" / "cli_common.py").exists() and (SRC / "cli_common.py").exists()
