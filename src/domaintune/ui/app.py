"""The local web app: FastAPI, server-rendered Jinja2 pages, a little JavaScript (uPlot, vendored).

Safe by default: `domaintune ui` binds 127.0.0.1; with a token every request must carry it (a
`?token=` link sets a cookie); a POST from another origin is refused (a web page cannot drive the
UI through the browser); every path a request names must lie inside the runs or recipes folder.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
TOKEN_COOKIE = "domaintune_ui_token"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # a run or saved recipe name


@dataclass
class UiConfig:
    runs_dir: Path
    recipes_dir: Path
    tools: Any  # launch.RecipeTools: how recipes are read and checked (the entry layer's)
    token: str | None = None
    workdir: Path = Path(".")  # launched runs start here (recipes' relative data paths)


def config_of(request: Request) -> UiConfig:
    return request.app.state.ui


def safe_name(name: str, what: str) -> str:
    """A run or recipe name: one path component of plain characters (no '..', no '/')."""
    if not NAME.match(name) or ".." in name:
        raise HTTPException(404, f"no {what} named {name!r}")
    return name


def inside(path: Path, *folders: Path) -> Path:
    """`path` resolved, if it lies inside one of `folders` (links resolved too); else 403."""
    real = path.resolve()
    if not any(real.is_relative_to(f.resolve()) for f in folders):
        raise HTTPException(403, f"{path}: outside the runs and recipes folders")
    return real


def run_dir_of(request: Request, name: str) -> Path:
    from domaintune.ui.runs import is_run_dir

    cfg = config_of(request)
    path = inside(cfg.runs_dir / safe_name(name, "run"), cfg.runs_dir)
    if not is_run_dir(path):
        raise HTTPException(404, f"no run named {name!r} in {cfg.runs_dir}")
    return path


def create_app(
    runs_dir: str | Path = "runs",
    *,
    recipes_dir: str | Path = "recipes",
    tools: Any,
    token: str | None = None,
    workdir: str | Path | None = None,
) -> FastAPI:
    """The UI app over a runs folder and a saved-recipes folder (both created if missing).

    `tools`: a `launch.RecipeTools` (`recipes.load_recipe`, `recipes.recipe_problems`).
    """
    from domaintune.ui import pages_launch, pages_runs, pages_tools

    runs, recipes = Path(runs_dir), Path(recipes_dir)
    runs.mkdir(parents=True, exist_ok=True)
    recipes.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="domaintune ui", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ui = UiConfig(runs.resolve(), recipes.resolve(), tools, token or None,
                            Path(workdir or Path.cwd()).resolve())  # fmt: skip
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.middleware("http")(_guard)
    for module in (pages_runs, pages_launch, pages_tools):
        app.include_router(module.router)
    app.exception_handler(HTTPException)(_http_error)
    return app


async def _guard(request: Request, call_next):
    """Token (when set) on every request; same-origin POSTs only."""
    cfg: UiConfig = request.app.state.ui
    if cfg.token:
        given = _token_of(request)
        if not given or not secrets.compare_digest(given, cfg.token):
            return PlainTextResponse(
                "401: this UI needs its access token: open the link `domaintune ui` printed "
                "(…/?token=…) or send 'Authorization: Bearer TOKEN'",
                status_code=401,
            )
        if request.query_params.get("token") and request.method == "GET":
            # Move the token from the address into a cookie, out of history and logs.
            query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            url = request.url.replace_query_params(**dict(query))
            response = RedirectResponse(str(url.path) + (f"?{url.query}" if url.query else ""))
            response.set_cookie(TOKEN_COOKIE, cfg.token, httponly=True, samesite="strict")
            return response
    if request.method not in ("GET", "HEAD") and not _same_origin(request):
        return PlainTextResponse("403: cross-origin request refused", status_code=403)
    return await call_next(request)


def _token_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(TOKEN_COOKIE) or request.query_params.get("token")


def _same_origin(request: Request) -> bool:
    """A browser sends Origin on a POST; it must name this host and port. JSON bodies only, so a
    plain HTML form from another site cannot reach an API without a CORS preflight (refused)."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        return False
    kind = request.headers.get("content-type", "")
    return kind.startswith("application/json")


async def _http_error(request: Request, exc: HTTPException):
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return PlainTextResponse(f"{exc.status_code}: {exc.detail}", status_code=exc.status_code)


def render(request: Request, template: str, **context: Any):
    """A page from ui/templates with the navigation's context."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, {"page": template, **context})
