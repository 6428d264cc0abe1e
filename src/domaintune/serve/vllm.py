"""`serve --engine vllm`: hand the same model, adapters and options to vLLM's OpenAI server.

vLLM (optional, GPU) serves the same endpoints; it reads the chat template from the tokenizer and,
with `--generation-config auto`, the stop tokens from generation_config.json, as we do.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from domaintune.serve.loading import base_of, is_adapter, model_name, resolve_model


def vllm_command(model_or_run: str | Path, adapters: dict[str, str], *, host: str, port: int,
                 max_batch: int, dtype: str) -> list[str]:  # fmt: skip
    """The vLLM command line (the API key travels in VLLM_API_KEY, never in argv)."""
    main = resolve_model(model_or_run)
    loras = dict(adapters)
    if is_adapter(main):
        loras = {model_name(main): str(main), **loras}
        main = base_of(main)
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(main),
           "--served-model-name", model_name(main), "--host", host, "--port", str(port),
           "--max-num-seqs", str(max_batch), "--dtype", dtype,
           "--generation-config", "auto"]  # fmt: skip
    if loras:
        cmd += ["--enable-lora", "--lora-modules", *[f"{n}={p}" for n, p in loras.items()]]
    return cmd


def exec_vllm(model_or_run: str | Path, adapters: dict[str, str], *, host: str, port: int,
              api_key: str | None, max_batch: int, dtype: str) -> None:  # fmt: skip
    """Replace this process with vLLM's server (refused when vLLM is not installed)."""
    if importlib.util.find_spec("vllm") is None:
        raise ImportError(
            "--engine vllm needs vLLM, which is not installed: on a CUDA machine run "
            "`pip install 'domaintune[vllm]'`, or leave out --engine to serve with transformers"
        )
    cmd = vllm_command(model_or_run, adapters, host=host, port=port, max_batch=max_batch,
                       dtype=dtype)  # fmt: skip
    env = dict(os.environ)
    if api_key:
        env["VLLM_API_KEY"] = api_key
    os.execve(cmd[0], cmd, env)
