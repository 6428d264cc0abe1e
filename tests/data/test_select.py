"""Selection: even sampling over k-means clusters and categories; the category report."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.data.select import (
    category_report,
    classify,
    kmeans,
    round_robin,
    select_file,
    tfidf_embed,
)
from domaintune.io import write_jsonl

GROUPS = {
    "zh_translate": [f"请把这句话翻译成英文：今天第{i}次去医院复查血压。" for i in range(8)],
    "en_math": [f"What is {i} plus {i + 7} multiplied by three, divided by two?" for i in range(8)],
    "en_recipe": [f"Give me a recipe for tomato soup with basil number {i}." for i in range(8)],
}  # fmt: skip


def _rows():
    rows = []
    for name, prompts in GROUPS.items():
        for i, p in enumerate(prompts):
            rows.append({"id": f"{name}-{i}", "instruction": p, "output": "ok", "group": name})
    return rows


def test_tfidf_embedding_is_normalised_and_groups_are_separable():
    x = tfidf_embed([r["instruction"] for r in _rows()])
    assert x.shape == (24, 1024) and np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    sims = x @ x.T
    assert sims[0, 1] > 0.5 and sims[0, 8] < 0.1  # same group vs different group


def test_kmeans_recovers_obvious_clusters_and_is_seeded():
    x = tfidf_embed([r["instruction"] for r in _rows()])
    labels, centers = kmeans(x, 3, seed=0)
    assert centers.shape == (3, 1024)
    for start in (0, 8, 16):
        assert len(set(labels[start : start + 8].tolist())) == 1
    assert len(set(labels.tolist())) == 3
    assert np.array_equal(labels, kmeans(x, 3, seed=0)[0])


def test_round_robin_takes_one_per_group_in_turn():
    assert round_robin([[1, 2, 3], [4], [5, 6]], 5) == [1, 4, 5, 2, 6]
    assert round_robin([[1], [2]], 10) == [1, 2]


def test_select_by_cluster_samples_evenly(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, _rows())
    result = select_file(
        src, out, n=6, k=3, seed=1, report=tmp_path / "r.json", rejects=tmp_path / "rej.jsonl"
    )
    chosen = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert (
        sorted(r["group"] for r in chosen)
        == ["en_math"] * 2 + ["en_recipe"] * 2 + ["zh_translate"] * 2
    )
    assert all(set(r) == {"id", "instruction", "output", "group"} for r in chosen)  # unchanged
    assert [(c["size"], c["selected"]) for c in result["clusters"]] == [(8, 2)] * 3
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["read"], report["kept"], report["rejected"]) == (24, 6, 18)
    assert report["rejected_by_reason"] == {"not_selected": 18}
    rejected = [json.loads(x) for x in (tmp_path / "rej.jsonl").read_text().splitlines()]
    assert len(rejected) == 18 and {r["reason"] for r in rejected} == {"not_selected"}
    assert {r["row"]["id"] for r in rejected} | {r["id"] for r in chosen} == {
        r["id"] for r in _rows()
    }  # every row is either selected or on the rejects file
    assert Counter(r["value"]["cluster"] for r in rejected) == Counter({0: 6, 1: 6, 2: 6})


def test_select_by_category_uses_given_field_first(tmp_path):
    rows = _rows()
    rows[0]["category"] = "writing"  # the field beats the heuristic
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, rows)
    result = select_file(src, out, n=4, by="category", seed=0)
    per = {g["group"]: (g["size"], g["selected"]) for g in result["per_category"]}
    assert per == {"translation": (7, 1), "writing": (1, 1), "math": (8, 1), "other": (8, 1)}


def test_classify_zh_and_en_keywords():
    assert classify("请把下面这段话翻译成英文") == "translation"
    assert classify("Summarize this article in two sentences.") == "summarisation"
    assert classify("请总结以下病历摘要") == "summarisation"
    assert classify("Write a Python function that reverses a list") == "code"
    assert classify("什么是高血压？") == "qa"
    assert classify("Give me a recipe for soup.") == "other"


def test_category_report_numbers():
    cats = ["qa"] * 50 + ["math"] * 30 + ["translation"] * 16 + ["code"] * 4
    report = category_report(cats)
    assert report["total"] == 100
    assert report["categories"]["qa"] == {"count": 50, "share": 0.5}
    assert report["categories"]["code"] == {"count": 4, "share": 0.04}
    # even share is 10 rows; thin is under 5
    assert report["thin"] == ["code"]
    assert report["missing"] == [
        "writing",
        "reasoning",
        "extraction",
        "classification",
        "summarisation",
    ]


def test_cli_categories_json_and_errors(tmp_path):
    src = tmp_path / "in.jsonl"
    write_jsonl(src, _rows())
    runner = CliRunner()
    res = runner.invoke(app, ["data", "categories", str(src), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["categories"]["math"]["count"] == 8
    bad = runner.invoke(app, ["data", "select", str(src), str(tmp_path / "o.jsonl"), "--n", "0"])
    assert bad.exit_code == 2 and "--n must be at least 1" in bad.output


def test_embedder_without_package_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    src = tmp_path / "in.jsonl"
    write_jsonl(src, _rows())
    with pytest.raises(ValueError, match="pip install sentence-transformers"):
        select_file(src, tmp_path / "o.jsonl", n=3, embedder=tmp_path / "model")


def test_selected_rows_as_read_with_stable_ids(tmp_path):
    # sharegpt rows stay sharegpt; a row without an id gets "<file stem>-<line>"
    rows = [
        {"conversations": [{"from": "human", "value": p}, {"from": "gpt", "value": "ok"}]}
        for p in GROUPS["en_math"][:3]
    ]
    rows[1]["id"] = "keep-me"
    src, out = tmp_path / "chat.jsonl", tmp_path / "out.jsonl"
    write_jsonl(src, rows)
    select_file(src, out, n=3, k=1, seed=0)
    chosen = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert chosen == [{"id": "chat-1", **rows[0]}, rows[1], {"id": "chat-3", **rows[2]}]
