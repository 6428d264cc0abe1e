"""Trainer callbacks: the run's `metrics.jsonl`.

One JSON object per logged step, fields kept stable for `diagnose` and `report`:
  step (int), epoch (float, fractional), lr, loss, grad_norm, tokens_seen (non-padding input tokens
  since the stage began), `padding` (share of padding among the token slots of the batches since
  the previous logged step), `time` (Unix time of the row), `loss_by_source` ({source name: mean
  loss of its trained tokens since the previous logged step}; with several sources or PTX text;
  the PTX source is named `ptx/<name>` and `loss` is then main + coef * ptx), and at evaluation
  steps `eval_loss`: {eval set name: loss}.
  A non-finite value is written as the string "nan", "inf" or "-inf".
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from transformers import TrainerCallback

from domaintune.io import atomic_write

_TRAIN_KEYS = {
    "loss": "loss",
    "grad_norm": "grad_norm",
    "learning_rate": "lr",
    "padding": "padding",
    "loss_by_source": "loss_by_source",
}


def _num(value) -> float | str:
    """A finite float, or "nan"/"inf"/"-inf" as a string (strict JSON has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else str(value)


class MetricsJsonlCallback(TrainerCallback):
    """Merge the Trainer's train and eval logs of one step into one row of metrics.jsonl."""

    # a row's fields, in this order (a subclass adds its own at the end)
    FIELDS: tuple[str, ...] = (
        "step", "epoch", "lr", "loss", "grad_norm", "tokens_seen", "padding", "time",
        "loss_by_source", "eval_loss",
    )  # fmt: skip

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.pending: dict | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        # A resumed stage keeps the rows up to its checkpoint and drops the rows logged after it,
        # which the resumed run will log again.
        if self.path.exists():
            from domaintune.diagnose.curves import read_metrics

            rows = read_metrics(self.path)
            keep = [r for r in rows if r["step"] <= state.global_step]
            with atomic_write(self.path) as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in keep)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {}
        for key, name in _TRAIN_KEYS.items():
            if key in logs:
                value = logs[key]
                row[name] = (
                    {k: _num(v) for k, v in value.items()}
                    if isinstance(value, dict)
                    else _num(value)
                )
        evals = {
            k[len("eval_") : -len("_loss")] or "eval": _num(v)
            for k, v in logs.items()
            if k.startswith("eval_") and k.endswith("_loss")
        }
        if evals:
            row["eval_loss"] = evals
        if not row:
            return  # the end-of-training summary; it goes to the stage manifest instead
        if self.pending is not None and self.pending["step"] != state.global_step:
            self._flush()
        if self.pending is None:
            self.pending = {"step": state.global_step}
        self.pending["epoch"] = round(float(state.epoch or 0.0), 6)
        self.pending["tokens_seen"] = int(state.num_input_tokens_seen)
        self.pending["time"] = round(time.time(), 3)
        if "eval_loss" in row and "eval_loss" in self.pending:
            self.pending["eval_loss"].update(row.pop("eval_loss"))
        self.pending.update(row)

    def on_save(self, args, state, control, **kwargs):
        self._flush()  # a checkpoint's step is complete: its row must be on disk with it

    def on_step_begin(self, args, state, control, **kwargs):
        self._flush()

    def on_train_end(self, args, state, control, **kwargs):
        self._flush()

    def flush(self) -> None:
        """Write the pending row now (the run stopped between logging steps)."""
        self._flush()

    def _flush(self) -> None:
        if self.pending is None:
            return
        row = {k: self.pending[k] for k in self.FIELDS if k in self.pending}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.pending = None
