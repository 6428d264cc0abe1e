"""Sharded output: `OUT/` (or `--shards N`) writes `part-00000.jsonl`, `part-00001.jsonl` ... and
`_SUCCESS` last.

The parts hold the rows in input order, so `cat OUT/part-*.jsonl` is byte for byte the single file
the same run would write. The rows go first to one file in the folder (written atomically, as a
single output is), which is then cut into N parts of equal row counts (N = `shards`, or one part
per `PART_BYTES`). Only when every part is in place is `_SUCCESS` written, a JSON manifest of the
parts and their rows: readers (Spark, Ray Data, datasets) take a folder with `_SUCCESS` as
complete. A run that fails before the swap leaves the previous output as it was (temp files
removed); the swap removes `_SUCCESS` first and parts a rerun no longer writes (stale parts).
Used by both engines: the output is the same whichever engine ran.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["PART_BYTES", "SUCCESS", "is_sharded", "open_output", "output_file", "split_into_parts"]

SUCCESS = "_SUCCESS"
PART_BYTES = 256 * 2**20  # one part per this many output bytes when no shard count is given
_WHOLE = ".rows.jsonl"  # the rows in one file before the cut (hidden: readers skip it)


def is_sharded(out: Any, shards: int | None = None) -> bool:
    """A folder output: `shards` given, a path ending with `/`, or an existing folder."""
    return shards is not None or str(out).endswith(("/", os.sep)) or Path(out).is_dir()


def part_name(index: int) -> str:
    return f"part-{index:05d}.jsonl"


@contextlib.contextmanager
def output_file(out: Any, shards: int | None = None) -> Iterator[Path]:
    """The file to write the rows to: `out` itself, or, for a folder output, one file that is
    cut into parts after the block (nothing is cut when the block raises)."""
    if shards is not None and shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    if not is_sharded(out, shards):
        yield Path(out)
        return
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    whole = folder / _WHOLE
    try:
        yield whole
        split_into_parts(whole, folder, shards)
    finally:
        whole.unlink(missing_ok=True)


@contextlib.contextmanager
def open_output(out: Any, shards: int | None = None) -> Iterator[IO[str]]:
    """`out` opened for the verbs' jsonl rows (`io.atomic_write`): the file, or a folder's parts."""
    from domaintune.io import atomic_write

    with output_file(out, shards) as target, atomic_write(target) as f:
        yield f


def split_into_parts(whole: Path, folder: Path, shards: int | None = None) -> dict[str, Any]:
    """Cut `whole` (jsonl) into parts of equal row counts in `folder`; `_SUCCESS` written last."""
    from domaintune.io import fsync_dir, write_json

    with whole.open("rb") as f:
        rows = sum(1 for _ in f)
    count = shards or max(1, -(-whole.stat().st_size // PART_BYTES))
    if count == 1:  # the one part is the file itself, already written atomically: no copy
        os.replace(whole, folder / f".{part_name(0)}.new")
        written = [(part_name(0), rows)]
    else:
        written = _copy_parts(whole, folder, count, -(-rows // count) if rows else 0)
    (folder / SUCCESS).unlink(missing_ok=True)  # from here on the folder is not complete
    new = {name for name, _ in written}
    for stale in folder.glob("part-*.jsonl"):
        if stale.name not in new:
            stale.unlink()
    for name, _ in written:
        os.replace(folder / f".{name}.new", folder / name)
    fsync_dir(folder)
    manifest = {"parts": [{"file": n, "rows": r} for n, r in written], "rows": rows}
    write_json(folder / SUCCESS, manifest)
    return manifest


def _copy_parts(whole: Path, folder: Path, count: int, per_part: int) -> list[tuple[str, int]]:
    """`whole`'s rows copied into `count` parts of `per_part` rows (`.part-N.jsonl.new`)."""
    from domaintune.io import atomic_write

    written: list[tuple[str, int]] = []
    with whole.open("rb") as src:
        for index in range(count):
            name = part_name(index)
            with atomic_write(folder / f".{name}.new", "wb") as dst:
                n = 0
                while n < per_part and (line := src.readline()):
                    dst.write(line)
                    n += 1
            written.append((name, n))
    return written
