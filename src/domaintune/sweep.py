"""Recipe sweeps: a recipe's `sweep:` block expanded into variants, each run into its own folder.

`sweep:` holds grid axes (dotted keys as `--set` writes them: `train.learning_rate: [1e-4, 3e-4]`,
`stages.cpt.data.1.share: [0, 0.15]`), named `variants:` (each a mapping of such keys) and stage
switches (`stages.NAME: [true, false]`: a model stage turned off; what trained from it trains from
its model instead). Each variant is an ordinary recipe run by `pipeline.run_recipe` into
`<run_dir>/<variant>/`; a stage whose fingerprint another run already completed is hard-linked in
(`pipeline._reuse`), and `sweep.json`, `sweep.md` and a side-by-side `report.html` are written.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from rich.console import Console

from domaintune import distributed
from domaintune.config import ConfigError, Recipe
from domaintune.io import write_text
from domaintune.pipeline import run_recipe


def _label(key: str, keys: list[str]) -> str:
    """A grid axis' short name in variant names: its last named part unless two keys share it."""
    short = [p for p in key.split(".") if not p.isdigit()][-1]
    same = [k for k in keys if [p for p in k.split(".") if not p.isdigit()][-1] == short]
    return short if len(same) == 1 else key


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return format(value, "g") if isinstance(value, float) else str(value)


def sweep_variants(sweep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Variant name -> its overrides: the named `variants:` crossed with the grid of the others.

    `{variants: {a: {x: 1}}, seed: [1, 2]}` -> `{"a,seed=1": {x: 1, seed: 1}, "a,seed=2": ...}`.
    """
    named = dict(sweep.get("variants") or {"": {}})
    axes = {k: v for k, v in sweep.items() if k != "variants"}
    keys = list(axes)
    out: dict[str, dict[str, Any]] = {}
    for name, over in named.items():
        for combo in itertools.product(*(axes[k] for k in keys)):
            parts = [name] if name else []
            parts += [f"{_label(k, keys)}={_show(v)}" for k, v in zip(keys, combo, strict=True)]
            label = ",".join(parts).replace("/", "_") or "default"
            out[label] = {**over, **dict(zip(keys, combo, strict=True))}
    return out


def _drop_stage(raw: dict, name: str) -> None:
    """`stages.NAME: false`: remove a model stage; what trained from it trains from its model."""
    stages = raw.get("stages") or []
    gone = next((s for s in stages if isinstance(s, dict) and s.get("name") == name), None)
    if gone is None:
        raise ConfigError(f"sweep: stages.{name}: no stage named {name!r}")
    source = gone.get("model_from") or "base"
    raw["stages"] = [s for s in stages if s is not gone]
    for s in raw["stages"]:
        if f'"from": "{name}"' in json.dumps(s):
            raise ConfigError(
                f"sweep: stages.{name}: stage {s.get('name')!r} reads its data (from: {name}); "
                "only a stage that trains a model can be turned off"
            )
        if s.get("model_from") == name:
            s["model_from"] = source
        if isinstance(s.get("models"), list):
            s["models"] = [m for m in s["models"] if m != name]


def _is_switch(key: str, value: Any) -> bool:
    """`stages.NAME: true/false` turns a stage on or off."""
    parts = key.split(".")
    return len(parts) == 2 and parts[0] == "stages" and isinstance(value, bool)


def variant_recipes(recipe: Recipe) -> dict[str, Recipe]:
    """Each sweep variant as a recipe of its own, run into `<run_dir>/<variant>/`."""
    from domaintune.recipes import parse_recipe

    base = copy.deepcopy(recipe._raw or recipe.model_dump(mode="json", by_alias=True))
    base.pop("sweep", None)
    out = {}
    for name, over in sweep_variants(recipe.sweep or {}).items():
        raw = copy.deepcopy(base)
        switches = {k: v for k, v in over.items() if _is_switch(k, v)}
        for key, on in switches.items():
            if not on:
                _drop_stage(raw, key.split(".")[1])
        off = tuple(f"{k}." for k, on in switches.items() if not on)
        sets = [
            f"{k}={json.dumps(v)}"
            for k, v in over.items()
            if k not in switches and not k.startswith(off)  # fields of a stage turned off
        ]
        raw["output_dir"] = str(recipe.run_dir / name)
        try:
            out[name] = parse_recipe(raw, source=f"sweep variant {name!r}", overrides=sets)
        except ConfigError as err:
            raise ConfigError(f"sweep variant {name!r} ({over}):\n{err}") from None
    return out


def run_sweep(
    recipe: Recipe,
    *,
    only: list[str] | None = None,
    resume: bool = True,
    console: Console | None = None,
    force: bool = False,
) -> dict[str, dict]:
    """Run every sweep variant into its own folder, re-using stages other variants finished.

    Returns variant -> stage -> counts; writes `sweep.json` (each variant's figures and which
    stages ran, were skipped or reused) and the side-by-side `report.html` in the run directory.
    """
    from domaintune.report.sweep import write_sweep_report

    console = console or Console()
    variants = variant_recipes(recipe)
    root = recipe.run_dir
    root.mkdir(parents=True, exist_ok=True)
    write_text(root / "recipe.yaml", recipe.to_yaml())
    outcomes, events = {}, {}
    for i, (name, variant) in enumerate(variants.items(), 1):
        console.rule(f"[bold]variant {i}/{len(variants)}: {name}")
        events[name] = {}
        outcomes[name] = run_recipe(
            variant, only=only, resume=resume, console=console, force=force,
            reuse=root.parent, events=events[name],
        )  # fmt: skip
    if distributed.is_main_process():
        write_sweep_report(root, {n: v.run_dir for n, v in variants.items()}, events)
    return outcomes
