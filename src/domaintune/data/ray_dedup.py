"""LSH candidate pairs on Ray Data: band keys as a batch map, buckets by a distributed group-by.

The result equals `minhash.band_pairs` exactly: every text in a band bucket is paired with the
bucket's lowest index (its leader), whatever the partitioning or the number of workers, because
the leader is an aggregate (a minimum) over the whole bucket, not the first row a worker saw.
Connected components then run on the driver over these edges with the local engine's
union-find (min index as root), so `--engine ray` keeps the documents `--engine local` keeps.
"""

from __future__ import annotations

import functools
import pickle
from typing import Any

import numpy as np

__all__ = ["band_pairs_on_ray"]

_TEXTS_PER_TASK = 4096  # signatures per band-key task (uint32 [4096, 128]: 2 MiB)


def _band_keys(batch: dict[str, Any], *, bands: int, rows: int) -> dict[str, Any]:
    """Per text and band: the key (band number + that band's signature values) and the index."""
    keys: list[bytes] = []
    texts: list[np.ndarray] = []
    for start, payload in zip(batch["start"], batch["payload"], strict=True):
        sigs = pickle.loads(payload)  # uint32 [texts, num_perm]
        index = np.arange(start, start + len(sigs), dtype=np.int64)
        for band in range(bands):
            block = np.ascontiguousarray(sigs[:, band * rows : (band + 1) * rows])
            prefix = band.to_bytes(2, "little")
            keys.extend(prefix + row.tobytes() for row in block)
            texts.append(index)
    return {"key": keys, "t": np.concatenate(texts) if texts else np.empty(0, np.int64)}


def band_pairs_on_ray(
    signatures: np.ndarray, bands: int, rows: int, *, workers: int | None = None
) -> np.ndarray:
    """`minhash.band_pairs` on Ray Data: int64 [pairs, 2] (later index, leader), unique, sorted."""
    import ray.data

    n = len(signatures)
    if n == 0 or bands == 0:
        return np.empty((0, 2), dtype=np.int64)
    items = [
        {
            "start": s,
            "payload": pickle.dumps(np.ascontiguousarray(signatures[s : s + _TEXTS_PER_TASK])),
        }
        for s in range(0, n, _TEXTS_PER_TASK)
    ]
    keyed = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        functools.partial(_band_keys, bands=bands, rows=rows),
        batch_size=1,
        concurrency=workers,
    )
    keyed = keyed.materialize()  # read twice below: computed once
    partitions = max(1, workers or 2)
    from ray.data.aggregate import Count, Min

    leaders = (
        keyed.groupby("key", num_partitions=partitions)
        .aggregate(Min("t", alias_name="leader"), Count(alias_name="size"))
        .filter(expr="size > 1")  # a bucket of one text pairs nothing
    )
    joined = keyed.join(leaders, join_type="inner", num_partitions=partitions, on=("key",))
    codes = [
        batch["t"] * n + batch["leader"]
        for batch in joined.iter_batches(batch_format="numpy", batch_size=None)
        if len(batch["t"])
    ]
    if not codes:
        return np.empty((0, 2), dtype=np.int64)
    codes = np.concatenate(codes).astype(np.int64)
    members, leaders_ = codes // n, codes % n
    codes = np.unique(codes[members != leaders_])
    return np.stack([codes // n, codes % n], axis=1)
