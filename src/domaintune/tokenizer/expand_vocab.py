"""Append chosen tokens to a BPE vocabulary so that no text can encode to more tokens.

New merges go AFTER every existing merge and new vocabulary entries take ids after every existing
id (special tokens included). BPE applies the lowest-ranked applicable merge first, so on any text
the existing merges fire exactly as before; only then can a new merge join two adjacent tokens,
and each one it does removes a token. Hence: never longer, and identical ids on a text where no
new token's string occurs (Liu et al. 2025, arXiv 2509.26124, Sec. 3). A new base character of a
SentencePiece vocabulary replaces its 2-4 byte-fallback tokens by one.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
from pathlib import Path

from domaintune.io import write_json, write_text
from domaintune.tokenizer.candidates import NewToken
from domaintune.tokenizer.vocab import TOKENIZER_JSON, TokenizerFile

log = logging.getLogger(__name__)

SP_MODEL = "tokenizer.model"  # a SentencePiece model proto next to tokenizer.json (Llama-2)
TOKENIZER_FILES = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
)


def expanded_json(tf: TokenizerFile, new: list[NewToken]) -> tuple[dict, list[int]]:
    """tokenizer.json data with `new` appended; the new ids in order."""
    data = copy.deepcopy(tf.data)
    vocab, merges = data["model"]["vocab"], data["model"].setdefault("merges", [])
    next_id = tf.next_id()
    # `tokenizers` gives an added token that is not in the model's vocabulary the id
    # len(vocabulary) when it loads, whatever tokenizer.json says: with new entries appended that
    # would move Qwen2's <|endoftext|> (151643) onto a new token. Listing added tokens in the
    # vocabulary at their own ids keeps them where they are (text never reaches them: they are
    # matched before the model runs, and no merge produces them).
    for t in data.get("added_tokens", []):
        vocab.setdefault(t["content"], t["id"])
    ids = []
    for t in new:
        if t.symbol in vocab:
            raise ValueError(f"token {t.symbol!r} is already in the vocabulary")
        vocab[t.symbol] = next_id
        ids.append(next_id)
        next_id += 1
        if t.parts is not None:
            merges.append(list(t.parts) if tf.merges_as_lists else " ".join(t.parts))
    return data, ids


def write_expanded_tokenizer(
    src_dir: str | Path, out_dir: str | Path, tf: TokenizerFile, new: list[NewToken]
) -> list[int]:
    """Write tokenizer.json (and tokenizer.model when present) with `new` appended into out_dir."""
    src, out = Path(src_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data, ids = expanded_json(tf, new)
    write_text(out / TOKENIZER_JSON, json.dumps(data, ensure_ascii=False, indent=2))
    for name in TOKENIZER_FILES:
        if (src / name).exists() and src != out:
            shutil.copyfile(src / name, out / name)
    if (src / SP_MODEL).exists():
        _expand_sp_model(src / SP_MODEL, out / SP_MODEL, new)
    return ids


def _expand_sp_model(src: Path, out: Path, new: list[NewToken]) -> None:
    """Append the pieces to a SentencePiece model proto, scored below every existing piece.

    SentencePiece's BPE joins the adjacent pair whose joined piece scores highest, so pieces
    scored below all others join only after every existing piece has (the proto's analogue of
    appended merges); this keeps the slow tokenizer and GGUF converters in step with
    tokenizer.json.
    """
    try:
        from sentencepiece import sentencepiece_model_pb2 as sp_pb2
    except ImportError:
        log.warning(
            "%s not expanded (sentencepiece is not installed) and left out of the output, so "
            "nothing loads a stale copy; tokenizer.json has the new tokens. To write it too: "
            "pip install sentencepiece",
            src,
        )
        return
    proto = sp_pb2.ModelProto()
    proto.ParseFromString(src.read_bytes())
    have = {p.piece for p in proto.pieces}
    low = min((p.score for p in proto.pieces), default=0.0)
    for i, t in enumerate(new):
        if t.symbol in have:
            continue
        piece = proto.pieces.add()
        piece.piece, piece.score = t.symbol, low - 1.0 - i
        piece.type = sp_pb2.ModelProto.SentencePiece.NORMAL
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(proto.SerializeToString())
    tmp.replace(out)


def record(tf: TokenizerFile, new: list[NewToken], ids: list[int]) -> dict:
    """What was added, for the expansion record and the CLI's --json."""
    return {
        "kind": tf.kind,
        "old_vocab": tf.next_id(),
        "added": len(ids),
        "first_id": ids[0] if ids else None,
        "tokens": [
            {"id": i, "text": t.text, "symbol": t.symbol, "saved": t.saved, "freq": t.freq,
             "merge": list(t.parts) if t.parts else None}  # fmt: skip
            for i, t in zip(ids, new, strict=True)
        ],
    }


def write_record(out_dir: str | Path, rec: dict) -> None:
    write_json(Path(out_dir) / "domaintune_vocab.json", rec)
