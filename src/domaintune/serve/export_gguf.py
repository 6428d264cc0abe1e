"""Export to GGUF in Python with the `gguf` package (no llama.cpp build): F16 or Q8_0.

Tensor names come from gguf's own HF -> GGUF name map; Llama's q/k projections are permuted as
llama.cpp's convert_hf_to_gguf.py does (`LlamaModel.permute`: its RoPE pairs dimension i with
i + d/2 inside each head, HF's rotate_half layout, where llama.cpp expects interleaved pairs).
One-dimensional tensors (norms, biases) stay F32, as llama.cpp's converter keeps them; Q8_0 also
needs rows that are a multiple of 32 values, and other tensors fall back to F16.
The byte-level BPE tokenizer (tokens, types, merges), BOS/EOS/EOT ids and the chat template go into
the metadata.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from domaintune.serve.loading import ServeError

# HF architecture -> (gguf MODEL_ARCH name, q/k permuted as llama.cpp expects)
ARCHITECTURES = {"Qwen2ForCausalLM": ("QWEN2", False), "LlamaForCausalLM": ("LLAMA", True)}
QUANTS = ("f16", "q8_0")
Q8_BLOCK = 32  # values per Q8_0 block (ggml's QK8_0)


def check_exportable(config: Any, tokenizer: Any, quant: str) -> tuple[str, bool]:
    """(gguf arch name, permute q/k), or a ServeError saying why this model cannot be exported."""
    if quant not in QUANTS:
        raise ServeError(f"--quant {quant!r}: choose one of {', '.join(QUANTS)}")
    arch = (getattr(config, "architectures", None) or ["?"])[0]
    if arch not in ARCHITECTURES:
        raise ServeError(
            f"GGUF export maps {', '.join(ARCHITECTURES)} only; this model is {arch}. Export "
            "--format hf and convert it with llama.cpp's convert_hf_to_gguf.py"
        )
    backend = json.loads(tokenizer.backend_tokenizer.to_str()) if tokenizer.is_fast else {}
    if backend.get("model", {}).get("type") != "BPE":
        raise ServeError("GGUF export writes byte-level BPE tokenizers only (tokenizer.json BPE)")
    return ARCHITECTURES[arch]


def permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's LlamaModel.permute: rotate_half pairs -> interleaved pairs, per head."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def gguf_tensors(model: Any, arch: str, permute_qk: bool) -> Iterator[tuple[str, np.ndarray]]:
    """(GGUF name, float32 array) for every weight, in the model's order."""
    import gguf

    cfg = model.config
    names = gguf.get_tensor_name_map(getattr(gguf.MODEL_ARCH, arch), cfg.num_hidden_layers)
    tied = getattr(cfg, "tie_word_embeddings", False)
    for name, tensor in model.state_dict().items():
        if (name == "lm_head.weight" and tied) or name.endswith("rotary_emb.inv_freq"):
            continue
        data = tensor.detach().float().cpu().numpy()
        if permute_qk and name.endswith("self_attn.q_proj.weight"):
            data = permute(data, cfg.num_attention_heads)
        elif permute_qk and name.endswith("self_attn.k_proj.weight"):
            data = permute(data, cfg.num_key_value_heads or cfg.num_attention_heads)
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise ServeError(f"tensor {name} has no GGUF name for {arch}; export --format hf")
        yield new, data


def encode(data: np.ndarray, quant: str) -> tuple[np.ndarray, Any]:
    """The stored array and its GGML type."""
    import gguf

    qtype = gguf.GGMLQuantizationType
    if data.ndim == 1:
        return data.astype(np.float32), qtype.F32
    if quant == "q8_0" and data.shape[-1] % Q8_BLOCK == 0:
        return gguf.quants.quantize(data, qtype.Q8_0), qtype.Q8_0
    return data.astype(np.float16), qtype.F16


def _pre_tokenizer(tokenizer: Any) -> str:
    """llama.cpp's name for the pre-tokenizer split: Qwen2's regex (our tiny models) or default."""
    from domaintune.models import QWEN2_SPLIT

    text = tokenizer.backend_tokenizer.to_str()
    return "qwen2" if json.dumps(QWEN2_SPLIT)[1:-1] in text else "default"


def add_tokenizer(writer: Any, tokenizer: Any, vocab_rows: int, stop_ids: list[int]) -> None:
    import gguf

    vocab = tokenizer.get_vocab()
    by_id = {i: t for t, i in vocab.items()}
    added = tokenizer.added_tokens_decoder  # id -> AddedToken
    tokens, types = [], []
    for i in range(vocab_rows):  # embedding rows past the tokenizer are unused padding
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        tokens.append(by_id[i])
        special = i in added and added[i].special
        kind = gguf.TokenType.USER_DEFINED if i in added else gguf.TokenType.NORMAL
        types.append(gguf.TokenType.CONTROL if special else kind)
    model = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(_pre_tokenizer(tokenizer))
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    for setter, value in ((writer.add_bos_token_id, tokenizer.bos_token_id),
                          (writer.add_eos_token_id, tokenizer.eos_token_id),
                          (writer.add_pad_token_id, tokenizer.pad_token_id)):  # fmt: skip
        if value is not None:
            setter(value)
    if stop_ids and stop_ids[0] != tokenizer.eos_token_id:
        writer.add_eot_token_id(stop_ids[0])  # the end-of-turn token chats stop at
    writer.add_add_bos_token(False)  # templates write any BOS themselves
    if getattr(tokenizer, "chat_template", None):
        writer.add_chat_template(tokenizer.chat_template)


def add_hparams(writer: Any, cfg: Any, name: str, quant: str) -> None:
    import gguf

    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    writer.add_name(name)
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads or cfg.num_attention_heads)
    writer.add_rope_dimension_count(head_dim)
    theta = getattr(cfg, "rope_theta", None) or (cfg.rope_parameters or {}).get("rope_theta")
    writer.add_rope_freq_base(float(theta or 10000.0))
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    kind = gguf.LlamaFileType.MOSTLY_Q8_0 if quant == "q8_0" else gguf.LlamaFileType.MOSTLY_F16
    writer.add_file_type(kind)


def export_gguf(model_or_run: str | Path, out: str | Path, *, quant: str = "f16") -> Path:
    """Write one .gguf file (`out`, or `out/model-<quant>.gguf` when `out` is a folder)."""
    import gguf

    from domaintune.serve.export_hf import load_merged
    from domaintune.serve.loading import model_name

    model, tokenizer, src = load_merged(model_or_run)
    arch, permute_qk = check_exportable(model.config, tokenizer, quant)
    out = Path(out)
    path = out if out.suffix == ".gguf" else out / f"model-{quant}.gguf"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[getattr(gguf.MODEL_ARCH, arch)])
    add_hparams(writer, model.config, model_name(src), quant)
    eos = model.generation_config.eos_token_id
    stops = [eos] if isinstance(eos, int) else list(eos or [])
    add_tokenizer(writer, tokenizer, model.get_input_embeddings().weight.shape[0], stops)
    for name, data in gguf_tensors(model, arch, permute_qk):
        stored, qtype = encode(data, quant)
        writer.add_tensor(name, stored, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    return path


def read_gguf(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of a GGUF file, dequantized to float32 in the HF (row-major) shape."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    out = {}
    for t in reader.tensors:
        shape = tuple(int(x) for x in reversed(t.shape))
        out[t.name] = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape)
    return out
