"""Transformer architectures as numbers: built-in table, HF config.json reader, exact tensor list.

No weights are loaded. The parameter count is the sum over the model's real tensors (embeddings,
each layer's projections with the biases the family has, norms, the output head unless tied), so
it equals `sum(p.numel() for p in model.parameters())` of the Hugging Face implementation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

# Per-layer linear projections by family, with Hugging Face module names (what LoRA targets).
FAMILIES = ("llama", "qwen2", "mistral", "chatglm", "baichuan", "internlm2")


@dataclass(frozen=True)
class Arch:
    """A decoder-only transformer with RMSNorm, rotary/ALiBi positions and a gated (SwiGLU) MLP."""

    name: str
    family: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    qkv_bias: bool = False
    tied_embeddings: bool = False

    @property
    def q_dim(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim


@dataclass(frozen=True)
class Linear:
    """One linear projection inside a decoder layer: [out, in] weight, optional [out] bias."""

    name: str
    in_features: int
    out_features: int
    bias: bool

    @property
    def numel(self) -> int:
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)


def layer_linears(a: Arch) -> list[Linear]:
    """The projections of one decoder layer, named as in the family's modelling code."""
    h, i, q, kv, b = a.hidden_size, a.intermediate_size, a.q_dim, a.kv_dim, a.qkv_bias
    if a.family in ("llama", "qwen2", "mistral"):
        return [
            Linear("q_proj", h, q, b),
            Linear("k_proj", h, kv, b),
            Linear("v_proj", h, kv, b),
            Linear("o_proj", q, h, False),
            Linear("gate_proj", h, i, False),
            Linear("up_proj", h, i, False),
            Linear("down_proj", i, h, False),
        ]
    if a.family == "baichuan":  # packed W_pack (q, k, v), no bias
        return [
            Linear("W_pack", h, q + 2 * kv, b),
            Linear("o_proj", q, h, False),
            Linear("gate_proj", h, i, False),
            Linear("up_proj", h, i, False),
            Linear("down_proj", i, h, False),
        ]
    if a.family == "chatglm":  # packed query_key_value with bias; gate and up packed in one
        return [
            Linear("query_key_value", h, q + 2 * kv, b),
            Linear("dense", q, h, False),
            Linear("dense_h_to_4h", h, 2 * i, False),
            Linear("dense_4h_to_h", i, h, False),
        ]
    if a.family == "internlm2":  # packed wqkv; w1 = gate, w3 = up, w2 = down
        return [
            Linear("wqkv", h, q + 2 * kv, b),
            Linear("wo", q, h, False),
            Linear("w1", h, i, False),
            Linear("w3", h, i, False),
            Linear("w2", i, h, False),
        ]
    raise ValueError(f"unknown family {a.family!r}; known: {', '.join(FAMILIES)}")


@dataclass(frozen=True)
class ParamCount:
    """Parameter counts by part."""

    embedding: int
    layer: int  # one decoder layer
    layer_linear: int  # of which in linear projections (what QLoRA quantises)
    final_norm: int
    lm_head: int  # 0 when tied to the embedding
    num_layers: int

    @property
    def total(self) -> int:
        return self.embedding + self.num_layers * self.layer + self.final_norm + self.lm_head


def count_params(a: Arch) -> ParamCount:
    """Exact parameter counts of the architecture, tensor by tensor."""
    linears = layer_linears(a)
    linear = sum(lin.numel for lin in linears)
    norms = 2 * a.hidden_size  # input and post-attention RMSNorm weights (no bias)
    embedding = a.vocab_size * a.hidden_size
    return ParamCount(
        embedding=embedding,
        layer=linear + norms,
        layer_linear=linear,
        final_norm=a.hidden_size,
        lm_head=0 if a.tied_embeddings else embedding,
        num_layers=a.num_layers,
    )


def _arch(name, family, vocab, h, i, layers, heads, kv, *, bias=False, tied=False, head_dim=None):
    return Arch(name, family, vocab, h, i, layers, heads, kv, head_dim or h // heads, bias, tied)


# Values from each model's config.json on the Hugging Face hub (model card named in the comment).
BUILTIN: dict[str, Arch] = {
    a.name: a
    for a in (
        _arch("llama2-7b", "llama", 32000, 4096, 11008, 32, 32, 32),  # meta-llama/Llama-2-7b-hf
        _arch("llama2-13b", "llama", 32000, 5120, 13824, 40, 40, 40),  # meta-llama/Llama-2-13b-hf
        _arch("llama2-70b", "llama", 32000, 8192, 28672, 80, 64, 8),  # meta-llama/Llama-2-70b-hf
        _arch("llama3-8b", "llama", 128256, 4096, 14336, 32, 32, 8),  # meta-llama/Meta-Llama-3-8B
        _arch("mistral-7b", "mistral", 32000, 4096, 14336, 32, 32, 8),  # Mistral-7B-v0.1
        _arch("qwen2.5-0.5b", "qwen2", 151936, 896, 4864, 24, 14, 2, bias=True, tied=True),
        _arch("qwen2.5-1.5b", "qwen2", 151936, 1536, 8960, 28, 12, 2, bias=True, tied=True),
        _arch("qwen2.5-7b", "qwen2", 152064, 3584, 18944, 28, 28, 4, bias=True),
        _arch("qwen2.5-14b", "qwen2", 152064, 5120, 13824, 48, 40, 8, bias=True),
        _arch("qwen2.5-72b", "qwen2", 152064, 8192, 29568, 80, 64, 8, bias=True),
        # THUDM/chatglm3-6b: padded_vocab_size 65024, ffn_hidden_size 13696, multi_query_group_num
        # 2, kv_channels 128, add_qkv_bias true.
        _arch("chatglm3-6b", "chatglm", 65024, 4096, 13696, 28, 32, 2, bias=True),
        _arch("baichuan2-7b", "baichuan", 125696, 4096, 11008, 32, 32, 32),  # Baichuan2-7B-Base
        _arch("baichuan2-13b", "baichuan", 125696, 5120, 13696, 40, 40, 40),  # ALiBi, no RoPE
        _arch("internlm2-7b", "internlm2", 92544, 4096, 14336, 32, 32, 8),  # internlm/internlm2-7b
        _arch("internlm2-20b", "internlm2", 92544, 6144, 16384, 48, 48, 8),
    )
}

# model_type in config.json -> family
MODEL_TYPES = {
    "llama": "llama",
    "qwen2": "qwen2",
    "mistral": "mistral",
    "chatglm": "chatglm",
    "baichuan": "baichuan",
    "internlm2": "internlm2",
}


def arch_from_config(cfg: dict, name: str = "model") -> Arch:
    """Read an HF config.json dict (llama, qwen2, mistral, chatglm, baichuan, internlm2)."""
    model_type = cfg.get("model_type", "")
    family = MODEL_TYPES.get(model_type)
    if family is None:
        known = ", ".join(sorted(MODEL_TYPES))
        raise ValueError(f"{name}: model_type {model_type!r} is not supported; known: {known}")
    if family == "chatglm":
        heads = cfg["num_attention_heads"]
        kv = cfg.get("multi_query_group_num", heads) if cfg.get("multi_query_attention") else heads
        return Arch(
            name,
            family,
            cfg["padded_vocab_size"],
            cfg["hidden_size"],
            cfg["ffn_hidden_size"],
            cfg["num_layers"],
            heads,
            kv,
            cfg.get("kv_channels", cfg["hidden_size"] // heads),
            qkv_bias=bool(cfg.get("add_qkv_bias", False) or cfg.get("add_bias_linear", False)),
            tied_embeddings=False,
        )
    heads = cfg["num_attention_heads"]
    return Arch(
        name,
        family,
        cfg["vocab_size"],
        cfg["hidden_size"],
        cfg["intermediate_size"],
        cfg["num_hidden_layers"],
        heads,
        cfg.get("num_key_value_heads") or heads,
        cfg.get("head_dim") or cfg["hidden_size"] // heads,
        qkv_bias=_has_qkv_bias(family, cfg),
        tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
    )


def _has_qkv_bias(family: str, cfg: dict) -> bool:
    """Qwen2 always has q/k/v biases; Llama/InternLM2 only with attention_bias / bias set."""
    if family == "qwen2":
        return True
    return bool(cfg.get("attention_bias", False) or cfg.get("bias", False))


def resolve_arch(model: str | Path | dict) -> Arch:
    """A built-in name, a model directory (its config.json), a config.json path, or a dict."""
    if isinstance(model, dict):
        return arch_from_config(model)
    key = str(model).lower()
    if key in BUILTIN:
        return BUILTIN[key]
    path = Path(model)
    if path.is_dir():
        path = path / "config.json"
    if path.is_file():
        return replace(arch_from_config(json.loads(path.read_text()), str(model)), name=str(model))
    names = ", ".join(BUILTIN)
    raise ValueError(f"{model!r} is neither a model directory nor a built-in name ({names})")
