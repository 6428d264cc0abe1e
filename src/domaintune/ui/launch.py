"""Check, launch, stop and resume runs as detached processes that outlive the UI.

A launched run is `domaintune run RECIPE --set output_dir=RUNS/NAME ...` in its own session
(process group), started through `ui/child.py`, which waits for it and records its exit code in
`exit.json`. Its output goes to `RUN_DIR/run.log`; `launch.json` names the process group. Nothing
about the run lives in the UI process: a new UI reads the same files and sees the same status.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domaintune.io import write_json
from domaintune.ui.runs import run_status
from domaintune.ui.runstate import EXIT_STATE, LAUNCH_STATE, LOG_FILE, process_record, read_state


class LaunchError(ValueError):
    """A run that cannot be started or stopped, with what to do about it."""


@dataclass(frozen=True)
class RecipeTools:
    """How recipes are read and checked: `recipes.load_recipe` and `recipes.recipe_problems`.

    They belong to the entry layer, which a stage package such as this one does not import;
    `domaintune ui` (cli.py) hands them in, as do tests and scripts (see docs/ui.md).
    """

    load: Callable[[Path, list[str]], Any]  # (path, overrides) -> Recipe; raises ConfigError
    problems: Callable[[Any], list[str]]  # Recipe -> what would fail at run time


@dataclass
class Checked:
    """A recipe checked as `domaintune check` does: the errors, or the resolved recipe."""

    errors: list[str]
    name: str | None = None
    resolved: str | None = None  # the resolved YAML, as `check` prints it


def check_recipe_file(
    path: Path, overrides: list[str], tools: RecipeTools, *, shown_as: str | None = None
) -> Checked:
    """Validate keys and values (errors say "did you mean"), then that paths exist."""
    from domaintune.config import ConfigError

    try:
        recipe = tools.load(path, overrides)
    except (ConfigError, FileNotFoundError) as err:
        text = str(err).replace(str(path), shown_as) if shown_as else str(err)
        return Checked(errors=text.splitlines())
    problems = tools.problems(recipe)
    return Checked(errors=problems, name=recipe.name, resolved=recipe.to_yaml())


def check_recipe_text(
    text: str, overrides: list[str], tools: RecipeTools, *, shown_as: str = "recipe.yaml"
) -> Checked:
    """`check_recipe_file` on YAML text (errors name `shown_as` and its line)."""
    with tempfile.TemporaryDirectory(prefix="domaintune-ui-") as tmp:
        path = Path(tmp) / Path(shown_as).name
        path.write_text(text, encoding="utf-8")
        return check_recipe_file(path, overrides, tools, shown_as=shown_as)


def run_overrides(run_dir: Path, overrides: list[str]) -> list[str]:
    """The user's overrides with the run directory pinned under the UI's runs folder."""
    mine = [o for o in overrides if not o.strip().startswith("output_dir=")]
    return [f"output_dir={run_dir}", *mine]


def run_command(recipe: str | Path, overrides: list[str]) -> list[str]:
    """The `domaintune run` command line (argv) of a recipe with overrides."""
    argv = ["domaintune", "run", str(recipe)]
    for o in overrides:
        argv += ["--set", o]
    return argv


def command_preview(recipe: str | Path, overrides: list[str]) -> str:
    """What to type in a terminal for the same run."""
    return shlex.join(run_command(recipe, overrides))


def launch(
    recipe: Path,
    overrides: list[str],
    runs_dir: Path,
    tools: RecipeTools,
    *,
    cwd: Path | None = None,
) -> Path:
    """Start the recipe as a detached run under `runs_dir`; return its run directory.

    Refuses a recipe that fails `check` and a run directory whose run is still running.
    """
    checked = check_recipe_file(recipe, overrides, tools)
    if checked.errors:
        raise LaunchError("the recipe fails check:\n" + "\n".join(checked.errors))
    run_dir = Path(runs_dir).resolve() / checked.name
    full = run_overrides(run_dir, overrides)
    rechecked = check_recipe_file(recipe, full, tools)
    if rechecked.errors:
        raise LaunchError("the recipe fails check:\n" + "\n".join(rechecked.errors))
    return start_detached(run_dir, run_command(recipe, full)[2:], cwd=cwd)


def start_detached(run_dir: Path, run_args: list[str], *, cwd: Path | None = None) -> Path:
    """`python -m domaintune.cli run *run_args` in a new session, wrapped by ui/child.py."""
    status, _, pid = run_status(run_dir)
    if status == "running":
        raise LaunchError(f"{run_dir.name} is already running (pid {pid}); stop it first")
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / EXIT_STATE).unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "domaintune.cli", "run", *run_args]
    wrapper = [sys.executable, "-m", "domaintune.ui.child", str(run_dir), "--", *cmd]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(run_dir / LOG_FILE, "ab") as log:
        log.write(f"\n$ {shlex.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            wrapper, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    record = process_record(proc.pid, cmd)
    record["cwd"] = str(Path(cwd or os.getcwd()).resolve())
    write_json(run_dir / LAUNCH_STATE, record)
    # Collect the wrapper when it exits while this UI lives (no zombie); if the UI stops first,
    # the wrapper is adopted by init and the run goes on.
    threading.Thread(target=proc.wait, daemon=True).start()
    return run_dir


def stop(run_dir: Path, *, timeout: float = 20.0) -> int:
    """Stop a running run: SIGTERM to its process group (SIGKILL after `timeout`); its pid."""
    status, _, pid = run_status(run_dir)
    if status != "running" or pid is None:
        raise LaunchError(f"{run_dir.name} is not running ({status})")
    launch_state = read_state(run_dir / LAUNCH_STATE) or {}
    # A run launched here leads its own process group; one started in a terminal shares the
    # shell's group, so only its own process is signalled.
    group = launch_state.get("pid") if launch_state.get("pid") in (pid, _group(pid)) else None
    _signal(pid, group, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline and run_status(run_dir)[0] == "running":
        time.sleep(0.2)
    if run_status(run_dir)[0] == "running":
        _signal(pid, group, signal.SIGKILL)
    return pid


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _signal(pid: int, group: int | None, sig: int) -> None:
    try:
        if group is not None:
            os.killpg(group, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def resume(run_dir: Path, tools: RecipeTools) -> Path:
    """Start an interrupted or failed run again from its resolved recipe (same settings, so
    complete stages are skipped and an interrupted training stage continues from its checkpoint).
    """
    status, _, _ = run_status(run_dir)
    if status == "running":
        raise LaunchError(f"{run_dir.name} is running; nothing to resume")
    state = read_state(run_dir / LAUNCH_STATE) or read_state(run_dir / "run.json") or {}
    cwd = Path(state["cwd"]) if state.get("cwd") else None  # relative data paths, as first run
    recipe = run_dir / "recipe.yaml"
    if not recipe.exists():  # stopped before it began: the launch command again
        argv = state.get("argv", [])
        if "run" not in argv or not (run_dir / LAUNCH_STATE).exists():
            raise LaunchError(f"{run_dir.name}: no recipe.yaml; launch it from its recipe instead")
        return start_detached(run_dir, argv[argv.index("run") + 1 :], cwd=cwd)
    checked = check_recipe_file(recipe, [], tools)
    if checked.errors:
        raise LaunchError("the run's recipe fails check:\n" + "\n".join(checked.errors))
    return start_detached(run_dir, [str(recipe.resolve())], cwd=cwd)
