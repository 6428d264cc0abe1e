"""The UI in headless Chromium (Playwright driving Debian's /usr/bin/chromium; never a browser
download): a chart follows metrics.jsonl within 2 s; runs list and run page; launch, stop and
resume from the pages; screenshots of each page in runs/test-artifacts/ui-*.png.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from domaintune.resources import recipe_path
from ui.ui_helpers import (
    ARTIFACTS,
    UiProcess,
    dead_state,
    live_state,
    make_run,
    metrics_rows,
    tools,
    write_metrics,
)

CHROMIUM = "/usr/bin/chromium"
LAG_LIMIT_S = 2.0  # the bound: a new metrics.jsonl line is on the chart within 2 s


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; `make test` installs Debian's chromium")
        pytest.skip("chromium not installed (make test installs it)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield pg
    context.close()
    assert errors == []  # no script errors on any page the test opened


@pytest.fixture
def app_url(ui_dirs, tmp_path):
    """The app served by uvicorn in a thread of this process, on a free loopback port."""
    import uvicorn

    from domaintune.ui import create_app

    runs, recipes = ui_dirs
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = create_app(runs, recipes_dir=recipes, tools=tools(), workdir=tmp_path)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)


def test_chart_follows_metrics_within_two_seconds(app_url, ui_dirs, page):
    runs, _ = ui_dirs
    metrics = make_run(runs, "r1", state=live_state(), metrics=20) / "cpt" / "metrics.jsonl"
    page.goto(app_url + "/runs/r1")
    page.wait_for_selector('[data-chart="loss"][data-last-step="20"]', timeout=10_000)
    assert page.inner_text("#run-status") == "running"
    legend = page.inner_text('[data-chart="loss"] .u-legend')
    assert "train" in legend and "eval domain" in legend
    pref = page.inner_text('[data-chart="pref"] .u-legend')  # preference metrics when present
    assert "margin" in pref and "accuracy" in pref
    assert page.get_attribute('[data-chart="other"]', "hidden") == ""
    start = time.monotonic()
    write_metrics(metrics, metrics_rows(1, start=21), mode="a")
    page.wait_for_selector('[data-chart="loss"][data-last-step="21"]', timeout=10_000)
    lag = time.monotonic() - start
    print(f"chart lag {lag:.2f} s")
    assert lag <= LAG_LIMIT_S
    assert page.get_attribute('[data-chart="loss"]', "data-points") == "21"
    shot(page, "run")


def _wait_status(page, want: set[str], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = page.inner_text("#run-status")
        if status in want:
            return status
        time.sleep(0.25)
    raise AssertionError(f"run status stayed {status!r}, wanted one of {want}")


@pytest.mark.slow
def test_launch_stop_resume_the_quickstart_from_the_pages(page, tmp_path):
    """List runs, launch the quickstart with small steps, stop it, resume it to the end."""
    from playwright.sync_api import expect  # after the browser fixture: it skips without it

    runs, recipes = tmp_path / "runs", tmp_path / "recipes"
    make_run(runs, "earlier", state={**dead_state(), "status": "finished"}, cpt_status="complete")
    ui = UiProcess(runs, recipes, tmp_path / "ui.log", cwd=tmp_path)
    try:
        page.goto(ui.url + "/")
        assert page.inner_text('tr[data-run="earlier"] [data-status]') == "finished"
        shot(page, "runs")
        page.goto(ui.url + "/launch")
        page.fill("#overrides", "train.max_steps=3\ntrain.logging_steps=1")
        page.click("#check")
        command = ("domaintune run recipes/quickstart.yaml --set output_dir=runs/quickstart"
                   " --set train.max_steps=3 --set train.logging_steps=1")  # fmt: skip
        expect(page.locator("#command")).to_have_text(command, timeout=30_000)
        expect(page.locator("#check-result")).to_have_text("check: ok")
        shot(page, "launch")
        page.click("#launch")
        page.wait_for_url("**/runs/quickstart")
        _wait_status(page, {"running"})
        assert (recipes / "quickstart.yaml").read_text() == recipe_path("quickstart").read_text()
        page.click("#stop")
        _wait_status(page, {"interrupted"})
        page.click("#resume")
        _wait_status(page, {"running"})
        assert _wait_status(page, {"finished", "failed"}, timeout=1800) == "finished"
        chips = page.locator("#stages [data-status]").all_inner_texts()
        assert chips == ["complete"] * 8
        assert page.get_attribute("#report-link", "class") == ""
        page.wait_for_selector('[data-chart="loss"][data-last-step="3"]')
        shot(page, "run-finished")
        page.goto(ui.url + "/data?path=quickstart/clean/data.jsonl")
        kept = page.inner_text("#data-summary tr:first-child td")
        assert kept == f"{_counts(runs / 'quickstart', 'clean')['kept']:,}"
        shot(page, "data-quickstart")
        page.goto(ui.url + "/playground?run=quickstart")
        page.fill("#questions", "What is hypertension?")
        page.click("#ask")
        page.wait_for_selector(".side [data-model] .answer")
        assert page.locator(".side [data-model]").count() == 2  # base and sft, side by side
        shot(page, "playground")
    finally:
        page.goto("about:blank")  # no poll of a UI that is going away
        ui.kill()
    _stop_leftovers(runs / "quickstart")


def _counts(run_dir: Path, stage: str) -> dict:
    from domaintune.io import read_manifest

    return read_manifest(run_dir / stage)["counts"]


def _stop_leftovers(run_dir: Path) -> None:
    from domaintune.ui import run_status, stop

    if run_status(run_dir)[0] == "running":
        stop(run_dir, timeout=10)


@pytest.mark.slow
def test_other_pages_in_the_browser(app_url, ui_dirs, page):
    runs, _ = ui_dirs
    make_run(runs, "r1", state=live_state())
    page.goto(app_url + "/memory?model=qwen2.5-7b&method=full&gpu_mem=24GiB")
    assert page.inner_text("#verdict").startswith("does not fit")
    assert page.locator("#memory-bar [data-term]").count() >= 5
    shot(page, "memory")
    page.goto(app_url + "/data?path=r1/clean/data.jsonl")
    assert page.locator("#length-histogram tr").count() == 10
    shot(page, "data")
