"""Ray reads the input in its workers: JSONL in byte ranges, JSONL.gz per file, Parquet per row
group; local paths or URIs that pyarrow opens (s3://, gs://, hdfs://, file://).

The driver lists the files and plans pieces without reading data: a JSONL file is cut every
`piece_bytes` bytes, and a piece owns the lines that start inside its range (a worker reads past
its end to finish its last line and skips the partial line it starts in), so no line is read
twice or lost. Row numbers are what the local reader gives (they name rows in errors and make the
ids of rows without one, `<stem>-<line>`): a first cheap map counts each range's lines, the
driver adds them up, and the parsing map starts each range at its first line number. Parquet row
numbers come from the footer's row-group row counts. Workers parse with the local reader's
functions (`io.decode_jsonl_line`, `parse_jsonl_line`, `require_object`, `records.parse_*`), so
every row, id and error message equals the local engine's.

Inputs with CSV, JSON arrays, text or HTML files are read by the driver, as the local engine
reads them (one document per whole file, or formats without cheap split points).
"""

from __future__ import annotations

import codecs
import functools
import gzip
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

__all__ = ["PIECE_BYTES", "WORKER_SUFFIXES", "Piece", "map_rows", "plan_pieces", "read_piece"]

PIECE_BYTES = 8 * 2**20  # a JSONL range per map task: ~2-4 s of hashing here
WORKER_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")
_TAIL_BLOCK = 1 << 16  # bytes read at a time past a range's end to finish its last line


@dataclass(frozen=True)
class Piece:
    """What one map task reads: a byte range of a JSONL file, a .gz file, Parquet row groups."""

    path: str  # as errors and ids name it: the local path or the URI given
    kind: str  # "jsonl", "gz" or "parquet"
    start: int  # byte offset (jsonl) or first row group (parquet)
    end: int  # byte offset (jsonl, exclusive) or last row group + 1 (parquet)
    first_line: int = 1  # line (parquet: row) number of the piece's first row


def is_uri(path: Any) -> bool:
    return "://" in str(path)


def _filesystem(path: str) -> tuple[Any, str]:
    from pyarrow import fs

    if is_uri(path):
        return fs.FileSystem.from_uri(path)
    return fs.LocalFileSystem(), os.path.abspath(path)


def _open(path: str, *, stream: bool = False) -> Any:
    if not is_uri(path):
        return open(path, "rb")  # noqa: SIM115 (the caller closes it)
    filesystem, inner = _filesystem(path)
    if stream:  # the bytes as stored: gzip is opened by the reader, as locally
        return filesystem.open_input_stream(inner, compression=None)
    return filesystem.open_input_file(inner)


def _name(path: str) -> str:
    """A file's name, without a URI's query (s3://b/k.jsonl?endpoint_override=...)."""
    return Path(path.partition("?")[0] if is_uri(path) else path).name


def _suffix(path: str) -> str:
    name = _name(path).lower()
    return next((s for s in WORKER_SUFFIXES if name.endswith(s)), "")


# ---------------------------------------------------------------- planning (driver)


def _listing(top: str) -> list[tuple[str, int]] | None:
    """(file, size) of one input path in the local reader's order; None: the driver reads it."""
    from pyarrow import fs

    if not is_uri(top):
        from domaintune.io import data_files  # the local reader's listing and order

        if not Path(top).exists():
            return None  # the local reader's own error
        files = [str(f) for f, _ in data_files(top)]
        return [(f, os.path.getsize(f)) for f in files]
    filesystem, inner = _filesystem(top)
    info = filesystem.get_file_info(inner)
    if info.type == fs.FileType.File:
        return [(top, info.size)]
    if info.type != fs.FileType.Directory:
        from domaintune.records import DataError

        raise DataError(top, None, "no such file or directory; check the URI")
    base, mark, query = top.partition("?")  # options such as endpoint_override go on each file
    query = mark + query
    found = []
    for entry in filesystem.get_file_info(fs.FileSelector(inner, recursive=True)):
        rel = entry.path[len(inner.rstrip("/")) + 1 :]
        if entry.type == fs.FileType.File and not any(p.startswith(".") for p in rel.split("/")):
            found.append((rel.split("/"), f"{base.rstrip('/')}/{rel}{query}", entry.size))
    return [(uri, size) for _, uri, size in sorted(found)]


def plan_pieces(
    paths: str | os.PathLike | Iterable[str | os.PathLike], *, piece_bytes: int = PIECE_BYTES
) -> list[Piece] | None:
    """The pieces the workers read, in input order; None when a file needs the driver's reader.

    First line numbers of JSONL ranges after a file's first are not known yet (`count_lines`)."""
    tops = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    pieces: list[Piece] = []
    for top in map(str, tops):
        listing = _listing(top)
        if listing is None:
            return None
        for path, size in listing:
            kind = _suffix(path)
            if not kind:
                if is_uri(path):
                    from domaintune.records import DataError

                    hint = "--engine ray reads .jsonl, .jsonl.gz and .parquet from URIs"
                    raise DataError(path, None, f"{hint}; convert it or copy it locally")
                return None
            new = _file_pieces(path, kind, size, piece_bytes)
            if new is None:
                return None
            pieces.extend(new)
    return pieces


def _file_pieces(path: str, kind: str, size: int, piece_bytes: int) -> list[Piece] | None:
    if kind == ".jsonl.gz":
        return [Piece(path, "gz", 0, size)]
    if kind == ".jsonl":
        cuts = list(range(0, size, max(1, piece_bytes))) or [0]
        ends = [*cuts[1:], size]
        return [Piece(path, "jsonl", s, e) for s, e in zip(cuts, ends, strict=True)]
    try:  # parquet: the footer only
        import pyarrow.parquet as pq

        with _open(path) as f:
            meta = pq.ParquetFile(f).metadata
    except Exception:  # noqa: BLE001 (the local reader reports an unreadable file)
        return None
    pieces, row = [], 1
    for group in range(meta.num_row_groups):
        rows = meta.row_group(group).num_rows
        pieces.append(Piece(path, "parquet", group, group + 1, first_line=row))
        row += rows
    return pieces or [Piece(path, "parquet", 0, 0)]


def number_lines(pieces: list[Piece], counts: list[int]) -> list[Piece]:
    """Pieces with first line numbers, from the line count of every JSONL range."""
    out, line, current = [], 1, None
    for piece, count in zip(pieces, counts, strict=True):
        if piece.kind != "jsonl":
            out.append(piece)
            continue
        if piece.path != current:
            current, line = piece.path, 1
        out.append(replace(piece, first_line=line))
        line += count
    return out


# ---------------------------------------------------------------- reading (workers)


def _range_bytes(piece: Piece) -> bytes:
    """The lines that start in [start, end): from the first line start, past `end` to a newline."""
    begin = max(piece.start - 1, 0)
    with _open(piece.path) as f:
        f.seek(begin)
        data = f.read(piece.end - begin)
        tail = []
        while data and not (tail[-1] if tail else data).endswith(b"\n"):
            block = f.read(_TAIL_BLOCK)
            if not block:
                break
            cut = block.find(b"\n")
            tail.append(block if cut < 0 else block[: cut + 1])
            if cut >= 0:
                break
    data += b"".join(tail)
    if piece.start > 0:  # skip the end of a line that started before this range
        cut = data.find(b"\n")
        data = data[cut + 1 :] if cut >= 0 else b""
    return data


def _split_lines(data: bytes) -> Iterator[bytes]:
    """Lines with their newline, as iterating over a binary file gives them."""
    pos = 0
    while pos < len(data):
        cut = data.find(b"\n", pos)
        end = len(data) if cut < 0 else cut + 1
        yield data[pos:end]
        pos = end


def count_lines(pieces: list[Piece]) -> list[int]:
    """Lines per JSONL range (the cheap first map); 0 for other pieces."""
    return [_line_count(_range_bytes(p)) if p.kind == "jsonl" else 0 for p in pieces]


def _line_count(data: bytes) -> int:
    """len(list(_split_lines(data))), without making the lines (a third of the time)."""
    return data.count(b"\n") + (not data.endswith(b"\n") if data else 0)


def _raw_lines(piece: Piece) -> Iterator[tuple[int, bytes]]:
    if piece.kind == "gz":
        with _open(piece.path, stream=True) as f, gzip.GzipFile(fileobj=f) as g:
            yield from _bom_free(enumerate(g, 1), piece.start)
        return
    lines = enumerate(_split_lines(_range_bytes(piece)), piece.first_line)
    yield from _bom_free(lines, piece.start)


def _bom_free(lines: Iterator[tuple[int, bytes]], start: int) -> Iterator[tuple[int, bytes]]:
    for lineno, raw in lines:
        if lineno == 1 and start == 0 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[3:]
        yield lineno, raw


def _piece_rows(piece: Piece) -> Iterator[tuple[int, Any]]:
    """(line or row number, row) as `io.iter_rows` gives them for this piece's rows."""
    from domaintune.io import decode_jsonl_line, parse_jsonl_line, require_object

    if piece.kind == "parquet":
        import pyarrow.parquet as pq

        with _open(piece.path) as f:
            table = pq.ParquetFile(f)
            row = piece.first_line
            for group in range(piece.start, piece.end):
                for data in table.read_row_group(group).to_pylist():
                    yield row, data
                    row += 1
        return
    for lineno, raw in _raw_lines(piece):
        text = decode_jsonl_line(piece.path, lineno, raw)
        if text.strip():
            row = parse_jsonl_line(piece.path, lineno, text)
            yield lineno, require_object(piece.path, lineno, row)


def read_piece(piece: Piece, *, records: bool = False) -> Iterator[tuple[dict[str, Any], Any]]:
    """(row, Document) - or (row, Document | Conversation) with `records` - per row."""
    from domaintune.io import file_stem
    from domaintune.records import RawRow, parse_document, parse_record

    stem = file_stem(_name(piece.path))
    for line, data in _piece_rows(piece):
        raw = RawRow(data, piece.path, line, stem=stem, row_indexed=piece.kind == "parquet")
        yield data, parse_record(raw) if records else parse_document(raw)


def run_pieces(
    pieces: list[Piece],
    *,
    fn: Callable[[list[Any]], list[Any]],
    pairs: bool,
    records: bool,
    chunk_size: int,
) -> list[Any]:
    """The map task: read pieces and apply `fn` to chunks of (row, record) pairs or records.

    A bad row ends the list as a `BadRow`: the driver raises it when it gets there, so the first
    bad row in input order is the one reported (as locally), not Ray's wrapped traceback."""
    from domaintune.data.parallel import chunks
    from domaintune.records import DataError

    out: list[Any] = []
    try:
        for piece in pieces:
            rows = read_piece(piece, records=records)
            for chunk in chunks(rows, chunk_size):
                out.extend(fn(chunk if pairs else [record for _, record in chunk]))
    except DataError as err:
        out.append(BadRow(err))
    return out


@dataclass(frozen=True)
class BadRow:
    """A DataError a map task met, carried back to the driver in input order."""

    error: Exception


def _raising(results: Iterable[Any]) -> Iterator[Any]:
    for item in results:
        if isinstance(item, BadRow):
            raise item.error
        yield item


# ---------------------------------------------------------------- the verbs' entry point


def map_rows(
    fn: Callable[[list[Any]], list[Any]],
    path: Any,
    *,
    pairs: bool = False,
    records: bool = False,
    num_proc: int = 1,
    chunk_size: int = 256,
    engine: Any = None,
    read: Callable[..., Iterable[tuple[Any, Any]]] | None = None,
) -> Iterator[Any]:
    """`fn` over chunks of `path`'s records (with `pairs`, of (row, record) pairs), results in
    input order. An engine that reads in its workers (Ray) does; otherwise this process reads
    with the local readers (or `read`) and `ordered_map` spreads the chunks (processes, Ray)."""
    from domaintune.data.parallel import ordered_map

    reader = getattr(engine, "map_pieces", None)
    results = None
    if reader is not None:
        task = functools.partial(run_pieces, fn=fn, pairs=pairs, records=records,
                                 chunk_size=chunk_size)  # fmt: skip
        results = reader(task, path)
    if results is not None:
        yield from _raising(results)
        return
    from domaintune.io import read_documents_with_rows, read_records_with_rows

    if read is not None:
        rows = read(path)
    elif records:
        rows = read_records_with_rows(path)
    else:
        rows = read_documents_with_rows(path)
    items = rows if pairs else (record for _, record in rows)
    yield from ordered_map(fn, items, num_proc=num_proc, chunk_size=chunk_size, engine=engine)
