"""Bad exam files fail with file:row, the field and what to do; nothing is skipped."""

from __future__ import annotations

import pytest

from domaintune.eval import mcq
from domaintune.records import DataError

CEVAL_HEADER = "id,question,A,B,C,D,answer\n"


def _error(path, fmt=None) -> str:
    with pytest.raises(DataError) as info:
        mcq.read_questions(path, fmt)
    return str(info.value)


def test_missing_answer_column(tmp_path):
    path = tmp_path / "law_val.csv"
    path.write_text("id,question,A,B,C,D\n0,q,a,b,c,d\n", encoding="utf-8")
    message = _error(path)
    assert message.startswith(f'{path}: the header (line 1) has no "answer" column')
    cmmlu = tmp_path / "anatomy.csv"
    cmmlu.write_text(",Question,A,B,C,D\n0,q,a,b,c,d\n", encoding="utf-8")
    assert _error(cmmlu).startswith(f'{cmmlu}: the header (line 1) has no "answer" column')


def test_empty_answer_cell(tmp_path):
    path = tmp_path / "law_val.csv"
    path.write_text(CEVAL_HEADER + "0,q,a,b,c,d,A\n1,q,a,b,c,d,\n", encoding="utf-8")
    assert _error(path).startswith(f'{path}:row 2: field "answer" is missing or empty')


def test_answer_not_among_options(tmp_path):
    path = tmp_path / "law_val.csv"
    path.write_text(CEVAL_HEADER + "0,q,a,b,c,d,A\n1,q,a,b,c,d,E\n", encoding="utf-8")
    assert _error(path) == (
        f'{path}:row 2: field "answer" is "E" but the choices are A, B, C, D; '
        "use one of those letters"
    )
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"question": "q", "choices": ["a", "b"], "answer": "C"}\n', encoding="utf-8")
    assert _error(jsonl) == (
        f'{jsonl}:1: field "answer" is "C" but the choices are A, B; use one of those letters'
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("law_val.csv", ""),
        ("law_val.csv", CEVAL_HEADER),
        ("anatomy_test.csv", "\n\n"),
        ("x.jsonl", "\n"),
    ],
)
def test_empty_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert _error(path) == f"{path}: no rows: the file is empty; fill it in or leave it out"


def test_empty_option(tmp_path):
    path = tmp_path / "law_val.csv"
    path.write_text(CEVAL_HEADER + "0,q,a,b, ,d,A\n", encoding="utf-8")
    assert _error(path) == f'{path}:row 1: option "C" is empty; every option needs its text'
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"question": "q", "A": "a", "B": "", "answer": "A"}\n', encoding="utf-8")
    assert _error(jsonl).startswith(f'{jsonl}:1: option "B" is empty')


def test_too_few_columns(tmp_path):
    mmlu = tmp_path / "anatomy_test.csv"
    mmlu.write_text("q1,a,b,c,d,A\nq2,a,b,c,B\n", encoding="utf-8")
    assert _error(mmlu) == (
        f"{mmlu}:row 2: row has 5 fields, not 6 (question,A,B,C,D,answer); "
        "quote values that contain commas"
    )
    ceval = tmp_path / "law_val.csv"
    ceval.write_text(CEVAL_HEADER + "0,q,a,b,c,A\n", encoding="utf-8")
    assert _error(ceval).startswith(f"{ceval}:row 1: row has 6 fields, not 7")


def test_jsonl_field_errors(tmp_path):
    path = tmp_path / "x.jsonl"
    rows = [
        '{"question": "q", "A": "a", "B": "b", "answer": "A"}',
        '{"question": "q", "A": "a", "B": "b"}',
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert _error(path).startswith(f'{path}:2: field "answer" is missing or empty')
    path.write_text('{"question": "q", "A": "a", "C": "c", "answer": "A"}\n', encoding="utf-8")
    assert _error(path) == (
        f"{path}:1: options must be lettered A, B, C ... without gaps, 2 to 10 of them; found A, C"
    )
    path.write_text('{"question": " ", "A": "a", "B": "b", "answer": "A"}\n', encoding="utf-8")
    assert _error(path) == f'{path}:1: field "question" is empty; fill it in or drop the row'
    row = '{"question": "q", "A": "a", "B": "b", "answer": "A", "dimension": "maths"}\n'
    path.write_text(row, encoding="utf-8")
    assert _error(path).startswith(f"{path}:1: field \"dimension\" is 'maths'; use one of")
    path.write_text('{"question": "q", "choices": "a|b", "answer": "A"}\n', encoding="utf-8")
    assert _error(path).startswith(f'{path}:1: field "choices" must be a list')
    path.write_text('{"question": "q", "choices": ["a", "b"], "answer": "A"\n', encoding="utf-8")
    assert _error(path).startswith(f"{path}:1: invalid JSON")


def test_format_must_fit_the_file(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"question": "q", "A": "a", "B": "b", "answer": "A"}\n', encoding="utf-8")
    assert (
        _error(path, "ceval")
        == f"{path}: --format ceval reads a .csv file; pass the right --format"
    )
    other = tmp_path / "x.txt"
    other.write_text("q\n", encoding="utf-8")
    assert _error(other).startswith(f"{other}: unsupported file type")
    assert (
        _error(tmp_path / "missing.csv")
        == f"{tmp_path / 'missing.csv'}: no such file; check the path"
    )


def test_gbk_file_names_the_line(tmp_path):
    gbk = "it reads as GBK/GB18030: convert it to UTF-8 (iconv -f GB18030 -t UTF-8)"
    path = tmp_path / "law_val.csv"
    text = CEVAL_HEADER + "0,q,a,b,c,d,A\n1,宪法是什么？,甲,乙,丙,丁,B\n"
    path.write_bytes(text.encode("gbk"))
    assert _error(path) == (
        f"{path}:3: not valid UTF-8 (invalid continuation byte at byte 3 of the line); {gbk}"
    )
    jsonl = tmp_path / "x.jsonl"
    rows = ['{"question": "q", "A": "a", "B": "b", "answer": "A"}', '{"question": "宪法"}']
    jsonl.write_bytes("\n".join(rows).encode("gbk"))
    assert _error(jsonl) == (
        f"{jsonl}:2: not valid UTF-8 (invalid continuation byte at byte 15 of the line); {gbk}"
    )
