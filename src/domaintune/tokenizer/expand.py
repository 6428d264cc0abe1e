"""`tokenizer expand`: choose tokens on a domain corpus, append them, resize the model.

    >>> from domaintune.tokenizer import expand_model
    >>> rec = expand_model("base", ["corpus.jsonl"], add=2000, out="base-zh")  # doctest: +SKIP

The output folder is a complete model (or a tokenizer alone when the input has no weights) that
loads with `AutoTokenizer`/`AutoModelForCausalLM`, plus `domaintune_vocab.json`: the added ids
and texts, the tokens each saved on the corpus, and how the new rows were initialised. The model's
`config.json` carries `domaintune_new_tokens` ({first_id, count}) so that later training knows
which rows are new and switches their training on.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from domaintune.tokenizer.candidates import choose_tokens, domain_segments
from domaintune.tokenizer.embeddings import INITS, replaced_ids, resize_and_init
from domaintune.tokenizer.expand_vocab import record, write_expanded_tokenizer, write_record
from domaintune.tokenizer.texts import read_texts
from domaintune.tokenizer.vocab import TOKENIZER_JSON, load_tokenizer_file

CONFIG_KEY = "domaintune_new_tokens"  # in config.json: {"first_id": int, "count": int}


def plan_tokens(
    model: str | Path,
    corpus: list[str | Path],
    *,
    add: int,
    min_freq: int = 3,
    within: str = "word",
    max_chars: int | None = None,
):
    """(tokenizer file, chosen tokens) for a model or tokenizer folder and a domain corpus."""
    from tokenizers import Tokenizer

    if add < 1:
        raise ValueError(f"--add {add}: add at least one token")
    tf = load_tokenizer_file(model)
    tok = Tokenizer.from_file(str(tf.path))
    segments = domain_segments(tf, tok, read_texts(corpus), within=within)
    new = choose_tokens(tf, segments, add, min_freq=min_freq, max_chars=max_chars)
    return tf, new


def expand_model(
    model: str | Path,
    corpus: list[str | Path],
    *,
    add: int,
    out: str | Path,
    init: str = "mean",
    min_freq: int = 3,
    within: str = "word",
    max_chars: int | None = None,
    seed: int = 0,
) -> dict:
    """Expand `model`'s vocabulary with up to `add` tokens from `corpus`, written to `out`."""
    src, dst = Path(model), Path(out)
    if init not in INITS:
        raise ValueError(f"--init {init!r}: choose one of {', '.join(INITS)}")
    tf, new = plan_tokens(
        src, corpus, add=add, min_freq=min_freq, within=within, max_chars=max_chars
    )
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rec = {}
    if (src / "config.json").exists():
        rec = _expand_weights(src, tmp, tf, new, init=init, seed=seed)
    ids = write_expanded_tokenizer(src, tmp, tf, new)
    rec = {**record(tf, new, ids), **rec, "min_freq": min_freq, "within": within}
    if ids and (tmp / "config.json").exists():
        _mark_config(tmp / "config.json", ids)
    write_record(tmp, rec)
    if dst.exists():
        shutil.rmtree(dst)
    tmp.rename(dst)
    return rec


def _expand_weights(src: Path, out: Path, tf, new, *, init: str, seed: int) -> dict:
    from transformers import AutoModelForCausalLM

    from domaintune.models import require_safetensors

    require_safetensors(src)
    model = AutoModelForCausalLM.from_pretrained(str(src), dtype="auto", trust_remote_code=False)
    ids = list(range(tf.next_id(), tf.next_id() + len(new)))
    info = resize_and_init(model, ids, replaced_ids(tf, new), init=init, seed=seed)
    model.save_pretrained(out, safe_serialization=True)
    return info


def _mark_config(path: Path, ids: list[int]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data[CONFIG_KEY] = {"first_id": ids[0], "count": len(ids)}
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def new_token_ids(config) -> list[int]:
    """The ids `expand_model` added, from a model config (empty when none were)."""
    mark = getattr(config, CONFIG_KEY, None)
    if not mark:
        return []
    return list(range(mark["first_id"], mark["first_id"] + mark["count"]))


__all__ = ["expand_model", "plan_tokens", "new_token_ids", "TOKENIZER_JSON"]
