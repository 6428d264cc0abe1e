"""Near-duplicate detection: ours (domaintune.data.dedup) vs datasketch MinHash + MinHashLSH.

Corpus: base documents recombined from the bundled corpora's sentences (Chinese and English),
plus duplicates made by realistic edits (inserted, deleted or reordered sentences, changed
punctuation, dropped words). Both sides use the same shingles (5-grams of CJK characters and
latin words), the same num_perm and the same bands x rows.

- ours: `dedup_documents` end to end from a jsonl file (reads it twice, writes the output).
- datasketch: in memory (no file IO), same tokenizer, `MinHash.update_batch` + `MinHashLSH`
  insert and query, the same union-find.
Figures: docs/s, peak traced memory (tracemalloc, on a subset), pairwise precision/recall/F1
against the labels. Run: .venv/bin/python benchmarks/dedup.py [--docs 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from domaintune.data.dedup import _union_find, dedup_documents
from domaintune.data.minhash import optimal_params, shingle_strings, tokenize
from domaintune.io import write_jsonl
from domaintune.resources import data_path

_SENT = re.compile(r"(?<=[。！？!?.])\s*")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def sentence_pools() -> dict[str, list[str]]:
    """Unique sentences of the bundled corpora, split into zh and en."""
    pools: dict[str, set[str]] = {"zh": set(), "en": set()}
    for name in ("domain_corpus_zh", "domain_corpus_en", "general_corpus"):
        for line in Path(data_path(f"{name}.jsonl")).read_text(encoding="utf-8").splitlines():
            for s in _SENT.split(json.loads(line)["text"]):
                if len(s.strip()) > 8:
                    pools["zh" if _CJK.search(s) else "en"].add(s.strip())
    return {k: sorted(v) for k, v in pools.items()}


def edit(
    sentences: list[str], lang: str, pool: list[str], rng: random.Random, max_edits: int = 1
) -> list[str]:
    """Up to `max_edits` realistic edits of a document given as sentences.

    One edit of a 10-18 sentence document keeps Jaccard above the default 0.8 threshold, which is
    what "near duplicate" means at that threshold; with two, many copies fall below it and are
    no longer near duplicates by that definition (--max-edits 2 shows both tools' recall drop).
    """
    out = list(sentences)
    for _ in range(rng.randint(1, max_edits)):
        kind = rng.choice(("insert", "delete", "swap", "punct", "words"))
        i = rng.randrange(len(out))
        if kind == "insert":
            out.insert(i, rng.choice(pool))
        elif kind == "delete" and len(out) > 6:
            del out[i]
        elif kind == "swap" and i + 1 < len(out):
            out[i], out[i + 1] = out[i + 1], out[i]
        elif kind == "punct":
            table = {"。": "；", "，": "、"} if lang == "zh" else {".": ";", ",": " -"}
            out = [s.translate(str.maketrans(table)) if rng.random() < 0.5 else s for s in out]
        else:  # drop a few characters (zh) or words (en) in one sentence
            s = out[i]
            cut = rng.randrange(max(len(s) - 4, 1))
            out[i] = (
                s[:cut] + s[cut + rng.randint(1, 4) :]
                if lang == "zh"
                else " ".join(w for w in s.split() if rng.random() > 0.1)
            )
    return out


def build_corpus(num_docs: int, seed: int = 0, max_edits: int = 1) -> tuple[list[dict], list[int]]:
    """Documents and their labels (the base document each one copies)."""
    rng, pools = random.Random(seed), sentence_pools()
    bases: list[tuple[str, list[str]]] = []
    docs, labels = [], []
    for i in range(num_docs):
        if i < 0.7 * num_docs or not bases:
            lang = "zh" if rng.random() < 0.5 else "en"
            sents, label = rng.sample(pools[lang], rng.randint(10, 18)), len(bases)
            bases.append((lang, sents))
        else:
            label = rng.randrange(len(bases))
            lang, base = bases[label]
            sents = edit(base, lang, pools[lang], rng, max_edits)
        sep = "" if lang == "zh" else " "
        docs.append({"id": f"doc{i}", "text": sep.join(sents), "label": label})
        labels.append(label)
    order = list(range(num_docs))
    rng.shuffle(order)
    return [docs[i] for i in order], [labels[i] for i in order]


def pairwise_scores(pred: list[int], gold: list[int]) -> dict[str, float]:
    """Pairwise precision/recall/F1 of a clustering against labels."""

    def pairs(counter: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    both, p, g = (
        pairs(Counter(zip(pred, gold, strict=True))),
        pairs(Counter(pred)),
        pairs(Counter(gold)),
    )
    precision, recall = both / max(p, 1), both / max(g, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def run_ours(
    docs: list[dict], workdir: Path, threshold: float, num_perm: int, num_proc: int = 1
) -> list[int]:
    src = workdir / "corpus.jsonl"
    write_jsonl(src, docs)
    result = dedup_documents(
        src, workdir / "out.jsonl", threshold=threshold, num_perm=num_perm, num_proc=num_proc
    )
    index = {d["id"]: i for i, d in enumerate(docs)}
    pred = list(range(len(docs)))
    for c, cluster in enumerate(result.clusters):
        for doc_id in cluster.ids:
            pred[index[doc_id]] = len(docs) + c
    return pred


def run_datasketch(docs: list[dict], threshold: float, num_perm: int) -> list[int]:
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    params = optimal_params(threshold, num_perm)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=params)
    hashes = []
    for i, d in enumerate(docs):
        m = MinHash(num_perm=num_perm)
        m.update_batch([s.encode("utf-8") for s in shingle_strings(tokenize(d["text"]), 5)])
        lsh.insert(i, m)
        hashes.append(m)
    edges = [(i, j) for i, m in enumerate(hashes) for j in lsh.query(m) if j != i]
    return _union_find(len(docs), np.array(edges, dtype=np.int64).reshape(-1, 2))


def timed(fn, *args, repeat: int = 2) -> tuple[list[int], float]:
    """Result and the best wall time of `repeat` runs (this machine's timings vary up to 2x)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - start)
    return out, best


def peak_mib(fn, *args) -> float:
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return round(peak / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--memory-docs", type=int, default=4000)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--max-edits", type=int, default=1, help="edits per near-duplicate copy")
    args = parser.parse_args()
    docs, gold = build_corpus(args.docs, max_edits=args.max_edits)
    t, p = args.threshold, args.num_perm
    print(f"corpus: {len(docs)} docs, {len(set(gold))} labels; bands x rows {optimal_params(t, p)}")
    with tempfile.TemporaryDirectory() as tmp:
        ours, ours_s = timed(run_ours, docs, Path(tmp), t, p)
        ours_mem = peak_mib(run_ours, docs[: args.memory_docs], Path(tmp), t, p)
        # --num-proc 2: pass 1 (normalise, shingle, sign) in two processes; datasketch has no
        # equivalent, so the headline ratio stays single-process against single-process.
        ours2, ours2_s = timed(run_ours, docs, Path(tmp), t, p, 2)
    assert ours2 == ours, "num_proc=2 must give the same clusters"
    theirs, theirs_s = timed(run_datasketch, docs, t, p)
    theirs_mem = peak_mib(run_datasketch, docs[: args.memory_docs], t, p)
    result = {
        "docs": len(docs),
        "max_edits": args.max_edits,
        "threshold": t,
        "num_perm": p,
        "memory_docs": args.memory_docs,
    }
    for name, pred, secs, mem in (
        ("ours", ours, ours_s, ours_mem),
        ("datasketch", theirs, theirs_s, theirs_mem),
    ):
        scores = pairwise_scores(pred, gold)
        result[name] = {"docs_per_s": round(len(docs) / secs), "peak_mib": mem, **scores}
        print(f"{name:>10}: {len(docs) / secs:8.0f} docs/s, peak {mem} MiB, {scores}")
    result["speed_ratio"] = round(
        result["ours"]["docs_per_s"] / result["datasketch"]["docs_per_s"], 2
    )
    result["ours_num_proc_2_docs_per_s"] = round(len(docs) / ours2_s)
    result["speed_ratio_num_proc_2"] = round(
        result["ours_num_proc_2_docs_per_s"] / result["datasketch"]["docs_per_s"], 2
    )
    print(
        f"speed ours/datasketch: {result['speed_ratio']}x (1 process), "
        f"{result['speed_ratio_num_proc_2']}x (--num-proc 2)"
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
