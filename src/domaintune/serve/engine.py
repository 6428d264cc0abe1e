"""Continuous batching on transformers: one background thread steps every running sequence.

The running batch is a left-padded KV cache ([batch, heads, columns, head_dim] per layer) with an
attention mask [batch, columns]. Between two decode steps, waiting requests are prefilled together
(left-padded, positions counted from each row's first real token) and their caches are left-padded
to the batch's width and concatenated, so a request joins without waiting for the batch to finish;
finished or cancelled rows are dropped and all-padding columns trimmed. Rows of different LoRA
adapters share the forward pass through peft's `adapter_names` (mixed-adapter batches).

Padding is masked and every row keeps its own positions, so a greedy answer equals what
`model.generate` gives the same prompt alone (tests/serve/test_engine.py checks it token by token).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from domaintune.serve.loading import BASE_ROW, Served

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()  # stop strings (cut from the text); stop tokens come from Served


@dataclass
class Sequence:
    """One generating row; `on_event(seq, delta_text, done)` is called from the engine thread."""

    served: Served
    prompt: list[int]
    params: SamplingParams
    on_event: Callable[[Sequence, str, bool], None]
    index: int = 0  # the choice index (n > 1)
    tokens: list[int] = field(default_factory=list)
    text: str = ""  # emitted so far (stop strings cut)
    # Incremental detokenization (as vLLM does): `decoded` is the settled text of
    # tokens[:read_offset]; each step decodes only tokens[prefix_offset:], a few tokens.
    decoded: str = ""
    prefix_offset: int = 0
    read_offset: int = 0
    finish_reason: str | None = None
    cancelled: bool = False
    generator: torch.Generator | None = None
    error: str | None = None

    def cancel(self) -> None:
        self.cancelled = True


class Engine:
    """A model with its served names, generating for many requests at once."""

    def __init__(self, model: Any, served: dict[str, Served], *, max_batch: int = 16) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.model, self.served, self.max_batch = model, served, max_batch
        self.device = next(model.parameters()).device
        self.mixed = any(s.adapter for s in served.values())  # a PeftModel
        self._waiting: list[Sequence] = []
        self._rows: list[Sequence] = []
        self._cache: Any = None
        self._mask: torch.Tensor | None = None  # [batch, columns]
        self._next: torch.Tensor | None = None  # [batch] the token each row feeds next
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.steps = 0  # decode steps taken (a batch of B rows counts once)
        self.cancelled = 0  # sequences ended because their client went away

    # ------------------------------------------------------------ public

    def start(self) -> Engine:
        self._thread = threading.Thread(target=self._loop, name="domaintune-engine", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=10)

    def submit(self, seq: Sequence) -> Sequence:
        if seq.params.temperature > 0:
            seed = seq.params.seed
            seq.generator = torch.Generator(device="cpu")
            seq.generator.manual_seed(
                (seed + seq.index) if seed is not None else int.from_bytes(os.urandom(6), "big")
            )
        with self._cond:
            self._waiting.append(seq)
            self._cond.notify_all()
        return seq

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {"running": len(self._rows), "waiting": len(self._waiting),
                    "cancelled": self.cancelled}  # fmt: skip

    def generate(
        self, name: str, prompts: list[list[int]], params: SamplingParams
    ) -> list[Sequence]:
        """Blocking helper (chat, benchmark, tests): submit every prompt, wait for all."""
        done = threading.Semaphore(0)

        def on_event(s: Sequence, delta: str, finished: bool) -> None:
            if finished:
                done.release()

        served = self.served[name]
        seqs = [self.submit(Sequence(served, list(p), params, on_event)) for p in prompts]
        for _ in seqs:
            done.acquire()
        return seqs

    # ------------------------------------------------------------ the loop

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stop and not self._waiting and not self._rows:
                    self._cond.wait()
                if self._stop:
                    return
                free = self.max_batch - len(self._rows)
                joining, self._waiting = self._waiting[:free], self._waiting[free:]
            try:
                with torch.no_grad():
                    self._drop([s for s in self._rows if s.cancelled])
                    joining = [s for s in joining if not self._skip_cancelled(s)]
                    if joining:
                        self._prefill(joining)
                    if self._rows:
                        self._decode()
            except Exception as err:  # noqa: BLE001 (a failed step ends its requests, not the server)
                log.exception("generation step failed")
                self._fail([*self._rows, *joining], f"{type(err).__name__}: {err}")

    def _skip_cancelled(self, seq: Sequence) -> bool:
        if seq.cancelled:
            self._finish(seq, "cancelled")
        return seq.cancelled

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, rows: list[Sequence], cache: Any):
        """One forward pass; returns last-position logits [batch, vocab] and the cache."""
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, -ids.shape[1] :]  # [batch, new]
        extra = {}
        if self.mixed:
            extra["adapter_names"] = [s.served.adapter or BASE_ROW for s in rows]
        out = self.model(
            input_ids=ids, attention_mask=mask, position_ids=positions,
            cache=cache, use_cache=True, **extra,
        )  # fmt: skip
        return out.logits[:, -1, :].float(), out.cache

    def _prefill(self, seqs: list[Sequence]) -> None:
        width = max(len(s.prompt) for s in seqs)
        ids = torch.zeros((len(seqs), width), dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):  # left padding: every prompt ends at the last column
            ids[r, width - len(s.prompt) :] = torch.tensor(s.prompt, dtype=torch.long)
            mask[r, width - len(s.prompt) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        logits, cache = self._forward(ids, mask, seqs, None)
        self._merge(cache, mask, seqs)
        nxt = self._sample(logits, seqs)
        self._next = nxt if self._next is None else torch.cat([self._next, nxt])
        self._emit(seqs, nxt.tolist())

    def _decode(self) -> None:
        ones = torch.ones((len(self._rows), 1), dtype=torch.long, device=self.device)
        self._mask = torch.cat([self._mask, ones], dim=1)
        ids = self._next[:, None]  # [batch, 1]
        logits, self._cache = self._forward(ids, self._mask, self._rows, self._cache)
        self.steps += 1
        self._next = self._sample(logits, self._rows)
        self._emit(list(self._rows), self._next.tolist())

    # ------------------------------------------------------------ batch bookkeeping

    def _merge(self, cache: Any, mask: torch.Tensor, seqs: list[Sequence]) -> None:
        """Append prefilled rows to the running batch, left-padding the narrower side."""
        if not self._rows:
            self._cache, self._mask, self._rows, self._next = cache, mask, list(seqs), None
            return
        width = max(self._mask.shape[1], mask.shape[1])

        def pad(x: torch.Tensor, dim: int) -> torch.Tensor:  # zeros on the left of `dim`
            n = width - x.shape[dim]
            if n == 0:
                return x
            shape = list(x.shape)
            shape[dim] = n
            return torch.cat([x.new_zeros(shape), x], dim=dim)

        for old, new in zip(self._cache.layers, cache.layers, strict=True):
            old.keys = torch.cat([pad(old.keys, 2), pad(new.keys, 2)])
            old.values = torch.cat([pad(old.values, 2), pad(new.values, 2)])
        self._mask = torch.cat([pad(self._mask, 1), pad(mask, 1)])
        self._rows += seqs

    def _drop(self, gone: list[Sequence]) -> None:
        """Remove finished or cancelled rows, then columns that are padding in every row."""
        if not gone:
            return
        for s in gone:
            if s.finish_reason is None:
                self._finish(s, "cancelled")
        keep = [i for i, s in enumerate(self._rows) if s not in gone]
        self._rows = [self._rows[i] for i in keep]
        if not self._rows:
            self._cache = self._mask = self._next = None
            return
        idx = torch.tensor(keep, device=self.device)
        self._mask, self._next = self._mask[idx], self._next[idx]
        first = int((self._mask.sum(0) > 0).nonzero()[0])
        self._mask = self._mask[:, first:]
        for layer in self._cache.layers:
            layer.keys = layer.keys[idx, :, first:]
            layer.values = layer.values[idx, :, first:]

    # ------------------------------------------------------------ tokens

    def _sample(self, logits: torch.Tensor, rows: list[Sequence]) -> torch.Tensor:
        """Next token per row: argmax for greedy rows, temperature + top-p for the others."""
        out = logits.argmax(-1)  # [batch]
        for r, s in enumerate(rows):
            if s.params.temperature > 0:
                out[r] = sample_token(logits[r], s.params, s.generator)
        return out

    def _emit(self, rows: list[Sequence], tokens: list[int]) -> None:
        for s, t in zip(rows, tokens, strict=True):
            if s.cancelled:
                continue
            stopped = t in s.served.stop_ids
            if not stopped:
                s.tokens.append(t)
            settled = len(s.decoded)
            text = _detokenize(s)
            # a stop string can only start in the text not yet searched (less its length - 1)
            longest = max((len(x) for x in s.params.stop), default=1)
            cut = stop_cut(text, s.params.stop, start=max(0, settled - longest + 1))
            if stopped and cut is None:  # what was held back (a possible stop's start) goes out
                self._send(s, text)
                self._finish(s, "stop")
            elif cut is not None:
                self._send(s, text[:cut])
                self._finish(s, "stop")
            elif len(s.tokens) >= min(s.params.max_tokens, s.served.context - len(s.prompt)):
                self._send(s, text)
                self._finish(s, "length")
            else:
                self._send(s, safe_prefix(text, s.params.stop))
        self._drop([s for s in self._rows if s.finish_reason is not None or s.cancelled])

    def _send(self, s: Sequence, text: str) -> None:
        if len(text) > len(s.text) and text.startswith(s.text):
            delta, s.text = text[len(s.text) :], text
            s.on_event(s, delta, False)

    def _finish(self, s: Sequence, reason: str) -> None:
        s.finish_reason = reason
        self.cancelled += reason == "cancelled"
        s.on_event(s, "", True)

    def _fail(self, seqs: list[Sequence], message: str) -> None:
        for s in seqs:
            if s.finish_reason is None:
                s.error = message
                self._finish(s, "error")
        self._rows, self._cache, self._mask, self._next = [], None, None, None


def sample_token(logits: torch.Tensor, params: SamplingParams, gen: torch.Generator | None) -> int:
    """Sample from softmax(logits / temperature) cut to the top-p nucleus."""
    probs = F.softmax(logits.cpu() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_p, order = probs.sort(descending=True)
        outside = sorted_p.cumsum(-1) - sorted_p > params.top_p  # keep the token crossing top_p
        sorted_p[outside] = 0.0
        probs = torch.zeros_like(probs).scatter(0, order, sorted_p)
    return int(torch.multinomial(probs, 1, generator=gen))


def _detokenize(s: Sequence) -> str:
    """The text of s.tokens so far, decoding only the tokens since the last settled point.

    Decoding a window that starts one step back keeps word-initial spaces and multi-byte
    characters right; text that still ends in U+FFFD (an incomplete UTF-8 sequence) stays
    unsettled until the next token completes it."""
    decode = s.served.tokenizer.decode
    prefix = decode(s.tokens[s.prefix_offset : s.read_offset], skip_special_tokens=True)
    window = decode(s.tokens[s.prefix_offset :], skip_special_tokens=True)
    tail = window[len(prefix) :]
    if len(window) > len(prefix) and not window.endswith("\ufffd"):
        s.decoded += tail
        s.prefix_offset, s.read_offset = s.read_offset, len(s.tokens)
        return s.decoded
    return s.decoded + tail


def stop_cut(text: str, stops: tuple[str, ...], start: int = 0) -> int | None:
    """Where the earliest stop string starts in `text` (searching from `start`), or None."""
    found = [i for i in (text.find(s, start) for s in stops if s) if i >= 0]
    return min(found) if found else None


def safe_prefix(text: str, stops: tuple[str, ...]) -> str:
    """What can be streamed now: not a half-decoded character, not a possible stop's start."""
    text = text.rstrip("\ufffd")  # an incomplete UTF-8 sequence decodes as U+FFFD for now
    hold = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), 0, -1):
            if text.endswith(s[:k]):
                hold = max(hold, k)
                break
    return text[: len(text) - hold]


def wait_idle(engine: Engine, timeout: float = 10.0) -> bool:
    """True once nothing runs or waits (tests: a disconnected client freed its slot)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        stats = engine.stats()
        if stats["running"] == stats["waiting"] == 0:
            return True
        time.sleep(0.05)
    return False
