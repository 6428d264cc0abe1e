"""Rows as the input wrote them, beside the records parsed from them.

Filtering stages (clean, dedup, decontaminate, select) write kept rows in the input's own
format (an alpaca row stays alpaca, extra fields stay where they were), not `record.to_dict()`.
A row without an id gets the record's id, which io derives from the file and line
(`<stem>-<line>`), so it is stable across runs.
"""

from __future__ import annotations

from typing import Any

from domaintune.io import read_documents_with_rows, read_records_with_rows
from domaintune.records import Conversation, Document

__all__ = ["output_row", "read_documents_with_rows", "read_records_with_rows"]

Row = dict[str, Any]


def output_row(row: Row | None, record: Document | Conversation) -> Row:
    """The row to write for `record`: as read, with the record's id when it had none."""
    if row is None:  # not read from a row (a file no reader takes): the canonical form
        return record.to_dict()
    if row.get("id") in (None, ""):
        return {"id": record.id, **{k: v for k, v in row.items() if k != "id"}}
    return row
