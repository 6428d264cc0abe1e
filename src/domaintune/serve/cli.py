"""`domaintune serve`, `domaintune export` and `domaintune chat`: parse, call serve/, print."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)

ADAPTER_HELP = "A LoRA adapter on the same base, served as model NAME: NAME=DIR (repeatable)."


def _adapters(specs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise typer.BadParameter(f"{spec!r}: write NAME=DIR", param_hint="--adapter")
        out[name] = path
    return out


def _fail(err: Exception) -> None:
    console.print(f"[red]error:[/] {err}", highlight=False, soft_wrap=True)
    raise typer.Exit(2) from None


def _api_key(env: str | None) -> str | None:
    if env is None:
        return None
    key = os.environ.get(env)
    if not key:
        _fail(ValueError(f"--api-key-env {env}: that environment variable is not set or empty"))
    return key


def serve(
    model_or_run: Path = typer.Argument(..., help="Model or adapter folder, or a run directory."),
    adapter: list[str] = typer.Option([], "--adapter", help=ADAPTER_HELP),
    host: str = typer.Option("127.0.0.1", help="Address to bind (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, help="Port (0: any free port, printed at start)."),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Environment variable holding the API key clients must send."
    ),
    max_batch: int = typer.Option(16, "--max-batch", min=1, help="Sequences generated at once."),
    max_tokens: int = typer.Option(4096, "--max-tokens", min=1, help="Largest max_tokens allowed."),
    engine: str = typer.Option("transformers", help="transformers (CPU or GPU) or vllm (GPU)."),
    dtype: str = typer.Option("float32", help="float32, bfloat16 or float16."),
    template: str | None = typer.Option(
        None, help="Registry template to render chats with (default: the model's saved one)."
    ),
    name: str | None = typer.Option(None, help="Served name of the model (default: folder)."),
) -> None:
    """Serve a model (and LoRA adapters) with an OpenAI-compatible API."""
    key = _api_key(api_key_env)
    adapters = _adapters(adapter)
    if engine == "vllm":
        from domaintune.serve.vllm import exec_vllm

        try:
            exec_vllm(model_or_run, adapters, host=host, port=port, api_key=key,
                      max_batch=max_batch, dtype=dtype)  # fmt: skip
        except (ImportError, ValueError) as err:
            _fail(err)
        return
    if engine != "transformers":
        _fail(ValueError(f"--engine {engine!r}: choose transformers or vllm"))
    from domaintune.serve.engine import Engine
    from domaintune.serve.loading import load_served
    from domaintune.serve.server import run_server

    try:
        model, served = load_served(model_or_run, adapters, dtype=dtype, template=template,
                                    name=name)  # fmt: skip
    except (ValueError, FileNotFoundError) as err:
        _fail(err)
    eng = Engine(model, served, max_batch=max_batch).start()
    run_server(eng, host=host, port=port, api_key=key, max_tokens=max_tokens,
               announce=lambda line: print(line, flush=True))  # fmt: skip


def export(
    model_or_run: Path = typer.Argument(..., help="Model or adapter folder, or a run directory."),
    out: Path = typer.Argument(..., help="Output folder."),
    fmt: str = typer.Option(..., "--format", help="hf, gguf or ollama."),
    quant: str = typer.Option("f16", help="gguf/ollama: f16 or q8_0."),
    max_shard_size: str = typer.Option("2GB", "--max-shard-size", help="hf: largest shard."),
    template: str | None = typer.Option(
        None, help="ollama: registry template (default: recognised from the model's own)."
    ),
) -> None:
    """Export a trained model: merged HF folder, GGUF file, or Ollama Modelfile + GGUF."""
    from domaintune.serve.stage import export_model

    try:
        path = export_model(model_or_run, out, fmt=fmt, quant=quant,
                            max_shard_size=max_shard_size, template=template)  # fmt: skip
    except (ValueError, FileNotFoundError) as err:
        _fail(err)
    console.print(f"wrote {path}", highlight=False)


def chat(
    model: Path = typer.Argument(..., help="Model or adapter folder, or a run directory."),
    adapter: Path | None = typer.Option(None, "--adapter", help="A LoRA adapter to chat with."),
    system: str | None = typer.Option(None, help="System prompt to start with."),
    max_tokens: int = typer.Option(512, "--max-tokens", min=1),
    temperature: float = typer.Option(0.0, min=0.0, help="0: greedy."),
) -> None:
    """Chat with a model in the terminal (streamed; /system TEXT, /reset, /exit)."""
    from domaintune.serve.chat import chat_loop
    from domaintune.serve.engine import Engine
    from domaintune.serve.loading import load_served

    adapters = {"adapter": str(adapter)} if adapter else {}
    try:
        lm, served = load_served(model, adapters)
    except (ValueError, FileNotFoundError) as err:
        _fail(err)
    eng = Engine(lm, served, max_batch=1).start()
    name = "adapter" if adapter else list(served)[-1]
    try:
        chat_loop(eng, name, system=system, max_tokens=max_tokens, temperature=temperature)
    finally:
        eng.close()
