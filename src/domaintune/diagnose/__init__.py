"""`diagnose`: explain a run's training curves from its metrics.jsonl (source document §39)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from domaintune.diagnose.curves import Curves, read_curves
from domaintune.diagnose.findings import (
    Finding,
    divergence,
    epoch_boundary_drops,
    forgetting,
    learning_rate,
    overfitting,
    throughput,
)
from domaintune.diagnose.pref import pref_findings

__all__ = ["Finding", "diagnose_curves", "diagnose_run", "diagnose_stage", "stage_dirs"]


def diagnose_curves(
    c: Curves, *, checkpoints: list[int] = (), precision: str | None = None
) -> list[Finding]:
    """Every detector on one stage's curves, warnings first."""
    found = [
        *divergence(c, precision=precision),
        *epoch_boundary_drops(c),
        *overfitting(c, checkpoints),
        *learning_rate(c),
        *forgetting(c),
        *throughput(c),
        *pref_findings(c),
    ]
    return sorted(found, key=lambda f: f.severity != "warning")


def stage_dirs(path: str | Path) -> list[Path]:
    """Folders holding a metrics.jsonl: the path itself, or its stages in recipe order."""
    path = Path(path)
    if (path / "metrics.jsonl").exists():
        return [path]
    found = sorted(p.parent for p in path.glob("*/metrics.jsonl"))
    recipe = path / "recipe.yaml"
    if recipe.exists():
        order = [s.get("name") for s in yaml.safe_load(recipe.read_text()).get("stages", [])]
        found.sort(key=lambda p: order.index(p.name) if p.name in order else len(order))
    return found


def _precision(stage: Path) -> str | None:
    """fp16/bf16/fp32 from the run's recipe (stage folder or its run folder), if there is one."""
    for recipe in (stage / "recipe.yaml", stage.parent / "recipe.yaml"):
        if recipe.exists():
            dtype = (yaml.safe_load(recipe.read_text()).get("model") or {}).get("dtype")
            return {"float16": "fp16", "bfloat16": "bf16"}.get(dtype, dtype)
    return None


def _checkpoints(stage: Path) -> list[int]:
    names = (p.name for p in (stage / "checkpoints").glob("checkpoint-*"))
    return sorted(int(m.group(1)) for n in names if (m := re.fullmatch(r"checkpoint-(\d+)", n)))


def diagnose_stage(stage: str | Path, curves: Curves | None = None) -> list[Finding]:
    """Findings for one folder holding metrics.jsonl (its checkpoints and recipe used if any)."""
    stage = Path(stage)
    c = curves if curves is not None else read_curves(stage / "metrics.jsonl")
    return diagnose_curves(c, checkpoints=_checkpoints(stage), precision=_precision(stage))


def diagnose_run(path: str | Path) -> dict[str, list[Finding]]:
    """Findings per training stage of a run directory (or of one folder with metrics.jsonl)."""
    path = Path(path)
    stages = stage_dirs(path)
    if not stages:
        raise FileNotFoundError(f"{path}: no metrics.jsonl here or in its stage folders")
    return {s.name: diagnose_stage(s) for s in stages}


from domaintune.verbs import make_callable  # noqa: E402 (last: the module is complete)

make_callable(__name__, "domaintune.diagnose:diagnose_run")  # dt.diagnose(run_dir)
