"""domaintune: from raw domain documents and instruction data to an evaluated domain LLM.

The Python API (docs/python-api.md)::

    import domaintune as dt
    result = dt.run("recipe.yaml", overrides=["train.learning_rate=1e-4"])
    dt.data.clean("raw/", "clean.jsonl"); dt.data.dedup("clean.jsonl", "dedup.jsonl")
    dt.memory.estimate(...); dt.train(model, data, out); dt.eval.mcq(model, exam)
    dt.diagnose("runs/quickstart")

Names load on first use, so `import domaintune` is fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {"run", "load_recipe", "RunResult"}  # domaintune/api.py
_PACKAGES = {"data", "train", "eval", "memory", "diagnose", "templates", "models", "report"}

__all__ = sorted(_API | _PACKAGES)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module("domaintune.api"), name)
    if name in _PACKAGES:
        return importlib.import_module(f"domaintune.{name}")
    raise AttributeError(f"module 'domaintune' has no attribute {name!r}")
