"""The stage types a recipe can use (one line each) and recipe loading with them.

To add a stage type: write its config model (a `config.StageBase` subclass) and its
`run(stage, ctx) -> counts` function in its own package, then add one line to `STAGE_TYPES`.
Modules are imported when a recipe is loaded; keep heavy imports inside the run functions.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domaintune.config import Recipe, StageBase, read_recipe_yaml, validate_recipe

# type: -> (module, config model, run function)
STAGE_TYPES: dict[str, tuple[str, str, str]] = {
    "clean": ("domaintune.data.stages", "CleanStage", "run_clean"),
    "dedup": ("domaintune.data.stages", "DedupStage", "run_dedup"),
    "decontaminate": ("domaintune.data.stages", "DecontaminateStage", "run_decontaminate"),
    "select": ("domaintune.data.stages", "SelectStage", "run_select"),
    "validate": ("domaintune.data.stages", "ValidateStage", "run_validate"),
    "convert": ("domaintune.data.stages", "ConvertStage", "run_convert"),
    "pt": ("domaintune.train.stage", "TrainStage", "run_train"),
    "sft": ("domaintune.train.stage", "TrainStage", "run_train"),
    "dpo": ("domaintune.train.pref_stage", "PrefStage", "run_pref"),
    "kto": ("domaintune.train.pref_stage", "PrefStage", "run_pref"),
    "eval": ("domaintune.eval.stage", "EvalStage", "run_eval"),
    "synth": ("domaintune.synth.stage", "SynthStage", "run_synth"),
    "export": ("domaintune.serve.stage", "ExportStage", "run_export"),
    "tokenizer": ("domaintune.tokenizer.stage", "TokenizerStage", "run_tokenizer"),
}


def stage_config(kind: str) -> type[StageBase]:
    module, cls, _ = STAGE_TYPES[kind]
    return getattr(importlib.import_module(module), cls)


def stage_runner(kind: str) -> Callable[[Any, Any], dict]:
    module, _, fn = STAGE_TYPES[kind]
    return getattr(importlib.import_module(module), fn)


def stage_types() -> dict[str, type[StageBase]]:
    return {kind: stage_config(kind) for kind in STAGE_TYPES}


def parse_recipe(raw: Any, *, source: str = "<recipe>", overrides: list[str] = ()) -> Recipe:
    """Validate a raw recipe mapping (from YAML or a dict) with `--set` overrides applied."""
    return validate_recipe(raw, stage_types=stage_types(), source=source, overrides=overrides)


def load_recipe(path: str | Path, overrides: list[str] = ()) -> Recipe:
    """Read and validate a recipe YAML file (data paths are relative to the working directory)."""
    raw = read_recipe_yaml(path)
    return parse_recipe(raw, source=str(path), overrides=list(overrides))


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")  # owner/name, as the Hugging Face hub has


def model_path_problem(path: str) -> str | None:
    """Why `model.path` cannot be loaded (None when it can: builtin, a model folder, a hub id)."""
    if path.startswith("builtin:"):
        return None if path == "builtin:tiny" else f"{path!r}: the built-in model is builtin:tiny"
    p = Path(path)
    if p.is_dir():
        if (p / "config.json").exists() or (p / "adapter_config.json").exists():
            return None
        return f"{path}: the folder has no config.json; point model.path at a model folder"
    if p.exists():
        return f"{path}: a file, not a model folder"
    if _HUB_ID.match(path) and not path.startswith((".", "/")):
        return None  # loaded from the hub (or its cache) at run time
    return f"{path}: no such folder, and not a hub id (owner/name); check model.path"


def recipe_problems(recipe: Recipe) -> list[str]:
    """What would fail at run time and can be seen now: missing model and data paths."""
    from domaintune.resources import resolve

    problems = []
    if any("base" in s.models() for s in recipe.stages):
        problem = model_path_problem(recipe.model.path)
        if problem:
            problems.append(f"model.path {problem}")
    for stage in recipe.stages:
        for path in stage.inputs(recipe):
            try:
                missing = not Path(resolve(path)).exists()
            except (FileNotFoundError, ValueError) as err:
                problems.append(f"stage {stage.name!r}: {err}")
                continue
            if missing:
                problems.append(f"stage {stage.name!r}: {path}: no such file or folder")
    return problems
