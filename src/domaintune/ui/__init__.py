"""`domaintune ui`: a local web app over the runs folder: runs and live curves, a launcher of
detached runs, a playground, memory and data pages (see docs/ui.md).

The library face needs no web stack: run status (`list_runs`, `run_info`) and the launcher
(`launch`, `stop`, `resume`) are plain functions; `create_app` builds the FastAPI app.
"""

from __future__ import annotations

from typing import Any

from domaintune.ui.launch import (
    LaunchError,
    RecipeTools,
    check_recipe_text,
    command_preview,
    launch,
    resume,
    stop,
)
from domaintune.ui.runs import RunInfo, StageInfo, list_runs, run_info, run_status

__all__ = [
    "LaunchError",
    "RecipeTools",
    "RunInfo",
    "StageInfo",
    "check_recipe_text",
    "command_preview",
    "create_app",
    "launch",
    "list_runs",
    "resume",
    "run_info",
    "run_status",
    "stop",
]


def create_app(*args: Any, **kwargs: Any):
    """The FastAPI app (`ui.app.create_app`); imported on use, so `domaintune.ui` stays light."""
    from domaintune.ui.app import create_app as build

    return build(*args, **kwargs)
