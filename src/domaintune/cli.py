"""The `domaintune` command: one sub-command per verb."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(
    help="domaintune: from raw domain documents and instruction data to an evaluated domain LLM.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def _mount_subcommands() -> None:
    """Verb groups live beside their stage (data/cli.py, templates/cli.py)."""
    from domaintune.data.cli import app as data_app
    from domaintune.eval.cli import app as eval_app
    from domaintune.memory.cli import memory
    from domaintune.templates.cli import app as template_app

    app.add_typer(data_app, name="data", help="Check, convert and prepare data files.")
    app.add_typer(template_app, name="template", help="List and render chat templates.")
    app.add_typer(eval_app, name="eval", help="Score models: exams, generation, perplexity, judge.")
    from domaintune.tokenizer.cli import app as tokenizer_app

    app.add_typer(tokenizer_app, name="tokenizer", help="Analyse and expand vocabularies.")
    app.command("memory")(memory)
    from domaintune.advise.cli import advise

    app.command("advise")(advise)
    from domaintune.serve.cli import chat, export, serve

    app.command("serve")(serve)
    app.command("export")(export)
    app.command("chat")(chat)


SET_HELP = "Override a recipe field, e.g. --set train.learning_rate=1e-4 (repeatable)."


def _load(recipe: Path | None, overrides: list[str]):
    from domaintune.config import ConfigError
    from domaintune.recipes import load_recipe
    from domaintune.resources import recipe_path

    path = recipe or recipe_path("quickstart")
    try:
        return load_recipe(path, overrides)
    except ConfigError as err:
        console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


DEBUG_HELP = "Show the full traceback of an error (default: one line saying what to fix)."


def _fail_on_data_errors(fn, *args, debug: bool = False, **kwargs):
    """Run `fn`; any error becomes one line naming what to fix (the traceback with --debug)."""
    from domaintune.config import ConfigError
    from domaintune.memory import WillNotFitError
    from domaintune.records import DataError

    try:
        return fn(*args, **kwargs)
    except typer.Exit:
        raise
    except Exception as err:  # noqa: BLE001 (every error is reported; --debug shows where)
        if debug:
            raise
        # Our own errors explain themselves; others get their type, since the message may not.
        ours = (DataError, ConfigError, FileNotFoundError, WillNotFitError, ValueError)
        plain = isinstance(err, ours) or _is_ours(err)
        text = str(err) if plain else f"{type(err).__name__}: {err}"
        first = text.strip().splitlines() or [type(err).__name__]
        more = len(first) > 1 and not isinstance(err, ConfigError | DataError)
        shown = "\n".join(first) if not more else first[0] + " (more with --debug)"
        console.print(f"[red]error:[/] {shown}", highlight=False, soft_wrap=True)
        if not isinstance(err, ConfigError | DataError | WillNotFitError):
            console.print("[dim](rerun with --debug for the traceback)[/]", highlight=False)
        raise typer.Exit(1) from None


def _is_ours(err: Exception) -> bool:
    return type(err).__module__.startswith("domaintune.")


def _check_paths(recipe) -> None:
    from domaintune.recipes import recipe_problems

    problems = recipe_problems(recipe)
    for p in problems:
        console.print(f"[red]error:[/] {p}", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(2)


@app.command()
def run(
    recipe: Path | None = typer.Argument(
        None, help="Recipe YAML; default: the built-in quickstart."
    ),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    stage: list[str] = typer.Option([], "--stage", help="Run only these stages (repeatable)."),
    resume: bool = typer.Option(
        True, "--resume/--no-resume", help="Continue an interrupted training stage (default)."
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Train even if the GPU memory estimate says the run will not fit; remove "
        "interrupted work of other settings kept in .previous/.",
    ),
    debug: bool = typer.Option(False, "--debug", help=DEBUG_HELP),
) -> None:
    """Run a recipe's stages in order (with no recipe: the quickstart into runs/quickstart/)."""
    from domaintune.distributed import is_main_process
    from domaintune.pipeline import run_recipe

    r = _load(recipe, set_)
    _check_paths(r)
    # Under torchrun / accelerate launch, rank 0 speaks for the run.
    say = console if is_main_process() else Console(quiet=True)
    say.print(f"run directory: [bold]{r.run_dir}[/]")
    outcomes = _fail_on_data_errors(
        run_recipe, r, only=stage or None, console=console, force=force, resume=resume,
        debug=debug,
    )  # fmt: skip
    _print_summary(say, r, outcomes)
    say.print(f"[green]done.[/] Results in {r.run_dir}")
    say.print(f"  report: {r.run_dir / 'report.html'}")


def _print_summary(say: Console, recipe, outcomes: dict) -> None:
    """The run's figures, last; a fixed width so the text is the same in any terminal."""
    from domaintune.pipeline import summary_tables

    tables = summary_tables(recipe, outcomes)
    if not tables:
        return
    say.rule("[bold]summary")
    fixed = Console(width=SUMMARY_WIDTH, file=say.file, quiet=say.quiet, highlight=False)
    for table in tables:
        fixed.print(table)


SUMMARY_WIDTH = 100


@app.command()
def train(
    recipe: Path = typer.Argument(..., help="Recipe YAML."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint."),
    merge: bool = typer.Option(False, "--merge", help="LoRA: also write a merged full model."),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    stage: list[str] = typer.Option([], "--stage", help="Train only these stages (repeatable)."),
    force: bool = typer.Option(
        False, "--force", help="Train even if the GPU memory estimate says the run will not fit."
    ),
    debug: bool = typer.Option(False, "--debug", help=DEBUG_HELP),
) -> None:
    """Run the recipe's training stages (pt, sft); evaluation stages are left to `run`.

    Runs unchanged under `torchrun --nproc_per_node N -m domaintune.cli train RECIPE` or
    `accelerate launch ... -m domaintune.cli train RECIPE` (see docs/distributed.md).
    """
    from domaintune.pipeline import run_recipe

    overrides = [*set_, *(["train.merge=true"] if merge else [])]
    r = _load(recipe, overrides)
    _check_paths(r)
    names = stage or [s.name for s in r.stages if s.produces == "model"]
    _fail_on_data_errors(
        run_recipe, r, only=names, resume=resume, console=console, force=force, debug=debug
    )


@app.command("init-model")
def init_model(
    out: Path = typer.Argument(..., help="Output directory."),
    arch: str = typer.Option("qwen2", help="qwen2 or llama."),
    seed: int = typer.Option(0, help="Weight initialisation seed (same seed, same files)."),
) -> None:
    """Build the tiny built-in model: tokenizer trained on bundled text, random weights."""
    from domaintune.models import build_tiny_model

    if arch not in ("qwen2", "llama"):
        console.print(f"[red]error:[/] --arch {arch!r}: choose qwen2 or llama")
        raise typer.Exit(2)
    path = build_tiny_model(out, arch=arch, seed=seed)
    console.print(f"wrote {path}")


@app.command()
def check(
    recipe: Path = typer.Argument(..., help="Recipe YAML."),
    set_: list[str] = typer.Option([], "--set", help=SET_HELP),
    schema_only: bool = typer.Option(
        False, "--schema-only", help="Check the recipe's keys and values, not that paths exist."
    ),
) -> None:
    """Validate a recipe and its paths; print it resolved (defaults and overrides applied)."""
    r = _load(recipe, set_)
    if not schema_only:
        _check_paths(r)
    console.print(r.to_yaml(), highlight=False)


@app.command()
def diagnose(
    run_dir: Path = typer.Argument(
        ..., help="Run directory, stage directory, or a folder with metrics.jsonl."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """Explain the training curves: epoch-boundary drops, overfitting, divergence, forgetting."""
    import json

    from domaintune.diagnose import diagnose_run
    from domaintune.diagnose.report_text import print_findings

    found = _fail_on_data_errors(diagnose_run, run_dir)
    if as_json:
        payload = {stage: [f.to_dict() for f in fs] for stage, fs in found.items()}
        if len(payload) == 1 and (run_dir / "metrics.jsonl").exists():
            payload = next(iter(payload.values()))
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    print_findings(found, console)


@app.command()
def report(
    run_dir: Path = typer.Argument(..., help="Run directory (runs/<name>)."),
) -> None:
    """Write the run's report.html: recipe, data, curves, diagnosis, evaluation tables."""
    from domaintune.report import write_report

    path = _fail_on_data_errors(write_report, run_dir)
    console.print(f"wrote {path}")


@app.command()
def ui(
    runs: Path = typer.Option(Path("runs"), "--runs", help="Runs folder to show and launch into."),
    recipes: Path = typer.Option(
        Path("recipes"), "--recipes", help="Folder of saved recipes (the launcher saves here)."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to bind (127.0.0.1: this machine only)."),
    port: int = typer.Option(7860, help="Port (0: any free port, printed at start)."),
    token_env: str | None = typer.Option(
        None, "--token-env", help="Environment variable holding the access token to require."
    ),
    new_token: bool = typer.Option(
        False, "--new-token", help="Require a random access token (printed in the link)."
    ),
) -> None:
    """The local web UI: runs with live curves, a launcher, playground, memory and data pages."""
    from domaintune.recipes import load_recipe, recipe_problems
    from domaintune.ui.launch import RecipeTools
    from domaintune.ui.server import new_token as make_token
    from domaintune.ui.server import run_ui

    token = os.environ.get(token_env) if token_env else None
    if token_env and not token:
        console.print(f"[red]error:[/] --token-env {token_env}: that variable is not set or empty")
        raise typer.Exit(2)
    token = token or (make_token() if new_token else None)
    tools = RecipeTools(load_recipe, recipe_problems)
    run_ui(runs, recipes_dir=recipes, tools=tools, host=host, port=port, token=token,
           announce=lambda line: console.print(line, highlight=False, soft_wrap=True))  # fmt: skip


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sys.exit(app())


_mount_subcommands()

if __name__ == "__main__":
    main()
