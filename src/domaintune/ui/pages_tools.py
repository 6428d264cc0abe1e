"""Playground, memory and data pages (each over a library function of another package)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from domaintune.ui.app import config_of, inside, render, run_dir_of
from domaintune.ui.runs import list_runs

router = APIRouter()
MEMORY_GROUPS = ("weights", "gradients", "optimizer", "activations", "overhead")


# ---------------------------------------------------------------- playground


class ChatForm(BaseModel):
    run: str
    models: list[str] = Field(min_length=1, max_length=4)
    questions: list[str] = Field(min_length=1, max_length=50)
    system: str | None = None
    max_tokens: int = Field(128, ge=1, le=2048)
    server: str | None = None  # a running `domaintune serve` (else: in-process)
    save_sheet: bool = False


@router.get("/playground")
def playground_page(request: Request, run: str | None = None):
    from domaintune.ui.playground import run_models

    runs = [r.name for r in list_runs(config_of(request).runs_dir)]
    run = run or (runs[0] if runs else None)
    models = list(run_models(run_dir_of(request, run))) if run else []
    return render(request, "playground.html", runs=runs, run=run, models=models)


@router.post("/api/chat")
def chat_json(request: Request, form: ChatForm) -> dict[str, Any]:
    """Each question to each chosen model (same template and stop tokens); optionally a sheet."""
    from domaintune.ui.playground import (
        answer_local,
        answer_server,
        run_models,
        save_review_sheet,
        served_name,
    )

    run_dir = run_dir_of(request, form.run)
    available = run_models(run_dir)
    unknown = [m for m in form.models if m not in available]
    if unknown:
        raise HTTPException(404, f"{form.run}: no model {unknown[0]!r}; have {sorted(available)}")
    answers: dict[str, list[str]] = {m: [] for m in form.models}
    system = [{"role": "system", "content": form.system}] if form.system else []
    for q in form.questions:
        messages = [*system, {"role": "user", "content": q}]
        for m in form.models:
            try:
                if form.server:
                    name = served_name(available[m])
                    text = answer_server(form.server, name, messages, max_tokens=form.max_tokens)
                else:
                    text = answer_local(available[m], messages, max_tokens=form.max_tokens)
            except (ValueError, OSError) as err:
                raise HTTPException(400, f"{m}: {err}") from None
            answers[m].append(text)
    out: dict[str, Any] = {"answers": answers}
    if form.save_sheet:
        sheet = save_review_sheet(run_dir / "playground", form.questions, answers)
        out["sheet"] = str(sheet.relative_to(config_of(request).runs_dir))
    return out


# ---------------------------------------------------------------- memory


@router.get("/memory")
def memory_page(request: Request, model: str = "qwen2.5-7b", method: str = "lora",
                gpu_mem: str = "24GiB", seq_len: int = 2048, batch: int = 1):  # fmt: skip
    from domaintune.memory import BUILTIN

    result, error = None, None
    try:
        result = memory_plan(model, method, gpu_mem, seq_len, batch)
    except (ValueError, KeyError, FileNotFoundError) as err:
        error = str(err)
    form = {"model": model, "method": method, "gpu_mem": gpu_mem, "seq_len": seq_len,
            "batch": batch}  # fmt: skip
    return render(request, "memory.html", result=result, error=error, form=form,
                  models=sorted(BUILTIN), groups=MEMORY_GROUPS)  # fmt: skip


def memory_plan(model: str, method: str, gpu_mem: str, seq_len: int, batch: int) -> dict:
    """`domaintune memory --json` for a built-in model name (paths are not taken from a page)."""
    from domaintune.memory import BUILTIN, RunSetup, parse_size, plan

    if model not in BUILTIN:
        raise ValueError(f"model {model!r}: choose a built-in one ({', '.join(sorted(BUILTIN))})")
    setup = RunSetup(method=method, seq_len=seq_len, batch=batch)
    result = plan(model, setup, parse_size(gpu_mem) if gpu_mem else None).to_json()
    result["bars"] = _bars(result)
    return result


def _bars(result: dict) -> list[dict[str, Any]]:
    """One stacked-bar segment per term, in column order, as a share of the total."""
    from domaintune.memory.estimate import GIB

    total = max(result["total"], 1)
    return [{"term": k, "gib": round(v / GIB, 2), "pct": round(100 * v / total, 2)}
            for k, v in result["terms"].items() if v > 0]  # fmt: skip


@router.get("/api/memory")
def memory_json(model: str, method: str = "lora", gpu_mem: str = "24GiB", seq_len: int = 2048,
                batch: int = 1) -> dict:  # fmt: skip
    try:
        return memory_plan(model, method, gpu_mem, seq_len, batch)
    except (ValueError, KeyError) as err:
        raise HTTPException(400, str(err)) from None


# ---------------------------------------------------------------- data


@router.get("/data")
def data_page(request: Request, path: str | None = None):
    cfg = config_of(request)
    stats, error = None, None
    if path:
        try:
            stats = data_stats(request, path)
        except HTTPException as err:
            error = err.detail
        except (ValueError, OSError) as err:
            error = str(err)
    files = data_files(cfg.runs_dir)
    return render(request, "data.html", path=path, stats=stats, error=error, files=files)


def data_files(runs_dir: Path) -> list[str]:
    """The data stages' outputs of every run (runs/NAME/STAGE/data.jsonl), runs-relative."""
    return [str(p.relative_to(runs_dir)) for p in sorted(runs_dir.glob("*/*/data.jsonl"))]


def data_stats(request: Request, path: str) -> dict[str, Any]:
    """`data stats` of a file inside the runs or recipes folder (runs-relative or absolute)."""
    from domaintune.data.stats import corpus_stats
    from domaintune.io import read_documents

    cfg = config_of(request)
    given = Path(path)
    full = inside(given if given.is_absolute() else cfg.runs_dir / given,
                  cfg.runs_dir, cfg.recipes_dir)  # fmt: skip
    if not full.is_file():
        raise HTTPException(404, f"{path}: no such file")
    stats = corpus_stats(read_documents(full))
    hist = stats["length"].get("histogram", {"edges": [], "counts": []})
    peak = max(hist["counts"], default=0) or 1
    stats["bars"] = [
        {"lo": lo, "hi": hi, "count": c, "pct": round(100 * c / peak, 2)}
        for lo, hi, c in zip(hist["edges"], hist["edges"][1:], hist["counts"], strict=False)
    ]
    return stats
