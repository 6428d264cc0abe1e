"""QLoRA: the frozen base in 4-bit NF4 (bitsandbytes), LoRA adapters trained on top.

bitsandbytes >= 0.50 runs 4-bit layers on CPU as well as on CUDA; where it cannot run (not
installed, too old for CPU, a platform it does not support) `require_bitsandbytes` says so before
any data is read or model loaded. The 4-bit loading itself is `domaintune.models.load_model(...,
quantization=...)`: evaluation loads a QLoRA adapter's base the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


class QLoraUnavailable(RuntimeError):
    """bitsandbytes cannot run 4-bit layers here; the message says why and what to do."""


def require_bitsandbytes() -> None:
    """Raise a clear error unless bitsandbytes can quantise and run a 4-bit layer here."""
    try:
        import bitsandbytes as bnb
    except Exception as e:  # ImportError, or a broken native library
        raise QLoraUnavailable(
            f"method qlora needs bitsandbytes, which cannot be imported here ({e}). Install it "
            "with `pip install 'domaintune[qlora]'` (bitsandbytes >= 0.50 also runs on CPU), or "
            "use method: lora."
        ) from e
    from packaging.version import Version

    if not torch.cuda.is_available() and Version(bnb.__version__) < Version("0.50"):
        raise QLoraUnavailable(
            f"method qlora on a machine without a GPU needs bitsandbytes >= 0.50 (found "
            f"{bnb.__version__}); upgrade it or use method: lora"
        )
    try:  # quantise and run one small layer: fails fast on a backend that is missing
        layer = bnb.nn.Linear4bit(64, 64, bias=False, quant_type="nf4")
        layer.weight = bnb.nn.Params4bit(torch.randn(64, 64), requires_grad=False, quant_type="nf4")
        device = "cuda" if torch.cuda.is_available() else "cpu"
        layer = layer.to(device)
        layer(torch.randn(1, 64, device=device))
    except Exception as e:
        raise QLoraUnavailable(
            f"bitsandbytes {bnb.__version__} cannot run 4-bit layers on this machine ({e}); "
            "use method: lora"
        ) from e


def load_quantized(
    path: str | Path,
    qlora: dict[str, Any],
    *,
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
) -> torch.nn.Module:
    """Load a causal LM with its linear layers in 4 bits (safetensors only), after checking that
    bitsandbytes runs here."""
    from domaintune.models import load_model

    require_bitsandbytes()
    return load_model(
        path,
        quantization=qlora,
        trust_remote_code=trust_remote_code,
        attn_implementation=attn_implementation,
    )
