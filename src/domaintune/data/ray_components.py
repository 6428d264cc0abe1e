"""Connected components of the dedup graph on Ray: alternating large-star and small-star.

Kiveris et al. 2014, "Connected Components in MapReduce and Beyond": each round, every node
links its larger neighbours to the smallest node of its neighbourhood (large-star), then links
its smaller neighbours to the smallest of them (small-star). The edge set converges to one star
per component centred on the component's smallest node, in O(log^2 n) rounds even on long paths
(the worst case of label propagation, which needs n rounds). A component's label is thus its
minimum text index: what the local union-find gives (root = min), whatever the partitioning or
the number of workers.

Edges are hash-partitioned by node over Ray tasks (node % partitions): a task gets every
directed copy (a, b) of the edges whose `a` is in its partition, computes with numpy, and sends
each emitted edge to the partitions of both its ends; the driver passes object references on
and reads one checksum per task per round (the edge count and two 64-bit sums of edge hashes:
the round that changes nothing ends the loop). Only the final labels (one int per text) come
to the driver; the documents never do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["components_on_ray", "min_labels"]

_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9))


def _both_ways(edges: np.ndarray) -> np.ndarray:
    """Directed copies (a, b) and (b, a) of undirected edges, self loops dropped."""
    edges = edges[edges[:, 0] != edges[:, 1]]
    return np.concatenate([edges, edges[:, ::-1]])


def _route(directed: np.ndarray, partitions: int) -> list[np.ndarray]:
    """Split directed edges by the partition of their first node."""
    if partitions == 1:
        return [directed]
    part = directed[:, 0] % partitions
    return [directed[part == p] for p in range(partitions)]


def _gather(pieces: tuple[np.ndarray, ...]) -> np.ndarray:
    """One partition's directed edges, unique and sorted by (a, b)."""
    edges = np.concatenate(pieces) if pieces else np.empty((0, 2), dtype=np.int64)
    if not len(edges):
        return edges.reshape(0, 2)
    span = np.int64(edges.max()) + 1  # a * span + b sorts as (a, b); 1-D unique is fast
    codes = np.unique(edges[:, 0] * span + edges[:, 1])
    return np.stack([codes // span, codes % span], axis=1)


def _neighbourhood_min(edges: np.ndarray) -> np.ndarray:
    """Per directed edge (a, b), sorted by a: min(a, every neighbour of a)."""
    starts = np.flatnonzero(np.r_[True, edges[1:, 0] != edges[:-1, 0]])
    mins = np.minimum.reduceat(edges[:, 1], starts)
    counts = np.diff(np.r_[starts, len(edges)])
    return np.minimum(np.repeat(mins, counts), edges[:, 0])


def _checksum(edges: np.ndarray) -> tuple[int, int, int]:
    """(count, two 64-bit hash sums) of a set of directed edges: equal sets, equal sums."""
    a, b = edges[:, 0].astype(np.uint64), edges[:, 1].astype(np.uint64)
    with np.errstate(over="ignore"):
        h1 = (a * _MIX[0]) ^ (b * _MIX[1])
        h2 = ((a + np.uint64(1)) * _MIX[1]) ^ ((b + np.uint64(7)) * _MIX[0])
        h2 ^= h2 >> np.uint64(29)
        return len(edges), int(h1.sum(dtype=np.uint64)), int(h2.sum(dtype=np.uint64))


def _large_star(partitions: int, *pieces: np.ndarray) -> list[Any]:
    """Link every neighbour larger than a to min(neighbourhood of a, a)."""
    edges = _gather(pieces)
    out = np.empty((0, 2), dtype=np.int64)
    if len(edges):
        m = _neighbourhood_min(edges)
        larger = edges[:, 1] > edges[:, 0]
        out = np.stack([edges[larger, 1], m[larger]], axis=1)
    return [*_route(_both_ways(out), partitions), _checksum(edges)]


def _small_star(partitions: int, *pieces: np.ndarray) -> Any:
    """Link a and its neighbours smaller than a to the smallest of them."""
    edges = _gather(pieces)
    edges = edges[edges[:, 1] < edges[:, 0]]
    out = np.empty((0, 2), dtype=np.int64)
    if len(edges):
        m = _neighbourhood_min(edges)
        nodes = np.concatenate([edges[:, 1], edges[:, 0]])
        out = np.stack([nodes, np.concatenate([m, m])], axis=1)
    routed = _route(_both_ways(out), partitions)
    return routed if partitions > 1 else routed[0]  # Ray splits a list over num_returns > 1 only


def _labels(*pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, the smallest node they are linked to): the stars' centres at convergence."""
    edges = _gather(pieces)
    if not len(edges):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, edges[1:, 0] != edges[:-1, 0]])
    return edges[starts, 0], _neighbourhood_min(edges)[starts]


def min_labels(n: int, nodes: list[np.ndarray], labels: list[np.ndarray]) -> np.ndarray:
    out = np.arange(n, dtype=np.int64)
    for a, m in zip(nodes, labels, strict=True):
        out[a] = m
    return out


def components_on_ray(
    n: int, edges: np.ndarray, *, partitions: int = 2, max_rounds: int = 200
) -> tuple[np.ndarray, int]:
    """(label per node = the smallest node of its component, rounds run) for `n` nodes."""
    import ray

    large = ray.remote(num_returns=partitions + 1)(_large_star)
    small = ray.remote(num_returns=partitions)(_small_star)
    routed = [ray.put(p) for p in _route(_both_ways(np.asarray(edges, np.int64)), partitions)]
    inbox = [[r] for r in routed]  # per partition: refs of the edges sent to it
    previous = None
    for rounds in range(1, max_rounds + 1):
        large_out = [large.remote(partitions, *inbox[p]) for p in range(partitions)]
        checksum = tuple(np.sum(ray.get([o[-1] for o in large_out]), axis=0).tolist())
        if checksum == previous:  # the round before changed nothing: stars of the minimum
            return min_labels(n, *_final(inbox, partitions)), rounds - 1
        previous = checksum
        small_in = [[o[p] for o in large_out] for p in range(partitions)]
        small_out = [small.remote(partitions, *small_in[p]) for p in range(partitions)]
        small_out = [o if partitions > 1 else [o] for o in small_out]
        inbox = [[o[p] for o in small_out] for p in range(partitions)]
    raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")


def _final(inbox: list[list[Any]], partitions: int) -> tuple[list, list]:
    import ray

    task = ray.remote(num_returns=2)(_labels)
    refs = [task.remote(*inbox[p]) for p in range(partitions)]
    return list(ray.get([r[0] for r in refs])), list(ray.get([r[1] for r in refs]))
