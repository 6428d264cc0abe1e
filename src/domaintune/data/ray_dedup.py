"""LSH candidate pairs on Ray: band keys in map tasks, buckets by a hash-partitioned group-by.

Map tasks cut the signatures into band keys and send each key to a partition chosen by a hash of
the key's values, so every text of a bucket meets in one reduce task; the reduce task groups its
keys with numpy and pairs each text with its bucket's lowest index (the leader). The result
equals `minhash.band_pairs` exactly, whatever the partitioning or the number of workers, because
the leader is a minimum over the whole bucket, not the first row a worker saw. Connected
components then run on the driver over these edges with the local engine's union-find (min
index as root), so `--engine ray` keeps the documents `--engine local` keeps.

Ray core tasks, not Ray Data's groupby + join: those start shuffle actors per call, 15-30 s of
fixed cost here for what is an array sort per partition (text-dedup issue 81: clustering became
the bottleneck on Ray).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["band_pairs_on_ray"]

_TEXTS_PER_TASK = 8192  # signatures per map task (uint32 [8192, 128]: 4 MiB)
# Odd 64-bit multipliers (splitmix64's constants) mixing a band's values into a partition.
_MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB], dtype=np.uint64)


def _partition_of(block: np.ndarray, partitions: int) -> np.ndarray:
    """A partition per key (row of `block`, uint32 [texts, rows]) from the key's values alone."""
    h = np.zeros(len(block), dtype=np.uint64)
    for j in range(block.shape[1]):
        h = (h ^ block[:, j].astype(np.uint64)) * _MIX[j % len(_MIX)]
    return ((h >> np.uint64(33)) % np.uint64(partitions)).astype(np.int64)


def _map_band_keys(sigs: np.ndarray, start: int, bands: int, rows: int, partitions: int) -> list:
    """Per partition, per band: (text indices, band keys) of this slice of signatures."""
    index = np.arange(start, start + len(sigs), dtype=np.int64)
    out: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(partitions)]
    for band in range(bands):
        block = np.ascontiguousarray(sigs[:, band * rows : (band + 1) * rows])
        part = _partition_of(block, partitions)
        for p in range(partitions):
            mask = part == p
            out[p].append((index[mask], block[mask]))
    return out if partitions > 1 else out[0]  # Ray splits a list over num_returns > 1 only


def _reduce_buckets(n: int, rows: int, *pieces: list) -> np.ndarray:
    """Codes member * n + leader of one partition's buckets, every band."""
    found = []
    for band_pieces in zip(*pieces, strict=True):  # one band at a time, from every map task
        texts = np.concatenate([t for t, _ in band_pieces])
        if len(texts) < 2:
            continue
        keys = np.concatenate([k for _, k in band_pieces])
        order = np.argsort(texts, kind="stable")  # np.unique's first index = the lowest text
        texts, keys = texts[order], np.ascontiguousarray(keys[order])
        view = keys.view(np.dtype((np.void, keys.dtype.itemsize * rows))).ravel()
        _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
        leader = texts[first[inverse.ravel()]]
        member = leader != texts
        found.append(texts[member] * n + leader[member])
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def _bounded(calls: Iterator[Any], limit: int | None) -> list[Any]:
    """Submit tasks lazily, at most `limit` unfinished at a time (None: no limit). A call gives
    one ref, or a list of refs (num_returns > 1: they are ready together)."""
    import ray

    submitted: list[Any] = []
    pending: list[Any] = []
    for refs in calls:
        while limit is not None and len(pending) >= limit:
            _, pending = ray.wait(pending, num_returns=1)
        submitted.append(refs)
        pending.append(refs[0] if isinstance(refs, list) else refs)
    return submitted


def band_pairs_on_ray(
    signatures: np.ndarray,
    bands: int,
    rows: int,
    *,
    workers: int | None = None,
    texts_per_task: int = _TEXTS_PER_TASK,
) -> np.ndarray:
    """`minhash.band_pairs` on Ray: int64 [pairs, 2] (later index, leader), unique, sorted."""
    import ray

    n = len(signatures)
    if n == 0 or bands == 0:
        return np.empty((0, 2), dtype=np.int64)
    partitions = max(1, workers or int(ray.cluster_resources().get("CPU", 1)))
    map_task = ray.remote(num_returns=partitions)(_map_band_keys)
    starts = range(0, n, texts_per_task)
    mapped = _bounded(
        (map_task.remote(signatures[s : s + texts_per_task], s, bands, rows, partitions)
         for s in starts),
        workers,
    )  # fmt: skip
    by_task = [m if partitions > 1 else [m] for m in mapped]  # [map task][partition] refs
    reduce_task = ray.remote(_reduce_buckets)
    reduced = _bounded(
        (reduce_task.remote(n, rows, *[task[p] for task in by_task]) for p in range(partitions)),
        workers,
    )
    codes = np.concatenate(ray.get(reduced))
    if len(codes) == 0:
        return np.empty((0, 2), dtype=np.int64)
    codes = np.unique(codes)
    return np.stack([codes // n, codes % n], axis=1)
