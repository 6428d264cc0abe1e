"""`domaintune eval sheet export|import` and Krippendorff's alpha against the textbook example."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.eval.sheet import COLUMNS, krippendorff_alpha
from domaintune.io import write_jsonl

runner = CliRunner()
N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
# 12 units, values 1-5, missing values. Published: nominal .743, ordinal .815, interval .849,
# ratio .797.
TEXTBOOK = {
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    "C": [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
}
UNITS = list(zip(*TEXTBOOK.values(), strict=True))


@pytest.mark.parametrize(
    ("level", "alpha"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_alpha_matches_the_textbook_example(level, alpha):
    assert krippendorff_alpha(UNITS, level) == pytest.approx(alpha, abs=1e-3)


def test_krippendorff_alpha_edge_cases():
    assert krippendorff_alpha([(1, 1), (3, 3), (5, 5)]) == 1.0  # perfect agreement
    assert krippendorff_alpha([(2, 2), (2, 2)]) is None  # no variation: undefined
    assert krippendorff_alpha([(1, N), (N, 4)]) is None  # nothing pairable
    # Two coders, two units {1, 2} each: o = [[0, 2], [2, 0]], n = 4 -> 1 - 3 * 4 / 8.
    assert krippendorff_alpha([(1, 2), (2, 1)], "interval") == pytest.approx(-0.5)


# ---------------------------------------------------------------- export

QUESTIONS = ["q1", "q2", "q3", "q4"]
MODELS = ["m1", "m2", "m3"]


def _answers(tmp_path):
    paths = []
    for m in MODELS:
        rows = [
            {
                "id": q,
                "question": f"{q}：糖尿病患者的空腹血糖目标是多少？",
                "reference": "4.4–7.0 mmol/L",
                "prediction": f"{m} 的回答 {q}" if q != "q4" else f"-{m} 列表式回答",
                "set": "endocrine" if q in ("q1", "q2") else "cardio",
                "dimension": "knowledge",
            }
            for q in QUESTIONS
        ]
        write_jsonl(tmp_path / f"{m}.jsonl", rows)
        paths.append(tmp_path / f"{m}.jsonl")
    return paths


def _export(tmp_path, *extra, seed="0"):
    args = ["eval", "sheet", "export"]
    for p in _answers(tmp_path):
        args += ["--answers", str(p)]
    args += ["--out", str(tmp_path / "sheet.csv"), "--key", str(tmp_path / "key.json")]
    return runner.invoke(app, [*args, "--seed", seed, *extra])


def _read(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_export_is_blinded_shuffled_with_a_key_and_excel_ready(tmp_path):
    result = _export(tmp_path)
    assert result.exit_code == 0, result.output
    raw = (tmp_path / "sheet.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel then reads UTF-8
    assert raw.split(b"\r\n")[0] == b"\xef\xbb\xbf" + ",".join(COLUMNS).encode()
    rows = _read(tmp_path / "sheet.csv")
    key = json.loads((tmp_path / "key.json").read_text(encoding="utf-8"))
    assert len(rows) == 12 and key["models"] == MODELS and key["seed"] == 0
    assert [r["answer_label"] for r in rows] == ["A", "B", "C"] * 4
    orders = []
    for r in rows:
        model = key["items"][r["item"]]["labels"][r["answer_label"]]
        expected = f"{model} 的回答 {r['item']}" if r["item"] != "q4" else f"'-{model} 列表式回答"
        assert r["answer"] == expected  # the key maps each label to the model that wrote it
        assert r["question"].endswith("糖尿病患者的空腹血糖目标是多少？")
        assert all(r[c] == "" for c in ("accuracy", "completeness", "usefulness", "comment"))
        orders.append(model)
    per_item = [tuple(orders[i : i + 3]) for i in range(0, 12, 3)]
    assert all(sorted(o) == MODELS for o in per_item)
    assert len(set(per_item)) > 1  # shuffled per question, not one fixed order
    assert key["items"]["q1"]["set"] == "endocrine"

    again = tmp_path / "again"
    again.mkdir()
    _export(again)
    assert (again / "sheet.csv").read_bytes() == raw  # same seed, same sheet
    other = tmp_path / "other"
    other.mkdir()
    _export(other, seed="1")
    assert (other / "sheet.csv").read_bytes() != raw


def test_export_one_copy_per_reviewer(tmp_path):
    result = _export(tmp_path, "--reviewers", "3")
    assert result.exit_code == 0, result.output
    copies = [tmp_path / f"sheet.r{i}.csv" for i in (1, 2, 3)]
    assert all(p.exists() for p in copies) and not (tmp_path / "sheet.csv").exists()
    assert len({p.read_bytes() for p in copies}) == 1


def test_export_refuses_more_models_than_max(tmp_path):
    result = _export(tmp_path, "--max-models", "2")
    assert result.exit_code == 2
    assert "3 answers files but --max-models is 2" in result.stderr


# ---------------------------------------------------------------- import


def _fill(tmp_path, reviewer, scores):
    """Write reviewer's sheet; scores(item, model) -> (accuracy, completeness, usefulness)."""
    key = json.loads((tmp_path / "key.json").read_text(encoding="utf-8"))
    rows = _read(tmp_path / "sheet.csv")
    for r in rows:
        model = key["items"][r["item"]]["labels"][r["answer_label"]]
        values = scores(r["item"], model)
        for c, v in zip(("accuracy", "completeness", "usefulness"), values, strict=True):
            r[c] = "" if v is None else str(v)
    path = tmp_path / f"{reviewer}.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _textbook_sheets(tmp_path):
    """Accuracy reproduces the textbook matrix (unit = 3 * question + model); completeness is
    4/3/2 per model for everyone; usefulness is 1, 2, 3, 4 by reviewer."""
    assert _export(tmp_path).exit_code == 0
    sheets = []
    for r, (name, column) in enumerate(TEXTBOOK.items()):

        def scores(item, model, column=column, r=r):
            unit = 3 * QUESTIONS.index(item) + MODELS.index(model)
            return column[unit], 4 - MODELS.index(model), r + 1

        sheets.append(_fill(tmp_path, f"reviewer_{name}", scores))
    return sheets


def test_import_means_missing_and_agreement(tmp_path):
    sheets = _textbook_sheets(tmp_path)
    out = tmp_path / "review.json"
    args = ["eval", "sheet", "import", *map(str, sheets), "--key", str(tmp_path / "key.json")]
    result = runner.invoke(app, [*args, "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["kind"] == "review" and doc["group"] == "domain" and doc["model"] == "m1, m2, m3"
    assert doc["reviewers"] == ["reviewer_A", "reviewer_B", "reviewer_C", "reviewer_D"]
    # Hand sums of the textbook columns: m1 = units 1, 4, 7, 10; m2 = 2, 5, 8, 11; m3 = 3, 6, 9, 12.
    m1, m2, m3 = (doc["models"][m] for m in MODELS)
    assert (m1["accuracy"], m1["n_accuracy"]) == (pytest.approx(46 / 14), 14)
    assert (m2["accuracy"], m2["n_accuracy"]) == (pytest.approx(24 / 14), 14)
    assert (m3["accuracy"], m3["n_accuracy"]) == (pytest.approx(33 / 13), 13)
    assert [m["completeness"] for m in (m1, m2, m3)] == [4.0, 3.0, 2.0]
    assert [m["usefulness"] for m in (m1, m2, m3)] == [2.5, 2.5, 2.5]
    assert m1["overall"] == pytest.approx(150 / 46) and m1["n"] == 46
    assert m2["overall"] == pytest.approx(112 / 46) and m3["overall"] == pytest.approx(105 / 45)
    assert doc["metrics"]["m2/completeness"] == 3.0
    assert doc["missing"]["blank_cells"] == 7 and doc["missing"]["missing_rows"] == 0
    assert doc["missing"]["by_reviewer"]["reviewer_A"] == {"blank_cells": 3, "missing_rows": 0}

    acc = doc["agreement"]["accuracy"]
    assert acc["alpha_ordinal"] == pytest.approx(0.815, abs=1e-3)
    assert acc["exact_agreement"] == pytest.approx(100 * 43 / 55)  # 43 of 55 reviewer pairs
    assert (acc["pairs"], acc["units"]) == (55, 11)
    assert doc["agreement"]["completeness"]["alpha_ordinal"] == 1.0
    assert doc["agreement"]["completeness"]["exact_agreement"] == 100.0
    # Every unit holds 1, 2, 3, 4: alpha = 1 - 47 * (12 * 4/3 * S) / (144 * S) = -11/36.
    useful = doc["agreement"]["usefulness"]
    assert useful["alpha_ordinal"] == pytest.approx(-11 / 36)
    assert useful["exact_agreement"] == 0.0
    assert set(doc["by_set"]) == {"cardio", "endocrine"} and doc["by_set"]["cardio"]["n"] == 2
    assert doc["by_set"]["endocrine"]["m1/completeness"] == 4.0
    assert "7 blank score cells and 0 missing rows" in result.stdout
    assert "0.815" in result.stdout  # the agreement table


def test_import_one_reviewer_and_missing_rows(tmp_path):
    assert _export(tmp_path).exit_code == 0
    sheet = _fill(tmp_path, "solo", lambda item, model: (5, 4, None))
    lines = sheet.read_text(encoding="utf-8-sig").splitlines()
    sheet.write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8-sig")  # two rows deleted
    result = runner.invoke(
        app, ["eval", "sheet", "import", str(sheet), "--key", str(tmp_path / "key.json")]
    )
    assert result.exit_code == 0, result.output
    assert "10 blank score cells and 2 missing rows" in result.stdout
    assert "agreement needs 2 or more reviewers" in result.stdout


@pytest.mark.parametrize("bad", ["7", "4.5", "good", "0"])
def test_import_rejects_scores_outside_1_to_5(tmp_path, bad):
    assert _export(tmp_path).exit_code == 0
    sheet = _fill(tmp_path, "r1", lambda item, model: (3, 3, 3))
    rows = _read(sheet)
    rows[1]["accuracy"] = bad
    with open(sheet, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(
        app, ["eval", "sheet", "import", str(sheet), "--key", str(tmp_path / "key.json")]
    )
    assert result.exit_code == 1
    # Excel numbering: the header is row 1, so the second data row is row 3.
    assert (
        result.stderr == f"error: {sheet}:row 3: column accuracy: '{bad}' is not an integer 1-5\n"
    )


def test_import_rejects_unknown_items_and_non_utf8(tmp_path):
    assert _export(tmp_path).exit_code == 0
    sheet = _fill(tmp_path, "r1", lambda item, model: (3, 3, 3))
    text = sheet.read_text(encoding="utf-8-sig").replace("q2,", "q9,", 1)
    sheet.write_text(text, encoding="utf-8-sig")
    key = str(tmp_path / "key.json")
    result = runner.invoke(app, ["eval", "sheet", "import", str(sheet), "--key", key])
    assert result.exit_code == 1
    assert f'{sheet}:row 5: column item/answer_label: item "q9" label "A"' in result.stderr
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(",".join(COLUMNS).encode() + "\r\nq1,问题".encode("gbk"))
    result = runner.invoke(app, ["eval", "sheet", "import", str(gbk), "--key", key])
    assert result.exit_code == 1 and "CSV UTF-8" in result.stderr
