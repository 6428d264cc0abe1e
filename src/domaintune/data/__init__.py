"""Data stages: clean, dedup, decontaminate, select, validate, convert, stats.

`dt.data.clean(src, out, ...)` and the other verbs are functions with plain arguments
(`data/api.py`); each verb's module is callable, so `dt.data.clean.clean_file` reaches its parts.
Submodules load on first use, so `import domaintune` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

VERBS = ("clean", "dedup", "decontaminate", "select", "validate", "convert")


def __getattr__(name: str) -> Any:
    if name in (*VERBS, "api", "stats", "stages"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
