"""Runs list and run page, and the JSON they poll (status, metrics rows, findings, log)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, PlainTextResponse

from domaintune.ui.app import config_of, render, run_dir_of, safe_name
from domaintune.ui.runs import list_runs, metrics_since, run_info
from domaintune.ui.runstate import LOG_FILE

router = APIRouter()
LOG_TAIL_BYTES = 64_000


@router.get("/")
def runs_page(request: Request):
    runs = list_runs(config_of(request).runs_dir)
    return render(request, "runs.html", runs=runs, runs_dir=config_of(request).runs_dir)


@router.get("/api/runs")
def runs_json(request: Request) -> list[dict[str, Any]]:
    return [r.to_json() for r in list_runs(config_of(request).runs_dir)]


@router.get("/runs/{name}")
def run_page(request: Request, name: str):
    run_dir = run_dir_of(request, name)
    info = run_info(run_dir)
    return render(request, "run.html", run=info, findings=findings(run_dir))


@router.get("/api/runs/{name}")
def run_json(request: Request, name: str) -> dict[str, Any]:
    return run_info(run_dir_of(request, name)).to_json()


@router.get("/api/runs/{name}/metrics/{stage}")
def metrics_json(request: Request, name: str, stage: str, offset: int = 0) -> dict[str, Any]:
    run_dir = run_dir_of(request, name)
    return metrics_since(run_dir, safe_name(stage, "stage"), max(offset, 0))


@router.get("/api/runs/{name}/findings")
def findings_json(request: Request, name: str) -> dict[str, list[dict]]:
    return findings(run_dir_of(request, name))


@router.get("/runs/{name}/report")
def report(request: Request, name: str):
    path = run_dir_of(request, name) / "report.html"
    if not path.exists():
        raise HTTPException(404, f"{name}: no report.html yet (written when the run ends)")
    return FileResponse(path, media_type="text/html")


@router.get("/runs/{name}/log")
def log(request: Request, name: str):
    path = run_dir_of(request, name) / LOG_FILE
    if not path.exists():
        raise HTTPException(404, f"{name}: no {LOG_FILE} (the run was not started from the UI)")
    return PlainTextResponse(tail(path, LOG_TAIL_BYTES))


def tail(path: Path, size: int) -> str:
    """The last `size` bytes of a file, from a line start."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        end = f.tell()
        f.seek(max(0, end - size))
        data = f.read()
    text = data.decode("utf-8", errors="replace")
    return text if end <= size else text.split("\n", 1)[-1]


def findings(run_dir: Path) -> dict[str, list[dict]]:
    """diagnose's findings per training stage (empty before any metrics were logged)."""
    from domaintune.diagnose import diagnose_run

    try:
        found = diagnose_run(run_dir)
    except (FileNotFoundError, ValueError):
        return {}
    return {stage: [f.to_dict() for f in fs] for stage, fs in found.items()}
