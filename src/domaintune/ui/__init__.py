"""`domaintune ui`: a local web app over the runs folder: runs and live curves, a launcher of
detached runs, a playground, memory and data pages (see docs/ui.md).

The library face needs no web stack: run status (`list_runs`, `run_info`, `run_status`) and the
launcher (`launch`, `stop`, `resume`) are plain functions; `create_app` builds the FastAPI app.
Names are imported on first use, so `python -m domaintune.ui.child` (the launched run's wrapper)
and `pipeline`'s `ui.runstate` import nothing else.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "LaunchError": "launch",
    "RecipeTools": "launch",
    "check_recipe_text": "launch",
    "command_preview": "launch",
    "launch": "launch",
    "resume": "launch",
    "stop": "launch",
    "RunInfo": "runs",
    "StageInfo": "runs",
    "list_runs": "runs",
    "run_info": "runs",
    "run_status": "runs",
    "create_app": "app",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'domaintune.ui' has no attribute {name!r}")
    return getattr(importlib.import_module(f"domaintune.ui.{_WHERE[name]}"), name)
