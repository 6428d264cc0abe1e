"""Packing for continued pre-training: ours vs the two common baselines, on the bundled corpus.

- ours: best-fit-decreasing packing of whole documents; a document is split only when it alone is
  longer than max_len (train/data.py: build_pt_dataset).
- baseline "concat-chunk": concatenate every document and cut into max_len blocks (transformers'
  run_clm.py `group_texts`); no padding, but documents are cut at arbitrary points.
- baseline "pad-per-doc": one document per row, padded (documents split only when too long).

Figures: rows (optimizer work at a fixed batch size), padding share, documents cut across rows;
`ratio` = pad-per-doc rows / ours rows (how many times fewer rows ours trains than one padded
document per row, with no document cut that fits in max_len).
Run: .venv/bin/python benchmarks/packing.py [--max-len 256] [--smoke]
(--smoke: 60 documents of each corpus, a 1024-token BPE trained on 300 texts; seconds)
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

from domaintune.io import read_documents
from domaintune.models import build_tiny_model, bundled_texts, load_tokenizer, train_tokenizer
from domaintune.resources import data_path
from domaintune.train.data import build_pt_dataset


def concat_chunk(token_lists: list[list[int]], max_len: int) -> dict:
    """run_clm's group_texts: every document cut wherever a block boundary falls."""
    total = sum(len(t) for t in token_lists)
    rows = total // max_len  # group_texts drops the remainder
    cut, pos = 0, 0
    for t in token_lists:
        start, end = pos, pos + len(t)
        # a document is cut when a block boundary falls strictly inside it
        if (start // max_len) != ((end - 1) // max_len):
            cut += 1
        pos = end
    return {
        "rows": rows,
        "padding": 0.0,
        "documents_cut": cut,
        "tokens_dropped": total - rows * max_len,
    }


def pad_per_doc(token_lists: list[list[int]], max_len: int) -> dict:
    rows, real, cut = 0, 0, 0
    for t in token_lists:
        n = -(-len(t) // max_len)
        rows += n
        real += len(t)
        cut += n > 1
    return {
        "rows": rows,
        "padding": 1 - real / (rows * max_len),
        "documents_cut": cut,
        "tokens_dropped": 0,
    }


def tiny_tokenizer(smoke: bool):
    """The built-in tiny model's tokenizer (smoke: 1024 tokens trained on 300 bundled texts)."""
    if smoke:
        return train_tokenizer(itertools.islice(bundled_texts(), 300), vocab_size=1024)
    with tempfile.TemporaryDirectory() as tmp:
        return load_tokenizer(build_tiny_model(Path(tmp) / "tiny"))


def main() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # keep RESULT the last line of the output
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-len", type=int, default=256)
    parser.add_argument("--model", default=None, help="tokenizer dir (default: build the tiny one)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    args = parser.parse_args()
    tok = load_tokenizer(args.model) if args.model else tiny_tokenizer(args.smoke)
    per_file = 60 if args.smoke else None
    docs = [
        d
        for f in ("domain_corpus_zh.jsonl", "domain_corpus_en.jsonl")
        for d in itertools.islice(read_documents(data_path(f)), per_file)
    ]
    token_lists = [
        tok(d.text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for d in docs
    ]

    start = time.perf_counter()
    ds, stats = build_pt_dataset(docs, tok, max_len=args.max_len)
    ours_s = time.perf_counter() - start
    real = sum(len(r["input_ids"]) for r in ds.rows)
    pieces = sum(r["position_ids"].count(0) for r in ds.rows)
    ours = {
        "rows": len(ds.rows),
        "padding": 1 - real / (len(ds.rows) * args.max_len),
        "documents_cut": stats.split_documents,
        "tokens_dropped": 0,
        "pieces": pieces,
        "seconds_incl_tokenize": round(ours_s, 3),
    }
    base_cc = concat_chunk(token_lists, args.max_len)
    base_pd = pad_per_doc(token_lists, args.max_len)
    for name, r in (("ours", ours), ("concat-chunk", base_cc), ("pad-per-doc", base_pd)):
        print(
            f"{name:13s} rows {r['rows']:6d}  padding {r['padding']:6.1%}  "
            f"documents cut {r['documents_cut']:5d}  tokens dropped {r['tokens_dropped']}"
        )
    result = {
        "ratio": round(base_pd["rows"] / ours["rows"], 4),
        "smoke": args.smoke,
        "documents": len(docs),
        "tokens": sum(map(len, token_lists)),
        "max_len": args.max_len,
        "ours": ours,
        "concat_chunk": base_cc,
        "pad_per_doc": base_pd,
        "rows_ratio_ours_vs_pad_per_doc": round(ours["rows"] / base_pd["rows"], 4),
        "rows_ratio_ours_vs_concat_chunk": round(ours["rows"] / max(1, base_cc["rows"]), 4),
        "cut_ratio_ours_vs_concat_chunk": round(
            ours["documents_cut"] / max(1, base_cc["documents_cut"]), 4
        ),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
