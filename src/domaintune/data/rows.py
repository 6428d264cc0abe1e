"""Rows as the input wrote them, beside the records parsed from them.

Filtering stages (clean, dedup, decontaminate, select) write kept rows in the input's own
format (an alpaca row stays alpaca, extra fields stay where they were), not `record.to_dict()`.
A row without an id gets the record's id, which io derives from the file and line
(`<stem>-<line>`), so it is stable across runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from domaintune.io import PathLike, iter_raw_rows, unsupported_document
from domaintune.records import Conversation, Document, parse_document

__all__ = ["output_row", "read_documents_with_rows", "read_records_with_rows"]

Row = dict[str, Any]


def output_row(row: Row | None, record: Document | Conversation) -> Row:
    """The row to write for `record`: as read, with the record's id when it had none."""
    if row is None:  # not read from a row (a file no reader takes): the canonical form
        return record.to_dict()
    if row.get("id") in (None, ""):
        return {"id": record.id, **{k: v for k, v in row.items() if k != "id"}}
    return row


def read_documents_with_rows(
    path: PathLike | Iterable[PathLike],
) -> Iterator[tuple[Row | None, Document]]:
    """(row as read, Document) in io.read_documents' order; a file in a folder that no reader
    takes gives (None, an empty Document whose meta holds `unsupported_file`)."""
    for raw in iter_raw_rows(path):
        if isinstance(raw, Path):
            yield None, unsupported_document(raw)
        else:
            yield raw.data, parse_document(raw)


def read_records_with_rows(
    path: PathLike | Iterable[PathLike],
) -> Iterator[tuple[Row, Document | Conversation]]:
    """(row as read, record) in io.read_records' order, with its checks."""
    from domaintune.io import read_records

    # read_records raises on unsupported files and mixed row types; pair its records with the
    # rows they came from by reading both in step (one pass over each file).
    rows = (raw for raw in iter_raw_rows(path) if not isinstance(raw, Path))
    for record, raw in zip(read_records(path), rows, strict=False):
        yield raw.data, record
