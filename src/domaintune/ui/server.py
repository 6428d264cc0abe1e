"""Serve the UI with uvicorn (the stack of `domaintune serve`) until interrupted."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def run_ui(
    runs_dir: str | Path = "runs",
    *,
    recipes_dir: str | Path = "recipes",
    tools: Any,
    host: str = "127.0.0.1",
    port: int = 7860,
    token: str | None = None,
    announce: Callable[[str], Any] = print,
) -> None:
    """Serve until interrupted. Port 0 picks a free port; the line `ui on URL` names it (with
    `?token=` when a token is set). Runs launched from the UI go on after it stops."""
    import uvicorn

    from domaintune.ui.app import create_app

    if host not in LOOPBACK and not token:
        announce(
            f"warning: binding {host} without a token lets anyone who reaches this port start "
            "runs; add --new-token (or --token-env VAR)"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections wait in the backlog from now on, before uvicorn starts
    bound = sock.getsockname()[1]
    app = create_app(runs_dir, recipes_dir=recipes_dir, tools=tools, token=token)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2)
    shown = f"[{host}]" if ":" in host else host
    link = f"http://{shown}:{bound}/" + (f"?token={token}" if token else "")
    announce(f"ui on {link} (runs: {Path(runs_dir).resolve()})")
    uvicorn.Server(config).run(sockets=[sock])
