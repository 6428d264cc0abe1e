"""Playground models: a run's base and tuned models answering the same chat, side by side.

Models load in-process on serve's engine (same prompt rendering and stop tokens as `serve` and
`eval gen`, so as training); with `server` set, the answers come from a running `domaintune serve`
(OpenAI-compatible) instead. A set of questions and both answers becomes a blinded review sheet
(`eval sheet`'s `export_sheet`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

_ENGINES: dict[str, Any] = {}
_LOCK = threading.Lock()


def run_models(run_dir: Path) -> dict[str, Path]:
    """Servable models of a run: `base` and each training stage's output (adapters included)."""
    import yaml

    from domaintune.stages import BASE_MODEL_DIR

    path = run_dir / "recipe.yaml"
    if not path.exists():
        return {}
    recipe = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    models: dict[str, Path] = {}
    base = (recipe.get("model") or {}).get("path", "")
    base_dir = run_dir / BASE_MODEL_DIR if str(base).startswith("builtin:") else Path(base)
    if (base_dir / "config.json").exists():
        models["base"] = base_dir
    for stage in recipe.get("stages", []):
        for sub in ("merged", "final"):
            out = run_dir / stage.get("name", "") / sub
            if (out / "config.json").exists() or (out / "adapter_config.json").exists():
                models[stage["name"]] = out
                break
    return models


def _engine(path: Path, template: str | None) -> tuple[Any, str]:
    """One engine per model folder, loaded on first use and kept for the UI's life."""
    from domaintune.serve.engine import Engine
    from domaintune.serve.loading import load_served

    key = f"{path.resolve()}|{template}"
    with _LOCK:
        if key not in _ENGINES:
            model, served = load_served(path, template=template, device="cpu")
            name = next(n for n, s in served.items() if s.adapter) if len(served) > 1 else \
                next(iter(served))  # fmt: skip
            _ENGINES[key] = (Engine(model, served).start(), name)
        return _ENGINES[key]


def answer_local(path: Path, messages: list[dict[str, str]], *, template: str | None = None,
                 max_tokens: int = 128) -> str:  # fmt: skip
    """Greedy answer of the model in `path` (serve's engine and chat rendering)."""
    from domaintune.serve.chat import answer
    from domaintune.serve.engine import SamplingParams

    engine, name = _engine(path, template)
    return answer(engine, name, messages, SamplingParams(max_tokens=max_tokens), lambda _: None)


def served_name(path: Path) -> str:
    """The name `domaintune serve` gives this model folder (its stage's name for final/merged)."""
    from domaintune.serve.loading import model_name

    return model_name(path)


def answer_server(url: str, model: str, messages: list[dict[str, str]], *,
                  max_tokens: int = 128, api_key: str | None = None) -> str:  # fmt: skip
    """Greedy answer from an OpenAI-compatible server (`domaintune serve`)."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0}
    try:
        r = httpx.post(url.rstrip("/") + "/v1/chat/completions", json=body, headers=headers,
                       timeout=120)  # fmt: skip
    except httpx.HTTPError as err:
        raise ValueError(f"server {url}: {err}") from None
    if r.status_code != 200:
        raise ValueError(f"server {url}: HTTP {r.status_code}: {r.text[:300]}")
    return r.json()["choices"][0]["message"]["content"]


def save_review_sheet(out_dir: Path, questions: list[str], answers: dict[str, list[str]]) -> Path:
    """`eval sheet` over the playground's questions and each model's answers; the CSV's path."""
    from domaintune.eval.judge import Answers
    from domaintune.eval.sheet import export_sheet
    from domaintune.records import EvalItem

    files = [
        Answers(model, f"playground:{model}", [
            EvalItem(id=f"q{i + 1}", question=q, answer="", prediction=a, where=f"q{i + 1}")
            for i, (q, a) in enumerate(zip(questions, texts, strict=True))
        ])
        for model, texts in answers.items()
    ]  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    return export_sheet(files, out_dir / "review.csv", out_dir / "review_key.json")[0]
