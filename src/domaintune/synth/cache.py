"""The teacher's request cache: one sqlite row per answered request, kept across runs.

A reply is committed (sqlite WAL) before its row is used, so a run killed at any moment repeats
only the requests that were in flight, never one whose reply had arrived and been stored.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

_SCHEMA = """CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY, content TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, finish_reason TEXT, model TEXT NOT NULL)"""


def request_key(model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    """sha256 of (model, messages, sampling parameters); the endpoint and key are not part of it."""
    blob = json.dumps(
        {"model": model, "messages": messages, "params": params},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class RequestCache:
    """sqlite file of replies by request key.

    `durable=True` fsyncs every commit (survives power loss); the default (WAL, synchronous=NORMAL)
    survives a killed process, which is what a resumed run needs, at a fraction of the cost.
    """

    def __init__(self, path: str | Path, *, durable: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._db.execute(_SCHEMA)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored reply for `key` (content, prompt_tokens, completion_tokens, ...) or None."""
        row = self._db.execute(
            "SELECT content, prompt_tokens, completion_tokens, finish_reason, model "
            "FROM replies WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        names = ("content", "prompt_tokens", "completion_tokens", "finish_reason", "model")
        return dict(zip(names, row, strict=True))

    def put(self, key: str, reply: dict[str, Any]) -> None:
        """Store one reply; committed before this returns."""
        self._db.execute(
            "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?)",
            (
                key,
                reply["content"],
                int(reply.get("prompt_tokens", 0)),
                int(reply.get("completion_tokens", 0)),
                reply.get("finish_reason"),
                reply.get("model", ""),
            ),
        )

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        """Close the database (the file stays)."""
        self._db.close()
