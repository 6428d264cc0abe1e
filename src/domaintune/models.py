"""Load models and tokenizers safely, and build the built-in tiny model from bundled text.

The tiny model is a real Qwen2 or Llama architecture at a few million parameters with a
byte-level BPE tokenizer trained here, so every test and the quickstart run offline, with no
hub download.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from domaintune.io import atomic_write, read_conversations, read_documents
from domaintune.resources import data_path

if TYPE_CHECKING:  # torch and transformers' model classes load inside the functions that use them
    import torch
    from transformers import PreTrainedTokenizerFast

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
    from transformers import PreTrainedTokenizerFast

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
    from transformers import LlamaConfig, Qwen2Config

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
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

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
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)


def max_token_chars(tokenizer: Any) -> int:
    """The longest vocabulary entry, in characters of its vocabulary string.

    A text of n characters is at least n / max_token_chars tokens: each token covers at most
    that many characters of text (byte-level vocabularies spell a token one character per byte,
    so a CJK character counts 3; SentencePiece's "▁" stands for one space). So a text longer
    than `max_len * max_token_chars(tok)` characters cannot fit in max_len tokens, which lets
    a caller bound the tokenizer's work by configuration before tokenizing. Qwen2's vocabulary
    gives 128 (a run of 128 spaces); a fixed factor such as 16 would reject texts that fit.
    (A normalizer that deletes characters, as BERT's accent stripping does, weakens the bound.)
    """
    return max(len(token) for token in tokenizer.get_vocab())


# ---------------------------------------------------------------- safetensors only

QUANTIZATION_FILE = "domaintune_quantization.json"  # a QLoRA adapter's base: how it was loaded
# Files that hold pickled objects: loading one with torch.load can run code chosen by its author.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# Pickles transformers itself writes next to weights and never reads when loading a model.
NOT_WEIGHTS = frozenset({"training_args.bin"})
# A Trainer checkpoint's own state files (see `domaintune.train.checkpoints`).
TRAINER_STATE_FILES = re.compile(r"^((optimizer|scheduler|scaler)\.pt|rng_state(_\d+)?\.pth)$")


class UnsafeWeightsError(ValueError):
    """A weight file is a pickle, not safetensors; the message says how to convert it."""


def _convert_hint(name: str, path: Path) -> str:
    if name.startswith("adapter_model"):
        src, dst = path / name, path / "adapter_model.safetensors"
        return (
            'python -c "import torch; from safetensors.torch import save_file; '
            f"save_file(torch.load('{src}', weights_only=True), '{dst}')\""
        )
    return (
        'python -c "from transformers import AutoModelForCausalLM as M; '
        f"M.from_pretrained('{path}').save_pretrained('{path}-safetensors')\""
    )


def require_safetensors(
    path: str | Path, *, adapter: bool = False, checkpoint: bool = False
) -> None:
    """Refuse a local weights directory whose weights are pickles, before anything is unpickled.

    Pickle files beside safetensors weights of the same kind are never read (transformers is told
    `use_safetensors=True`; peft takes adapter_model.safetensors first) and are allowed. A hub id
    (no local directory) is left to transformers with `use_safetensors=True`. With `checkpoint`,
    the Trainer's own state files (TRAINER_STATE_FILES) are allowed too.
    """
    path = Path(path)
    if not path.is_dir():
        return
    names = sorted(p.name for p in path.iterdir() if p.is_file())
    stem = "adapter_model" if adapter else "model"
    if any(n.startswith(stem) and n.endswith(".safetensors") for n in names):
        return
    for name in names:
        if checkpoint and TRAINER_STATE_FILES.match(name):
            continue
        if name.endswith(PICKLE_SUFFIXES) and name not in NOT_WEIGHTS:
            raise UnsafeWeightsError(
                f"{path / name} is a pickle file, which can run code when loaded, and there is "
                f"no {stem}.safetensors beside it; domaintune reads weights from safetensors "
                f"only. Convert it where you trust the file: {_convert_hint(name, path)}"
            )


# ---------------------------------------------------------------- loading


def compute_dtype(name: str) -> torch.dtype:
    """A 4-bit model's compute dtype; "auto": bfloat16 on a GPU that has it, else float32."""
    import torch

    if name == "auto":
        cuda_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if cuda_bf16 else torch.float32
    return getattr(torch, name)


def _quantized_args(quantization: dict[str, Any]) -> dict[str, Any]:
    """from_pretrained arguments for a base with its linear layers in 4 bits (bitsandbytes)."""
    import importlib.util

    import torch
    from transformers import BitsAndBytesConfig

    if importlib.util.find_spec("bitsandbytes") is None:
        raise ImportError(
            "loading a model in 4 bits (a QLoRA base) needs bitsandbytes: install it with "
            "`pip install 'domaintune[qlora]'`"
        )

    dtype = compute_dtype(quantization.get("compute_dtype", "auto"))
    config = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=quantization.get("quant_type", "nf4"),
        bnb_4bit_use_double_quant=quantization.get("double_quant", True),
        bnb_4bit_compute_dtype=dtype,
    )
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return {"quantization_config": config, "dtype": dtype, "device_map": {"": device}}


def load_model(
    path: str | Path,
    *,
    dtype: str = "float32",
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
    quantization: dict[str, Any] | None = None,
):
    """Load a causal LM from safetensors only (never pickled weights).

    With `quantization` (QLoRA's settings: quant_type, double_quant, compute_dtype) the linear
    layers are loaded in 4 bits by bitsandbytes.
    """
    import torch
    from transformers import AutoModelForCausalLM

    require_safetensors(path)
    # An absolute path, so an adapter trained on it records where its base really is.
    path = Path(path).resolve() if Path(path).exists() else path
    extra: dict[str, Any] = {"dtype": getattr(torch, dtype)}
    if quantization is not None:
        extra = _quantized_args(quantization)
    if attn_implementation:
        extra["attn_implementation"] = attn_implementation
    return AutoModelForCausalLM.from_pretrained(
        str(path), trust_remote_code=trust_remote_code, use_safetensors=True, **extra
    )


def adapter_quantization(adapter_dir: str | Path) -> dict | None:
    """How the base of a QLoRA adapter was quantised in training (None: a plain LoRA adapter).

    Evaluating or serving the adapter on that 4-bit base gives the logits training saw."""
    quantized = Path(adapter_dir) / QUANTIZATION_FILE
    return json.loads(quantized.read_text()) if quantized.exists() else None


def load_for_eval(
    path: str | Path,
    *,
    dtype: str = "float32",
    trust_remote_code: bool = False,
    attn_implementation: str | None = None,
):
    """Load a full model directory or a PEFT adapter directory (base model read from its config).

    A QLoRA adapter (with QUANTIZATION_FILE) is loaded on the 4-bit base it trained against.
    """
    path = Path(path)
    adapter_cfg = path / "adapter_config.json"
    opts = {"trust_remote_code": trust_remote_code, "attn_implementation": attn_implementation}
    if adapter_cfg.exists():
        from peft import PeftModel

        require_safetensors(path, adapter=True)
        base = json.loads(adapter_cfg.read_text())["base_model_name_or_path"]
        model = load_model(base, dtype=dtype, quantization=adapter_quantization(path), **opts)
        model = PeftModel.from_pretrained(model, str(path))
    else:
        model = load_model(path, dtype=dtype, **opts)
    tokenizer = load_tokenizer(path, trust_remote_code=trust_remote_code)
    model.eval()
    return model, tokenizer
