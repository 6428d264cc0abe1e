"""The UI app under TestClient: status from files only, live metrics rows, path confinement,
token, inline check errors, launch refusal, memory and data pages against their libraries."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from domaintune.resources import recipe_path
from domaintune.ui import list_runs, run_status
from ui.ui_helpers import dead_state, live_state, make_run, metrics_rows, tools, write_metrics

STATIC = Path(__file__).resolve().parents[2] / "src" / "domaintune" / "ui" / "static"


def test_status_comes_from_the_run_files(ui_dirs):
    runs, _ = ui_dirs
    make_run(runs, "alive", state=live_state())
    make_run(runs, "killed", state=dead_state())
    reused = {**live_state(), "proc_start": 1}  # this pid, but not the process that was recorded
    make_run(runs, "reused-pid", state=reused)
    make_run(runs, "ended", state={**dead_state(), "status": "finished"}, cpt_status="complete")
    make_run(runs, "failed", state=dead_state(), exit_code=1)
    make_run(runs, "stopped", state=dead_state(), exit_code=-15)
    make_run(runs, "no-state", state=None, cpt_status="complete")
    make_run(runs, "not-begun", state=None, cpt_status=None)
    (runs / "stopped-at-start").mkdir()  # launched, stopped before `run` wrote anything
    (runs / "stopped-at-start" / "launch.json").write_text(json.dumps(dead_state()))
    (runs / "empty").mkdir()  # not a run directory: not listed
    got = {r.name: (r.status, [s.status for s in r.stages]) for r in list_runs(runs)}
    assert got == {
        "alive": ("running", ["complete", "running"]),
        "killed": ("interrupted", ["complete", "interrupted"]),
        "reused-pid": ("interrupted", ["complete", "interrupted"]),
        "ended": ("finished", ["complete", "complete"]),
        "failed": ("failed", ["complete", "interrupted"]),
        "stopped": ("interrupted", ["complete", "interrupted"]),
        "no-state": ("finished", ["complete", "complete"]),
        "not-begun": ("interrupted", ["complete", "pending"]),
        "stopped-at-start": ("interrupted", []),
    }
    assert run_status(runs / "alive")[2] == os.getpid()


def test_runs_page_and_run_json(client, ui_dirs):
    runs, _ = ui_dirs
    make_run(runs, "r1", state=live_state())
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="/runs/r1"' in page.text and '<span class="status running"' in page.text
    info = client.get("/api/runs/r1").json()
    assert info["status"] == "running" and info["pid"] == os.getpid()
    clean = info["stages"][0]
    assert (clean["name"], clean["counts"]["kept"], clean["seconds"]) == ("clean", 7, 1.5)
    assert info["last_metrics"] == {"stage": "cpt", **{k: v for k, v in metrics_rows(6)[-1].items()
                                                        if v is not None}}  # fmt: skip
    page = client.get("/runs/r1")
    assert page.status_code == 200
    assert "too_short 3" in page.text and '<script src="/static/uPlot.iife.js">' in page.text


def test_metrics_rows_since_an_offset(client, ui_dirs):
    runs, _ = ui_dirs
    path = make_run(runs, "r1", state=live_state()) / "cpt" / "metrics.jsonl"
    first = client.get("/api/runs/r1/metrics/cpt?offset=0").json()
    assert [r["step"] for r in first["rows"]] == [1, 2, 3, 4, 5, 6] and first["offset"] == 6
    write_metrics(path, metrics_rows(1, start=7), mode="a")
    new = client.get("/api/runs/r1/metrics/cpt?offset=6").json()
    assert [r["step"] for r in new["rows"]] == [7] and (new["offset"], new["reset"]) == (7, False)
    write_metrics(path, metrics_rows(3))  # a resumed stage rewrote the file shorter
    again = client.get("/api/runs/r1/metrics/cpt?offset=7").json()
    assert [r["step"] for r in again["rows"]] == [1, 2, 3] and again["reset"] is True


def test_findings_are_diagnose_run(client, ui_dirs):
    from domaintune.diagnose import diagnose_run

    runs, _ = ui_dirs
    run = make_run(runs, "r1", state=live_state(), metrics=40)
    expected = {s: [f.to_dict() for f in fs] for s, fs in diagnose_run(run).items()}
    assert client.get("/api/runs/r1/findings").json() == json.loads(json.dumps(expected))


@pytest.mark.parametrize(
    "url",
    [
        "/runs/..%2F..%2Fetc",
        "/runs/%2E%2E",
        "/api/runs/..%2Fr1",
        "/api/runs/r1/metrics/..%2F..%2Fr1",
        "/runs/r1/..%2F..%2Fsecret",
        "/launch?recipe=..%2F..%2Fsecret",
        "/launch?recipe=bundled:..%2Fquickstart",
    ],
)
def test_paths_outside_the_folders_are_refused(client, ui_dirs, url):
    runs, _ = ui_dirs
    make_run(runs, "r1", state=live_state())
    (runs.parent / "secret.yaml").write_text("name: secret\n")
    r = client.get(url)
    assert r.status_code in (403, 404)
    assert "name: secret" not in r.text


def test_data_path_and_symlink_escapes_are_refused(client, ui_dirs):
    runs, _ = ui_dirs
    run = make_run(runs, "r1", state=live_state())
    outside = runs.parent / "outside.jsonl"
    outside.write_text('{"text": "private"}\n')
    (run / "link.jsonl").symlink_to(outside)
    for path in ("../outside.jsonl", str(outside), "r1/link.jsonl", "/etc/passwd"):
        page = client.get("/data", params={"path": path})
        assert "outside the runs and recipes folders" in page.text, path
        assert "documents</th>" not in page.text
    r = client.post("/api/check", json={"yaml": "name: x\n", "save_as": "../evil"})
    assert r.status_code == 404 and not (runs.parent / "evil.yaml").exists()


def test_token_is_required_when_set(ui_dirs, tmp_path):
    from fastapi.testclient import TestClient

    from domaintune.ui import create_app

    runs, recipes = ui_dirs
    app = create_app(runs, recipes_dir=recipes, tools=tools(), token="s3cret", workdir=tmp_path)
    c = TestClient(app)
    assert c.get("/").status_code == 401
    assert c.get("/api/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/api/runs", headers={"Authorization": "Bearer s3cret"}).json() == []
    r = c.get("/?token=s3cret", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/"
    assert c.get("/").status_code == 200  # the cookie set by the redirect


def test_cross_origin_and_form_posts_are_refused(client):
    body = {"yaml": "name: x\n"}
    evil = client.post("/api/check", json=body, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    form = client.post("/api/check", data={"yaml": "name: x"})
    assert form.status_code == 403


def test_check_shows_did_you_mean_and_the_command(client, ui_dirs):
    runs, recipes = ui_dirs
    text = recipe_path("quickstart").read_text()
    lineno = next(
        i for i, line in enumerate(text.splitlines(), 1) if "learning_rate: 3.0e-3" in line
    )
    bad = text.replace("learning_rate: 3.0e-3", "learning_rat: 3.0e-3")
    got = client.post("/api/check", json={"yaml": bad, "save_as": "qs"}).json()
    assert got["ok"] is False
    assert got["errors"][0].startswith(
        f"recipes/qs.yaml:{lineno}: unknown key 'stages[4].train.learning_rat'; "
        "did you mean 'learning_rate'?"
    )
    ok = client.post("/api/check", json={"yaml": text, "save_as": "qs",
                                         "overrides": ["train.max_steps=3"]}).json()  # fmt: skip
    assert ok["ok"] is True and ok["errors"] == []
    assert ok["command"] == (
        "domaintune run recipes/qs.yaml --set output_dir=runs/quickstart --set train.max_steps=3"
    )


def test_launch_refuses_a_recipe_that_fails_check(client, ui_dirs):
    runs, recipes = ui_dirs
    text = recipe_path("quickstart").read_text().replace("builtin:raw", "missing/raw")
    r = client.post("/api/launch", json={"yaml": text, "save_as": "qs"})
    assert r.status_code == 422
    assert r.json()["error"]["errors"] == ["stage 'clean': missing/raw: no such file or folder"]
    assert list(runs.iterdir()) == [] and list(recipes.iterdir()) == []


def test_memory_page_is_the_estimate_term_by_term(client):
    from domaintune.memory import RunSetup, plan
    from domaintune.memory.estimate import GIB

    page = client.get("/memory", params={"model": "qwen2.5-7b", "method": "full",
                                         "gpu_mem": "24GiB"}).text  # fmt: skip
    expected = plan("qwen2.5-7b", RunSetup(method="full"), 24 * GIB)
    terms = dict(re.findall(r'data-term="([^"]+)" style="width:([0-9.]+)%', page))
    want = {t.key: round(100 * t.bytes / expected.estimate.total, 2)
            for t in expected.estimate.terms if t.bytes > 0}  # fmt: skip
    assert {k: float(v) for k, v in terms.items()} == want
    assert "does not fit" in page and expected.suggestions
    assert all(s.change in page for s in expected.suggestions)


def test_data_page_is_data_stats(client, ui_dirs):
    from domaintune.data.stats import corpus_stats
    from domaintune.io import read_documents

    runs, _ = ui_dirs
    run = make_run(runs, "r1", state=live_state())
    page = client.get("/data", params={"path": "r1/clean/data.jsonl"}).text
    stats = corpus_stats(read_documents(run / "clean" / "data.jsonl"))
    assert f'<tr><th>documents</th><td class="num">{stats["documents"]}</td></tr>' in page
    table = page.split('id="length-histogram"')[1].split("</table>")[0]
    counts = [
        int(c) for c in re.findall(r'class="hbar"[^<]*</div></td><td class="num">(\d+)', table)
    ]
    assert counts == stats["length"]["histogram"]["counts"]


def test_the_chart_library_is_vendored_and_served(client):
    note = (STATIC / "VENDORED.md").read_text()
    for name in ("uPlot.iife.js", "uPlot.min.css"):
        digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()
        assert digest in note, name
        assert client.get(f"/static/{name}").content == (STATIC / name).read_bytes()
    pages = [client.get(u).text for u in ("/", "/launch", "/memory", "/data", "/playground")]
    assert not any(re.search(r'(src|href)="(https?:)?//', p) for p in pages)  # nothing remote


def test_the_documented_example_runs(ui_dirs, monkeypatch, capsys):
    doc = Path(__file__).resolve().parents[2] / "docs" / "ui.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1
    runs, _ = ui_dirs
    make_run(runs, "r1", state=dead_state())
    monkeypatch.chdir(runs.parent)
    exec(compile(blocks[0], "docs/ui.md", "exec"), {})  # noqa: S102
    assert capsys.readouterr().out == (
        "r1 interrupted [('clean', 'complete'), ('cpt', 'interrupted')]\n"
    )
