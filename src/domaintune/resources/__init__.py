"""Bundled sample data and recipes (resources/data/README.md: what they are, their licence)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent
BUILTIN_PREFIX = "builtin:"


def data_path(name: str) -> Path:
    """Path of a bundled data file, e.g. `data_path("domain_corpus.jsonl")`."""
    path = ROOT / "data" / name
    if not path.exists():
        available = sorted(p.name for p in (ROOT / "data").glob("*.jsonl"))
        raise FileNotFoundError(f"no bundled data file {name!r}; available: {available}")
    return path


def recipe_path(name: str) -> Path:
    """Path of a bundled recipe, e.g. `recipe_path("quickstart")`."""
    path = ROOT / "recipes" / f"{name}.yaml"
    if not path.exists():
        available = sorted(p.stem for p in (ROOT / "recipes").glob("*.yaml"))
        raise FileNotFoundError(f"no bundled recipe {name!r}; available: {available}")
    return path


def resolve(path: str) -> Path:
    """`builtin:NAME` -> the bundled file; anything else is a path as given."""
    if path.startswith(BUILTIN_PREFIX):
        return data_path(path[len(BUILTIN_PREFIX) :])
    return Path(path)
