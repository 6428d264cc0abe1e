"""Find the model a run produced, and load a base with several LoRA adapters for serving.

MODEL_OR_RUN is a model folder (full model or LoRA adapter) or a run directory `runs/<name>/`,
which means the output of its last model-producing stage (`merged/` if written, else `final/`).
Every served name carries its own tokenizer (chat template) and stop tokens: those training saved
next to the weights, so prompts render as `domaintune eval gen` renders them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ADAPTER_CONFIG = "adapter_config.json"
BASE_ROW = "__base__"  # peft's name for "no adapter" in a mixed-adapter batch


class ServeError(ValueError):
    """A model or adapter that cannot be served or exported; the message says why and what to do."""


@dataclass
class Served:
    """One name a client can ask for in `model`: the base or an adapter on it."""

    name: str
    path: Path
    adapter: str | None  # peft adapter name; None = the base weights
    tokenizer: Any
    stop_ids: list[int]
    context: int  # the model's max_position_embeddings
    template: str | None = None  # a registry template name; None: the tokenizer's own
    meta: dict[str, Any] = field(default_factory=dict)


def is_adapter(path: Path) -> bool:
    return (Path(path) / ADAPTER_CONFIG).exists()


def _stage_order(run_dir: Path) -> list[str]:
    recipe = run_dir / "recipe.yaml"
    if not recipe.exists():
        return sorted(p.name for p in run_dir.iterdir() if p.is_dir())
    import yaml

    data = yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}
    return [s.get("name", "") for s in data.get("stages", []) if isinstance(s, dict)]


def resolve_model(path: str | Path) -> Path:
    """A model folder as given, or a run directory's last model-producing stage output."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model folder or run directory")
    if (path / "config.json").exists() or is_adapter(path):
        return path
    for name in reversed(_stage_order(path)):
        for sub in ("merged", "final"):
            cand = path / name / sub
            if (cand / "config.json").exists() or is_adapter(cand):
                return cand
    raise ServeError(
        f"{path}: neither a model folder (config.json or {ADAPTER_CONFIG}) nor a run directory "
        "with a trained stage (<stage>/final or <stage>/merged); point at one of those"
    )


def model_name(path: Path) -> str:
    """A served name: the folder's name; for final/ or merged/ the stage's (or run's) name."""
    path = Path(path).resolve()
    return path.parent.name if path.name in ("final", "merged") else path.name


def base_of(adapter_dir: Path) -> Path:
    cfg = json.loads((Path(adapter_dir) / ADAPTER_CONFIG).read_text())
    return Path(cfg["base_model_name_or_path"])


def _stop_ids(path: Path, fallback: Any, tokenizer: Any, template: str | None) -> list[int]:
    """Stop ids as eval gen computes them, from the generation_config saved beside the weights."""
    from transformers import GenerationConfig

    from domaintune.eval.generate import stop_token_ids

    config = (
        GenerationConfig.from_pretrained(str(path))
        if (path / "generation_config.json").exists()
        else fallback
    )
    return stop_token_ids(SimpleNamespace(generation_config=config), tokenizer, template=template)


def check_vocabulary(adapter_dir: Path, base_vocab: int) -> None:
    """Refuse an adapter whose tokenizer is larger than the base's embedding table."""
    from domaintune.models import load_tokenizer

    if not (adapter_dir / "tokenizer_config.json").exists():
        return
    size = len(load_tokenizer(adapter_dir))
    if size > base_vocab:
        raise ServeError(
            f"adapter {adapter_dir} was trained with an expanded vocabulary ({size} tokens; the "
            f"base has {base_vocab} embeddings), so it cannot share the base with other "
            f"adapters; merge it (domaintune export {adapter_dir} OUT --format hf) and serve OUT"
        )


def load_served(
    model_or_run: str | Path,
    adapters: dict[str, str | Path] | None = None,
    *,
    dtype: str = "float32",
    template: str | None = None,
    name: str | None = None,
    device: str = "auto",
) -> tuple[Any, dict[str, Served]]:
    """Load the model (and adapters) once, on `device` (auto: cuda when there is one); return
    it and every servable name."""
    import torch

    from domaintune.models import load_model, load_tokenizer

    main = resolve_model(model_or_run)
    main_name = name or model_name(Path(model_or_run) if Path(model_or_run).is_dir() else main)
    extra = {n: resolve_model(p) for n, p in (adapters or {}).items()}
    for n, p in extra.items():
        if not is_adapter(p):
            raise ServeError(f"--adapter {n}={p}: not a LoRA adapter folder (no {ADAPTER_CONFIG})")
    named = ({main_name: main} if is_adapter(main) else {}) | extra
    base_dir = base_of(main) if is_adapter(main) else main
    # A QLoRA adapter is served on the 4-bit base it trained against, as `eval` scores it.
    quantization = _quantization(named)
    model = load_model(base_dir, dtype=dtype, quantization=quantization)
    base_tok = load_tokenizer(base_dir)
    context = int(getattr(model.config, "max_position_embeddings", 0) or 2048)
    base_name = model_name(base_dir) if is_adapter(main) else main_name
    clash = [n for n in named if n in (base_name, BASE_ROW)]
    if clash:
        raise ServeError(f"two served models would be named {clash[0]!r}: rename the adapter "
                         "(--adapter NAME=DIR) or the model (--name)")  # fmt: skip
    stops = _stop_ids(base_dir, model.generation_config, base_tok, template)
    served = {base_name: Served(base_name, base_dir, None, base_tok, stops, context, template)}
    if named:
        model = _attach(model, named, base_dir, base_tok, served, template)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if quantization is None:  # a 4-bit model is placed when loaded; .to() would refuse it
        model.to(device)
    model.eval()
    return model, served


def _quantization(named: dict[str, Path]) -> dict | None:
    """The 4-bit settings every adapter trained against (all the same, or none of them)."""
    from domaintune.models import adapter_quantization

    found = {n: adapter_quantization(p) for n, p in named.items()}
    kinds = {json.dumps(q, sort_keys=True) for q in found.values()}
    if len(kinds) > 1:
        which = ", ".join(f"{n}: {q or 'full precision'}" for n, q in found.items())
        raise ServeError(
            f"the adapters trained against differently quantised bases ({which}); serve them "
            "from separate servers"
        )
    return next(iter(found.values()), None)


def _attach(model: Any, named: dict[str, Path], base_dir: Path, base_tok: Any,
            served: dict[str, Served], template: str | None) -> Any:  # fmt: skip
    """Load every adapter onto the base (one PeftModel, one adapter name each); add to served."""
    from peft import PeftModel

    from domaintune.models import load_tokenizer, require_safetensors

    vocab = model.get_input_embeddings().weight.shape[0]
    context = next(iter(served.values())).context
    for i, (n, p) in enumerate(named.items()):
        require_safetensors(p, adapter=True)
        check_vocabulary(p, vocab)
        if base_of(p).resolve() != Path(base_dir).resolve():
            raise ServeError(
                f"adapter {n} ({p}) was trained on {base_of(p)}, not on {base_dir}; serve it on "
                "its own base"
            )
        if i == 0:
            model = PeftModel.from_pretrained(model, str(p), adapter_name=n)
        else:
            model.load_adapter(str(p), adapter_name=n)
        tok = load_tokenizer(p) if (p / "tokenizer_config.json").exists() else base_tok
        stops = _stop_ids(p, model.base_model.model.generation_config, tok, template)
        served[n] = Served(n, p, n, tok, stops, context, template)
    return model
