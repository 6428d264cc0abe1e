"""Nothing lost: counts in = kept + rejected (by reason), rejected rows on file, a JSON report.

Every data verb that filters uses these, so their reports read the same way.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from domaintune.io import atomic_write, write_json

T = TypeVar("T")


@dataclass
class Counts:
    """What a filtering stage did with its input rows."""

    read: int = 0
    kept: int = 0
    rejected_by_reason: Counter = field(default_factory=Counter)

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())

    def check(self) -> None:
        """The invariant every report states: read = kept + rejected."""
        if self.read != self.kept + self.rejected:
            raise AssertionError(
                f"count mismatch: read {self.read} != kept {self.kept} + rejected {self.rejected}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "kept": self.kept,
            "rejected": self.rejected,
            "rejected_by_reason": dict(self.rejected_by_reason.most_common()),
        }

    def summary(self, what: str = "rows") -> str:
        reasons = ", ".join(f"{r}: {n}" for r, n in self.rejected_by_reason.most_common())
        return f"{self.read} {what} read, {self.kept} kept, {self.rejected} rejected" + (
            f" ({reasons})" if reasons else ""
        )


class Rejects:
    """Collects rejected rows with their reason (and measured value), written atomically.

    Use as a context manager; with `path=None` only the counts are kept.
    """

    def __init__(self, path: str | Path | None, counts: Counts):
        self.path, self.counts = (Path(path) if path else None), counts
        self._stack = ExitStack()
        self._file: IO[str] | None = None

    def __enter__(self) -> Rejects:
        if self.path is not None:
            self._file = self._stack.enter_context(atomic_write(self.path))
        return self

    def __exit__(self, *exc) -> bool | None:
        return self._stack.__exit__(*exc)

    def add(self, row: dict[str, Any], reason: str, value: Any = None) -> None:
        """Count one rejected row under `reason`; write it when a rejects file was asked for."""
        self.counts.rejected_by_reason[reason] += 1
        if self._file is not None:
            record = {"reason": reason, "value": value, "row": row}
            self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


def write_report(path: str | Path | None, counts: Counts, **extra: Any) -> None:
    """`--report FILE`: the counts (read, kept, rejected, rejected_by_reason) plus `extra`."""
    counts.check()
    if path:
        write_json(path, {**counts.to_dict(), **extra})


def progress(items: Iterable[T], description: str, *, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar on stderr (quiet when not a terminal)."""
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(description, total=total)
        pending = 0
        for item in items:
            yield item
            pending += 1
            if pending == 256:  # advancing per item costs more than the work on short rows
                bar.advance(task, pending)
                pending = 0
        bar.advance(task, pending)
