"""report.html: written by `run`, self-contained, every plot present and not blank, and it opens
in headless Chromium without console errors (Debian's chromium, installed by `make test`)."""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from rich.console import Console

from domaintune.pipeline import run_recipe
from domaintune.recipes import parse_recipe

ARTIFACTS = Path(__file__).resolve().parents[2] / "runs" / "test-artifacts"


@pytest.fixture(scope="module")
def report(tmp_path_factory, tiny_model_dir):
    from conftest import make_recipe_raw

    tmp = tmp_path_factory.mktemp("report")
    raw = make_recipe_raw(tmp, tiny_model_dir)
    run_recipe(parse_recipe(raw), console=Console(width=120))
    return tmp / "run" / "report.html"


def _not_blank(png: bytes) -> bool:
    image = Image.open(io.BytesIO(png)).convert("L")
    return ImageStat.Stat(image).stddev[0] > 10  # a blank image has (almost) no variation


def test_report_is_self_contained_with_every_plot(report):
    page = report.read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)"', page)
    alts = [alt for alt, _ in images]
    for stage in ("cpt", "sft"):
        assert [a for a in alts if a.startswith(stage)] == [
            f"{stage} loss",
            f"{stage} learning rate",
            f"{stage} gradient norm",
        ]
    assert all(_not_blank(base64.b64decode(data)) for _, data in images)
    assert "Held-out perplexity" in page and "(-" in page  # CPT lowered domain perplexity
    assert "<h3>Diagnosis</h3>" in page and "recipe.yaml" in page


def test_report_opens_in_headless_chromium(report):
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; `make test` installs Debian's chromium")
        pytest.skip("chromium not installed (make test installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    proc = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={report.parent / 'chromium-profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--hide-scrollbars",
            "--window-size=1100,2400",
            f"--screenshot={shot}",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console  # no console errors (nor any message at all)
    assert shot.exists() and _not_blank(shot.read_bytes())
