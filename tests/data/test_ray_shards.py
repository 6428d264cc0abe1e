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
    assert sorted(p.name for p in (tmp_path / "slash").iterdir()) == [SUCCESS, "part-00000.jsonl"]


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


def test_cli_writes_folder_outputs_and_refuses_a_uri_without_ray(tmp_path):
    """The command line: `--shards N` or `OUT/` make a folder of parts (typer would strip the "/"
    of a Path argument); a URI input needs --engine ray; a file output still needs .jsonl."""
    from typer.testing import CliRunner

    from domaintune.cli import app

    src, runner = str(data_path("domain_corpus_en.jsonl")), CliRunner()
    single = tmp_path / "single.jsonl"
    assert runner.invoke(app, ["data", "dedup", src, str(single)]).exit_code == 0
    res = runner.invoke(app, ["data", "dedup", src, str(tmp_path / "d"), "--shards", "2"])
    assert res.exit_code == 0, res.output
    assert _parts(tmp_path / "d") == ["part-00000.jsonl", "part-00001.jsonl"]
    assert b"".join((tmp_path / "d" / p).read_bytes() for p in _parts(tmp_path / "d")) == (
        single.read_bytes()
    )
    res = runner.invoke(app, ["data", "clean", src, f"{tmp_path}/c/"])
    assert res.exit_code == 0 and _parts(tmp_path / "c") == ["part-00000.jsonl"]
    assert (tmp_path / "c" / SUCCESS).exists()
    res = runner.invoke(app, ["data", "dedup", "s3://bucket/docs.jsonl", str(single)])
    assert res.exit_code == 2
    assert "s3://bucket/docs.jsonl: a URI input is read by Ray's workers: add --engine ray" in (
        res.output
    )
    res = runner.invoke(app, ["data", "decontaminate", src, str(tmp_path / "o.txt"),
                              "--against", src])  # fmt: skip
    assert res.exit_code == 2 and "give it a .jsonl name" in res.output
