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
from dataclasses import dataclass
from pathlib import Path

from domaintune.data.dedup import (
    DEFAULT_NUM_PERM,
    DEFAULT_THRESHOLD,
    _union_find,
    dedup_documents,
    lsh_params,
)
from domaintune.data.minhash import shingle_strings, tokenize
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


EDIT_KINDS = ("insert", "delete", "swap", "punct", "chars", "words", "spacing")
_PUNCT = {
    "zh": [{"。": "！", "，": "、"}, {"，": ""}, {"，": ",", "。": "."}],
    "en": [{".": ";", ",": " -"}, {",": ""}, {".": "!"}],
}


def edit(sents: list[str], lang: str, kind: str, pool: list[str], rng: random.Random) -> None:
    """Apply one realistic edit of `kind` to a document given as sentences (in place)."""
    i = rng.randrange(len(sents))
    if kind == "insert":
        sents.insert(i, rng.choice(pool))
    elif kind == "delete":
        del sents[i]
    elif kind == "swap":
        j = min(i + 1, len(sents) - 1) if i + 1 < len(sents) else i - 1
        sents[i], sents[j] = sents[j], sents[i]
    elif kind == "punct":  # a punctuation style applied to about half of the sentences
        table = str.maketrans(rng.choice(_PUNCT[lang]))
        sents[:] = [s.translate(table) if rng.random() < 0.5 else s for s in sents]
    elif kind == "chars":  # a few characters dropped in one or two sentences (typos, OCR)
        for k in {i, rng.randrange(len(sents))}:
            s = sents[k]
            cut = rng.randrange(max(len(s) - 4, 1))
            sents[k] = s[:cut] + s[cut + rng.randint(1, 3) :]
    elif kind == "words":  # about a tenth of the words (zh: two-character spans) of a sentence
        s = sents[i]
        if lang == "en":
            sents[i] = " ".join(w for w in s.split() if rng.random() > 0.1)
        else:
            sents[i] = "".join(s[k : k + 2] for k in range(0, len(s), 2) if rng.random() > 0.1)
    else:  # spacing: sentences split into lines / paragraphs differently
        sep = rng.choice(["\n", "\n\n", "  "])
        sents[i] = sents[i] + sep


def make_copy(
    sents: list[str], lang: str, edits: int, pool: list[str], rng: random.Random
) -> list[str]:
    """A copy of a document with exactly `edits` edits of different kinds."""
    out = list(sents)
    kinds = rng.sample(EDIT_KINDS, edits)
    if len(out) <= 5 and "delete" in kinds:  # keep short documents recognisable
        kinds[kinds.index("delete")] = "swap"
    for kind in kinds:
        edit(out, lang, kind, pool, rng)
    return out


@dataclass
class Mix:
    """Shares of a corpus: copies (near duplicates) and hard negatives among the documents."""

    copies: float = 0.25  # documents that copy an earlier one with `edits` edits
    exact: float = 0.03  # byte-identical copies
    negatives: float = 0.15  # distinct documents sharing a site header and footer with others
    zh: float = 0.5  # share of Chinese documents
    min_sents: int = 6
    max_sents: int = 18


TUNE_MIX = Mix(copies=0.3, exact=0.02, negatives=0.2, zh=0.6, min_sents=5, max_sents=16)
EVAL_MIXES = {
    "default": Mix(),
    "short_zh": Mix(zh=0.7, min_sents=5, max_sents=10),
    # many pages of few sites with short bodies: header + footer up to 5 of 9 sentences
    "site_pages": Mix(copies=0.2, negatives=0.5, min_sents=4, max_sents=8),
}


def _boilerplate(lang: str, pool: list[str], rng: random.Random) -> tuple[list[str], list[str]]:
    """A site's header and footer: 2-3 and 1-2 sentences shared by all of its pages."""
    return rng.sample(pool, rng.randint(2, 3)), rng.sample(pool, rng.randint(1, 2))


def build_corpus(
    num_docs: int, seed: int = 0, edits: int = 1, mix: Mix | None = None
) -> tuple[list[dict], list[int]]:
    """Documents and their labels (the base document each one copies; its own index if none).

    Hard negatives are pages of one site: the same header and footer around different bodies;
    they must not be merged. Every copy has exactly `edits` edits of different kinds.
    """
    mix, rng, pools = mix or Mix(), random.Random(seed), sentence_pools()
    bases: list[tuple[str, list[str]]] = []
    sites: list[tuple[str, tuple[list[str], list[str]]]] = []
    docs, labels = [], []
    for i in range(num_docs):
        roll = rng.random()
        if bases and roll < mix.exact:
            label = rng.randrange(len(bases))
            lang, sents = bases[label]
        elif bases and roll < mix.exact + mix.copies:
            label = rng.randrange(len(bases))
            lang, base = bases[label]
            sents = make_copy(base, lang, edits, pools[lang], rng)
        else:
            lang = "zh" if rng.random() < mix.zh else "en"
            sents = rng.sample(pools[lang], rng.randint(mix.min_sents, mix.max_sents))
            if roll > 1 - mix.negatives:  # a page of a site: shared header and footer
                if not sites or rng.random() < 0.3:
                    sites.append((lang, _boilerplate(lang, pools[lang], rng)))
                site_lang, (head, foot) = rng.choice(sites)
                if site_lang == lang:
                    sents = head + sents + foot
            label = len(bases)
            bases.append((lang, sents))
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


def clusters_to_pred(num_docs: int, index: dict[str, int], groups: list[list[str]]) -> list[int]:
    """A label per document: its cluster's number, or its own index when in no cluster."""
    pred = list(range(num_docs))
    for c, ids in enumerate(groups):
        for doc_id in ids:
            pred[index[doc_id]] = num_docs + c
    return pred


def run_ours(docs: list[dict], workdir: Path, threshold: float, num_perm: int, num_proc: int = 1):
    src = workdir / "corpus.jsonl"
    write_jsonl(src, docs)
    result = dedup_documents(
        src, workdir / "out.jsonl", threshold=threshold, num_perm=num_perm, num_proc=num_proc
    )
    index = {d["id"]: i for i, d in enumerate(docs)}
    return clusters_to_pred(len(docs), index, [c.ids for c in result.clusters])


def run_datasketch(docs: list[dict], threshold: float, num_perm: int) -> list[int]:
    """datasketch MinHash + MinHashLSH, same tokens, bands and candidate check as ours."""
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, params=lsh_params(threshold, num_perm))
    hashes = []
    for i, d in enumerate(docs):
        m = MinHash(num_perm=num_perm)
        m.update_batch([s.encode("utf-8") for s in shingle_strings(tokenize(d["text"]), 5)])
        lsh.insert(i, m)
        hashes.append(m)
    edges = [
        (i, j)
        for i, m in enumerate(hashes)
        for j in lsh.query(m)
        if j != i and m.jaccard(hashes[j]) >= threshold
    ]
    return _union_find(len(docs), np.array(edges, dtype=np.int64).reshape(-1, 2))


def datatrove_available() -> bool:
    try:
        import datatrove.pipeline.dedup.minhash  # noqa: F401
        import jieba  # noqa: F401
        import spacy  # noqa: F401
    except ImportError:
        return False
    return True


def run_datatrove(docs: list[dict], workdir: Path) -> list[int]:
    """datatrove's MinHash pipeline with `language=cmn` (jieba words, 5-grams, 14 x 8 buckets,
    its text normalisation): signatures, buckets, clusters, in this process."""
    import struct

    import xxhash
    from datatrove.data import Document as DTDocument
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupSignature,
    )

    config, w = MinhashConfig(), workdir / "datatrove"
    steps = (
        MinhashDedupSignature(output_folder=str(w / "sigs"), config=config, language="cmn"),
        MinhashDedupBuckets(
            input_folder=str(w / "sigs"), output_folder=str(w / "buckets"), config=config
        ),
        MinhashDedupCluster(
            input_folder=str(w / "buckets"),
            output_folder=str(w / "clusters"),
            config=config,
            save_cluster_id=True,
        ),
    )
    # datatrove 0.10 pins xxhash<4, which hashed str as UTF-8; xxhash 4 (ours) wants bytes.
    steps[0]._hash_func = lambda text: xxhash.xxh64_intdigest(text.encode("utf-8"))
    data = (DTDocument(text=d["text"], id=str(i)) for i, d in enumerate(docs))
    steps[0].run(data, rank=0, world_size=1)
    for bucket_rank in range(config.num_buckets):
        steps[1].run(None, rank=bucket_rank, world_size=config.num_buckets)
    steps[2].run(None, 0, 1)
    pred = list(range(len(docs)))
    found = w / "clusters" / "000000.clusters"
    raw = found.read_bytes() if found.exists() else b""
    for doc, cluster in struct.iter_unpack("<II", raw):
        pred[doc] = len(docs) + cluster
    return pred


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


def corpora(args: argparse.Namespace) -> list[tuple[str, int, list[dict], list[int]]]:
    """(mix name, edits, docs, labels): every evaluation mix with one and with two edits."""
    mixes = {"tune": TUNE_MIX} if args.tune else EVAL_MIXES
    seed = 1 if args.tune else args.seed
    return [
        (name, edits, *build_corpus(args.docs, seed=seed + edits, edits=edits, mix=mix))
        for name, mix in mixes.items()
        for edits in (1, 2)
    ]


def compare(args: argparse.Namespace, tmp: Path) -> dict:
    """Every tool on every corpus: F1 per corpus, docs/s over all of them."""
    t, p, repeat = args.threshold, args.num_perm, 1 if args.smoke else 2
    tools = ["ours", "datasketch"] + (["datatrove_cmn"] if args.datatrove else [])
    seconds = dict.fromkeys(tools, 0.0)
    out: dict = {"corpora": []}
    total = 0
    for name, edits, docs, gold in corpora(args):
        row: dict = {"mix": name, "edits": edits, "docs": len(docs), "labels": len(set(gold))}
        preds = {}
        preds["ours"], secs = timed(run_ours, docs, tmp, t, p, repeat=repeat)
        seconds["ours"] += secs
        preds["datasketch"], secs = timed(run_datasketch, docs, t, p, repeat=repeat)
        seconds["datasketch"] += secs
        if args.datatrove:
            preds["datatrove_cmn"], secs = timed(
                run_datatrove, docs, tmp / f"dt{edits}{name}", repeat=1
            )
            seconds["datatrove_cmn"] += secs
        for tool, pred in preds.items():
            row[tool] = pairwise_scores(pred, gold)
            print(f"{name:>9} {edits} edit(s) {tool:>13}: {row[tool]}", flush=True)
        out["corpora"].append(row)
        total += len(docs)
    for tool in tools:
        out[tool] = {
            "docs_per_s": round(total / seconds[tool]),
            "min_f1": min(r[tool]["f1"] for r in out["corpora"]),
            "min_precision": min(r[tool]["precision"] for r in out["corpora"]),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=8000, help="documents per corpus")
    parser.add_argument("--memory-docs", type=int, default=4000)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--num-perm", type=int, default=DEFAULT_NUM_PERM)
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (the tuning mix uses 1)")
    parser.add_argument("--tune", action="store_true", help="the mix the defaults were tuned on")
    parser.add_argument("--no-datatrove", dest="datatrove", action="store_false")
    parser.add_argument("--smoke", action="store_true", help="a few hundred docs, seconds")
    args = parser.parse_args()
    if args.smoke:
        args.docs, args.memory_docs, args.datatrove = 300, 200, False
    args.datatrove = args.datatrove and datatrove_available()
    t, p = args.threshold, args.num_perm
    print(f"threshold {t}, {p} perms, bands x rows {lsh_params(t, p)}; datatrove: {args.datatrove}")
    with tempfile.TemporaryDirectory() as tmp:
        result = {"threshold": t, "num_perm": p, "bands_rows": list(lsh_params(t, p))}
        result.update(compare(args, Path(tmp)))
        docs = build_corpus(args.memory_docs, seed=args.seed, edits=2)[0]
        result["memory_docs"] = args.memory_docs
        result["ours"]["peak_mib"] = peak_mib(run_ours, docs, Path(tmp), t, p)
        result["datasketch"]["peak_mib"] = peak_mib(run_datasketch, docs, t, p)
        # --num-proc 2: pass 1 in two processes; the headline ratio stays 1 process vs 1.
        assert run_ours(docs, Path(tmp), t, p, 2) == run_ours(docs, Path(tmp), t, p)
    result["ratio"] = round(result["ours"]["docs_per_s"] / result["datasketch"]["docs_per_s"], 2)
    for tool in ("ours", "datasketch", "datatrove_cmn"):
        if tool in result:
            print(f"{tool:>13}: {result[tool]}")
    print(f"speed ours/datasketch: {result['ratio']}x (1 process each)")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
