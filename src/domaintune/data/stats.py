"""`data stats`: size, length distribution, languages, sources and duplicates of a corpus."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from domaintune.data.minhash import text_key
from domaintune.records import Document

PERCENTILES = (5, 25, 50, 75, 95)
LONG_TOKENS = (2048, 8192)  # common context lengths: documents longer than these get split
HIST_BINS = 10


def _distribution(lengths: list[int]) -> dict[str, Any]:
    arr = np.asarray(lengths, dtype=np.int64)
    if arr.size == 0:
        return {}
    # numpy's default ("linear") percentiles: the same method as pandas' describe()
    out: dict[str, Any] = {f"p{p}": float(np.percentile(arr, p)) for p in PERCENTILES}
    counts, edges = np.histogram(arr, bins=HIST_BINS)
    out.update(max=int(arr.max()), mean=round(float(arr.mean()), 2))
    out["histogram"] = {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()}
    return out


def _lang(doc: Document) -> str:
    if "lang" in doc.meta:
        return str(doc.meta["lang"])  # set by `data clean`
    from domaintune.data.clean import detect_language

    return detect_language(doc.text)[0]


def _measure_chunk(docs: list[Document], *, tokenizer: Any = None) -> list[tuple]:
    """Per document: (characters, tokens or None, language, source, domain, exact key)."""
    out = []
    for doc in docs:
        n_tok = None
        if tokenizer is not None:
            n_tok = len(tokenizer(doc.text, add_special_tokens=False)["input_ids"])
        domain = doc.extra.get("category", doc.extra.get("domain"))
        out.append((len(doc.text), n_tok, _lang(doc), doc.source, domain, text_key(doc.text)))
    return out


def corpus_stats(
    docs: Iterable[Document] | str | os.PathLike,
    *,
    tokenizer: Any = None,
    num_proc: int = 1,
    engine: Any = None,
) -> dict[str, Any]:
    """Corpus figures; lengths are in tokens with a tokenizer, else in characters. `docs` may
    be a path: then an engine that reads in its workers (Ray: ray_read) does."""
    import functools

    from domaintune.data.parallel import ordered_map
    from domaintune.data.ray_read import map_rows

    chars, tokens, langs, sources, domains, keys = [], [], Counter(), Counter(), Counter(), set()
    measure = functools.partial(_measure_chunk, tokenizer=tokenizer)
    # Large chunks: the tokenizer travels with every chunk sent to a worker process.
    mapped = map_rows if isinstance(docs, str | os.PathLike) else ordered_map
    for n_chars, n_tok, lang, source, domain, key in mapped(
        measure, docs, num_proc=num_proc, chunk_size=2048, engine=engine
    ):
        chars.append(n_chars)
        if n_tok is not None:
            tokens.append(n_tok)
        langs[lang] += 1
        sources[source] += 1
        if domain is not None:
            domains[str(domain)] += 1
        keys.add(key)
    n = len(chars)
    stats: dict[str, Any] = {
        "documents": n,
        "characters": sum(chars),
        "tokens": sum(tokens) if tokenizer is not None else None,
        "length_unit": "tokens" if tokenizer is not None else "characters",
        "length": _distribution(tokens if tokenizer is not None else chars),
        "languages": dict(langs.most_common()),
        "sources": dict(sources.most_common()),
        "domains": dict(domains.most_common()),
        "exact_duplicates": n - len(keys),
        "exact_duplicate_rate": round((n - len(keys)) / n, 4) if n else 0.0,
        "near_duplicate_rate": None,
        "notes": ["near-duplicates: run `domaintune data dedup`"],
    }
    if tokenizer is None:
        stats["notes"].append("no --tokenizer: token counts and long-document shares not computed")
    else:
        for limit in LONG_TOKENS:
            stats[f"share_over_{limit}_tokens"] = round(sum(t > limit for t in tokens) / n, 4)
    return stats


def plot_lengths(stats: dict[str, Any], path: Any) -> None:
    """Bar chart of the length histogram, written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from domaintune.io import atomic_write

    hist = stats["length"]["histogram"]
    edges, counts = hist["edges"], hist["counts"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", edgecolor="black")
    ax.set_xlabel(f"document length ({stats['length_unit']})")
    ax.set_ylabel("documents")
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
