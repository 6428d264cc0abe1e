"""Before/after comparison of eval results: the forgetting report of `domaintune eval compare`.

Rows are matched by (group, kind, set, metric): the overall metrics, each `by_set` entry and
each `by_dimension` entry (overall and dimension rows also by the result's set names). A
general-group row is flagged as forgetting when a higher-is-better metric falls by more than
`threshold` points, or a metric in `results.LOWER_IS_BETTER` (perplexity-like) rises by more
than `ppl_threshold` percent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from domaintune.eval.results import GROUPS, LOWER_IS_BETTER
from domaintune.records import DataError

# Counts, not scores: a change in them is not better or worse.
NOT_COMPARED = frozenset({"n", "tokens", "unparsed", "wins", "ties", "losses"})
SCOPES = ("overall", "set", "dimension")
_LAYOUT_KEYS = ("kind", "model", "group", "metrics", "by_set")


@dataclass
class Row:
    """One matched (or one-sided) metric; delta in points, or in percent for LOWER_IS_BETTER."""

    group: str
    kind: str
    scope: str  # overall | set | dimension
    set: str
    within: str  # overall and dimension rows: the result's sets, comma-separated
    metric: str
    before: float | None
    after: float | None
    delta: float | None
    unit: str  # "pts" or "%"
    flagged: bool
    side: str  # both | before | after
    before_file: str | None
    after_file: str | None


@dataclass
class Comparison:
    """All rows, the files read and the thresholds used."""

    rows: list[Row]
    before_files: list[str]
    after_files: list[str]
    ignored: int  # .json files in the directories that are not eval results
    threshold: float
    ppl_threshold: float

    @property
    def flagged(self) -> list[Row]:
        """General-ability rows that dropped beyond the thresholds."""
        return [r for r in self.rows if r.flagged]

    def to_dict(self) -> dict[str, Any]:
        """Machine-readable form (printed by --json)."""
        return {
            "before": self.before_files,
            "after": self.after_files,
            "thresholds": {"points": self.threshold, "perplexity_pct": self.ppl_threshold},
            "flagged": len(self.flagged),
            "only_before": sum(r.side == "before" for r in self.rows),
            "only_after": sum(r.side == "after" for r in self.rows),
            "ignored_files": self.ignored,
            "rows": [asdict(r) for r in self.rows],
        }


def is_result(doc: Any) -> bool:
    """True for a dict in the shared layout of eval/results.py."""
    return (
        isinstance(doc, dict)
        and all(k in doc for k in _LAYOUT_KEYS)
        and isinstance(doc["metrics"], dict)
        and isinstance(doc["by_set"], dict)
        and doc["group"] in GROUPS
    )


def load_results(path: str | Path) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """(file, result) pairs from a result file or a directory tree of them; and how many
    other .json files a directory held."""
    p = Path(path)
    if not p.exists():
        raise DataError(p, None, "no such file or directory; check the path")
    if p.is_file():
        doc = _read_json(p)
        if not is_result(doc):
            raise DataError(
                p,
                None,
                f"not an eval result (needs {', '.join(_LAYOUT_KEYS)}); pass a file written by "
                "`domaintune eval ... --out` or a directory of them",
            )
        return [(str(p), doc)], 0
    found, ignored = [], 0
    for f in sorted(p.rglob("*.json")):
        doc = _read_json(f, strict=False)
        if is_result(doc):
            found.append((str(f), doc))
        else:
            ignored += 1
    if not found:
        raise DataError(p, None, "no eval result .json files in this directory tree")
    return found, ignored


def _read_json(path: Path, *, strict: bool = True) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if strict:
            raise DataError(path, None, f"not valid JSON ({exc})") from None
        return None


def _entries(doc: dict[str, Any]) -> Iterator[tuple[str, str, str, str, float]]:
    """(scope, set, within, metric, value) for every comparable number in a result.

    Overall and per-dimension figures are over the result's sets together, so they carry
    `within` (the sorted set names): two results of one kind and group (say two general
    benchmarks) keep apart, and an overall figure over other sets is not matched with it. An
    overall figure equal to the result's only set's is shown once, on the set row.
    """
    by_set = doc["by_set"]
    within = ", ".join(sorted(by_set))
    only = next(iter(by_set.values())) if len(by_set) == 1 else {}
    overall = {k: v for k, v in doc["metrics"].items() if not _same(only, k, v)}
    sections = [("overall", {"all": overall}, within), ("set", by_set, "")]
    sections.append(("dimension", doc.get("by_dimension") or {}, within))
    for scope, table, where in sections:
        for name, metrics in table.items():
            if not isinstance(metrics, dict):
                continue
            for metric, value in metrics.items():
                numeric = isinstance(value, int | float) and not isinstance(value, bool)
                if numeric and metric not in NOT_COMPARED and not metric.startswith("n_"):
                    yield scope, name, where, metric, float(value)


def _same(only: Any, metric: str, value: Any) -> bool:
    return isinstance(only, dict) and metric in only and only[metric] == value


def _index(results: list[tuple[str, dict[str, Any]]]) -> dict[tuple, tuple[str, float, str]]:
    """(group, kind, scope, set, within, metric) -> (file, value, the result's sets)."""
    index: dict[tuple, tuple[str, float, str]] = {}
    for file, doc in results:
        sets = ", ".join(sorted(doc["by_set"]))
        for scope, name, within, metric, value in _entries(doc):
            key = (doc["group"], doc["kind"], scope, name, within, metric)
            if key in index:
                raise DataError(
                    file,
                    None,
                    f"{index[key][0]} also has the {doc['group']} {doc['kind']} {metric} for "
                    f"{scope} {name!r}; give each side the results of one model (pass files, "
                    "not a directory holding several models' results)",
                )
            index[key] = (file, value, sets)
    return index


def compare(
    before: str | Path, after: str | Path, *, threshold: float = 2.0, ppl_threshold: float = 5.0
) -> Comparison:
    """Match BEFORE and AFTER results and flag general-ability drops beyond the thresholds."""
    before_results, ignored_b = load_results(before)
    after_results, ignored_a = load_results(after)
    b, a = _index(before_results), _index(after_results)

    def order(key: tuple) -> tuple:
        # general first; each result's rows together: overall, sets, dimensions
        group, kind, scope, name, _, metric = key
        sets = (a.get(key) or b[key])[2]
        return (group != "general", kind, sets, SCOPES.index(scope), name, metric)

    rows = []
    for key in sorted(set(b) | set(a), key=order):
        group, kind, scope, name, within, metric = key
        bf, bv, _ = b.get(key, (None, None, None))
        af, av, _ = a.get(key, (None, None, None))
        lower = metric in LOWER_IS_BETTER
        delta = None
        if bv is not None and av is not None:
            delta = (100 * (av - bv) / bv if bv else None) if lower else av - bv
        dropped = delta is not None and (delta > ppl_threshold if lower else delta < -threshold)
        side = "both" if bf and af else "before" if bf else "after"
        unit = "%" if lower else "pts"
        flagged = group == "general" and dropped
        rows.append(
            Row(
                group, kind, scope, name, within, metric, bv, av, delta, unit, flagged, side, bf, af
            )
        )
    return Comparison(
        rows,
        [f for f, _ in before_results],
        [f for f, _ in after_results],
        ignored_b + ignored_a,
        threshold,
        ppl_threshold,
    )


# ---------------------------------------------------------------- printing


def print_comparison(cmp: Comparison, console: Any) -> None:
    """Rich tables (general section first) and a summary line naming every flagged drop."""
    from rich.table import Table
    from rich.text import Text

    for group in ("general", "domain"):
        rows = [r for r in cmp.rows if r.group == group]
        if not rows:
            continue
        title = "general ability (forgetting check)" if group == "general" else "domain"
        table = Table(title=title, title_justify="left")
        for col in ("kind", "set", "metric", "before", "after", "delta"):
            table.add_column(
                col, justify="right" if col in ("before", "after", "delta") else "left"
            )
        for r in rows:
            cells = [r.kind, _set_label(r), r.metric, _num(r.before), _num(r.after), _delta(r)]
            table.add_row(*(Text(c) for c in cells), style="red" if r.flagged else None)
        console.print(table)
    limits = f"{cmp.threshold:g} points / +{cmp.ppl_threshold:g}% perplexity-like"
    if cmp.flagged:
        drops = "; ".join(
            f"{r.kind} {_set_label(r)} {r.metric} {_delta(r, mark=False)}" for r in cmp.flagged
        )
        console.print(
            Text(
                f"forgetting: {len(cmp.flagged)} general-ability drop(s) beyond {limits}: {drops}",
                style="bold red",
            )
        )
    elif any(r.group == "general" for r in cmp.rows):
        console.print(Text(f"no general-ability drop beyond {limits}", style="green"))
    else:
        console.print(Text("no general-group results: nothing to check for forgetting"))
    one_sided = [r for r in cmp.rows if r.side != "both"]
    if one_sided:
        only_b = sum(r.side == "before" for r in one_sided)
        console.print(
            f"{only_b} rows only in BEFORE, {len(one_sided) - only_b} only in AFTER (listed above)"
        )
    if cmp.ignored:
        console.print(f"ignored {cmp.ignored} .json files that are not eval results")


def _set_label(r: Row) -> str:
    within = f" ({r.within})" if r.within else ""
    if r.scope == "overall":
        return f"all{within}"
    return f"dimension: {r.set}{within}" if r.scope == "dimension" else r.set


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _delta(r: Row, *, mark: bool = True) -> str:
    if r.side != "both":
        return f"only in {r.side.upper()}"
    if r.delta is None:
        return "n/a (before is 0)"
    text = f"{r.delta:+.2f} pts" if r.unit == "pts" else f"{r.delta:+.1f}%"
    return text + " FORGETTING" if r.flagged and mark else text
