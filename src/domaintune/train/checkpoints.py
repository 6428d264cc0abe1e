"""Checkpoints that are complete or absent; resume from the newest complete one.

transformers' Trainer writes `checkpoint-N/` file by file (weights, optimizer, scheduler, RNG
states, `trainer_state.json`); a process killed in between leaves a folder that cannot be resumed.
After the Trainer has written a checkpoint (its public `on_save` hook), every process waits for the
others, then rank 0 fsyncs the folder's files and writes `RECORD` last: the step, every file with
its size, and the stage's running totals (sum of the per-step training losses, seconds). A folder
is complete when its record is there and every file it lists has that size.

Rotation (`save_total_limit`) is done here too, after the record and over complete checkpoints
only: the Trainer's own rotation runs before `on_save`, so with a limit of 1 a kill at that moment
would leave no complete checkpoint at all. `training_arguments` therefore gives the Trainer no
limit and this callback applies it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from domaintune.io import atomic_write, fsync_dir

log = logging.getLogger(__name__)

RECORD = "domaintune_checkpoint.json"
_STEP = re.compile(r"^checkpoint-(\d+)$")


def step_of(path: Path) -> int | None:
    """N of a `checkpoint-N` folder name, else None."""
    match = _STEP.match(path.name)
    return int(match.group(1)) if match else None


def read_record(path: Path) -> dict[str, Any] | None:
    """The completeness record of a checkpoint folder, or None when it has none (or a bad one)."""
    try:
        record = json.loads((path / RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def incomplete_reason(path: Path) -> str | None:
    """Why `path` cannot be resumed from; None when the checkpoint is complete."""
    if not (path / RECORD).exists():
        return f"it has no {RECORD} (the process stopped while writing it)"
    record = read_record(path)
    if record is None or not isinstance(record.get("files"), dict):
        return f"its {RECORD} is unreadable"
    if record.get("step") != step_of(path):
        return f"its {RECORD} is for step {record.get('step')}"
    for name, size in record["files"].items():
        f = path / name
        if not f.is_file():
            return f"{name} is missing"
        if f.stat().st_size != size:
            return f"{name} has {f.stat().st_size} bytes where {size} were written"
    return None


def checkpoint_folders(folder: Path) -> list[Path]:
    """The `checkpoint-N` folders in `folder`, oldest step first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and step_of(p) is not None]
    return sorted(found, key=step_of)


def newest_complete(folder: Path, *, remove_incomplete: bool = False) -> Path | None:
    """The newest complete checkpoint in `folder`; incomplete ones are logged (and removed).

    An incomplete folder can only come from a save that was cut off; it is removed so that the
    resumed run, which will save the same step again, does not write into a half-written folder.
    """
    chosen = None
    for path in reversed(checkpoint_folders(folder)):
        reason = incomplete_reason(path)
        if reason is None:
            chosen = chosen or path
            continue
        action = "removed" if remove_incomplete else "skipped"
        log.warning("resume: %s %s: %s", action, path, reason)
        if remove_incomplete:
            shutil.rmtree(path, ignore_errors=True)
    return chosen


def write_record(path: Path, step: int, totals: dict[str, float]) -> None:
    """fsync every file of the checkpoint, then write its record (last) and make it durable."""
    files = {}
    for f in sorted(p for p in path.rglob("*") if p.is_file() and p.name != RECORD):
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        files[f.relative_to(path).as_posix()] = f.stat().st_size
    record = {"step": step, "files": files, "totals": totals, "time": round(time.time(), 3)}
    with atomic_write(path / RECORD) as out:
        json.dump(record, out, indent=1)
    fsync_dir(path.parent)  # the checkpoint folder's own entry


def rotate(folder: Path, limit: int | None, best: str | None) -> list[Path]:
    """Delete the oldest complete checkpoints beyond `limit`; the newest and the best stay."""
    if not limit or limit <= 0:
        return []
    complete = [p for p in checkpoint_folders(folder) if incomplete_reason(p) is None]
    protected = {complete[-1].resolve()} if complete else set()
    if best is not None and Path(best).exists():
        protected.add(Path(best).resolve())
    keep = max(limit, len(protected))
    removed = []
    for path in complete:
        if len(complete) - len(removed) <= keep:
            break
        if path.resolve() not in protected:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class CheckpointRecorder(TrainerCallback):
    """Marks each checkpoint complete once every process has written it; rotates old ones.

    `loss_sum` returns the sum of the per-step training losses of this `train()` call over all
    processes (a collective call: `on_save` runs on every process). `carried` holds the totals of
    the run this one resumes ({"loss_sum", "seconds"}), so a record covers the whole stage.
    """

    def __init__(
        self,
        *,
        save_total_limit: int | None,
        loss_sum: Callable[[], float],
        carried: dict[str, float] | None = None,
    ) -> None:
        self.limit = save_total_limit
        self.loss_sum = loss_sum
        self.carried = {"loss_sum": 0.0, "seconds": 0.0, **(carried or {})}
        self.started = time.time()

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.time()

    def totals(self) -> dict[str, float]:
        """Sum of per-step losses and seconds from the stage's step 0 to now (collective)."""
        return {
            "loss_sum": self.carried["loss_sum"] + self.loss_sum(),
            "seconds": round(self.carried["seconds"] + time.time() - self.started, 3),
        }

    def on_save(self, args, state, control, **kwargs):
        totals = self.totals()
        _barrier()  # every process has written its part (RNG states, optimizer shards)
        if state.is_world_process_zero:
            folder = Path(args.output_dir)
            write_record(folder / f"checkpoint-{state.global_step}", state.global_step, totals)
            for path in rotate(folder, self.limit, state.best_model_checkpoint):
                log.info("deleted %s (save_total_limit=%s)", path, self.limit)


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
