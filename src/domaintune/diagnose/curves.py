"""A training stage's curves, read from metrics.jsonl (our fields; see train/callbacks.py)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domaintune.records import DataError


def _num(value) -> float | None:
    """A logged number; the strings "nan", "inf", "-inf" become floats; absent stays None."""
    if value is None:
        return None
    return float(value)


@dataclass
class Curves:
    """Train points (one per logged step) and eval points per eval set."""

    steps: list[int] = field(default_factory=list)
    epoch: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float | None] = field(default_factory=list)
    grad_norm: list[float | None] = field(default_factory=list)
    padding: list[float | None] = field(default_factory=list)
    tokens: list[int | None] = field(default_factory=list)
    time: list[float | None] = field(default_factory=list)
    evals: dict[str, list[tuple[int, float, float]]] = field(
        default_factory=dict
    )  # step, epoch, loss
    by_source: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # step, loss
    # preference stages (dpo/kto): step, {reward_chosen, margin, accuracy, logp_chosen, ...}
    pref: list[tuple[int, dict[str, float]]] = field(default_factory=list)

    @property
    def finite(self) -> list[int]:
        """Indices of train points with a finite loss."""
        return [i for i, v in enumerate(self.loss) if math.isfinite(v)]


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a metrics.jsonl (train/callbacks.py writes them): the one parser of the file.

    Each row must be a JSON object with an integer "step"; a bad line is an error naming file and
    line. A last line without its newline that does not parse is an interrupted write (a killed
    run) and is left out.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    rows = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if lineno == len(lines) and not text.endswith("\n"):
                break  # torn by a kill during the write; the resumed run logs it again
            row = None
        try:
            row["step"] = int(row["step"])  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            raise DataError(
                path,
                lineno,
                "not a metrics row: needs a JSON object with an integer "
                '"step" (see the metrics.jsonl fields in the README)',
            ) from None
        rows.append(row)
    return rows


def read_curves(path: str | Path) -> Curves:
    """A stage's curves from its metrics.jsonl (`read_metrics`)."""
    c = Curves()
    for row in read_metrics(path):
        step = row["step"]
        epoch = float(row.get("epoch") or 0.0)
        for name, value in (row.get("eval_loss") or {}).items():
            c.evals.setdefault(name, []).append((step, epoch, float(value)))
        if "loss" not in row:
            continue
        c.steps.append(step)
        c.epoch.append(epoch)
        c.loss.append(float(row["loss"]))
        c.lr.append(_num(row.get("lr")))
        c.grad_norm.append(_num(row.get("grad_norm")))
        c.padding.append(_num(row.get("padding")))
        c.tokens.append(row.get("tokens_seen"))
        c.time.append(_num(row.get("time")))
        for name, value in (row.get("loss_by_source") or {}).items():
            c.by_source.setdefault(name, []).append((step, float(value)))
        if row.get("pref"):
            c.pref.append((step, {k: float(v) for k, v in row["pref"].items()}))
    return c


def robust_line(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Theil-Sen line and MAD noise: (intercept, slope, noise), unmoved by a single outlier."""
    slopes = [
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(len(xs))
        for j in range(i + 1, len(xs))
        if xs[j] != xs[i]
    ]
    slope = median(slopes) if slopes else 0.0
    intercept = median([y - slope * x for x, y in zip(xs, ys, strict=True)])
    resid = [abs(y - (intercept + slope * x)) for x, y in zip(xs, ys, strict=True)]
    return intercept, slope, 1.4826 * median(resid)  # MAD -> standard deviation (normal noise)


def warmup_end(c: Curves) -> int | None:
    """The step where the learning rate stops rising (None when it never rose)."""
    lrs = [(s, lr) for s, lr in zip(c.steps, c.lr, strict=True) if lr is not None]
    if len(lrs) < 3 or lrs[0][1] >= max(lr for _, lr in lrs):
        return None
    peak = max(lr for _, lr in lrs)
    return next(s for s, lr in lrs if lr >= peak * 0.999)


def median(values: list[float]) -> float:
    v = sorted(values)
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2
