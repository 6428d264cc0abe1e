"""What a running stage sees: the stage contract's context (core; imports no stage package).

A stage type is a config model (a `config.StageBase` subclass, in its own package) and one function
`run(stage, ctx) -> counts`. The runner (`pipeline.py`) builds a `StageContext` for each stage it
runs; the stage reads its inputs through it and writes only under `ctx.out`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from domaintune.config import DataSource, Recipe
from domaintune.resources import resolve

BUILTIN_TINY = "builtin:tiny"
DATA_FILE = "data.jsonl"  # a data stage's kept rows
REJECTS_FILE = "rejects.jsonl"  # a data stage's rejected rows, each with its reason
BASE_MODEL_DIR = "base-model"  # the built-in tiny model, built into the run directory


@dataclass
class StageContext:
    """A stage's view of the run: where to write, and where earlier stages' outputs are."""

    recipe: Recipe
    out: Path
    console: Console = field(default_factory=Console)
    resume: bool = True  # an interrupted training stage continues from its last checkpoint
    force: bool = False  # start training even when the memory pre-flight says it will not fit

    @property
    def run_dir(self) -> Path:
        return self.recipe.run_dir

    def stage_dir(self, name: str) -> Path:
        return self.run_dir / name

    def model_dir(self, ref: str) -> Path:
        """The model a stage reads: 'base' or an earlier stage's output (merged if written)."""
        return model_dir(self.recipe, ref)

    def data_paths(self, source: DataSource) -> list[Path]:
        """The file(s) of one input: its path (builtin: resolved) or an earlier stage's output."""
        if source.from_ is not None:
            return [self.stage_dir(source.from_) / DATA_FILE]
        return [resolve(source.path)]

    def all_paths(self, sources: list[DataSource]) -> list[Path]:
        return [p for s in sources for p in self.data_paths(s)]


def model_dir(recipe: Recipe, ref: str) -> Path:
    """'base' -> the recipe's model; a stage name -> its merged model, else its final/ output."""
    if ref == "base":
        path = recipe.model.path
        return recipe.run_dir / BASE_MODEL_DIR if path == BUILTIN_TINY else Path(path)
    stage_dir = recipe.run_dir / ref
    merged = stage_dir / "merged"
    return merged if merged.exists() else stage_dir / "final"
