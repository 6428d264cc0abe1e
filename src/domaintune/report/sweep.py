"""A sweep's variants side by side: `sweep.json`, the page `report.html` and the printed tables.

Each variant's figures come from its eval stage's own files (`perplexity.json`, the mcq results
under `results/`): for every held-out set the perplexity of the eval's last model (the variant's
final model) and its change against the eval's first model (the model before this variant's
training: forgetting on general sets, the gain on domain ones); for every exam the final model's
accuracy. When `seed` is one of the sweep's axes, a second table gives each setting's mean over
the seeds and the spread (max - min), the yardstick for every difference between settings.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from domaintune.io import read_manifest, write_json, write_text
from domaintune.report.html import CSS, _img
from domaintune.report.plots import scatter_plot

SWEEP_FILE = "sweep.json"
_SEED = re.compile(r"(^|,)seed=[^,]+")


def _eval_dirs(run_dir: Path) -> list[Path]:
    found = {p.parent for p in run_dir.glob("*/perplexity.json")}
    found |= {p.parent.parent.parent for p in run_dir.glob("*/results/*/*.json")}
    return sorted(found)


def _exam_metrics(stage: Path) -> dict[str, dict[str, dict]]:
    """model -> exam -> metrics, models in the eval stage's order."""
    docs: dict[str, dict[str, dict]] = {}
    for f in sorted(stage.glob("results/*/*.json")):
        doc = json.loads(f.read_text())
        if doc.get("kind") == "mcq":
            docs.setdefault(doc["model"], {})[f.stem] = doc["metrics"]
    order = ((read_manifest(stage) or {}).get("config") or {}).get("stage", {}).get("models", [])
    return dict(sorted(docs.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))


def variant_figures(run_dir: str | Path) -> dict[str, Any]:
    """One variant's row: {column: value} from its eval stages, plus every model's figures."""
    row: dict[str, float] = {}
    models: dict[str, dict] = {}
    dirs = _eval_dirs(Path(run_dir))
    for stage in dirs:
        prefix = f"{stage.name}/" if len(dirs) > 1 else ""
        ppl_file = stage / "perplexity.json"
        ppl = json.loads(ppl_file.read_text()) if ppl_file.exists() else {}
        if ppl:
            first, final = list(ppl)[0], list(ppl)[-1]
            for name in ppl[final]:
                value, before = ppl[final][name]["perplexity"], ppl[first][name]["perplexity"]
                row[f"{prefix}{name} ppl"] = value
                if final != first:
                    row[f"{prefix}{name} Δ% vs {first}"] = 100 * (value - before) / before
        exams = _exam_metrics(stage)
        if exams:
            final = list(exams)[-1]
            for exam, m in exams[final].items():
                row[f"{prefix}{exam} acc_letter"] = m["acc_letter"]
                row[f"{prefix}{exam} acc_option"] = m["acc_option"]
        models[stage.name] = {
            "perplexity": {
                r: {s: v["perplexity"] for s, v in sets.items()} for r, sets in ppl.items()
            },
            "mcq": exams,
        }
    return {"row": row, "models": models}


def seed_summary(rows: dict[str, dict[str, float]]) -> dict[str, dict[str, dict]]:
    """Variants differing only in `seed=` grouped: {setting: {column: {mean, spread, n}}}."""
    groups: dict[str, list[dict]] = {}
    for name, row in rows.items():
        key = _SEED.sub("", name).strip(",") or "default"
        groups.setdefault(key, []).append(row)
    out: dict[str, dict[str, dict]] = {}
    for key, members in groups.items():
        cols = [c for c in members[0] if all(c in m for m in members)]
        out[key] = {
            c: {
                "mean": sum(m[c] for m in members) / len(members),
                "spread": max(m[c] for m in members) - min(m[c] for m in members),
                "n": len(members),
            }
            for c in cols
        }
    return out


def sweep_summary(
    root: str | Path, variants: dict[str, Path], events: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """What `sweep.json` holds: each variant's figures and stage events, and the seed summary."""
    figures = {name: variant_figures(d) for name, d in variants.items()}
    rows = {name: f["row"] for name, f in figures.items()}
    has_seeds = any(_SEED.search(n) for n in variants)
    return {
        "root": str(root),
        "variants": {
            name: {"dir": str(d), **figures[name], "stages": (events or {}).get(name, {})}
            for name, d in variants.items()
        },
        "by_setting": seed_summary(rows) if has_seeds else {},
    }


def _columns(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(c for r in rows for c in r))


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"


def _short(column: str) -> str:
    """A printed column's header: `general Δ% vs pretrain` -> `general Δ%` (the caption says vs)."""
    return column.split(" vs ")[0].replace(" acc_", " ")


def _table_cells(summary: dict[str, Any]) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """The columns, the variants' rows and the settings' mean ± spread rows, as printed cells
    (the first cell of a row is its name); both table renderings below print these."""
    rows = {n: v["row"] for n, v in summary["variants"].items()}
    cols = _columns(list(rows.values()))
    variants = [[n, *(_cell(r.get(c)) for c in cols)] for n, r in rows.items()]
    settings = [
        [key, *(f"{_cell(f[c]['mean'])} ± {_cell(f[c]['spread'])}" if c in f else "" for c in cols)]
        for key, f in (summary.get("by_setting") or {}).items()
    ]
    return cols, variants, settings


def rich_tables(summary: dict[str, Any]) -> list:
    """The variants table, and the mean ± spread table when the sweep has seeds."""
    from rich.table import Table

    cols, variants, settings = _table_cells(summary)
    firsts = sorted({c.split(" vs ")[1] for c in cols if " vs " in c})
    caption = f"Δ%: change against {', '.join(firsts)}" if firsts else None
    titles = [("Sweep: the variants side by side (final model of each)", "variant", variants)]
    if settings:  # a ± cell wraps after the ± in 100 columns, never cut
        titles.append(("Mean over seeds ± spread (max - min)", "setting", settings))
    tables = []
    for title, first, rows in titles:
        table = Table(title=title, min_width=40, caption=caption)
        table.add_column(first, no_wrap=True)
        for c in cols:
            table.add_column(_short(c), justify="right")
        for cells in rows:
            table.add_row(*cells)
        tables.append(table)
    return tables


def markdown_tables(summary: dict[str, Any]) -> str:
    """The same tables as Markdown (`sweep.md`: what docs/experiments.md quotes)."""
    cols, variants, settings = _table_cells(summary)

    def table(first: str, rows: list[list[str]]) -> list[str]:
        head = f"| {' | '.join([first, *cols])} |\n|{'---|' * (len(cols) + 1)}\n"
        return [head, *(f"| {' | '.join(cells)} |\n" for cells in rows)]

    out = table("variant", variants)
    if settings:
        out += ["\nMean over seeds ± spread (max - min):\n\n", *table("setting", settings)]
    return "".join(out)


def _plot(summary: dict[str, Any]) -> bytes | None:
    """Forgetting (general Δ%) against domain change (domain Δ%), one point per variant."""
    from domaintune.eval.results import group_of

    points = {}
    for name, v in summary["variants"].items():
        deltas = {c: x for c, x in v["row"].items() if "Δ%" in c}
        gen = [x for c, x in deltas.items() if group_of(c.split(" ")[0]) == "general"]
        dom = [x for c, x in deltas.items() if group_of(c.split(" ")[0]) == "domain"]
        if gen and dom:
            points[name] = (gen[0], dom[0])
    if not points:
        return None
    return scatter_plot(
        points,
        "Variants: forgetting vs domain gain",
        "general perplexity change, % (forgetting: right is worse)",
        "domain perplexity change, % (down is better)",
        groups={n: _SEED.sub("", n).strip(",") for n in points},  # a setting's seeds: one colour
    )


def _html_table(cols: list[str], rows: dict[str, list[str]], head: str) -> str:
    th = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        f"<tr><th>{html.escape(n)}</th>"
        + "".join(f"<td class='num'>{html.escape(x)}</td>" for x in cells)
        + "</tr>"
        for n, cells in rows.items()
    )
    return f"<table><tr><th>{html.escape(head)}</th>{th}</tr>{body}</table>"


def build_sweep_page(summary: dict[str, Any]) -> str:
    rows = {n: v["row"] for n, v in summary["variants"].items()}
    cols = _columns(list(rows.values()))
    parts = [_html_table(cols, {n: [_cell(r.get(c)) for c in cols] for n, r in rows.items()},
                         "variant")]  # fmt: skip
    if summary.get("by_setting"):
        agg = {
            k: [f"{_cell(f[c]['mean'])} ± {_cell(f[c]['spread'])}" if c in f else "" for c in cols]
            for k, f in summary["by_setting"].items()
        }
        title = "<h3>Mean over seeds ± spread (max - min)</h3>"
        parts.append(title + _html_table(cols, agg, "setting"))
    png = _plot(summary)
    if png:
        parts.append(f"<div class='plots'>{_img(png, 'forgetting vs domain gain')}</div>")
    links = "".join(
        f"<li><a href='{html.escape(Path(v['dir']).name)}/report.html'>{html.escape(n)}</a>: "
        f"{html.escape(json.dumps(v['stages']))}</li>"
        for n, v in summary["variants"].items()
    )
    root = html.escape(Path(summary["root"]).name)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>domaintune sweep: {root}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{root}: sweep</h1><section class='card'><h2>Variants side by side</h2>"
        f"<p class='meta'>final model of each variant; Δ% against the eval's first model</p>"
        f"{''.join(parts)}</section><section class='card'><h2>Variant reports (stages ran, "
        f"skipped or reused)</h2><ul>{links}</ul></section></main></body></html>"
    )


def write_sweep_report(
    root: str | Path, variants: dict[str, Path], events: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """Write `sweep.json` and the side-by-side `report.html` into the sweep's run directory."""
    root = Path(root)
    summary = sweep_summary(root, variants, events)
    write_json(root / SWEEP_FILE, summary)
    write_text(root / "sweep.md", markdown_tables(summary))
    write_text(root / "report.html", build_sweep_page(summary))
    return summary


def read_sweep(root: str | Path) -> dict[str, Any] | None:
    path = Path(root) / SWEEP_FILE
    return json.loads(path.read_text()) if path.exists() else None
