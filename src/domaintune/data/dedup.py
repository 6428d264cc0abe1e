"""Exact and near-duplicate removal for documents, streaming in two passes over the input.

Pass 1 keeps, per document, only its id, its length and which distinct normalised text it has;
per distinct text, only its MinHash signature (uint32 [num_perm]). Candidate pairs come from LSH
bands over the signatures, clusters from union-find. Pass 2 re-reads the input and writes the
kept documents. Keep rule: per cluster the longest text (in characters) is kept; ties go to the
document seen first.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash

from domaintune.data.accounting import Counts, Rejects, progress, write_report
from domaintune.data.minhash import (
    MAX_HASH,
    PIECE_CHARS,
    MinHasher,
    band_pairs,
    estimated_jaccard,
    jaccard,
    optimal_params,
    shingle_hashes,
    streamed_shingles,
    text_tokens,
    tokens_key,
)
from domaintune.data.parallel import Engine
from domaintune.data.ray_read import map_rows
from domaintune.data.ray_shards import open_output
from domaintune.data.rows import output_row, read_documents_with_rows
from domaintune.io import PathLike, jsonl_line, read_documents, write_jsonl

# 5-gram shingles as Lee et al. 2022 ("Deduplicating Training Data Makes Language Models
# Better"); a gram is a latin word or one CJK character. Threshold 0.55, not their 0.8: chosen by
# benchmarks/dedup.py, where copies with two edits (a sentence inserted, characters dropped ...)
# of 5-10 sentence documents fall to Jaccard 0.55-0.8 while pages sharing a site's header and
# footer stay below 0.4 (F1 >= 0.99 with one or two edits; 0.8 finds 78-94% of the copies).
DEFAULT_THRESHOLD, DEFAULT_NGRAM, DEFAULT_NUM_PERM = 0.55, 5, 128
# Bands favour recall (false negatives weighted 0.9): every candidate is then checked against
# the threshold (estimated Jaccard from the signatures, or the true one with verify).
_LSH_WEIGHTS = {"fp_weight": 0.1, "fn_weight": 0.9}
_SIGNATURE_BATCH = 512  # documents hashed together (one numpy call; one chunk per process task)


@dataclass
class Cluster:
    """Documents found to be duplicates of each other, and the one kept."""

    ids: list[str]
    kept: str
    pairs: list[tuple[str, str, float]]  # (id, id, Jaccard: true with verify, else estimated)

    def to_dict(self) -> dict[str, Any]:
        pairs = [{"a": a, "b": b, "similarity": round(s, 4)} for a, b, s in self.pairs]
        return {"ids": self.ids, "kept": self.kept, "size": len(self.ids), "pairs": pairs}


@dataclass
class DedupResult:
    """Counts (read = kept + rejected by reason), clusters of size > 1, LSH parameters."""

    counts: Counts
    clusters: list[Cluster]
    bands: int
    rows: int
    settings: dict[str, Any] = field(default_factory=dict)


class _Scan:
    """Pass-1 state: grows with the number of documents, not their text."""

    def __init__(self, num_perm: int):
        self.num_perm = num_perm
        self.ids: list[str] = []
        self.lengths: list[int] = []
        self.text_of: list[int] = []  # doc index -> distinct-text index
        self.first_doc: list[int] = []  # distinct-text index -> first doc with that text
        self.empty: list[bool] = []  # distinct text has no tokens
        self._seen: dict[bytes, int] = {}
        self._sigs: list[np.ndarray] = []

    def add(self, doc_id: str, length: int, key: bytes, empty: bool, sig: np.ndarray) -> None:
        """Record one hashed document; keep its signature when its normalised text is new."""
        self.ids.append(doc_id)
        self.lengths.append(length)
        index = self._seen.setdefault(key, len(self._seen))
        self.text_of.append(index)
        if index == len(self.first_doc):
            self.first_doc.append(len(self.ids) - 1)
            self.empty.append(empty)
            self._sigs.append(sig)

    def signatures(self) -> np.ndarray:
        """All distinct texts' signatures: uint32 [num_texts, num_perm]."""
        if not self._sigs:
            return np.empty((0, self.num_perm), dtype=np.uint32)
        return np.stack(self._sigs)


def _hash_chunk(
    docs: list[tuple[str, str]], *, ngram: int, num_perm: int, seed: int
) -> list[tuple[str, int, bytes, bool, np.ndarray]]:
    """(id, length, exact key, empty, signature) per document: the work pass 1 parallelises."""
    hasher = MinHasher(num_perm, seed=seed)
    keys, shingles, huge = [], [], {}
    for i, (_, text) in enumerate(docs):
        if len(text) > PIECE_CHARS:  # signed a piece at a time: memory bounded by the piece
            keys.append(b"")
            shingles.append(np.empty(0, dtype=np.uint64))
            huge[i] = _sign_in_pieces(text, ngram, hasher)
            continue
        tokens = text_tokens(text)
        keys.append(tokens_key(tokens))
        shingles.append(shingle_hashes(tokens, ngram, unique=False))
    sigs = hasher.signatures(shingles)
    empty = [len(sh) == 0 for sh in shingles]
    for i, (key, sig, is_empty) in huge.items():
        keys[i], sigs[i], empty[i] = key, sig, is_empty
    return [
        (doc_id, len(text), key, e, sig)
        for (doc_id, text), key, e, sig in zip(docs, keys, empty, sigs, strict=True)
    ]


def _hash_docs(docs: list, **options: Any) -> list[tuple[str, int, bytes, bool, np.ndarray]]:
    return _hash_chunk([(d.id, d.text) for d in docs], **options)


def _output_rows(pairs: list) -> list[dict[str, Any]]:
    return [output_row(row, doc) for row, doc in pairs]


def _output_pairs(pairs: list) -> list[tuple[None, dict[str, Any]]]:
    """The local writing map: (no line yet, row); kept rows are encoded as they are written."""
    return [(None, row) for row in _output_rows(pairs)]


def _output_lines(pairs: list) -> list[str | tuple[str | None, dict[str, Any]]]:
    """Ray's writing map: each output row as its line, encoded in the worker so the driver only
    writes it; with the row too when the line does not give it back exactly (a rejected row is
    written from it: NaN), or the row alone when it has no line (Parquet dates: the driver then
    raises for it as locally if it is kept, and writes it to the rejects as locally if not)."""
    out: list[str | tuple[str | None, dict[str, Any]]] = []
    for row in _output_rows(pairs):
        try:
            line = jsonl_line(row)
        except TypeError:
            out.append((None, row))
            continue
        out.append(line if json.loads(line) == row else (line, row))
    return out


def _sign_in_pieces(text: str, ngram: int, hasher: MinHasher) -> tuple[bytes, np.ndarray, bool]:
    """(exact key, signature, empty) of a long text, equal to those of the text in one go."""
    key, sig = xxhash.xxh3_128(), np.full(hasher.num_perm, MAX_HASH, dtype=np.uint32)
    started, empty = False, True
    for tokens, shingles in streamed_shingles(text, ngram):
        if tokens:
            key.update((b"\x1f" if started else b"") + "\x1f".join(tokens).encode("utf-8"))
            started = True
        hasher.update(sig, shingles)
        empty = empty and len(shingles) == 0
    return key.digest(), sig, empty


def dedup_documents(
    path: PathLike,
    out: PathLike,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    ngram: int = DEFAULT_NGRAM,
    num_perm: int = DEFAULT_NUM_PERM,
    verify: bool = False,
    clusters: PathLike | None = None,
    rejects: PathLike | None = None,
    report: PathLike | None = None,
    seed: int = 1,
    num_proc: int = 1,
    engine: Engine | None = None,
    shards: int | None = None,
) -> DedupResult:
    """Write `path`'s documents minus exact and near duplicates to `out` (jsonl, atomic); a
    folder `out` (`out/`, or `shards`) gets part files and `_SUCCESS` (ray_shards)."""
    if ngram < 1 or num_perm < 2:
        raise ValueError(f"ngram must be >= 1 and num_perm >= 2, got {ngram} and {num_perm}")
    bands, rows = lsh_params(threshold, num_perm)
    scan = _Scan(num_perm)
    # On Ray the workers read the input (ray_read) and send back only the signatures.
    fn = functools.partial(_hash_docs, ngram=ngram, num_perm=num_perm, seed=seed)
    hashed = map_rows(fn, path, num_proc=num_proc, chunk_size=_SIGNATURE_BATCH, engine=engine,
                      read=read_documents_with_rows)  # fmt: skip
    for item in progress(hashed, "dedup: hashing"):
        scan.add(*item)
    sigs = scan.signatures()
    # On Ray, band buckets are grouped there too (ray_dedup: the same pairs).
    edges, sims = _candidate_edges(scan, sigs, bands, rows, getattr(engine, "band_pairs", None))
    shingles: dict[int, np.ndarray] = {}
    if verify:
        shingles = _reread_shingles(path, scan, np.unique(edges), ngram)
        sims = np.array([jaccard(shingles[u], shingles[v]) for u, v in edges])
    edges, sims = edges[sims >= threshold], sims[sims >= threshold]
    similarity = lambda u, v: _similarity(u, v, sigs, shingles)  # noqa: E731
    plan = _plan(scan, edges, sims, similarity, getattr(engine, "components", None))
    counts = Counts(read=len(scan.ids))
    # a folder output (`out/`, or `shards`): part files (ray_shards)
    with Rejects(rejects, counts) as rej, open_output(out, shards) as f:
        f.writelines(_kept_lines(path, plan, rej, counts, engine))
    settings = {
        "threshold": threshold,
        "ngram": ngram,
        "num_perm": num_perm,
        "verify": verify,
        "num_proc": num_proc,
    }
    result = DedupResult(counts, plan["clusters"], bands, rows, settings)
    if clusters is not None:
        write_jsonl(clusters, (c.to_dict() for c in result.clusters))
    write_report(report, counts, **_report_extra(result))
    return result


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) for a threshold: recall-weighted, since candidates are checked after."""
    return optimal_params(threshold, num_perm, **_LSH_WEIGHTS)


def _candidate_edges(
    scan: _Scan, sigs: np.ndarray, bands: int, rows: int, pairs_fn=None
) -> tuple[np.ndarray, np.ndarray]:
    """LSH candidate pairs of distinct texts ([pairs, 2]) and their estimated Jaccard."""
    # Texts without a single token all share the empty signature; exact keys handle them.
    live = np.flatnonzero(~np.asarray(scan.empty, dtype=bool))
    pairs_fn = pairs_fn or band_pairs
    edges = live[pairs_fn(sigs[live], bands, rows)] if len(live) else np.empty((0, 2), int)
    return edges, estimated_jaccard(sigs[edges[:, 0]], sigs[edges[:, 1]])


def _reread_shingles(
    path: PathLike, scan: _Scan, needed: np.ndarray, ngram: int
) -> dict[int, np.ndarray]:
    """Shingle sets of the distinct texts in candidate pairs, from a second read of the input."""
    wanted = {int(scan.first_doc[t]): int(t) for t in needed}
    found: dict[int, np.ndarray] = {}
    for i, doc in enumerate(progress(read_documents(path), "dedup: verifying")):
        if i in wanted:
            pieces = [sh for _, sh in streamed_shingles(doc.text, ngram)]
            found[wanted[i]] = np.unique(np.concatenate(pieces))
    return found


def _similarity(u: int, v: int, sigs: np.ndarray, shingles: dict[int, np.ndarray]) -> float:
    if u == v:
        return 1.0
    if u in shingles and v in shingles:
        return jaccard(shingles[u], shingles[v])
    return float(estimated_jaccard(sigs[u], sigs[v]))


def _find(parent: list[int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving
        x = parent[x]
    return x


def _union_find(n: int, edges: np.ndarray) -> list[int]:
    """Root of each of n items after joining every edge."""
    parent = list(range(n))
    for u, v in edges.tolist():
        ru, rv = _find(parent, u), _find(parent, v)
        if ru != rv:
            parent[max(ru, rv)] = min(ru, rv)
    return [_find(parent, x) for x in range(n)]


def _plan(
    scan: _Scan, edges: np.ndarray, sims: np.ndarray, similarity, components=None
) -> dict[str, Any]:
    """Which documents to keep, why each other one goes, and the clusters. `components`: the
    engine's (Ray: ray_components), giving the union-find's roots (the smallest member)."""
    roots = (components or _union_find)(len(scan.first_doc), edges)
    members: dict[int, list[int]] = {}
    for doc, text in enumerate(scan.text_of):
        members.setdefault(roots[text], []).append(doc)
    verdict: dict[int, tuple[str, dict[str, Any]]] = {}  # rejected doc -> (reason, value)
    pairs = _pairs_by_root(scan, roots, edges, sims)
    clusters = []
    for root, docs in members.items():
        if len(docs) == 1:
            continue
        # Keep rule: the longest text; max() returns the first of equals, i.e. the first seen.
        kept = max(docs, key=lambda d: scan.lengths[d])
        for d in docs:
            if d != kept:
                u, v = scan.text_of[d], scan.text_of[kept]
                reason = "exact_duplicate" if u == v else "near_duplicate"
                value = {"kept_id": scan.ids[kept], "similarity": round(similarity(u, v), 4)}
                verdict[d] = (reason, value)
        ids = [scan.ids[d] for d in docs]
        clusters.append(Cluster(ids, scan.ids[kept], pairs.get(root, [])))
    return {"verdict": verdict, "clusters": clusters, "count": len(scan.ids)}


def _pairs_by_root(
    scan: _Scan, roots: list[int], edges: np.ndarray, sims: np.ndarray
) -> dict[int, list[tuple[str, str, float]]]:
    """Every pair that joined a cluster: LSH edges between texts, exact copies to their first."""
    out: dict[int, list[tuple[str, str, float]]] = {}
    for (u, v), s in zip(edges.tolist(), sims.tolist(), strict=True):
        a, b = scan.ids[scan.first_doc[v]], scan.ids[scan.first_doc[u]]
        out.setdefault(roots[u], []).append((a, b, float(s)))
    for doc, text in enumerate(scan.text_of):
        first = scan.first_doc[text]
        if first != doc:
            out.setdefault(roots[text], []).append((scan.ids[first], scan.ids[doc], 1.0))
    return out


def _kept_lines(
    path: PathLike, plan: dict[str, Any], rejects: Rejects, counts: Counts, engine=None
):
    """Pass 2: re-read the input; yield kept rows' lines in order, send the others to
    `rejects`. On Ray the workers read and encode the rows (`_output_lines`)."""
    seen = 0
    fn = _output_pairs if engine is None else _output_lines
    rows = map_rows(fn, path, pairs=True, engine=engine, read=read_documents_with_rows)
    for i, item in enumerate(progress(rows, "dedup: writing", total=plan["count"])):
        seen += 1
        line, row = item if isinstance(item, tuple) else (item, None)
        if i in plan["verdict"]:
            reason, value = plan["verdict"][i]
            rejects.add(row if row is not None else json.loads(line), reason, value)
        else:
            counts.kept += 1
            yield line if line is not None else jsonl_line(row)
    if seen != plan["count"]:
        raise RuntimeError(
            f"{path} changed during deduplication ({plan['count']} then {seen} rows)"
        )


def _report_extra(result: DedupResult) -> dict[str, Any]:
    sizes = [len(c.ids) for c in result.clusters]
    return {
        **result.settings,
        "bands": result.bands,
        "rows": result.rows,
        "clusters": len(sizes),
        "largest_cluster": max(sizes, default=0),
        "keep_rule": "longest text per cluster; ties: first seen",
    }


from domaintune.verbs import make_callable  # noqa: E402 (last: the module is complete)

make_callable(__name__, "domaintune.data.api:dedup")  # dt.data.dedup(...) calls the verb
