"""Run discovery and status, read from the run directory every time (never from the UI's memory).

A run's status comes from its files: `run.json` (the run's process, `ui/runstate.py`), the
launcher's `exit.json`, and each stage's `manifest.json`:
  running      the recorded process is alive (same pid and start time)
  finished     the run recorded its end, or its launcher saw exit code 0, or every stage is complete
  failed       the launcher saw a non-zero exit code (the log says why)
  interrupted  the process is gone without an end record (killed, stopped, a machine restart)
  pending      nothing has started yet (a folder with no stage begun)
"""

from __future__ import annotations

import signal
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from domaintune.io import read_manifest
from domaintune.ui.runstate import (
    EXIT_STATE,
    LAUNCH_STATE,
    LOG_FILE,
    RUN_STATE,
    is_alive,
    read_state,
)

METRICS_FILE = "metrics.jsonl"
STOPPED_CODES = {-signal.SIGTERM, -signal.SIGKILL, -signal.SIGINT, 130, 137, 143}


@dataclass
class StageInfo:
    name: str
    type: str
    status: str  # complete | running | interrupted | pending
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    has_metrics: bool = False


@dataclass
class RunInfo:
    name: str
    status: str
    started: float | None
    stages: list[StageInfo]
    last_metrics: dict[str, Any] | None = None
    pid: int | None = None
    has_report: bool = False
    has_log: bool = False
    detail: str = ""  # why the status is what it is, in a few words

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def is_run_dir(path: Path) -> bool:
    """A run directory holds its recipe, its process record or a stage manifest."""
    if not path.is_dir() or path.name.startswith("."):
        return False
    markers = (path / "recipe.yaml", path / RUN_STATE, path / LAUNCH_STATE)
    return any(m.exists() for m in markers) or any(path.glob("*/manifest.json"))


def list_runs(runs_dir: str | Path) -> list[RunInfo]:
    """Every run directory under `runs_dir`, newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    found = [run_info(p) for p in sorted(runs_dir.iterdir()) if is_run_dir(p)]
    return sorted(found, key=lambda r: -(r.started or 0.0))


def _stage_order(run_dir: Path) -> list[tuple[str, str]]:
    """(name, type) of each stage in recipe order (else the folders holding a manifest)."""
    recipe = run_dir / "recipe.yaml"
    if recipe.exists():
        try:
            raw = yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}
            return [(s["name"], s.get("type", "?")) for s in raw.get("stages", [])]
        except (yaml.YAMLError, KeyError, TypeError, AttributeError):
            pass  # being rewritten, or not ours: fall back to the folders
    folders = sorted(p.parent for p in run_dir.glob("*/manifest.json"))
    return [(p.name, (read_manifest(p) or {}).get("stage", "?")) for p in folders]


def _alive(state: dict[str, Any] | None) -> bool:
    if not state or state.get("host") not in (None, socket.gethostname()):
        return False
    return is_alive(state.get("pid"), state.get("proc_start"))


def run_status(run_dir: str | Path) -> tuple[str, str, int | None]:
    """(status, why, pid of the live process or None) of one run directory; see the module doc."""
    run_dir = Path(run_dir)
    run = read_state(run_dir / RUN_STATE)
    launch = read_state(run_dir / LAUNCH_STATE)
    ended = read_state(run_dir / EXIT_STATE)
    for state, why in ((run, "process alive"), (launch, "starting")):
        if _alive(state) and not (state is launch and ended):
            return "running", why, state["pid"]
    if ended and (not run or ended.get("ended", 0) >= run.get("started", 0)):
        code = ended.get("returncode")
        if code == 0:
            return "finished", "exit code 0", None
        if code in STOPPED_CODES:
            return "interrupted", f"stopped (exit code {code})", None
        return "failed", f"exit code {code}; see the log", None
    if run and run.get("status") == "finished":
        return "finished", "run recorded its end", None
    if run and run.get("host") not in (None, socket.gethostname()):
        return "unknown", f"started on host {run.get('host')}", None
    manifests = [read_manifest(run_dir / n) for n, _ in _stage_order(run_dir)]
    if manifests and all(m and m.get("status") == "complete" for m in manifests):
        return "finished", "every stage complete", None
    if run or launch or any(manifests):
        return "interrupted", "process gone before the end", None
    return "pending", "no stage started", None


def _stage_info(run_dir: Path, name: str, kind: str, alive: bool) -> StageInfo:
    manifest = read_manifest(run_dir / name)
    status = "pending"
    if manifest:
        status = manifest.get("status", "?")
        if status == "running" and not alive:
            status = "interrupted"
    return StageInfo(
        name=name,
        type=kind,
        status=status,
        counts=(manifest or {}).get("counts", {}),
        seconds=(manifest or {}).get("timings", {}).get("seconds"),
        has_metrics=(run_dir / name / METRICS_FILE).exists(),
    )


def run_info(run_dir: str | Path) -> RunInfo:
    """Status, stages and last logged training row of one run directory."""
    run_dir = Path(run_dir)
    status, why, pid = run_status(run_dir)
    stages = [_stage_info(run_dir, n, t, status == "running") for n, t in _stage_order(run_dir)]
    state = read_state(run_dir / RUN_STATE) or read_state(run_dir / LAUNCH_STATE) or {}
    return RunInfo(
        name=run_dir.name,
        status=status,
        started=state.get("started"),
        stages=stages,
        last_metrics=last_metrics(run_dir, stages),
        pid=pid,
        has_report=(run_dir / "report.html").exists(),
        has_log=(run_dir / LOG_FILE).exists(),
        detail=why,
    )


def last_metrics(run_dir: Path, stages: list[StageInfo]) -> dict[str, Any] | None:
    """The last training row (with a loss) of the latest stage that logged one, and its stage."""
    for stage in reversed([s for s in stages if s.has_metrics]):
        rows = read_rows(run_dir / stage.name / METRICS_FILE)
        train = [r for r in rows if "loss" in r]
        if train:
            return {"stage": stage.name, **train[-1]}
    return None


def read_rows(path: Path) -> list[dict[str, Any]]:
    """metrics.jsonl rows through diagnose's parser; a file being rewritten reads as empty."""
    from domaintune.diagnose.curves import read_metrics

    try:
        return read_metrics(path)
    except (OSError, ValueError):
        return []


def metrics_since(run_dir: Path, stage: str, offset: int) -> dict[str, Any]:
    """Rows of a stage's metrics.jsonl from row `offset` on; `reset` when the file shrank (a
    resumed stage drops the rows logged after its checkpoint)."""
    rows = read_rows(run_dir / stage / METRICS_FILE)
    reset = offset > len(rows)
    start = 0 if reset else offset
    return {"rows": rows[start:], "offset": len(rows), "reset": reset}
