"""Export as a plain Hugging Face folder: the adapter merged into full weights, sharded safetensors,
the tokenizer with its chat_template, and generation_config.json with the training stop tokens.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from domaintune.serve.loading import base_of, is_adapter, resolve_model

log = logging.getLogger(__name__)

EXPORT_FILE = "domaintune_export.json"


def load_merged(model_or_run: str | Path, *, dtype: str = "float32") -> tuple[Any, Any, Path]:
    """(full model, tokenizer, source folder): an adapter is merged into its full-precision base.

    A QLoRA adapter is merged into the unquantized base (merging into 4-bit weights would round
    twice). An adapter trained with an expanded vocabulary gets the base's embeddings resized first.
    """
    from transformers import GenerationConfig

    from domaintune.models import load_model, load_tokenizer, require_safetensors

    src = resolve_model(model_or_run)
    tokenizer = load_tokenizer(src)
    if not is_adapter(src):
        return load_model(src, dtype=dtype), tokenizer, src
    from peft import PeftModel

    require_safetensors(src, adapter=True)
    base = load_model(base_of(src), dtype=dtype)
    rows = base.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:
        log.warning("resizing the base's embeddings %d -> %d for %s", rows, len(tokenizer), src)
        base.resize_token_embeddings(len(tokenizer))
    merged = PeftModel.from_pretrained(base, str(src)).merge_and_unload()
    if (src / "generation_config.json").exists():  # the stop tokens training saved
        merged.generation_config = GenerationConfig.from_pretrained(str(src))
    return merged, tokenizer, src


def export_hf(
    model_or_run: str | Path, out: str | Path, *, max_shard_size: str | int = "2GB",
    dtype: str = "float32",
) -> Path:  # fmt: skip
    """Write the merged model to `out` (a temp folder renamed into place)."""
    model, tokenizer, src = load_merged(model_or_run, dtype=dtype)
    if not getattr(tokenizer, "chat_template", None):
        log.warning("%s has no chat_template: chat clients of the export will need one", src)
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp), max_shard_size=max_shard_size, safe_serialization=True)
    tokenizer.save_pretrained(str(tmp))
    model.generation_config.save_pretrained(str(tmp))
    (tmp / EXPORT_FILE).write_text(
        json.dumps({"source": str(src), "format": "hf", "dtype": dtype}, indent=2)
    )
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out
