"""Imports point down: core modules never import a stage package, stage packages never import
the entry layer, and CJK characters, ranks and metrics.jsonl each have one definition."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "domaintune"
ENTRY = {"cli", "pipeline", "sweep", "api", "recipes"}
CORE = {
    "config", "records", "io", "models", "stages", "distributed", "resources", "verbs",
    "templates", "text", "cli_common", "__init__",
}  # fmt: skip
STAGES = {
    "data", "train", "eval", "memory", "diagnose", "report", "synth", "serve", "tokenizer",
    "advise", "ui",
}  # fmt: skip


def _layer(path: Path) -> tuple[str, str]:
    top = path.relative_to(ROOT).parts[0].removesuffix(".py")
    if top in ENTRY:
        return "entry", top
    return ("core" if top in CORE else "stage"), top


def _imports(path: Path) -> set[str]:
    """Every domaintune module a file imports (at the top or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
            found |= {n for n in [node.module, *names] if n.startswith("domaintune")}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("domaintune")}
    return found


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_module_has_a_layer():
    tops = {p.relative_to(ROOT).parts[0].removesuffix(".py") for p in ROOT.rglob("*.py")}
    assert tops - ENTRY - CORE - STAGES == set()  # a new package is placed in a layer here


def test_no_module_imports_upward():
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        layer, own = _layer(path)
        for module in _imports(path):
            top = _top(module)
            if top is None or top == own or top in ("__version__",):
                continue
            if layer == "core" and top in STAGES | ENTRY:
                upward.append(f"{path.relative_to(ROOT)} (core) imports {module}")
            if layer == "stage" and top in ENTRY:
                upward.append(f"{path.relative_to(ROOT)} (stage) imports {module}")
    assert upward == []


def test_world_size_and_rank_are_read_only_in_distributed():
    readers = [
        str(p.relative_to(ROOT))
        for p in ROOT.rglob("*.py")
        if re.search(r"environ(?:\.get)?\(?\[?\s*[\"'](?:WORLD_SIZE|RANK|LOCAL_RANK)[\"']",
                     p.read_text(encoding="utf-8"))  # fmt: skip
    ]
    assert [r for r in readers if r != "distributed.py"] == []


def test_loading_a_recipe_imports_no_heavy_library():
    """Every stage type's config loads without torch/transformers/peft/trl/ray: `check`, the UI's
    launcher and every `domaintune` process start in well under a second instead of ~7 s."""
    import subprocess
    import sys

    code = (
        "import sys; from domaintune.recipes import stage_types; stage_types(); "
        "print(sorted(m for m in ('torch', 'transformers', 'peft', 'trl', 'ray', 'datasets') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
