"""Order-preserving parallel map over chunks of a stream (spawned processes, bounded memory)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def ordered_map(
    fn: Callable[[list[T]], list[R]],
    items: Iterable[T],
    *,
    num_proc: int = 1,
    chunk_size: int = 256,
) -> Iterator[R]:
    """Apply `fn` to chunks of `items` in `num_proc` processes; results in input order."""
    if num_proc <= 1:
        for chunk in _chunks(items, chunk_size):
            yield from fn(chunk)
        return
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(num_proc) as pool:
        # imap keeps order and pulls chunks lazily, so memory stays bounded on large inputs.
        for results in pool.imap(fn, _chunks(items, chunk_size)):
            yield from results
