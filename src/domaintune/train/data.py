"""Training data: document packing for `pt`, template encoding for `sft`, and their collators."""

from __future__ import annotations

import bisect
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import Dataset

from domaintune.records import Conversation, Document
from domaintune.templates import IGNORE_INDEX, encode_conversation


class ListDataset(Dataset):
    """A list of feature dicts as a torch Dataset."""

    def __init__(self, rows: list[dict[str, list[int]]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.rows[i]


@dataclass
class BuildStats:
    """What a dataset build did: counts in = kept + rejected, with reasons."""

    rows_in: int = 0
    kept: int = 0
    rejected: Counter = field(default_factory=Counter)
    tokens: int = 0
    trained_tokens: int = 0
    truncated: int = 0
    split_documents: int = 0
    sequences: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "in": self.rows_in,
            "kept": self.kept,
            "rejected": sum(self.rejected.values()),
            "reasons": dict(self.rejected),
            "tokens": self.tokens,
            "trained_tokens": self.trained_tokens,
            "truncated": self.truncated,
            "split_documents": self.split_documents,
            "sequences": self.sequences,
        }


def sample_fraction(items: list, fraction: float, seed: int) -> list:
    """A seeded subset of `fraction` of the items, in their original order."""
    if fraction >= 1.0:
        return items
    k = max(1, round(len(items) * fraction))
    keep = sorted(random.Random(seed).sample(range(len(items)), k))
    return [items[i] for i in keep]


def pack_pieces(lengths: Sequence[int], max_len: int) -> list[list[int]]:
    """Best-fit-decreasing bin packing of pieces (all <= max_len); returns piece indices per bin."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    free: list[tuple[int, int]] = []  # (remaining capacity, bin id), kept sorted
    bins: list[list[int]] = []
    for i in order:
        n = lengths[i]
        j = bisect.bisect_left(free, (n, -1))
        if j == len(free):
            bins.append([i])
            bisect.insort(free, (max_len - n, len(bins) - 1))
        else:
            room, b = free.pop(j)
            bins[b].append(i)
            bisect.insort(free, (room - n, b))
    return bins


@dataclass
class Sample:
    """One training sample before packing: a document piece or an encoded conversation.

    `labels[0]` is always IGNORE_INDEX: a sample's first token is never predicted from whatever
    precedes it in a packed row. `source` is the index of the data source it came from.
    """

    input_ids: list[int]
    labels: list[int]
    source: int = 0

    @property
    def trained(self) -> int:
        """Tokens this sample trains (targets of the shifted loss)."""
        return sum(t != IGNORE_INDEX for t in self.labels)

    def cut(self, n: int) -> tuple[Sample, Sample]:
        """Split after `n` tokens; the second part is a new piece (first token untrained)."""
        if not 0 < n < len(self.input_ids):
            raise ValueError(f"cannot cut a {len(self.input_ids)}-token sample after {n} tokens")
        head = Sample(self.input_ids[:n], self.labels[:n], self.source)
        tail_labels = [IGNORE_INDEX] + self.labels[n + 1 :]
        return head, Sample(self.input_ids[n:], tail_labels, self.source)


def encode_documents(
    docs: Iterable[Document],
    tokenizer: Any,
    *,
    max_len: int,
    source: int = 0,
    stats: BuildStats | None = None,
) -> list[Sample]:
    """Documents -> pieces of at most `max_len` tokens, EOS after each document.

    A document is split only when it alone is longer than `max_len`; every piece's first token is
    not a target, so no document (or piece) is trained to follow another.
    """
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the tokenizer has no eos_token; set one so documents can be separated")
    stats = stats if stats is not None else BuildStats()
    pieces: list[Sample] = []
    for doc in docs:
        stats.rows_in += 1
        if not doc.text.strip():
            stats.rejected["empty text"] += 1
            continue
        ids = tokenizer(doc.text, add_special_tokens=False)["input_ids"] + [eos]
        stats.kept += 1
        stats.tokens += len(ids)
        if len(ids) > max_len:
            stats.split_documents += 1
        for i in range(0, len(ids), max_len):
            piece = ids[i : i + max_len]
            pieces.append(Sample(piece, [IGNORE_INDEX] + piece[1:], source))
    stats.trained_tokens += sum(p.trained for p in pieces)
    return pieces


def encode_conversations(
    convs: Iterable[Conversation],
    tokenizer: Any,
    *,
    max_len: int,
    template: str | None = None,
    train_on_prompt: bool = False,
    mask_history: bool = False,
    source: int = 0,
    stats: BuildStats | None = None,
) -> list[Sample]:
    """Render conversations through a chat template; only assistant turns are trained."""
    stats = stats if stats is not None else BuildStats()
    samples = []
    for conv in convs:
        stats.rows_in += 1
        enc = encode_conversation(
            tokenizer,
            conv.to_openai(),
            template=template,
            train_on_prompt=train_on_prompt,
            mask_history=mask_history,
        )
        ids, labels = enc["input_ids"], enc["labels"]
        if len(ids) > max_len:
            stats.truncated += 1
            ids, labels = ids[:max_len], labels[:max_len]
        sample = Sample(ids, [IGNORE_INDEX] + labels[1:], source)
        n_trained = sample.trained
        if n_trained == 0:
            stats.rejected["no assistant tokens within max_len"] += 1
            continue
        stats.kept += 1
        stats.tokens += len(ids)
        stats.trained_tokens += n_trained
        samples.append(sample)
    return samples


def row_of(samples: Sequence[Sample]) -> dict[str, list[int]]:
    """Concatenate samples into one row; position ids restart at every sample."""
    input_ids, labels, positions, sources = [], [], [], []
    for s in samples:
        input_ids += s.input_ids
        labels += s.labels
        positions += range(len(s.input_ids))
        sources += [s.source] * len(s.input_ids)
    return {"input_ids": input_ids, "labels": labels, "position_ids": positions, "source": sources}


def padded_row(sample: Sample) -> dict[str, list[int]]:
    """One sample alone in a row (PaddedCollator), its source on every token."""
    n = len(sample.input_ids)
    return {"input_ids": sample.input_ids, "labels": sample.labels, "source": [sample.source] * n}


def pack_samples(samples: Sequence[Sample], max_len: int) -> list[dict[str, list[int]]]:
    """Best-fit-decreasing packing of samples (each <= max_len) into rows of at most max_len."""
    bins = pack_pieces([len(s.input_ids) for s in samples], max_len)
    return [row_of([samples[i] for i in bin_]) for bin_ in bins]


def build_pt_dataset(
    docs: Iterable[Document], tokenizer: Any, *, max_len: int
) -> tuple[ListDataset, BuildStats]:
    """Tokenize documents with EOS after each and pack whole documents into `max_len` sequences.

    Each packed row carries `position_ids` that restart at every document, so attention never
    crosses documents (transformers builds a block-diagonal mask from them when no attention mask
    is given; flash-attention's variable-length path derives its sequence boundaries from them).
    """
    stats = BuildStats()
    rows = pack_samples(encode_documents(docs, tokenizer, max_len=max_len, stats=stats), max_len)
    stats.sequences = len(rows)
    return ListDataset(rows), stats


def build_sft_dataset(
    convs: Iterable[Conversation],
    tokenizer: Any,
    *,
    max_len: int,
    template: str | None = None,
    train_on_prompt: bool = False,
    mask_history: bool = False,
    pack: bool = False,
) -> tuple[ListDataset, BuildStats]:
    """Encode conversations; with `pack`, several share a row (no attention across them)."""
    stats = BuildStats()
    samples = encode_conversations(
        convs,
        tokenizer,
        max_len=max_len,
        template=template,
        train_on_prompt=train_on_prompt,
        mask_history=mask_history,
        stats=stats,
    )
    rows = pack_samples(samples, max_len) if pack else [padded_row(s) for s in samples]
    stats.sequences = len(rows)
    return ListDataset(rows), stats


@dataclass
class PackedCollator:
    """Pad packed rows to the batch's longest; padding is its own segment and never a target.

    Rows may carry `source` (the data source of every token); the batch then has a `source`
    tensor with -1 on padding, used for the per-source loss.
    """

    pad_id: int

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        ids, labels, pos, src = [], [], [], []
        n_real = 0
        for r in rows:
            pad = width - len(r["input_ids"])
            n_real += len(r["input_ids"])
            ids.append(r["input_ids"] + [self.pad_id] * pad)
            labels.append(r["labels"] + [IGNORE_INDEX] * pad)
            pos.append(r["position_ids"] + list(range(pad)))
            src.append(r.get("source", [0] * len(r["input_ids"])) + [-1] * pad)
        return {
            "input_ids": torch.tensor(ids),  # [batch, seq]
            "labels": torch.tensor(labels),
            "position_ids": torch.tensor(pos),
            "source": torch.tensor(src),
            "num_tokens": torch.tensor(n_real),
        }


@dataclass
class PaddedCollator:
    """Right-pad rows (one sample each) with an attention mask."""

    pad_id: int

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        ids, labels, mask, src = [], [], [], []
        for r in rows:
            n = len(r["input_ids"])
            ids.append(r["input_ids"] + [self.pad_id] * (width - n))
            labels.append(r["labels"] + [IGNORE_INDEX] * (width - n))
            mask.append([1] * n + [0] * (width - n))
            src.append(r.get("source", [0] * n) + [-1] * (width - n))
        attention_mask = torch.tensor(mask)
        return {
            "input_ids": torch.tensor(ids),  # [batch, seq]
            "labels": torch.tensor(labels),
            "attention_mask": attention_mask,
            "source": torch.tensor(src),
            "num_tokens": attention_mask.sum(),
        }
