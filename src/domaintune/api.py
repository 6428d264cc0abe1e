"""`dt.run` and `dt.load_recipe`: recipes from Python (entry layer, beside the CLI).

The CLI's `domaintune run` is a thin layer over these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domaintune.config import ConfigError, Recipe
from domaintune.io import read_manifest


@dataclass
class RunResult:
    """A finished run: its directory and each stage's counts (as in its manifest.json).

    A recipe with `sweep:` gives one RunResult per variant in `variants` (its folder under
    `run_dir`), and `sweep` holds `sweep.json`: each variant's figures side by side."""

    run_dir: Path
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    variants: dict[str, RunResult] = field(default_factory=dict)
    sweep: dict[str, Any] | None = None

    def manifest(self, stage: str) -> dict[str, Any]:
        found = read_manifest(self.run_dir / stage)
        if found is None:
            raise KeyError(f"stage {stage!r} has no manifest in {self.run_dir}")
        return found

    def model_dir(self, stage: str) -> Path:
        """The model a training stage wrote (merged/ when written, else final/)."""
        merged = self.run_dir / stage / "merged"
        return merged if merged.exists() else self.run_dir / stage / "final"


def load_recipe(
    recipe: str | Path | Mapping[str, Any] | Recipe, overrides: Sequence[str] = ()
) -> Recipe:
    """A validated recipe from a YAML path, `"quickstart"` (bundled), or a mapping."""
    from domaintune.recipes import load_recipe as load_file
    from domaintune.recipes import parse_recipe
    from domaintune.resources import recipe_path

    if isinstance(recipe, Recipe):
        if overrides:
            return parse_recipe(recipe.model_dump(mode="json", by_alias=True), overrides=overrides)
        return recipe
    if isinstance(recipe, Mapping):
        return parse_recipe(dict(recipe), overrides=list(overrides))
    path = Path(recipe)
    if not path.exists() and path.suffix == "" and "/" not in str(recipe):
        path = recipe_path(str(recipe))  # a bundled recipe by name
    return load_file(path, list(overrides))


def run(
    recipe: str | Path | Mapping[str, Any] | Recipe = "quickstart",
    *,
    overrides: Sequence[str] = (),
    stages: Sequence[str] | None = None,
    resume: bool = True,
    force: bool = False,
    check_paths: bool = True,
) -> RunResult:
    """Run a recipe's stages (or only `stages`), skipping complete ones; what `domaintune run` does.

    Raises ConfigError for a bad recipe or missing paths, DataError for bad data rows.
    """
    from domaintune.pipeline import run_recipe
    from domaintune.recipes import recipe_problems

    r = load_recipe(recipe, overrides)
    problems = recipe_problems(r) if check_paths else []
    if problems:
        raise ConfigError("\n".join(problems))
    counts = run_recipe(r, only=list(stages) if stages else None, resume=resume, force=force)
    if not r.sweep:
        return RunResult(r.run_dir, counts)
    from domaintune.report.sweep import read_sweep

    summary = read_sweep(r.run_dir) or {"variants": {}}
    variants = {
        name: RunResult(Path(summary["variants"][name]["dir"]), by_stage)
        for name, by_stage in counts.items()
    }
    return RunResult(r.run_dir, variants=variants, sweep=summary)
