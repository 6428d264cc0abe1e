"""The launcher: pick a bundled or saved recipe, edit its YAML, check it inline, preview the
command, start it detached; stop and resume runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from domaintune.io import write_text
from domaintune.ui.app import config_of, inside, render, run_dir_of, safe_name
from domaintune.ui.launch import (
    LaunchError,
    check_recipe_text,
    command_preview,
    launch,
    resume,
    run_overrides,
    stop,
)

router = APIRouter()
BUNDLED = "bundled:"


class RecipeForm(BaseModel):
    yaml: str = Field(max_length=1_000_000)
    overrides: list[str] = []
    save_as: str = "recipe"  # the saved recipe's name in the recipes folder


def recipe_choices(recipes_dir: Path) -> list[str]:
    """`bundled:NAME` for each bundled recipe, then each saved one (by file stem)."""
    from domaintune.resources import ROOT

    bundled = [BUNDLED + p.stem for p in sorted((ROOT / "recipes").glob("*.yaml"))]
    return bundled + [p.stem for p in sorted(recipes_dir.glob("*.yaml"))]


def recipe_file(request: Request, choice: str) -> Path:
    """The file behind a choice; a saved recipe must lie in the recipes folder."""
    from domaintune.resources import recipe_path

    if choice.startswith(BUNDLED):
        try:
            return recipe_path(safe_name(choice[len(BUNDLED) :], "bundled recipe"))
        except FileNotFoundError as err:
            raise HTTPException(404, str(err)) from None
    folder = config_of(request).recipes_dir
    path = inside(folder / f"{safe_name(choice, 'recipe')}.yaml", folder)
    if not path.exists():
        raise HTTPException(404, f"no saved recipe {choice!r} in {folder}")
    return path


@router.get("/launch")
def launch_page(request: Request, recipe: str = "bundled:quickstart"):
    cfg = config_of(request)
    text = recipe_file(request, recipe).read_text(encoding="utf-8")
    save_as = recipe.removeprefix(BUNDLED)
    return render(request, "launch.html", choices=recipe_choices(cfg.recipes_dir),
                  chosen=recipe, yaml=text, save_as=save_as)  # fmt: skip


def _saved_path(request: Request, form: RecipeForm) -> Path:
    folder = config_of(request).recipes_dir
    return folder / f"{safe_name(form.save_as, 'recipe')}.yaml"


def _check(request: Request, form: RecipeForm):
    """The UI's config, where the recipe would be saved, and `check`'s answer on the YAML."""
    cfg = config_of(request)
    saved = _saved_path(request, form)
    shown = _shown(saved, cfg.workdir)
    return cfg, saved, check_recipe_text(form.yaml, form.overrides, cfg.tools, shown_as=shown)


@router.post("/api/check")
def check_json(request: Request, form: RecipeForm) -> dict[str, Any]:
    """`domaintune check` on the edited YAML: errors (with "did you mean"), the command."""
    cfg, saved, checked = _check(request, form)
    command = None
    if checked.name:
        run_dir = _shown(cfg.runs_dir / checked.name, cfg.workdir)
        overrides = run_overrides(run_dir, form.overrides)
        command = command_preview(_shown(saved, cfg.workdir), overrides)
    return {"ok": not checked.errors, "errors": checked.errors, "command": command,
            "name": checked.name, "resolved": checked.resolved}  # fmt: skip


@router.post("/api/launch")
def launch_json(request: Request, form: RecipeForm) -> dict[str, Any]:
    """Save the YAML as a recipe in the recipes folder and start it detached."""
    cfg, saved, checked = _check(request, form)
    if checked.errors:
        raise HTTPException(422, {"message": "the recipe fails check", "errors": checked.errors})
    write_text(saved, form.yaml)
    try:
        run_dir = launch(saved, form.overrides, cfg.runs_dir, cfg.tools, cwd=cfg.workdir)
    except LaunchError as err:
        raise HTTPException(409, str(err)) from None
    return {"run": run_dir.name, "url": f"/runs/{run_dir.name}", "recipe": str(saved)}


@router.post("/api/runs/{name}/stop")
def stop_json(request: Request, name: str) -> dict[str, Any]:
    try:
        pid = stop(run_dir_of(request, name))
    except LaunchError as err:
        raise HTTPException(409, str(err)) from None
    return {"stopped": pid}


@router.post("/api/runs/{name}/resume")
def resume_json(request: Request, name: str) -> dict[str, Any]:
    try:
        run_dir = resume(run_dir_of(request, name), config_of(request).tools)
    except LaunchError as err:
        raise HTTPException(409, str(err)) from None
    return {"run": run_dir.name, "url": f"/runs/{run_dir.name}"}


def _shown(path: Path, workdir: Path) -> str:
    """A path as the user would type it from the UI's working directory."""
    try:
        return str(path.resolve().relative_to(workdir))
    except ValueError:
        return str(path)
