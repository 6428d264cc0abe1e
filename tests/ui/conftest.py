"""UI fixtures: run folders written by hand, and the app under TestClient."""

from __future__ import annotations

import pytest

from ui.ui_helpers import tools


@pytest.fixture
def ui_dirs(tmp_path):
    runs, recipes = tmp_path / "runs", tmp_path / "recipes"
    runs.mkdir()
    recipes.mkdir()
    return runs, recipes


@pytest.fixture
def client(ui_dirs, tmp_path):
    from fastapi.testclient import TestClient

    from domaintune.ui import create_app

    runs, recipes = ui_dirs
    return TestClient(create_app(runs, recipes_dir=recipes, tools=tools(), workdir=tmp_path))
