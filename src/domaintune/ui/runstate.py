"""A run's process record, `run.json`: which process runs it, so status never comes from memory.

`run_recipe` writes it when a run starts ({pid, proc_start, started, host, argv, cwd,
status: "running"}) and sets `status: "finished"` when every requested stage is done. A launcher
(`ui/launch.py`) adds `exit.json` ({returncode, ended}) when the process it started exits. A
reader decides whether the process is still alive from the pid *and* its start time (a pid can be
reused by another process after a reboot or a long time).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from domaintune.io import write_json

RUN_STATE = "run.json"  # written by the run itself (pipeline.run_recipe)
EXIT_STATE = "exit.json"  # written by the launcher's wrapper when the run's process exits
LAUNCH_STATE = "launch.json"  # written by the launcher: the wrapper's pid (its process group)
LOG_FILE = "run.log"  # stdout and stderr of a launched run


def proc_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux /proc), None if unknown/gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (the command name) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # a zombie has exited; its parent has not collected it yet
        return None
    return int(fields[19])  # field 22 of proc(5), counted from field 3


def is_alive(pid: int | None, started_at: int | None = None) -> bool:
    """Whether process `pid` runs and is the one that was recorded (same start time)."""
    if not pid:
        return False
    if Path("/proc").is_dir():
        now = proc_start(pid)
        return now is not None and (started_at is None or now == started_at)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_record(pid: int | None = None, argv: list[str] | None = None) -> dict[str, Any]:
    """What identifies a process: pid, its start time, host, argv, working directory."""
    pid = pid or os.getpid()
    return {
        "pid": pid,
        "proc_start": proc_start(pid),
        "started": round(time.time(), 3),
        "host": socket.gethostname(),
        "argv": list(sys.argv if argv is None else argv),
        "cwd": os.getcwd(),
    }


def write_run_state(run_dir: str | Path, status: str = "running") -> None:
    """`run.json` for this process: at the start of a run ("running") and at its end."""
    path = Path(run_dir) / RUN_STATE
    record = read_state(path) if status != "running" else None
    if not record or record.get("pid") != os.getpid():
        record = process_record()
    record["status"] = status
    if status != "running":
        record["ended"] = round(time.time(), 3)
    write_json(path, record)


def read_state(path: str | Path) -> dict[str, Any] | None:
    """A state file's object, or None when absent or unreadable (being replaced)."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
