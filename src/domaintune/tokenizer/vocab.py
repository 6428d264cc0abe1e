"""Read a fast tokenizer's `tokenizer.json` as data: its kind, vocabulary, merges and free ids.

Two kinds of BPE vocabulary are handled, both stored by Hugging Face `tokenizers` as a BPE model
with a merge list:
- "byte_level" (GPT-2, Qwen2, Llama-3): every symbol is a byte spelled as one printable character;
  any text is covered.
- "sentencepiece" (Llama-2, Mistral; converted from a SentencePiece BPE model): symbols are Unicode
  characters, "▁" stands for a space, characters outside the vocabulary become `<0xNN>` byte
  tokens (byte fallback).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOKENIZER_JSON = "tokenizer.json"
BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")  # SentencePiece's byte-fallback pieces


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (the alphabet of byte-level BPE)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


BYTE_TO_CHAR = _bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def is_cjk(ch: str) -> bool:
    """A CJK ideograph (unified, extension A, compatibility)."""
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF


def is_cjk_word(word: str) -> bool:
    return bool(word) and all(is_cjk(c) for c in word)


def is_latin_term(word: str) -> bool:
    """A word of ASCII letters (optionally with digits/hyphens), e.g. 'metformin', 'SGLT2'."""
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9\-]*", word))


@dataclass
class TokenizerFile:
    """A parsed `tokenizer.json` with what expansion needs."""

    path: Path
    data: dict[str, Any]
    kind: str  # "byte_level" | "sentencepiece"
    vocab: dict[str, int] = field(init=False)
    merges_as_lists: bool = field(init=False)

    def __post_init__(self) -> None:
        self.vocab = self.data["model"]["vocab"]
        merges = self.data["model"].get("merges") or []
        self.merges_as_lists = not merges or isinstance(merges[0], list)

    @property
    def merges(self) -> list[tuple[str, str]]:
        raw = self.data["model"].get("merges") or []
        return [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in raw]

    def next_id(self) -> int:
        """The first id after every vocabulary entry and added (special) token."""
        ids = list(self.vocab.values()) + [t["id"] for t in self.data.get("added_tokens", [])]
        return max(ids) + 1

    def special_ids(self) -> dict[str, int]:
        return {t["content"]: t["id"] for t in self.data.get("added_tokens", [])}

    def token_bytes(self, token: str) -> bytes:
        """The bytes of text a vocabulary entry stands for."""
        if self.kind == "byte_level":
            return bytes(CHAR_TO_BYTE[c] for c in token)
        m = BYTE_TOKEN.match(token)
        if m:
            return bytes([int(m.group(1), 16)])
        return token.replace("▁", " ").encode("utf-8")

    def symbol_of_text(self, text: str) -> str:
        """The vocabulary spelling of a piece of text."""
        if self.kind == "byte_level":
            return "".join(BYTE_TO_CHAR[b] for b in text.encode("utf-8"))
        return text.replace(" ", "▁")


def load_tokenizer_file(model_dir: str | Path) -> TokenizerFile:
    """Parse `DIR/tokenizer.json`; a clear error when it is absent or not a BPE vocabulary."""
    path = Path(model_dir) / TOKENIZER_JSON
    if not path.exists():
        raise FileNotFoundError(
            f"{path}: no tokenizer.json; vocabulary expansion needs a fast tokenizer file "
            "(save one with AutoTokenizer.from_pretrained(DIR).save_pretrained(DIR))"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    model = data.get("model", {})
    if model.get("type") != "BPE":
        raise ValueError(
            f"{path}: model type {model.get('type')!r}; expansion supports BPE vocabularies "
            "(byte-level like Qwen2/Llama-3, or SentencePiece BPE like Llama-2)"
        )
    return TokenizerFile(path, data, _kind(data))


def _kind(data: dict[str, Any]) -> str:
    text = json.dumps([data.get("pre_tokenizer"), data.get("decoder")])
    if "ByteLevel" in text:
        return "byte_level"
    return "sentencepiece"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
