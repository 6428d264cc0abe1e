"""Folder outputs (data/ray_shards.py): part files in input order whose concatenation is the
single-file output byte for byte, `_SUCCESS` written last, stale parts removed by a rerun."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domaintune.data.dedup import dedup_documents
from domaintune.data.ray_shards import SUCCESS
from domaintune.records import DataError
from domaintune.resources import data_path


def _parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("part-*.jsonl"))


def test_parts_concatenate_to_the_single_file_and_success_comes_last(tmp_path):
    src = data_path("domain_corpus_en.jsonl")
    single = tmp_path / "single.jsonl"
    result = dedup_documents(src, single)
    kept = single.read_bytes()
    assert result.counts.kept == kept.count(b"\n") == 426
    dedup_documents(src, tmp_path / "out", shards=3)
    folder = tmp_path / "out"
    assert _parts(folder) == ["part-00000.jsonl", "part-00001.jsonl", "part-00002.jsonl"]
    assert b"".join((folder / p).read_bytes() for p in _parts(folder)) == kept
    manifest = json.loads((folder / SUCCESS).read_text())
    assert [p["rows"] for p in manifest["parts"]] == [142, 142, 142] and manifest["rows"] == 426
    assert sorted(p.name for p in folder.iterdir()) == [SUCCESS, *_parts(folder)]  # no temp
    # a path ending with "/" is a folder too: one part when no count is given
    dedup_documents(src, f"{tmp_path}/slash/")
    assert _parts(tmp_path / "slash") == ["part-00000.jsonl"]
    assert (tmp_path / "slash" / "part-00000.jsonl").read_bytes() == kept


def test_interrupted_run_leaves_no_success_and_a_rerun_removes_stale_parts(tmp_path):
    src = data_path("domain_corpus_en.jsonl")
    folder = tmp_path / "out"
    broken = tmp_path / "broken.jsonl"
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    broken.write_text("".join(lines[:200]) + "{oops\n" + "".join(lines[200:]), encoding="utf-8")
    with pytest.raises(DataError, match="broken.jsonl:201"):
        dedup_documents(broken, folder, shards=2)
    assert not folder.exists() or list(folder.iterdir()) == []
    dedup_documents(src, folder, shards=4)
    assert len(_parts(folder)) == 4
    dedup_documents(src, folder, shards=2)  # a rerun with fewer parts
    assert _parts(folder) == ["part-00000.jsonl", "part-00001.jsonl"]
    assert [p["file"] for p in json.loads((folder / SUCCESS).read_text())["parts"]] == _parts(
        folder
    )
    with pytest.raises(ValueError, match="shards must be >= 1"):
        dedup_documents(src, folder, shards=0)
