"""Dedup's connected components on Ray (data/ray_components.py: large-star/small-star) equal the
local union-find's roots on the graphs that break label propagation, with 1, 2 and 4 partitions;
dedup with the components on Ray keeps exactly what the local engine keeps."""

from __future__ import annotations

import numpy as np
import pytest

from domaintune.data.dedup import _union_find


def _graphs() -> dict[str, tuple[int, np.ndarray]]:
    rng = np.random.default_rng(18)
    n = 5000
    line = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1)
    perm = rng.permutation(n)
    shuffled = np.stack([perm[:-1], perm[1:]], axis=1)  # one long path, labels in random order
    hub = rng.integers(0, n)
    stars = np.stack([np.full(1500, hub), rng.choice(n, 1500, replace=False)], axis=1)
    chains = np.concatenate([np.stack([perm[i:i + 400:1][:-1], perm[i + 1:i + 400]], axis=1)
                             for i in range(0, 4000, 400)])  # fmt: skip
    mixed = np.concatenate([chains, stars[:300], rng.integers(0, n, (600, 2))])
    return {
        "sorted path": (n, line[::-1]),  # the edges from the far end first
        "shuffled path": (n, shuffled),
        "star": (n, stars),
        "chains, stars and random edges": (n, mixed),
        "no edges": (n, np.empty((0, 2), dtype=np.int64)),
        "self loops and repeats": (10, np.array([[3, 3], [4, 2], [2, 4], [4, 2], [9, 8]])),
    }


@pytest.mark.slow
@pytest.mark.parametrize("partitions", [1, 2, 4])
def test_components_on_ray_equal_the_union_find(ray_instance, partitions):
    from domaintune.data.ray_components import components_on_ray

    rounds_seen = {}
    for name, (n, edges) in _graphs().items():
        expected = np.asarray(_union_find(n, edges))
        labels, rounds = components_on_ray(n, edges, partitions=partitions)
        assert np.array_equal(labels, expected), name
        rounds_seen[name] = rounds
    assert len(np.unique(_union_find(*_graphs()["shuffled path"]))) == 1
    assert rounds_seen["no edges"] == 1 and max(rounds_seen.values()) <= 20  # log^2, not n


@pytest.mark.slow
def test_dedup_with_components_on_ray_keeps_what_local_keeps(
    tmp_path, ray_instance, planted_copies
):
    from domaintune.data.dedup import dedup_documents
    from domaintune.data.ray_engine import RayEngine

    src, _ = planted_copies
    engine = RayEngine(workers=2, components_min_edges=0)  # every graph on Ray
    files = ("out.jsonl", "rej.jsonl", "clusters.jsonl")
    for name, eng in (("local", None), ("ray", engine)):
        d = tmp_path / name
        dedup_documents(src, d / files[0], rejects=d / files[1], clusters=d / files[2], engine=eng)
    for f in files:
        assert (tmp_path / "ray" / f).read_bytes() == (tmp_path / "local" / f).read_bytes(), f
    assert (tmp_path / "local" / "rej.jsonl").read_text(encoding="utf-8").count("\n") == 90
