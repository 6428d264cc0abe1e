"""Prompts aimed at a model's weak spots, read from our eval result JSON (eval/results.py layout).

A weak spot is a set (`by_set`) or a dimension (`by_dimension`) whose main metric is worse than
the overall figure; the worst come first. The failed questions of a weak spot (mcq: wrong on the
metric; judge: score <= 5; gen: below the item's median on the metric) are shown to the teacher.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domaintune.eval.results import LOWER_IS_BETTER
from domaintune.io import PathLike, read_eval_items
from domaintune.records import DataError
from domaintune.synth import prompts
from domaintune.synth.engine import Request
from domaintune.synth.filters import language

JUDGE_FAIL = 5  # judge scores 1-10: 5-6 is "partly correct" in judge.py's rubric


@dataclass
class WeakSpot:
    """One group where the model does worse than overall, with the questions it failed."""

    kind: str  # "set" or "dimension"
    name: str
    value: float
    overall: float
    failed: list[str]

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


def load_result(path: PathLike) -> dict[str, Any]:
    """An eval result document; a clear error when the file is not one."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataError(path, err.lineno, f"not valid JSON ({err.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), dict):
        raise DataError(
            path, None, 'not an eval result: expected an object with "metrics", "by_set", '
            '"by_dimension" and "items" (what `domaintune eval ... --out` writes)')  # fmt: skip
    return doc


def main_metric(doc: dict[str, Any], metric: str | None, path: PathLike) -> str:
    """The metric to rank groups by: `metric`, else the result's first one."""
    names = [k for k, v in doc["metrics"].items() if isinstance(v, int | float)]
    if metric is None and names:
        return names[0]
    if metric not in names:
        raise DataError(path, None, f'metric "{metric}" is not in the result; it has: '
                        f"{', '.join(names) or 'none'}; pass one with --metric")  # fmt: skip
    return metric


def weak_spots(
    doc: dict[str, Any],
    metric: str,
    *,
    top: int = 3,
    questions: dict[str, str] | None = None,
) -> list[WeakSpot]:
    """Groups worse than overall on `metric`, worst first (at most `top`)."""
    overall = float(doc["metrics"][metric])
    lower = metric in LOWER_IS_BETTER
    spots = []
    for kind, key in (("set", "by_set"), ("dimension", "by_dimension")):
        for name, stats in (doc.get(key) or {}).items():
            value = stats.get(metric) if isinstance(stats, dict) else None
            if not isinstance(value, int | float):
                continue
            if (value > overall) if lower else (value < overall):
                failed = _failed(doc.get("items") or [], kind, name, metric, questions or {})
                spots.append(WeakSpot(kind, name, float(value), overall, failed))
    spots.sort(key=lambda s: (s.value - s.overall) * (-1 if lower else 1))
    return spots[:top]


def _group(item: dict[str, Any], kind: str) -> str | None:
    if kind == "dimension":
        return item.get("dimension")
    return item.get("set") or item.get("subject")


def _failed(
    items: Sequence[dict[str, Any]], kind: str, name: str, metric: str, questions: dict[str, str]
) -> list[str]:
    out = []
    for item in items:
        if _group(item, kind) != name or not _is_failure(item, metric):
            continue
        text = item.get("question") or questions.get(str(item.get("id")))
        if text:
            out.append(str(text).strip())
    return out


def _is_failure(item: dict[str, Any], metric: str) -> bool:
    correct = item.get("correct")
    if isinstance(correct, dict):  # mcq
        return not correct.get(metric, all(correct.values()))
    score = item.get("score")
    if isinstance(score, int | float):  # judge
        return score <= JUDGE_FAIL
    value = (item.get("metrics") or {}).get(metric, item.get(metric))
    return isinstance(value, int | float) and value < 50.0  # gen metrics are 0-100


def question_texts(paths: Sequence[PathLike]) -> dict[str, str]:
    """id -> question of eval sets (mcq results keep ids, not the question text)."""
    out = {}
    for path in paths:
        for item in read_eval_items(path):
            out[item.id] = item.question
    return out


def adversarial_requests(
    spots: Sequence[WeakSpot], *, per_spot: int, per_request: int, lang: str, examples: int = 5
) -> list[Request]:
    """Requests per weak spot, each showing up to `examples` failed questions."""
    out = []
    for spot in spots:
        shown = spot.failed[:examples]
        spot_lang = lang if lang != "auto" else _lang(shown)
        for r in range(-(-per_spot // per_request)):
            n = min(per_request, per_spot - r * per_request)
            ctx = {"weak_spot": spot.label, "lang": spot_lang, "seeds": shown, "category": None,
                   "metric_gap": round(spot.value - spot.overall, 2)}  # fmt: skip
            messages = prompts.adversarial_messages(spot.label, shown, spot_lang, n)
            out.append(Request(messages, ctx, seed=r))
    return out


def _lang(texts: Sequence[str]) -> str:
    zh = sum(language(t) == "zh" for t in texts)
    return "zh" if texts and zh * 2 >= len(texts) else "en"
