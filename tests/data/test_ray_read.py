"""Ray's workers read the input in pieces (data/ray_read.py): the rows, line numbers, ids and
errors of every piece, put together, are exactly the local reader's. No Ray needed: the pieces
are read here one after another, as the map tasks read them."""

from __future__ import annotations

import datetime
import gzip
import json
from pathlib import Path

import pytest

from domaintune.data.ray_read import count_lines, number_lines, plan_pieces, read_piece
from domaintune.io import read_documents_with_rows, read_records_with_rows
from domaintune.records import DataError


def _read_in_pieces(path, piece_bytes: int, records: bool = False) -> list:
    pieces = plan_pieces(path, piece_bytes=piece_bytes)
    assert pieces is not None
    pieces = number_lines(pieces, count_lines(pieces))
    return [pair for p in pieces for pair in read_piece(p, records=records)]


def _corpus(tmp_path: Path) -> Path:
    """JSONL with a BOM, blank lines, CRLF, rows without ids, multi-byte text, no final newline."""
    rows = [{"text": f"文档 {i} " + "ü" * (i % 7) + " words " * (i % 5)} for i in range(60)]
    for i in range(0, 60, 3):
        rows[i]["id"] = f"doc-{i}"
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines[10] += "\r"  # CRLF line
    lines.insert(20, "")  # blank lines are skipped but counted
    lines.insert(21, "   ")
    src = tmp_path / "corpus.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8"))
    return src


def test_jsonl_ranges_give_the_local_rows_lines_and_ids(tmp_path):
    src = _corpus(tmp_path)
    local = list(read_documents_with_rows(src))
    assert len(local) == 60 and local[1][1].id == "corpus-2"  # id from the line number
    size = src.stat().st_size
    for piece_bytes in (1, 2, 3, 7, 50, 97, 256, 1000, size - 1, size, size + 5):
        pieces = plan_pieces(src, piece_bytes=piece_bytes)
        assert len(pieces) == -(-size // piece_bytes) and sum(count_lines(pieces)) == 62
        assert _read_in_pieces(src, piece_bytes) == local, piece_bytes


def test_gz_parquet_folders_and_file_uris_read_as_locally(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    src = _corpus(tmp_path)
    (folder / "a.jsonl").write_bytes(src.read_bytes())
    (folder / "sub" / "b.jsonl.gz").write_bytes(gzip.compress(src.read_bytes()))
    table = pa.table({"id": [f"p{i}" for i in range(25)], "text": [f"row {i}" for i in range(25)]})
    pq.write_table(table, folder / "c.parquet", row_group_size=4)  # 7 row groups
    (folder / ".hidden.jsonl").write_text('{"text": "skipped, as locally"}\n')
    local = list(read_documents_with_rows(folder))
    assert len(local) == 145
    pieces = plan_pieces(folder, piece_bytes=300)
    rows_first = [p.first_line for p in pieces if p.kind == "parquet"]
    assert rows_first == [1, 5, 9, 13, 17, 21, 25] and pieces[-1].kind == "gz"  # sub/ sorts last
    for path in (folder, f"file://{folder}", f"file://{folder}/"):
        assert _read_in_pieces(path, 300) == local, path
    assert _read_in_pieces(f"file://{src}", 64) == list(read_documents_with_rows(src))
    assert _read_in_pieces(folder, 300, records=True) == list(read_records_with_rows(folder))


def test_a_bad_row_is_reported_at_its_line_as_locally(tmp_path):
    src = _corpus(tmp_path)
    src.write_bytes(src.read_bytes() + b'\n{"text": "fine"}\n{"text": 5\n')
    with pytest.raises(DataError) as local:
        list(read_documents_with_rows(src))
    with pytest.raises(DataError) as pieces:
        _read_in_pieces(src, 100)
    assert str(pieces.value) == str(local.value) and local.value.line == 64


def test_formats_without_split_points_are_read_by_the_driver(tmp_path):
    (tmp_path / "a.csv").write_text("text\nhello\n")
    (tmp_path / "b.jsonl").write_text('{"text": "x"}\n')
    assert plan_pieces(tmp_path) is None  # a folder with a CSV: the local reader reads it
    assert plan_pieces(tmp_path / "b.jsonl") is not None
    assert plan_pieces(tmp_path / "missing.jsonl") is None  # the local reader's own error
    with pytest.raises(DataError, match="reads .jsonl, .jsonl.gz and .parquet from URIs"):
        plan_pieces(f"file://{tmp_path}")


class _InProcessEngine:
    """An engine that runs the chunks here, as Ray's workers would (the functions Ray runs)."""

    def ordered_map(self, fn, items, *, chunk_size):
        from domaintune.data.parallel import ordered_map

        return ordered_map(fn, items, chunk_size=chunk_size)


def test_rows_encoded_by_workers_are_written_as_locally_even_with_nan(tmp_path):
    """On Ray, dedup's workers encode the output lines; a row whose line does not give it back
    (a NaN is not equal to itself) travels as the row too, so rejects keep the local bytes."""
    from domaintune.data.dedup import _output_lines, dedup_documents
    from domaintune.records import Document

    text = "the same words again and again for a duplicate document here " * 3
    rows = [
        {"id": "a", "text": text, "score": 0.5},
        {"id": "b", "text": text, "score": "NaN"},
        {"id": "c", "text": "something else entirely " * 5},
        {"id": "d", "text": text},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r).replace('"NaN"', "NaN") + "\n" for r in rows))
    for name, engine in (("local", None), ("worker", _InProcessEngine())):
        d = tmp_path / name
        dedup_documents(src, d / "out.jsonl", rejects=d / "rej.jsonl", engine=engine)
    for f in ("out.jsonl", "rej.jsonl"):
        assert (tmp_path / "worker" / f).read_bytes() == (tmp_path / "local" / f).read_bytes()
    rejected = (tmp_path / "local" / "rej.jsonl").read_text().splitlines()
    assert [json.loads(r)["row"]["id"] for r in rejected] == ["b", "d"]
    assert '"score": NaN' in rejected[0]
    encoded = _output_lines([(r, Document(id=r["id"], text=r["text"])) for r in rows[:1]])
    assert encoded == [json.dumps(rows[0]) + "\n"]  # a plain row: its line only
    nan_row = {"id": "b", "score": float("nan")}
    (only,) = _output_lines([(nan_row, Document(id="b", text=""))])
    assert only[0] == '{"id": "b", "score": NaN}\n' and only[1] is nan_row
    # a value JSON cannot hold (a Parquet date): the row alone; dedup raises for it as locally
    # when it is kept and writes it to the rejects (default=str) as locally when it is not
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    date_row = {"id": "e", "text": text, "day": datetime.date(2026, 12, 3)}
    assert _output_lines([(date_row, Document(id="e", text=text))]) == [(None, date_row)]
    dated = tmp_path / "dated.parquet"
    pq.write_table(pa.Table.from_pylist([{**rows[0], "day": None}, date_row]), dated)
    for name, engine in (("local", None), ("worker", _InProcessEngine())):
        d = tmp_path / f"dated-{name}"
        dedup_documents(dated, d / "out.jsonl", rejects=d / "rej.jsonl", engine=engine)
        assert '"day": "2026-12-03"' in (d / "rej.jsonl").read_text()
    for f in ("out.jsonl", "rej.jsonl"):
        assert (tmp_path / "dated-worker" / f).read_bytes() == (
            tmp_path / "dated-local" / f
        ).read_bytes()
