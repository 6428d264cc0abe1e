"""Order-preserving parallel map over chunks of a stream (spawned processes, bounded memory).

With an engine (`open_engine("ray")`) the same chunks and function run on Ray instead.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


ENGINES = ("local", "ray")


class Engine(Protocol):
    """Somewhere else to run `ordered_map`'s chunks (ray_engine.RayEngine)."""

    def ordered_map(
        self, fn: Callable[[list[Any]], list[Any]], items: Iterable[Any], *, chunk_size: int
    ) -> Iterator[Any]: ...


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """`items` in lists of `size` (the last may be shorter)."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def ordered_map(
    fn: Callable[[list[T]], list[R]],
    items: Iterable[T],
    *,
    num_proc: int = 1,
    chunk_size: int = 256,
    engine: Engine | None = None,
) -> Iterator[R]:
    """Apply `fn` to chunks of `items` in `num_proc` processes (or on `engine`); results in
    input order."""
    if engine is not None:
        yield from engine.ordered_map(fn, items, chunk_size=chunk_size)
        return
    if num_proc <= 1:
        for chunk in chunks(items, chunk_size):
            yield from fn(chunk)
        return
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(num_proc) as pool:
        # imap keeps order and pulls chunks lazily, so memory stays bounded on large inputs.
        for results in pool.imap(fn, chunks(items, chunk_size)):
            yield from results


@contextlib.contextmanager
def open_engine(
    name: str = "local", *, address: str | None = None, num_cpus: int | None = None
) -> Iterator[Engine | None]:
    """None for the local engine (processes, `num_proc`); for "ray", a RayEngine connected to
    `address` (or a local Ray with `num_cpus` CPUs) for the duration of the block."""
    if name not in ENGINES:
        raise ValueError(f"engine {name!r}: choose one of {', '.join(ENGINES)}")
    if name == "local":
        if address is not None or num_cpus is not None:
            raise ValueError("address and num_cpus are for the Ray engine: give engine='ray'")
        yield None
        return
    from domaintune.data.ray_engine import RayEngine, ray_session

    with ray_session(address, num_cpus):
        yield RayEngine(workers=num_cpus)
