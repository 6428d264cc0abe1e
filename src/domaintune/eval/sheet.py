"""Blinded human review sheets: export answers as a CSV for reviewers, import the filled sheets.

Agreement between reviewers is Krippendorff's alpha with the ordinal metric (scores 1-5 are
ranks, not measurements), computed from the coincidence matrix as in Krippendorff (2011),
"Computing Krippendorff's Alpha-Reliability", plus the share of reviewer pairs that agree exactly.
"""

from __future__ import annotations

import csv
import json
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domaintune.eval.judge import Answers, join_answers
from domaintune.eval.results import result_doc
from domaintune.io import atomic_write, file_stem, write_json
from domaintune.records import DataError

CRITERIA = ("accuracy", "completeness", "usefulness")
COLUMNS = ("item", "question", "reference", "answer_label", "answer", *CRITERIA, "comment")
LABELS = string.ascii_uppercase
KEY_KIND = "review_key"
_FORMULA_START = ("=", "+", "-", "@")

# ---------------------------------------------------------------- export


def export_sheet(
    answers: Sequence[Answers],
    out: str | Path,
    key_path: str | Path,
    *,
    seed: int = 0,
    reviewers: int | None = None,
    max_models: int = 4,
    group: str = "domain",
) -> list[Path]:
    """Write the blinded sheet(s) (one per reviewer if asked) and the key; return sheet paths."""
    if len(answers) > max_models:
        raise ValueError(
            f"{len(answers)} answers files but --max-models is {max_models}; "
            "raise --max-models or review fewer models at once"
        )
    names = [a.model for a in answers]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f'two answers files name the model "{dup}"; rename one of the files')
    rows, key_items = [], {}
    for group_rows in join_answers(answers):
        first = group_rows[0]
        order = list(range(len(answers)))
        # Seeded per item, so one item's order does not depend on the others.
        random.Random(f"{seed}:{first.id}").shuffle(order)
        labels = dict(zip(LABELS, (names[i] for i in order), strict=False))
        key_items[first.id] = {"labels": labels, "set": first.subject, "dimension": first.dimension}
        for label, i in zip(LABELS, order, strict=False):
            text = group_rows[i].prediction or ""
            rows.append([first.id, first.question, first.answer, label, text, "", "", "", ""])
    key = {
        "kind": KEY_KIND,
        "note": "not for reviewers: maps each item's answer labels to the models",
        "seed": seed,
        "group": group,
        "criteria": list(CRITERIA),
        "models": names,
        "sources": [a.path for a in answers],
        "items": key_items,
    }
    out = Path(out)
    paths = [out] if reviewers is None else _reviewer_paths(out, reviewers)
    for path in paths:
        _write_csv(path, rows)
    write_json(key_path, key)
    return paths


def _reviewer_paths(out: Path, reviewers: int) -> list[Path]:
    if reviewers < 1:
        raise ValueError(f"--reviewers must be at least 1, got {reviewers}")
    return [out.with_name(f"{file_stem(out)}.r{i}{out.suffix}") for i in range(1, reviewers + 1)]


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    # UTF-8 with a BOM: without it Excel reads the file in the system code page and garbles
    # Chinese. CRLF line ends (csv's default) are what Excel writes too.
    with atomic_write(path, encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows([[_as_text(cell) for cell in row] for row in rows])


def _as_text(cell: str) -> str:
    # Excel runs a cell starting with = + - @ as a formula (a "- item" list shows as #NAME?);
    # a leading apostrophe keeps it text. The answer columns are not read back on import.
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


# ---------------------------------------------------------------- import


@dataclass
class Sheet:
    """One reviewer's filled sheet: scores per (item, label), blanks counted."""

    reviewer: str
    path: str
    scores: dict[tuple[str, str], dict[str, int | None]] = field(default_factory=dict)
    comments: dict[tuple[str, str], str] = field(default_factory=dict)
    blank_cells: int = 0
    missing_rows: int = 0


def load_key(path: str | Path) -> dict[str, Any]:
    """Read and check a key file written by `export_sheet`."""
    try:
        key = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(path, None, f"cannot read the key file ({exc})") from None
    if not isinstance(key, dict) or key.get("kind") != KEY_KIND or "items" not in key:
        raise DataError(path, None, "not a review key; pass the --key written by `sheet export`")
    return key


def read_sheet(path: str | Path, key: dict[str, Any], key_path: str | Path) -> Sheet:
    """Read one filled sheet; scores must be integers 1-5, blanks are counted as missing."""
    p = Path(path)
    sheet = Sheet(reviewer=file_stem(p), path=str(p))
    for row_no, row in _csv_records(p):
        item, label = row["item"].strip(), row["answer_label"].strip().upper()
        if label not in key["items"].get(item, {}).get("labels", {}):
            raise DataError(
                p,
                row_no,
                f'column item/answer_label: item "{item}" label "{label}" is not in {key_path}; '
                "import sheets exported with this key and keep those two columns as they were",
                "item",
                row=True,
            )
        if (item, label) in sheet.scores:
            raise DataError(
                p, row_no, f'item "{item}" label "{label}" appears twice', "item", row=True
            )
        sheet.scores[item, label] = {c: _score(p, row_no, c, row[c]) for c in CRITERIA}
        sheet.blank_cells += sum(v is None for v in sheet.scores[item, label].values())
        if comment := row.get("comment", "").strip():
            sheet.comments[item, label] = comment
    expected = sum(len(v["labels"]) for v in key["items"].values())
    sheet.missing_rows = expected - len(sheet.scores)
    return sheet


def _csv_records(path: Path):
    """Yield (Excel row number, row dict); the header is row 1, blank rows skipped."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in ("item", "answer_label", *CRITERIA) if c not in header]
            if missing:
                raise DataError(
                    path, 1, f"missing column {missing[0]}; keep the exported header", missing[0]
                )
            for row_no, values in enumerate(reader, 2):
                if any(v.strip() for v in values):
                    yield row_no, dict(zip(header, values + [""] * len(header), strict=False))
    except UnicodeDecodeError:
        raise DataError(
            path,
            None,
            "not UTF-8; in Excel use Save As > 'CSV UTF-8 (Comma delimited)' (plain 'CSV' "
            "saves in the system code page)",
        ) from None
    except FileNotFoundError:
        raise DataError(path, None, "no such file; check the path") from None


def _score(path: Path, row_no: int, column: str, raw: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if text not in ("1", "2", "3", "4", "5"):
        raise DataError(
            path, row_no, f"column {column}: {raw!r} is not an integer 1-5", column, row=True
        )
    return int(text)


def import_sheets(
    paths: Sequence[str | Path], key_path: str | Path, *, group: str | None = None
) -> dict[str, Any]:
    """Per-model means per criterion and reviewer agreement, in the shared result layout."""
    key = load_key(key_path)
    sheets = [read_sheet(p, key, key_path) for p in paths]
    reviewers = [s.reviewer for s in sheets]
    if len(set(reviewers)) != len(reviewers):
        raise ValueError("two sheets have the same file name; name each sheet after its reviewer")
    items = _items(key, sheets)
    models = key["models"]
    by_model = {m: _means([it for it in items if it["model"] == m]) for m in models}
    return result_doc(
        "review",
        ", ".join(models),
        group=group or key.get("group", "domain"),
        metrics={f"{m}/{c}": v[c] for m, v in by_model.items() for c in (*CRITERIA, "overall")},
        by_set=_breakdown(items, "set", models),
        by_dimension=_breakdown(items, "dimension", models),
        items=items,
        scale="1-5 (means of reviewer scores; not 0-100)",
        models=by_model,
        reviewers=reviewers,
        agreement=agreement(items, reviewers) if len(sheets) >= 2 else None,
        missing={
            "blank_cells": sum(s.blank_cells for s in sheets),
            "missing_rows": sum(s.missing_rows for s in sheets),
            "by_reviewer": {
                s.reviewer: {"blank_cells": s.blank_cells, "missing_rows": s.missing_rows}
                for s in sheets
            },
        },
    )


def _items(key: dict[str, Any], sheets: Sequence[Sheet]) -> list[dict[str, Any]]:
    items = []
    for item, entry in key["items"].items():
        for label, model in entry["labels"].items():
            unit = (item, label)
            items.append(
                {
                    "item": item,
                    "label": label,
                    "model": model,
                    "set": entry.get("set"),
                    "dimension": entry.get("dimension"),
                    "scores": {s.reviewer: s.scores[unit] for s in sheets if unit in s.scores},
                    "comments": {
                        s.reviewer: s.comments[unit] for s in sheets if unit in s.comments
                    },
                }
            )
    return items


def _means(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean of each criterion over every reviewer's score; overall pools all three criteria."""
    out: dict[str, Any] = {}
    pooled: list[int] = []
    for c in CRITERIA:
        values = [s[c] for it in items for s in it["scores"].values() if s[c] is not None]
        pooled += values
        out[c] = sum(values) / len(values) if values else None
        out[f"n_{c}"] = len(values)
    out["overall"] = sum(pooled) / len(pooled) if pooled else None
    out["n"] = len(pooled)
    return out


def _breakdown(items: list[dict[str, Any]], tag: str, models: Sequence[str]) -> dict[str, Any]:
    if not any(it[tag] for it in items):
        return {}
    out: dict[str, Any] = {}
    for name in sorted({it[tag] or "(none)" for it in items}):
        part = [it for it in items if (it[tag] or "(none)") == name]
        row: dict[str, Any] = {}
        for m in models:
            means = _means([it for it in part if it["model"] == m])
            row |= {f"{m}/{c}": means[c] for c in (*CRITERIA, "overall")}
        out[name] = row | {"n": len({it["item"] for it in part})}
    return out


# ---------------------------------------------------------------- agreement


def agreement(items: Sequence[dict[str, Any]], reviewers: Sequence[str]) -> dict[str, Any]:
    """Per criterion: % of reviewer pairs scoring a unit the same, and ordinal alpha."""
    out = {}
    for c in CRITERIA:
        units = [[it["scores"].get(r, {}).get(c) for r in reviewers] for it in items]
        pairs = agree = 0
        for unit in units:
            values = [v for v in unit if v is not None]
            for i, a in enumerate(values):
                for b in values[i + 1 :]:
                    pairs += 1
                    agree += a == b
        out[c] = {
            "exact_agreement": 100 * agree / pairs if pairs else None,
            "alpha_ordinal": krippendorff_alpha(units, "ordinal"),
            "pairs": pairs,
            "units": sum(sum(v is not None for v in u) >= 2 for u in units),
        }
    return out


def krippendorff_alpha(
    units: Sequence[Sequence[float | None]], level: str = "ordinal"
) -> float | None:
    """Krippendorff's alpha for `units` (each: one value or None per coder); None if undefined.

    level: nominal, ordinal, interval or ratio. alpha = 1 - (n-1) * sum(o_ck * d_ck) /
    sum(n_c * n_k * d_ck) over the coincidence matrix o of pairable values (Krippendorff 2011).
    """
    pairable = [[v for v in u if v is not None] for u in units]
    pairable = [u for u in pairable if len(u) >= 2]
    values = sorted({v for u in pairable for v in u})
    index = {v: i for i, v in enumerate(values)}
    o = [[0.0] * len(values) for _ in values]  # coincidences [value, value]
    for u in pairable:
        for i, a in enumerate(u):
            for j, b in enumerate(u):
                if i != j:
                    o[index[a]][index[b]] += 1 / (len(u) - 1)
    n_c = [sum(row) for row in o]
    n = sum(n_c)
    delta = _distance(level, values, n_c)
    span = range(len(values))
    observed = sum(o[c][k] * delta(c, k) for c in span for k in span)
    expected = sum(n_c[c] * n_c[k] * delta(c, k) for c in span for k in span)
    if n <= 1 or expected == 0:
        return None  # no pairable values, or no variation at all
    return 1 - (n - 1) * observed / expected


def _distance(level: str, values: Sequence[float], n_c: Sequence[float]):
    """The squared difference function delta^2(c, k) on value indexes (Krippendorff 2011)."""
    if level == "nominal":
        return lambda c, k: float(c != k)
    if level == "interval":
        return lambda c, k: (values[c] - values[k]) ** 2
    if level == "ratio":
        return lambda c, k: ((values[c] - values[k]) / (values[c] + values[k])) ** 2
    if level == "ordinal":

        def ordinal(c: int, k: int) -> float:
            lo, hi = min(c, k), max(c, k)
            return (sum(n_c[lo : hi + 1]) - (n_c[c] + n_c[k]) / 2) ** 2

        return ordinal
    raise ValueError(f"level must be nominal, ordinal, interval or ratio, got {level!r}")
