"""`--engine ray`: the data stages' per-document work as Ray Data batch maps.

The Ray engine is a drop-in for `parallel.ordered_map`: chunks go to Ray Data's `map_batches`
(each chunk through the same function a local worker process runs) and the results come back in
input order, so every output byte equals the local engine's. For JSONL, JSONL.gz and Parquet
inputs (`map_pieces`) the workers read the input themselves, in pieces planned by the driver
without reading data (ray_read.py); other formats are read by the driver with the local readers
and sent in chunks. Ray has a fixed start-up cost (5-11 s for `ray.init` here, 2-6 s more for
the first Ray Data job): it pays on inputs that keep many cores busy for minutes (docs/scale.md).

Ray is optional (`pip install 'domaintune[ray]'`); nothing here imports it at module level.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import pickle
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from domaintune.data.parallel import chunks
from domaintune.data.ray_read import PIECE_BYTES, Piece, count_lines, number_lines, plan_pieces

__all__ = [
    "INSTALL_HINT",
    "RayEngine",
    "object_store_settings",
    "ray_session",
    "require_ray",
]

T = TypeVar("T")
R = TypeVar("R")
INSTALL_HINT = "--engine ray needs Ray: pip install 'domaintune[ray]'"
# Plasma (Ray's object store) lives in /dev/shm; containers often give it 64 MB (Docker's default)
# or none, and Ray then fails or crawls (ray-project/ray#33525). The store is capped, and put on
# disk when /dev/shm cannot hold it.
OBJECT_STORE_BYTES = 400 * 2**20
SHM_HEADROOM = 1.2  # /dev/shm must hold the store plus this share for Ray's own use
# Documents travel to Ray in windows of about this many pickled bytes: one Ray Data job per
# window (about 0.7 s of fixed cost each, measured here, overlapped with the driver's reading),
# memory bounded by three windows.
WINDOW_BYTES = 32 * 2**20
COMPONENTS_MIN_EDGES = 20_000_000


def require_ray() -> Any:
    """The `ray` module, or an ImportError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 (the extra: ray[data])
    except ImportError as err:
        raise ImportError(f"{INSTALL_HINT} (import failed: {err})") from None
    return ray


def object_store_settings(
    shm: str | Path = "/dev/shm", *, store_bytes: int = OBJECT_STORE_BYTES
) -> dict[str, Any]:
    """ray.init keywords for a capped object store: in /dev/shm when it has room, else on disk."""
    settings: dict[str, Any] = {"object_store_memory": store_bytes}
    try:
        free = shutil.disk_usage(shm).free
    except OSError:  # no /dev/shm at all
        free = 0
    if free < store_bytes * SHM_HEADROOM:
        # Ray's documented way to run without shared memory: plasma files on disk.
        os.environ["RAY_OBJECT_STORE_ALLOW_SLOW_STORAGE"] = "1"
        settings["_plasma_directory"] = tempfile.gettempdir()
        logging.getLogger(__name__).warning(
            "%s has %d MB free, less than Ray's %d MB object store needs: it goes on disk in %s "
            "(slower); give the container more shared memory (docker run --shm-size=1g)",
            shm, free >> 20, int(store_bytes * SHM_HEADROOM) >> 20, settings["_plasma_directory"],
        )  # fmt: skip
    return settings


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Connect to Ray: a running cluster (`address`: auto, HOST:PORT or ray://HOST:PORT), the
    instance this process already started, or a new local one with `num_cpus` CPUs.

    A local instance started here is shut down on exit; a cluster is only disconnected from.
    """
    ray = require_ray()
    if ray.is_initialized():  # e.g. a test session's instance, or the user's own ray.init()
        yield ray
        return
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
    }
    if address is not None:
        kwargs["address"] = address
    else:
        # "local": a new instance; a bare ray.init() would join whichever cluster was started
        # last on this machine (/tmp/ray/ray_current_cluster), perhaps someone else's.
        kwargs.update(object_store_settings(), address="local", num_cpus=num_cpus or os.cpu_count())
    ray.init(**kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


def _quiet_data_context() -> None:
    import warnings

    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # results come back in input order
    ctx.enable_progress_bars = False  # our own rich progress bar counts documents
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # per-job INFO lines
    # a last window with fewer chunks than workers is expected, not a tuning problem
    warnings.filterwarnings("ignore", message="The maximum number of concurrent tasks")


@dataclass
class RayEngine:
    """Runs chunked work on Ray Data; `workers` caps concurrent tasks (None: every CPU)."""

    workers: int | None = None
    window_bytes: int = WINDOW_BYTES
    chunk_size: int | None = None  # overrides the caller's (tests split small inputs finely)
    piece_bytes: int = PIECE_BYTES  # JSONL bytes per map task when the workers read the input
    # candidate edges from which dedup's connected components run on Ray; fewer: the driver's
    # union-find, measured 10x faster at 1M edges on 2 cores (docs/scale.md)
    components_min_edges: int = COMPONENTS_MIN_EDGES

    def ordered_map(
        self, fn: Callable[[list[T]], list[R]], items: Iterable[T], *, chunk_size: int = 256
    ) -> Iterator[R]:
        """`fn` over chunks of `items` as Ray Data batch maps; results in input order.

        One window runs on Ray while the driver reads and pickles the next one and writes the
        results of the one before: at most three windows in memory (`window_bytes` of pickled
        chunks each).
        """
        from concurrent.futures import ThreadPoolExecutor

        _quiet_data_context()
        pool = ThreadPoolExecutor(max_workers=1)  # windows execute one after another
        try:
            running = None
            for window in self._windows(items, self.chunk_size or chunk_size):
                submitted = pool.submit(self._execute, fn, window)
                if running is not None:
                    yield from self._results(*running.result())
                running = submitted
            if running is not None:
                yield from self._results(*running.result())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _windows(self, items: Iterable[Any], chunk_size: int) -> Iterator[list[bytes]]:
        window: list[bytes] = []
        size = 0
        for chunk in chunks(items, chunk_size):
            window.append(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
            size += len(window[-1])
            if size >= self.window_bytes:
                yield window
                window, size = [], 0
        if window:
            yield window

    def map_pieces(self, fn: Callable[[list[Piece]], list[R]], path: Any) -> Iterator[R] | None:
        """`fn` over the input's pieces, read by the workers (ray_read); None when a file needs
        the driver's reader (CSV, JSON arrays, text, HTML)."""
        pieces = plan_pieces(path, piece_bytes=self.piece_bytes)
        if pieces is None:
            return None
        per_file = Counter(p.path for p in pieces if p.kind == "jsonl")
        split = [p for p in pieces if per_file[p.path] > 1]  # later ranges need line numbers
        if split:
            counted = dict(zip(split, self._pieces_map(count_lines, split), strict=True))
            pieces = number_lines(pieces, [counted.get(p, 0) for p in pieces])
        return self._pieces_map(fn, pieces)

    def _pieces_map(self, fn: Callable, pieces: list[Piece]) -> Iterator[Any]:
        """One streaming Ray Data job, a map task per piece: no barrier between windows (the
        driver sends no data), memory bounded by Ray Data's backpressure; input order kept."""
        import ray.data

        _quiet_data_context()
        items = [
            {"seq": i, "payload": pickle.dumps([p], protocol=pickle.HIGHEST_PROTOCOL)}
            for i, p in enumerate(pieces)
        ]
        ds = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
        ds = ds.map_batches(
            functools.partial(_apply_chunks, fn=fn),
            batch_size=1,
            batch_format="pandas",
            compute=ray.data.TaskPoolStrategy(size=self.workers),
        )
        return self._results(ds, len(items))

    def components(self, n: int, edges: Any) -> list[int]:
        """Root (smallest member) of each of `n` texts' component: large/small-star on Ray
        (ray_components) from `components_min_edges` edges, else the local union-find."""
        from domaintune.data.dedup import _union_find

        if len(edges) < self.components_min_edges:
            return _union_find(n, edges)
        from domaintune.data.ray_components import components_on_ray

        partitions = max(1, self.workers or int(require_ray().cluster_resources().get("CPU", 1)))
        labels, _ = components_on_ray(n, edges, partitions=partitions)
        return labels.tolist()

    def band_pairs(self, signatures: Any, bands: int, rows: int) -> Any:
        """LSH candidate pairs grouped on Ray (equal to `minhash.band_pairs`)."""
        from domaintune.data.ray_dedup import band_pairs_on_ray

        _quiet_data_context()
        return band_pairs_on_ray(signatures, bands, rows, workers=self.workers)

    def _execute(self, fn: Callable, window: list[bytes]) -> tuple[Any, int]:
        """Run one window on Ray; its results stay in the object store until read."""
        import ray.data

        items = [{"seq": i, "payload": p} for i, p in enumerate(window)]
        # One block per chunk, so the chunks spread over the workers.
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        ds = ds.map_batches(
            functools.partial(_apply_chunks, fn=fn),
            batch_size=1,
            batch_format="pandas",
            compute=ray.data.TaskPoolStrategy(size=self.workers),
        )
        return ds.materialize(), len(window)

    @staticmethod
    def _results(ds: Any, count: int) -> Iterator[Any]:
        expected = 0
        for row in ds.iter_rows():
            if row["seq"] != expected:  # preserve_order is what makes the output byte-equal
                raise RuntimeError(f"Ray returned chunk {row['seq']}, expected {expected}")
            expected += 1
            yield from pickle.loads(row["payload"])
        if expected != count:
            raise RuntimeError(f"Ray returned {expected} of {count} chunks")


def _apply_chunks(batch: Any, *, fn: Callable[[list[Any]], list[Any]]) -> Any:
    """The batch function: unpickle each chunk, run the local engine's function, pickle back."""
    out = batch.copy()
    out["payload"] = [
        pickle.dumps(fn(pickle.loads(p)), protocol=pickle.HIGHEST_PROTOCOL)
        for p in batch["payload"]
    ]
    return out
