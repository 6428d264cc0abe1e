"""Evaluation: exams (mcq), generation metrics (gen), perplexity, an LLM judge, review sheets.

`dt.eval.mcq(model, exam, ...)` and `dt.eval.gen(model, data, ...)` return the shared result
layout (`eval/results.py`); the functions are in `eval/api.py`. Submodules load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_FUNCTIONS = {"gen", "score_predictions", "load_model"}  # eval/api.py


def __getattr__(name: str) -> Any:
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f"{__name__}.api"), name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
