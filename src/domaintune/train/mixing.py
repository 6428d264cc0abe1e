"""Mixing sources by trained tokens, per optimizer step.

A `Stream` is one mixing unit: the samples of one data source (or of several merged), with a target
share of every optimizer step's trained tokens. `MixedDataset` lays out an epoch as consecutive
groups of `rows_per_step` rows (per-device batch x accumulation x processes), one group per step;
the Trainer reads it in order (`StepSampler`), so every optimizer step receives exactly one group,
on one process or many (accelerate hands out consecutive batches round-robin to the processes).

How a step is filled:
  1. Each stream's quota of trained tokens is its share of the step's target plus its running
     error (target minus realised, summed over the epoch so far), so errors never accumulate.
     The stream with the largest share fills first and the others' quotas follow what it took.
  2. Streams take samples in order until the quota is met. A document piece (`splittable`) is cut
     exactly at the quota, its rest stays first in line for the next step; a conversation is taken
     whole when that brings the stream nearer to its quota than leaving it out.
  3. The chosen samples are packed best-fit-decreasing into the step's rows; a splittable piece that
     does not fit fills the gaps, anything else goes back to the front of its stream.

The step's target is the rows' capacity times the trained share of the sources' tokens, with a
margin so that whole conversations fit. An epoch ends when the stream with the largest share
has been seen once (the others repeat when they run out: `on_exhausted="repeat"`), or when any
stream runs out (`on_exhausted="stop"`). Every epoch reshuffles every stream with `seed + epoch`
and has the same number of steps as the first.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from torch.utils.data import Dataset, Sampler

from domaintune.train.data import Sample, pack_pieces, row_of


@dataclass
class Stream:
    """The samples of one mixing unit and its target share of trained tokens."""

    name: str
    samples: list[Sample]
    share: float
    splittable: bool  # document pieces may be cut at a quota; conversations may not

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError(f"data source {self.name!r} has no usable samples")


@dataclass
class _Cursor:
    """A stream's position in the current epoch: a shuffled queue, refilled by passes."""

    stream: Stream
    rng: random.Random
    queue: deque = field(default_factory=deque)

    def refill(self) -> None:
        order = list(range(len(self.stream.samples)))
        self.rng.shuffle(order)
        self.queue.extend(self.stream.samples[i] for i in order)


@dataclass
class StepPlan:
    rows: list[dict[str, list[int]]]
    trained: list[int]  # per stream


class MixedDataset(Dataset):
    """Rows laid out step by step so that every optimizer step holds the target token shares."""

    def __init__(
        self,
        streams: Sequence[Stream],
        *,
        rows_per_step: int,
        max_len: int,
        seed: int,
        on_exhausted: str = "repeat",
        margin: float = 0.97,
    ):
        total = sum(s.share for s in streams)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"stream shares must add up to 1, got {total:g}")
        if on_exhausted not in ("repeat", "stop"):
            raise ValueError(f"on_exhausted must be repeat or stop, got {on_exhausted!r}")
        self.streams = list(streams)
        self.rows_per_step, self.max_len = rows_per_step, max_len
        self.seed, self.on_exhausted, self.margin = seed, on_exhausted, margin
        self.main = max(range(len(self.streams)), key=lambda i: self.streams[i].share)
        tokens = [sum(len(x.input_ids) for x in s.samples) for s in self.streams]
        trained = [sum(x.trained for x in s.samples) for s in self.streams]
        ratio = sum(
            s.share * tr / tok for s, tr, tok in zip(self.streams, trained, tokens, strict=True)
        )
        # trained tokens one step aims at: slots x trained share of the mix x packing margin
        self.step_target = max(1, int(rows_per_step * max_len * ratio * margin))
        self.epoch = 0
        self.steps = self._plan(0, n_steps=None)
        self.n_steps = len(self.steps)
        self.rows = [r for step in self.steps for r in step.rows]

    # -- the Dataset interface: one epoch of rows, step after step
    def __len__(self) -> int:
        return self.n_steps * self.rows_per_step

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.rows[i]

    def set_epoch(self, epoch: int) -> None:
        """Lay out `epoch` (reshuffled with seed + epoch); called by the Trainer's sampler."""
        if epoch != self.epoch:
            self.epoch = epoch
            self.steps = self._plan(epoch, n_steps=self.n_steps)
            self.rows = [r for step in self.steps for r in step.rows]

    # -- planning
    def _plan(self, epoch: int, n_steps: int | None) -> list[StepPlan]:
        cursors = []
        for i, stream in enumerate(self.streams):
            c = _Cursor(stream, random.Random(f"{self.seed}:{epoch}:{i}"))
            c.refill()
            cursors.append(c)
        error = [0.0] * len(self.streams)  # target - realised, carried from step to step
        steps: list[StepPlan] = []
        while n_steps is None or len(steps) < n_steps:
            if n_steps is None and self._epoch_over(cursors):
                break
            plan = self._step(cursors, error, repeat=n_steps is not None)
            if plan is None:
                break
            steps.append(plan)
            realised = sum(plan.trained)
            for i, s in enumerate(self.streams):
                error[i] += s.share * realised - plan.trained[i]
        if not steps:
            raise ValueError("the data sources are too small to fill one optimizer step")
        return steps

    def _ends_epoch(self, c: _Cursor) -> bool:
        """Whether this stream running out ends the epoch (else it is reshuffled and repeated)."""
        return self.on_exhausted == "stop" or c.stream is self.streams[self.main]

    def _epoch_over(self, cursors: list[_Cursor]) -> bool:
        return any(not c.queue and self._ends_epoch(c) for c in cursors)

    def _next(self, c: _Cursor, repeat: bool) -> Sample | None:
        """The stream's next sample; `repeat` (later epochs, fixed step count) refills any."""
        if not c.queue:
            if self._ends_epoch(c) and not repeat:
                return None
            c.refill()
        return c.queue[0]

    def _step(self, cursors: list[_Cursor], error: list[float], repeat: bool) -> StepPlan | None:
        target = self.step_target
        for attempt in range(4):  # a step whose samples do not fit its rows is drawn again
            chosen, undo = self._draw(cursors, error, repeat, target)
            if not chosen:
                return None
            rows, spill = self._pack(chosen)
            if not spill:
                break
            if attempt == 3:  # keep these rows; what did not fit goes back in line
                for i, sample in reversed(spill):
                    cursors[i].queue.appendleft(sample)
                break
            for i, original, cut in reversed(undo):
                if cut:
                    cursors[i].queue[0] = original
                else:
                    cursors[i].queue.appendleft(original)
            target = int(target - 1.1 * sum(s.trained for _, s in spill)) - 1
        trained = [0] * len(self.streams)
        out = []
        for samples in rows:
            for i, sample in samples:
                trained[i] += sample.trained
            out.append(row_of([x for _, x in samples]) if samples else _empty_row())
        return StepPlan(out, trained)

    def _draw(
        self, cursors: list[_Cursor], error: list[float], repeat: bool, target: int
    ) -> tuple[list[tuple[int, Sample]], list[tuple[int, Sample, bool]]]:
        """Take each stream's quota of samples; returns them and how to put them back."""
        chosen: list[tuple[int, Sample]] = []  # (stream, sample)
        undo: list[tuple[int, Sample, bool]] = []  # (stream, sample as it was, was it cut)
        got = [0] * len(self.streams)
        main = self.streams[self.main]
        # The main stream fills first; the others' quotas follow what it realised, so a step that
        # ends early (the main stream ran out) keeps the shares too.
        order = [self.main] + [i for i in range(len(self.streams)) if i != self.main]
        for i in order:
            c, stream = cursors[i], self.streams[i]
            if i == self.main:
                quota = main.share * target + error[i]
            else:
                quota = stream.share * got[self.main] / main.share + error[i]
            while got[i] < quota:
                head = self._next(c, repeat)
                if head is None:
                    break
                need = quota - got[i]
                if head.trained <= need:
                    chosen.append((i, c.queue.popleft()))
                    undo.append((i, head, False))
                    got[i] += head.trained
                    continue
                if stream.splittable:
                    if need >= 1:
                        first, rest = head.cut(int(need) + 1)  # int(need) < trained < len
                        c.queue[0] = rest
                        chosen.append((i, first))
                        undo.append((i, head, True))
                        got[i] += first.trained
                    break
                # A whole conversation overshoots: look a little ahead for one that fits the rest
                # of the quota (the order within a shuffled stream carries no meaning).
                k = self._fitting(c.queue, need)
                if k is not None:
                    sample = c.queue[k]
                    del c.queue[k]
                    c.queue.appendleft(sample)
                    continue
                if head.trained - need < need:  # take it if that lands nearer the quota
                    chosen.append((i, c.queue.popleft()))
                    undo.append((i, head, False))
                    got[i] += head.trained
                break
        return chosen, undo

    @staticmethod
    def _fitting(queue: deque, need: float, lookahead: int = 64) -> int | None:
        """Index of the largest sample among the next few whose trained tokens fit `need`."""
        best, best_n = None, 0
        for k in range(1, min(lookahead, len(queue))):
            n = queue[k].trained
            if best_n < n <= need:
                best, best_n = k, n
        return best

    def _pack(self, chosen: list[tuple[int, Sample]]) -> tuple[list[list[tuple[int, Sample]]], int]:
        """Pack into exactly rows_per_step rows; returns the rows and the trained tokens spilled.

        Splittable samples that do not fit are cut to fill the gaps; what is left over is kept in
        `self._spill` for the caller.
        """
        lengths = [len(s.input_ids) for _, s in chosen]
        bins = pack_pieces(lengths, self.max_len)
        bins.sort(key=lambda b: -sum(lengths[i] for i in b))
        keep, spill = bins[: self.rows_per_step], [i for b in bins[self.rows_per_step :] for i in b]
        rows = [[chosen[i] for i in b] for b in keep]
        rows += [[] for _ in range(self.rows_per_step - len(rows))]
        free = [self.max_len - sum(len(s.input_ids) for _, s in r) for r in rows]
        left: list[tuple[int, Sample]] = []
        for k in sorted(spill, key=lambda k: -lengths[k]):
            i, sample = chosen[k]
            j = max(range(len(free)), key=free.__getitem__)
            if lengths[k] <= free[j]:
                rows[j].append((i, sample))
                free[j] -= lengths[k]
                continue
            if self.streams[i].splittable and free[j] >= 2:
                first, sample = sample.cut(free[j])
                rows[j].append((i, first))
                free[j] -= len(first.input_ids)
            left.append((i, sample))
        return rows, left


def _empty_row() -> dict[str, list[int]]:
    """A one-token row with nothing to train (a step whose data ran out keeps its row count)."""
    return {"input_ids": [0], "labels": [-100], "position_ids": [0], "source": [-1]}


class StepSampler(Sampler[int]):
    """Read a MixedDataset in order (its layout is the step order); forward set_epoch to it."""

    def __init__(self, dataset: MixedDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self):
        return iter(range(len(self.dataset)))

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)
