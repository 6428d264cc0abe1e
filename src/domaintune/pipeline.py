"""Run a recipe's stages in order, each into its own folder of the run directory.

The runner knows nothing of what a stage does. For each stage it computes a fingerprint (the
stage's settings less the ones that cannot change its results, the recipe seed, the fingerprints
of the stages it reads, the content of the files it reads), skips the stage when its folder holds
a complete manifest with that fingerprint, and otherwise runs the stage type's function
(`recipes.STAGE_TYPES`) and writes `manifest.json` (inputs, config, counts, timings, status).

Crash safety: a stage's manifest says `running` until its outputs are all written, then
`complete`. Rerunning after a kill skips complete stages, resumes an interrupted training stage
from its last checkpoint and restarts any other. A stage whose settings changed is rerun; its
previous outputs are moved to `.previous/<stage>-<fingerprint>/` and removed only once the new
ones are complete (interrupted work is never removed, except with `force`), and they come back
if the settings are changed back.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from domaintune import distributed
from domaintune.config import Recipe, StageBase
from domaintune.io import read_manifest, sha256_of_files, write_manifest, write_text
from domaintune.recipes import stage_runner
from domaintune.resources import resolve
from domaintune.stages import BASE_MODEL_DIR, BUILTIN_TINY, StageContext

PREVIOUS_DIR = ".previous"
KILL_AT_ENV = "DOMAINTUNE_KILL_AT"  # test hook: SIGKILL at a named point (docs/architecture.md)


def fingerprint(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _kill_point(event: str) -> None:
    """Fault injection for the crash-safety tests: die here as `kill -9` would."""
    if os.environ.get(KILL_AT_ENV) == event:
        os.kill(os.getpid(), signal.SIGKILL)


def is_complete(stage_dir: Path, fp: str) -> bool:
    manifest = read_manifest(stage_dir)
    return (
        bool(manifest)
        and manifest.get("status") == "complete"
        and manifest.get("config", {}).get("fingerprint") == fp
    )


def _without(data: dict, dotted: frozenset[str]) -> dict:
    """`data` less the dotted fields (e.g. train.logging_steps)."""
    out = json.loads(json.dumps(data))
    for path in dotted:
        *parents, last = path.split(".")
        node = out
        for p in parents:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(last, None)
    return out


def input_hashes(stage: StageBase, recipe: Recipe) -> dict[str, str | None]:
    """SHA-256 of every file the stage reads (None for a path that does not exist: a hub id)."""
    files = [resolve(p) for p in stage.inputs(recipe)]
    hashes = sha256_of_files(p for p in files if Path(p).exists())
    return {**hashes, **{str(p): None for p in files if not Path(p).exists()}}


def stage_fingerprint(
    stage: StageBase,
    recipe: Recipe,
    upstream: dict[str, str],
    inputs: dict[str, str | None] | None = None,
) -> str:
    """Same fingerprint = same results: settings (less volatile ones), seed, upstream, data.

    `inputs`: the stage's `input_hashes`, when already computed (files are read once)."""
    settings = _without(stage.model_dump(mode="json", by_alias=True), stage.volatile())
    inputs = input_hashes(stage, recipe) if inputs is None else inputs
    data = sorted(h for h in inputs.values() if h is not None)  # content, wherever it lives
    missing = sorted(p for p, h in inputs.items() if h is None)
    upstream_fps = [upstream[r] for r in stage.upstream()]
    return fingerprint(settings, recipe.seed, upstream_fps, data, missing)


def ensure_base_model(
    recipe: Recipe,
    console: Console,
    *,
    reuse: Path | None = None,
    events: dict[str, str] | None = None,
) -> str:
    """The base model's fingerprint; builds the built-in tiny model into the run directory."""
    model = recipe.model
    if model.path != BUILTIN_TINY:
        return fingerprint(model.model_dump(mode="json"))
    from domaintune.models import TOKENIZER_FILES
    from domaintune.resources import data_path

    # The tiny model's tokenizer is trained on the bundled text: a change there is a new model.
    data = sha256_of_files(data_path(f) for f in TOKENIZER_FILES)
    fp = fingerprint(model.model_dump(mode="json"), sorted(data.values()))
    out = recipe.run_dir / BASE_MODEL_DIR
    if distributed.is_main_process():
        _reuse(out, fp, reuse, console, events)
    if distributed.is_main_process() and not is_complete(out, fp):
        _build_base_model(recipe, out, fp, console)
    distributed.barrier()  # the other ranks load what rank 0 built
    return fp


def _build_base_model(recipe: Recipe, out: Path, fp: str, console: Console) -> None:
    from domaintune.models import build_tiny_model

    b = recipe.model.builtin
    console.rule("[bold]base model: building the built-in tiny model")
    start = time.time()
    build_tiny_model(
        out,
        arch=b.arch,
        seed=b.seed,
        vocab_size=b.vocab_size,
        hidden_size=b.hidden_size,
        num_layers=b.num_layers,
    )
    write_manifest(
        out,
        stage="init-model",
        inputs={"builtin": b.model_dump()},
        config={"fingerprint": fp},
        counts={},
        timings={"seconds": round(time.time() - start, 2)},
        status="complete",
    )


def run_recipe(
    recipe: Recipe,
    *,
    only: list[str] | None = None,
    resume: bool = True,
    console: Console | None = None,
    force: bool = False,
    reuse: Path | None = None,
    events: dict[str, str] | None = None,
) -> dict[str, dict]:
    """Run the recipe's stages (or only those named), skipping the ones already complete.

    Under torchrun / accelerate launch every rank calls this: rank 0 writes the run's files and
    decides which stages to skip; the other ranks follow its decisions and print nothing.
    Returns each stage's counts (its manifest's); for a recipe with `sweep:`, each variant's.
    `reuse`: a folder whose complete stages (at depth 2 or 3) with the same fingerprint are
    hard-linked in instead of run (sweep variants); `events` gets stage -> ran/skipped/reused.
    """
    if recipe.sweep:
        from domaintune.sweep import run_sweep

        return run_sweep(recipe, only=only, resume=resume, console=console, force=force)
    distributed.init_process_group()
    main = distributed.is_main_process()
    console = (console or Console()) if main else Console(quiet=True)
    if main:
        recipe.run_dir.mkdir(parents=True, exist_ok=True)
        write_text(recipe.run_dir / "recipe.yaml", recipe.to_yaml())
        from domaintune.ui.runstate import write_run_state

        write_run_state(recipe.run_dir)  # run.json: pid, start, host, argv (`domaintune ui`)
    fps = {"base": ensure_base_model(recipe, console, reuse=reuse, events=events)}
    outcomes = {}
    for stage in recipe.stages:
        hashes = input_hashes(stage, recipe)
        fp = stage_fingerprint(stage, recipe, fps, hashes)
        distributed.require_same(fp, f"the fingerprint of stage {stage.name!r} (recipe and data)")
        fps[stage.name] = fp
        if only and stage.name not in only:
            continue
        out = recipe.run_dir / stage.name
        if main:
            _bring_back(out, fp, console)
            _reuse(out, fp, reuse, console, events)
        # Rank 0 decides for all: a rank reading the manifest while rank 0 rewrites it could
        # decide otherwise, and ranks that disagree wait for each other forever.
        if distributed.broadcast_from_main(main and is_complete(out, fp)):
            outcomes[stage.name] = read_manifest(out)["counts"]
            console.print(f"[green]{stage.name}: complete, skipped[/] {_skip_note(stage, out)}")
            if events is not None:
                events.setdefault(stage.name, "skipped")
            continue
        ctx = StageContext(recipe, out, console, resume=resume, force=force)
        outcomes[stage.name] = _run_stage(ctx, stage, fp, fps, hashes)
        if events is not None:
            events[stage.name] = "ran"
        _kill_point(f"after:{stage.name}")
    from domaintune.report import write_report

    if main:
        write_report(recipe.run_dir)  # the run as a page, also after a partial (--stage) run
        write_run_state(recipe.run_dir, "finished")
    distributed.barrier()  # all ranks return together, with the run's files complete
    return outcomes


def summary_tables(recipe: Recipe, outcomes: dict[str, dict]) -> list:
    """What a finished run prints last: the data stages' counts, then each stage's own tables."""
    from rich.table import Table

    if recipe.sweep:
        from domaintune.report.sweep import read_sweep, rich_tables

        summary = read_sweep(recipe.run_dir)
        return rich_tables(summary) if summary else []
    data = [s for s in recipe.stages if s.produces == "data" and s.name in outcomes]
    tables: list = []
    if data:
        table = Table(title="Data stages (read = kept + rejected)", min_width=40)
        for col in ("stage", "read", "kept", "rejected"):
            table.add_column(col, justify="left" if col == "stage" else "right")
        table.add_column("rejected by reason")
        for s in data:
            c = outcomes[s.name]
            reasons = ", ".join(f"{r} {n}" for r, n in c.get("rejected_by_reason", {}).items())
            table.add_row(s.name, f"{c['read']:,}", f"{c['kept']:,}", f"{c['rejected']:,}", reasons)
        tables.append(table)
    for s in recipe.stages:
        if s.name in outcomes and outcomes[s.name]:
            tables += s.summary(outcomes[s.name])
    return tables


def _skip_note(stage: StageBase, out: Path) -> str:
    counts = (read_manifest(out) or {}).get("counts", {})
    if stage.produces == "data" and "read" in counts:
        return f"({data_counts_line(counts)})"
    return f"(delete {out} to rerun)"


def data_counts_line(counts: dict) -> str:
    """`read 612, kept 540, rejected 72 (near_duplicate: 30, ...)`."""
    reasons = ", ".join(f"{r}: {n}" for r, n in counts.get("rejected_by_reason", {}).items())
    line = f"read {counts['read']}, kept {counts['kept']}, rejected {counts['rejected']}"
    return f"{line} ({reasons})" if reasons else line


def _previous(out: Path, fp: str) -> Path:
    return out.parent / PREVIOUS_DIR / f"{out.name}-{fp}"


def _bring_back(out: Path, fp: str, console: Console) -> None:
    """Make `out` hold this fingerprint's outputs when any exist; set other ones aside."""
    manifest = read_manifest(out) if out.exists() else None
    current = (manifest or {}).get("config", {}).get("fingerprint")
    if current == fp:
        return
    kept = _previous(out, fp)
    if out.exists() and (kept.exists() or manifest is not None):
        aside = _previous(out, current or "unknown")
        if aside.exists():
            shutil.rmtree(aside)  # an older copy of the very same settings' outputs
        aside.parent.mkdir(parents=True, exist_ok=True)
        out.rename(aside)
        console.print(f"[yellow]{out.name}: settings changed; earlier outputs kept in {aside}")
    if kept.exists():
        kept.rename(out)
        console.print(f"{out.name}: outputs of these settings restored from {kept}")


def _clear_previous(out: Path, console: Console, *, force: bool) -> None:
    """After a stage completes: drop superseded complete outputs; keep interrupted work."""
    folder = out.parent / PREVIOUS_DIR
    for old in sorted(folder.glob(f"{out.name}-*")) if folder.exists() else []:
        manifest = read_manifest(old) or {}
        if manifest.get("status") == "complete" or force:
            shutil.rmtree(old)
        else:
            console.print(
                f"[yellow]{out.name}: interrupted work of other settings kept in {old}[/] "
                "(delete it, or run with --force)"
            )


def _run_stage(
    ctx: StageContext, stage: StageBase, fp: str, fps: dict[str, str], hashes: dict[str, Any]
) -> dict:
    main, out = distributed.is_main_process(), ctx.out
    previous = read_manifest(out) if main and out.exists() else None
    # Same settings and not complete: an interrupted run of this stage, resumed.
    ctx.resume = ctx.resume and distributed.broadcast_from_main(previous is not None)
    ctx.console.rule(f"[bold]{stage.name} ({stage.type})")
    config = {"fingerprint": fp, "stage": stage.model_dump(mode="json", by_alias=True)}
    inputs = {
        **hashes,
        **{f"stage:{r}": fps[r] for r in stage.upstream()},
    }
    if main:
        write_manifest(out, stage=stage.type, inputs=inputs, config=config, counts={},
                       timings={}, status="running")  # fmt: skip
    distributed.barrier()
    _kill_point(f"start:{stage.name}")
    start = time.time()
    counts = stage_runner(stage.type)(stage, ctx)
    _kill_point(f"end:{stage.name}")
    if main:
        if stage.produces == "data":
            _check_counts(stage.name, counts)
        seconds = round(time.time() - start, 2)
        write_manifest(out, stage=stage.type, inputs=inputs, config=config, counts=counts,
                       timings={"seconds": seconds, "resumed": previous is not None},
                       status="complete")  # fmt: skip
        _clear_previous(out, ctx.console, force=ctx.force)
        if stage.produces == "data":
            ctx.console.print(f"{stage.name}: {data_counts_line(counts)}", highlight=False)
    # Also the wait: later stages read this one's outputs, which rank 0 wrote.
    return distributed.broadcast_from_main(counts)


def _check_counts(name: str, counts: dict) -> None:
    rejected = sum(counts.get("rejected_by_reason", {}).values())
    if counts["read"] != counts["kept"] + counts["rejected"] or rejected != counts["rejected"]:
        raise AssertionError(f"stage {name!r}: counts do not add up: {counts}")


# ------------------------------------------------- re-using another run's stages (sweeps)


def _reuse(
    out: Path, fp: str, pool: Path | None, console: Console, events: dict[str, str] | None
) -> None:
    """Hard-link in a complete stage folder with this fingerprint from under `pool`, if any.

    Same fingerprint = same settings, seed, upstream and data, so the same results (the cache
    the runner already trusts to skip a stage). Only when `out` does not exist yet."""
    if pool is None or out.exists() or not pool.exists():
        return
    found = [m.parent for pat in ("*/*/manifest.json", "*/*/*/manifest.json")
             for m in sorted(pool.glob(pat))]  # fmt: skip
    for src in found:
        if src == out or any(p.startswith(".") for p in src.relative_to(pool).parts):
            continue
        if is_complete(src, fp):
            _link_tree(src, out)
            console.print(f"[green]{out.name}: reused[/] from {src} (same fingerprint {fp})")
            if events is not None:
                events[out.name] = "reused"
            return


def _link_tree(src: Path, out: Path) -> None:
    """Copy a folder as hard links (a plain copy across file systems), then rename into place."""

    def link(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    tmp = out.with_name(f".{out.name}.reuse-tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, tmp, copy_function=link, symlinks=True)
    tmp.rename(out)
