"""Load models and tokenizers safely, and build the built-in tiny model from bundled text.

The tiny model is a real Qwen2 or Llama architecture at a few million parameters with a
byte-level BPE tokenizer trained here, so every test and the quickstart run offline, with no
hub download.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LlamaConfig,
    PreTrainedTokenizerFast,
    Qwen2Config,
)

from domaintune.io import atomic_write, read_conversations, read_documents
from domaintune.resources import data_path

log = logging.getLogger(__name__)

BOS_EOS = "<|endoftext|>"  # document separator, as in Qwen2 base models
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = [BOS_EOS, IM_START, IM_END]

# ChatML as Qwen2 writes it, without Qwen's default system prompt.
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Qwen2's pre-tokenizer split: contractions, letters, single digits, punctuation runs, whitespace.
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

TOKENIZER_FILES = (
    "domain_corpus_zh.jsonl",
    "domain_corpus_en.jsonl",
    "general_corpus.jsonl",
    "sft_domain_alpaca.jsonl",
    "sft_domain_sharegpt.jsonl",
    "general_instructions.jsonl",
)


def bundled_texts() -> Iterator[str]:
    """All bundled training text (not the held-out sets), in a fixed order."""
    for name in TOKENIZER_FILES:
        path = data_path(name)
        if name.startswith("sft") or name.startswith("general_instr"):
            for conv in read_conversations(path):
                yield from (m.content for m in conv.messages)
        else:
            yield from (doc.text for doc in read_documents(path))


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8192) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer (Qwen2-style split) with the ChatML special tokens."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=BOS_EOS,
        pad_token=BOS_EOS,
        chat_template=CHATML_TEMPLATE,
        model_max_length=1024,
    )
    return fast


def tiny_config(
    arch: str,
    vocab_size: int,
    *,
    hidden_size: int = 256,
    num_layers: int = 4,
    eos_id: int,
    pad_id: int,
):
    """A small config; every linear dimension is a multiple of 64 (bitsandbytes' CPU 4-bit path)."""
    common = dict(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 3,
        num_hidden_layers=num_layers,
        num_attention_heads=hidden_size // 64,
        num_key_value_heads=max(1, hidden_size // 128),
        max_position_embeddings=1024,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        attn_implementation="sdpa",
    )
    if arch == "qwen2":
        return Qwen2Config(rope_theta=10000.0, **common)
    if arch == "llama":
        return LlamaConfig(rope_theta=10000.0, **common)
    raise ValueError(f"unknown arch {arch!r}; choose qwen2 or llama")


def build_tiny_model(
    out_dir: str | Path,
    *,
    arch: str = "qwen2",
    seed: int = 0,
    vocab_size: int = 8192,
    hidden_size: int = 256,
    num_layers: int = 4,
    texts: Iterable[str] | None = None,
) -> Path:
    """Train the tokenizer, build a randomly initialised tiny model, save a standard HF directory.

    `texts` (default: the bundled corpora) is what the tokenizer is trained on.
    """
    out = Path(out_dir)
    tokenizer = train_tokenizer(
        texts if texts is not None else bundled_texts(), vocab_size=vocab_size
    )
    eos_id = tokenizer.convert_tokens_to_ids(BOS_EOS)
    im_end_id = tokenizer.convert_tokens_to_ids(IM_END)
    config = tiny_config(
        arch,
        len(tokenizer),
        hidden_size=hidden_size,
        num_layers=num_layers,
        eos_id=eos_id,
        pad_id=eos_id,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig(
        bos_token_id=eos_id,
        eos_token_id=[im_end_id, eos_id],
        pad_token_id=eos_id,
        do_sample=False,
        max_new_tokens=128,
    )
    tmp = out.with_name(out.name + ".tmp")
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    with atomic_write(tmp / "domaintune.json") as f:
        json.dump(
            {
                "builtin": "tiny",
                "arch": arch,
                "seed": seed,
                "vocab_size": vocab_size,
                "hidden_size": hidden_size,
                "num_layers": num_layers,
            },
            f,
            indent=2,
        )
    _replace_dir(tmp, out)
    return out


def _replace_dir(tmp: Path, out: Path) -> None:
    """Swap a finished temp folder into place, so `out` is never half-written."""
    import shutil

    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)


def load_tokenizer(path: str | Path, *, trust_remote_code: bool = False):
    return AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)


def load_model(
    path: str | Path,
    *,
    dtype: str = "float32",
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
):
    """Load a causal LM from safetensors only (never pickled weights)."""
    # An absolute path, so an adapter trained on it records where its base really is.
    path = Path(path).resolve() if Path(path).exists() else path
    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    return AutoModelForCausalLM.from_pretrained(
        str(path),
        dtype=getattr(torch, dtype),
        trust_remote_code=trust_remote_code,
        use_safetensors=True,
        **extra,
    )


def load_for_eval(
    path: str | Path,
    *,
    dtype: str = "float32",
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
):
    """Load a full model directory or a PEFT adapter directory (base model read from its config)."""
    path = Path(path)
    adapter_cfg = path / "adapter_config.json"
    opts = {"trust_remote_code": trust_remote_code, "attn_implementation": attn_implementation}
    if adapter_cfg.exists():
        from peft import PeftModel

        base = json.loads(adapter_cfg.read_text())["base_model_name_or_path"]
        quantized = path / "domaintune_quantization.json"  # written by QLoRA training
        if quantized.exists():
            from domaintune.train.qlora import load_quantized

            qlora = json.loads(quantized.read_text())
            model = load_quantized(base, qlora, **opts)
        else:
            model = load_model(base, dtype=dtype, **opts)
        model = PeftModel.from_pretrained(model, str(path))
    else:
        model = load_model(path, dtype=dtype, **opts)
    tokenizer = load_tokenizer(path, trust_remote_code=trust_remote_code)
    model.eval()
    return model, tokenizer
