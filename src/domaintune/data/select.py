"""Instruction data selection: embed prompts, cluster them, sample evenly; category balance.

Selection follows the "diverse subset" recipe: embed each conversation's user turns, k-means
them (k-means++ init, Arthur & Vassilvitskii 2007), then take clusters round-robin, nearest to
the centroid first, so every kind of prompt is represented before any kind is repeated.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash

from domaintune.data.accounting import Counts, Rejects, write_report
from domaintune.data.minhash import normalise
from domaintune.data.rows import output_row
from domaintune.io import PathLike, file_stem, iter_rows, write_jsonl
from domaintune.records import RawRow, parse_conversation
from domaintune.text import CJK_RUN_RE, LATIN_WORD_RE

TAXONOMY = (
    "qa",
    "writing",
    "reasoning",
    "extraction",
    "classification",
    "summarisation",
    "translation",
    "code",
    "math",
    "other",
)
# Keyword rules (zh + en), tried in this order; the first category with a hit wins.
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("translation", ("翻译", "译成", "译为", "translat")),
    ("summarisation", ("总结", "摘要", "概括", "归纳", "summar", r"tl;?dr")),
    ("code", ("代码", "编程", "函数", "python", "javascript", "sql", r"\bcode\b", "program",
              r"function\b", "regex")),
    ("math", ("计算", "多少元", "方程", "等于", "求解", "求.*和", "排列", "从小到大", "sum of",
              "sort these", "ascending", r"\d\s*[+\-×x*/÷]\s*\d", "solve", "equation",
              r"\bplus\b", "multipl", "divided", "how many", "how much")),
    ("extraction", ("提取", "抽取", "找出", "列出", "extract", "list all", "identify the")),
    ("classification", ("分类", "归类", "判断.*属于", "情感", "classify", "categori[sz]e",
                        "sentiment")),
    ("writing", ("写一", "撰写", "作文", "改写", "润色", "起草", "write",
                 r"list (three|some|\d+) (topics|ideas)",
                 "draft", "compose", "rewrite", "essay", "poem")),
    ("reasoning", ("为什么", "推理", "推断", "逻辑", "判断", "reason", "why", "logic", "infer")),
    ("qa", ("解释", "介绍", "什么", "哪些", "如何", "怎么", "explain", "tell me", "describe",
            "吗[？?]?$", "[？?]", r"\bwhat\b", r"\bwhich\b", r"\bhow\b", r"\bwho\b")),
)  # fmt: skip
_COMPILED = tuple((name, re.compile("|".join(keys), re.IGNORECASE)) for name, keys in _RULES)
DEFAULT_DIM = 1024  # hashed feature dimension: 10k prompts take 40 MiB as float32
THIN_SHARE = 0.5  # a category is thin below half of an even share of the rows


@dataclass
class Prompts:
    """The rows of a conversation file, their prompts (user turns) and categories."""

    rows: list[dict[str, Any]]
    prompts: list[str]
    categories: list[str]


def classify(text: str) -> str:
    """Heuristic task category of a prompt from zh + en keywords (first matching rule)."""
    for name, pattern in _COMPILED:
        if pattern.search(text):
            return name
    return "other"


def load_prompts(path: PathLike) -> Prompts:
    """Read a conversation file; a row's `category` field (or meta.category) beats the heuristic."""
    rows, prompts, categories = [], [], []
    stem = file_stem(path)
    for line, data in iter_rows(path):
        conv = parse_conversation(RawRow(data, str(path), line, stem=stem))
        prompt = "\n".join(m.content for m in conv.messages if m.role == "user")
        given = data.get("category") or (data.get("meta") or {}).get("category")
        rows.append(output_row(data, conv))  # as read; an id from file and line if it had none
        prompts.append(prompt)
        categories.append(given if given in TAXONOMY else classify(prompt))
    return Prompts(rows, prompts, categories)


# ---------------------------------------------------------------- embedding


def _features(text: str) -> list[str]:
    """Character 1-3 grams of CJK runs, word unigrams and bigrams of latin text."""
    norm = normalise(text)
    feats = [run[i : i + n] for run in CJK_RUN_RE.findall(norm) for n in (1, 2, 3)
             for i in range(len(run) - n + 1)]  # fmt: skip
    words = LATIN_WORD_RE.findall(norm)
    return feats + words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def tfidf_embed(texts: Sequence[str], *, dim: int = DEFAULT_DIM) -> np.ndarray:
    """Hashed TF-IDF vectors, L2-normalised: float32 [len(texts), dim]."""
    x = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        idx = [xxhash.xxh32_intdigest(f.encode("utf-8")) % dim for f in _features(text)]
        np.add.at(x[i], np.asarray(idx, dtype=np.int64), 1.0)
    df = (x > 0).sum(axis=0)
    x *= np.log((1 + len(texts)) / (1 + df)) + 1  # smoothed idf, as scikit-learn's default
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def model_embed(texts: Sequence[str], model_path: PathLike) -> np.ndarray:
    """Embed with a local sentence-transformers model; a clear error when it is not installed."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ValueError(
            "--embedder needs the sentence-transformers package: pip install "
            "sentence-transformers (or leave --embedder out to use the built-in TF-IDF)"
        ) from None
    model = SentenceTransformer(str(model_path), local_files_only=True)
    return np.asarray(model.encode(list(texts), normalize_embeddings=True), dtype=np.float32)


# ---------------------------------------------------------------- k-means


def _sq_dist(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances: [points, centers]."""
    d = (x * x).sum(1)[:, None] - 2 * x @ centers.T + (centers * centers).sum(1)[None, :]
    return np.maximum(d, 0.0)


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each next center drawn with probability ~ squared distance."""
    centers = [x[rng.integers(len(x))]]
    closest = _sq_dist(x, centers[0][None])[:, 0]
    for _ in range(1, k):
        total = closest.sum()
        pick = rng.choice(len(x), p=closest / total) if total > 0 else rng.integers(len(x))
        centers.append(x[pick])
        closest = np.minimum(closest, _sq_dist(x, x[pick][None])[:, 0])
    return np.stack(centers)


def kmeans(
    x: np.ndarray, k: int, *, seed: int = 0, iters: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ init: (labels int [points], centers [k, dim])."""
    rng = np.random.default_rng(seed)
    k = max(1, min(k, len(x)))
    centers = _kmeans_pp(x, k, rng)
    labels = np.full(len(x), -1)
    for _ in range(iters):
        dist = _sq_dist(x, centers)
        new = dist.argmin(1)
        if np.array_equal(new, labels):
            break
        labels = new
        for c in range(k):
            members = x[labels == c]
            # An empty cluster restarts at the point farthest from its center.
            centers[c] = members.mean(0) if len(members) else x[dist.min(1).argmax()]
    return labels, centers


def default_k(num_rows: int, n: int) -> int:
    """Rule of thumb k = sqrt(rows / 2) (Mardia et al. 1979), at most n and at least 1."""
    return max(1, min(n, round(math.sqrt(num_rows / 2))))


# ---------------------------------------------------------------- sampling


def round_robin(groups: Sequence[Sequence[int]], n: int) -> list[int]:
    """Take one item from each group in turn (each group in its own order) until n are taken."""
    picked: list[int] = []
    depth = 0
    while len(picked) < n and any(depth < len(g) for g in groups):
        picked += [g[depth] for g in groups if depth < len(g)][: n - len(picked)]
        depth += 1
    return picked


def select_by_cluster(x: np.ndarray, n: int, *, k: int, seed: int) -> tuple[list[int], np.ndarray]:
    """Indices of n rows spread evenly over k-means clusters, nearest-to-centroid first."""
    labels, centers = kmeans(x, k, seed=seed)
    dist = ((x - centers[labels]) ** 2).sum(1)
    groups = [sorted(np.flatnonzero(labels == c), key=lambda i: dist[i]) for c in range(k)]
    return round_robin([g for g in groups if g], n), labels


def select_by_category(categories: Sequence[str], n: int, *, seed: int) -> list[int]:
    """Indices of n rows spread evenly over categories, in a seeded random order within each."""
    rng = np.random.default_rng(seed)
    groups = [
        [int(i) for i in rng.permutation([j for j, c in enumerate(categories) if c == cat])]
        for cat in TAXONOMY
    ]
    return round_robin([g for g in groups if g], n)


def category_report(categories: Sequence[str]) -> dict[str, Any]:
    """Count and share per taxonomy category; `missing` (none) and `thin` (below half even)."""
    counts = Counter(categories)
    total = len(categories)
    even = total / len(TAXONOMY)
    rows = {c: {"count": counts[c], "share": round(counts[c] / total, 4) if total else 0.0}
            for c in TAXONOMY}  # fmt: skip
    missing = [c for c in TAXONOMY if c != "other" and counts[c] == 0]
    thin = [c for c in TAXONOMY if c != "other" and 0 < counts[c] < THIN_SHARE * even]
    return {"total": total, "categories": rows, "missing": missing, "thin": thin}


def select_file(
    path: PathLike,
    out: PathLike,
    *,
    n: int,
    by: str = "cluster",
    k: int | None = None,
    seed: int = 0,
    embedder: PathLike | None = None,
    report: PathLike | None = None,
    rejects: PathLike | None = None,
) -> dict[str, Any]:
    """Write n conversations of `path` (rows unchanged, input order) to `out`; return the report.

    `rejects` receives the rows not selected, each with its cluster or category.
    """
    if by not in ("cluster", "category"):
        raise ValueError(f"--by {by!r}: choose cluster or category")
    if n < 1:
        raise ValueError(f"--n must be at least 1, got {n}")
    data = load_prompts(path)
    extra: dict[str, Any] = {"by": by, "seed": seed}
    if by == "cluster":
        x = model_embed(data.prompts, embedder) if embedder else tfidf_embed(data.prompts)
        k = k or default_k(len(data.rows), n)
        picked, labels = select_by_cluster(x, n, k=k, seed=seed)
        extra.update(k=k, embedder=str(embedder) if embedder else "tfidf-hashed")
        extra["clusters"] = _per_group(labels.tolist(), picked)
    else:
        picked = select_by_category(data.categories, n, seed=seed)
        extra["per_category"] = _per_group(data.categories, picked)
    chosen = sorted(picked)
    write_jsonl(out, (data.rows[i] for i in chosen))
    counts = Counts(read=len(data.rows), kept=len(chosen))
    groups = labels.tolist() if by == "cluster" else data.categories
    field = "cluster" if by == "cluster" else "category"
    taken = set(chosen)
    with Rejects(rejects, counts) as rej:
        for i, row in enumerate(data.rows):
            if i not in taken:
                rej.add(row, "not_selected", {field: groups[i]})
    extra["category_balance"] = category_report([data.categories[i] for i in chosen])
    write_report(report, counts, **extra)
    return {**counts.to_dict(), **extra}


def _per_group(labels: Sequence[Any], picked: Sequence[int]) -> list[dict[str, Any]]:
    """Per group (cluster or category): its size and how many were selected from it."""
    sizes, chosen = Counter(labels), Counter(labels[i] for i in picked)
    return [{"group": g, "size": sizes[g], "selected": chosen[g]} for g in sorted(sizes)]


from domaintune.verbs import make_callable  # noqa: E402 (last: the module is complete)

make_callable(__name__, "domaintune.data.api:select")  # dt.data.select(...) calls the verb
