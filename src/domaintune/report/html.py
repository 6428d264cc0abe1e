"""`report.html`: one self-contained page per run (plots embedded, no script, readable offline)."""

from __future__ import annotations

import base64
import html
import json
from datetime import datetime, timezone
from pathlib import Path

from domaintune import __version__
from domaintune.diagnose import diagnose_stage, stage_dirs
from domaintune.diagnose.curves import read_curves
from domaintune.io import read_manifest, write_text
from domaintune.report.plots import loss_plot, pref_plot, series_plot

CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;
color:#1d2330}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:32px 0 8px;border-bottom:2px solid
#d7dce4;padding-bottom:4px}h3{font-size:16px;margin:18px 0 6px}
.meta{color:#5b6475;font-size:13px}
section.card{background:#fff;border:1px solid #e1e5ec;border-radius:8px;padding:16px 20px;
margin:16px 0}
table{border-collapse:collapse;margin:8px 0;font-size:14px}
th,td{border-bottom:1px solid #e6e9ef;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f0f2f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.better{color:#127a3a}.worse{color:#b3261e}
.plots{display:flex;flex-wrap:wrap;gap:8px}.plots img{width:49%;border:1px solid #eef0f4;
border-radius:4px}.plots img:first-child{width:100%}
.row{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}
.finding{border-left:4px solid #e0a800;padding:4px 12px;margin:8px 0;background:#fffbea}
.finding.info{border-color:#3a7bd5;background:#f1f6fd}
.finding b{font-family:ui-monospace,monospace}
pre{background:#0f1420;color:#e6e9ef;padding:12px;border-radius:6px;overflow:auto;font-size:13px}
"""


def _e(value) -> str:
    return html.escape(str(value))


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _kv_table(rows: dict) -> str:
    cells = "".join(
        f"<tr><th>{_e(k)}</th><td class='num'>{_fmt(v)}</td></tr>" for k, v in rows.items()
    )
    return f"<table>{cells}</table>"


def _fmt(v) -> str:
    if isinstance(v, float):
        return _e(f"{v:,.4g}")
    if isinstance(v, int):
        return _e(f"{v:,}")
    if isinstance(v, dict):
        return _e(json.dumps(v, ensure_ascii=False))
    return _e(v)


def _findings(findings) -> str:
    if not findings:
        return "<p>No findings: the curves look normal.</p>"
    out = []
    for f in findings:
        steps = ", ".join(map(str, f.steps[:8])) + (" ..." if len(f.steps) > 8 else "")
        out.append(
            f"<div class='finding {_e(f.severity)}'><b>{_e(f.name)}</b> at step {_e(steps)}<br>"
            f"<b>cause</b> {_e(f.cause)}<br><b>advice</b> {_e(f.advice)}<br>"
            f"<span class='meta'>evidence {_e(json.dumps(f.evidence, ensure_ascii=False))}"
            "</span></div>"
        )
    return "".join(out)


def _stats_tables(counts: dict) -> str:
    """Data, training and memory figures from the stage manifest, side by side."""
    tables = []
    if counts.get("data"):
        tables.append("<div><h3>Data</h3>" + _kv_table(counts["data"]) + "</div>")
    if counts.get("training"):
        t = dict(counts["training"])
        rows = {**{f"parameters {k}": v for k, v in t.pop("parameters", {}).items()}, **t}
        tables.append("<div><h3>Training</h3>" + _kv_table(rows) + "</div>")
    if counts.get("memory"):
        m = counts["memory"]
        keys = ("total", "weights", "gradients", "optimizer", "activations", "overhead", "fits")
        tables.append(
            "<div><h3>Memory estimate (bytes per GPU)</h3>"
            + _kv_table({k: m[k] for k in keys if k in m})
            + "</div>"
        )
    return f"<div class='row'>{''.join(tables)}</div>"


def _training_section(stage: Path, manifest: dict | None) -> str:
    c = read_curves(stage / "metrics.jsonl")
    plots = [
        _img(loss_plot(c, f"{stage.name}: loss"), f"{stage.name} loss"),
        _img(
            series_plot(c.steps, c.lr, f"{stage.name}: learning rate", "lr"),
            f"{stage.name} learning rate",
        ),
        _img(
            series_plot(c.steps, c.grad_norm, f"{stage.name}: gradient norm", "grad norm"),
            f"{stage.name} gradient norm",
        ),
    ]
    if c.pref:  # dpo/kto: what diagnose's preference findings read
        for keys, label in (
            (("logp_chosen", "logp_rejected"), "log-prob"),
            (("margin", "accuracy", "kl"), "reward margin, accuracy, KL"),
        ):
            title = f"{stage.name}: {label}"
            plots.append(_img(pref_plot(c, title, keys, label), title))
    return (
        _stats_tables((manifest or {}).get("counts", {}))
        + "<h3>Curves</h3><div class='plots'>"
        + "".join(plots)
        + "</div>"
        + "<h3>Diagnosis</h3>"
        + _findings(diagnose_stage(stage, c))
    )


def _perplexity_section(results: dict) -> str:
    """Models as rows, sets as columns, the change against the first model coloured."""
    sets = list(next(iter(results.values())))
    first = next(iter(results))
    head = "".join(f"<th>{_e(s)}</th>" for s in sets)
    rows = []
    for ref, row in results.items():
        cells = []
        for s in sets:
            ppl, base = row[s]["perplexity"], results[first][s]["perplexity"]
            delta = (
                ""
                if ref == first
                else (
                    f" <span class='{'better' if ppl < base else 'worse'}'>"
                    f"({(ppl - base) / base:+.0%})</span>"
                )
            )
            cells.append(f"<td class='num'>{ppl:,.1f}{delta}</td>")
        rows.append(f"<tr><th>{_e(ref)}</th>{''.join(cells)}</tr>")
    return (
        f"<h3>Held-out perplexity (lower is better)</h3><table><tr><th>model</th>{head}</tr>"
        f"{''.join(rows)}</table>"
    )


def _pos(order: list[str], name: str) -> tuple[int, str]:
    return (order.index(name) if name in order else len(order), name)


def _exam_section(stage: Path) -> str:
    """Exams scored by an eval stage: accuracy per model, change against the first model."""
    docs: dict[str, dict[str, dict]] = {}
    for f in sorted(stage.glob("results/*/*.json")):
        doc = json.loads(f.read_text())
        if doc.get("kind") == "mcq":
            docs.setdefault(doc["model"], {})[f.stem] = doc["metrics"]
    if not docs:
        return ""
    order = ((read_manifest(stage) or {}).get("config") or {}).get("stage", {}).get("models", [])
    docs = dict(sorted(docs.items(), key=lambda kv: (kv[0] not in order, *_pos(order, kv[0]))))
    first = next(iter(docs))
    exams = list(docs[first])
    metrics = ("acc_letter", "acc_option", "acc_option_norm")  # eval/mcq.py, docs/eval-mcq.md
    head = "".join(f"<th>{_e(x)}: {m}</th>" for x in exams for m in metrics)
    rows = []
    for model, row in docs.items():
        cells = []
        for x in exams:
            for m in metrics:
                value, base = row.get(x, {}).get(m), docs[first].get(x, {}).get(m)
                if value is None:
                    cells.append("<td></td>")
                    continue
                delta = ""
                if model != first and base is not None:
                    cls = "better" if value > base else "worse" if value < base else ""
                    delta = f" <span class='{cls}'>({value - base:+.1f})</span>"
                cells.append(f"<td class='num'>{value:.1f}{delta}</td>")
        rows.append(f"<tr><th>{_e(model)}</th>{''.join(cells)}</tr>")
    return (
        "<h3>Exams: accuracy, % (answer letter; option text, raw and per character)</h3>"
        f"<table><tr><th>model</th>{head}</tr>{''.join(rows)}</table>"
    )


def build_report(run_dir: str | Path) -> str:
    """The report page for a run directory (or a single stage folder) as HTML text."""
    run_dir = Path(run_dir)
    recipe = run_dir / "recipe.yaml"
    sections = []
    trained = {p.name: p for p in stage_dirs(run_dir)}
    others = sorted(
        {p.parent for p in run_dir.glob("*/perplexity.json")}
        | {p.parent for p in run_dir.glob("*/results")}
    )
    for stage in [*trained.values(), *[p for p in others if p.name not in trained]]:
        manifest = read_manifest(stage)
        status = (manifest or {}).get("status", "no manifest")
        seconds = ((manifest or {}).get("timings") or {}).get("seconds")
        body = ""
        if (stage / "metrics.jsonl").exists():
            body += _training_section(stage, manifest)
        if (stage / "perplexity.json").exists():
            body += _perplexity_section(json.loads((stage / "perplexity.json").read_text()))
        body += _exam_section(stage)
        took = f", {seconds:,.0f} s" if seconds else ""
        sections.append(
            f"<section class='card'><h2>{_e(stage.name)}</h2>"
            f"<p class='meta'>{_e(status)}{_e(took)}</p>{body}</section>"
        )
    recipe_html = (
        (
            f"<h2>Recipe</h2><details open><summary>recipe.yaml</summary><pre>"
            f"{_e(recipe.read_text())}</pre></details>"
        )
        if recipe.exists()
        else ""
    )
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>domaintune report: {_e(run_dir.name)}</title><style>{CSS}</style></head><body>"
        f"<main><h1>{_e(run_dir.name)}</h1><p class='meta'>domaintune {_e(__version__)}, "
        f"written {_e(when)} from {_e(run_dir)}</p>{''.join(sections)}{recipe_html}</main>"
        "</body></html>"
    )


def write_report(run_dir: str | Path) -> Path:
    """Write `report.html` into the run directory (atomically) and return its path."""
    out = Path(run_dir) / "report.html"
    write_text(out, build_report(run_dir))
    return out
