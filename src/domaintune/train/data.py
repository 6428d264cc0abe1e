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


def build_pt_dataset(
    docs: Iterable[Document], tokenizer: Any, *, max_len: int
) -> tuple[ListDataset, BuildStats]:
    """Tokenize documents with EOS after each and pack whole documents into `max_len` sequences.

    A document is split only when it alone is longer than `max_len`. Each packed row carries
    `position_ids` that restart at every document, so attention never crosses documents
    (transformers builds a block-diagonal mask from them when no attention mask is given), and
    the first token of each piece is not a target, so no document is trained to follow another.
    """
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the tokenizer has no eos_token; set one so documents can be separated")
    stats = BuildStats()
    pieces: list[list[int]] = []
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
        pieces.extend(ids[i : i + max_len] for i in range(0, len(ids), max_len))
    rows = []
    for bin_ in pack_pieces([len(p) for p in pieces], max_len):
        input_ids, labels, positions = [], [], []
        for i in bin_:
            piece = pieces[i]
            input_ids += piece
            labels += [IGNORE_INDEX] + piece[1:]
            positions += list(range(len(piece)))
        rows.append({"input_ids": input_ids, "labels": labels, "position_ids": positions})
    stats.trained_tokens = sum(sum(t != IGNORE_INDEX for t in r["labels"]) for r in rows)
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
) -> tuple[ListDataset, BuildStats]:
    """Render conversations through a chat template; only assistant turns are trained."""
    stats = BuildStats()
    rows = []
    for conv in convs:
        stats.rows_in += 1
        enc = encode_conversation(
            tokenizer,
            conv.to_openai(),
            template=template,
            train_on_prompt=train_on_prompt,
            mask_history=mask_history,
        )
        enc = {"input_ids": enc["input_ids"], "labels": enc["labels"]}
        if len(enc["input_ids"]) > max_len:
            stats.truncated += 1
            enc = {k: v[:max_len] for k, v in enc.items()}
        n_trained = sum(t != IGNORE_INDEX for t in enc["labels"][1:])
        if n_trained == 0:
            stats.rejected["no assistant tokens within max_len"] += 1
            continue
        stats.kept += 1
        stats.tokens += len(enc["input_ids"])
        stats.trained_tokens += n_trained
        rows.append(enc)
    stats.sequences = len(rows)
    return ListDataset(rows), stats


@dataclass
class PackedCollator:
    """Pad packed rows to the batch's longest; padding is its own segment and never a target."""

    pad_id: int

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        ids, labels, pos = [], [], []
        n_real = 0
        for r in rows:
            pad = width - len(r["input_ids"])
            n_real += len(r["input_ids"])
            ids.append(r["input_ids"] + [self.pad_id] * pad)
            labels.append(r["labels"] + [IGNORE_INDEX] * pad)
            pos.append(r["position_ids"] + list(range(pad)))
        return {
            "input_ids": torch.tensor(ids),  # [batch, seq]
            "labels": torch.tensor(labels),
            "position_ids": torch.tensor(pos),
            "num_tokens": torch.tensor(n_real),
        }


@dataclass
class PaddedCollator:
    """Right-pad conversation rows with an attention mask."""

    pad_id: int

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        ids, labels, mask = [], [], []
        for r in rows:
            n = len(r["input_ids"])
            ids.append(r["input_ids"] + [self.pad_id] * (width - n))
            labels.append(r["labels"] + [IGNORE_INDEX] * (width - n))
            mask.append([1] * n + [0] * (width - n))
        attention_mask = torch.tensor(mask)
        return {
            "input_ids": torch.tensor(ids),  # [batch, seq]
            "labels": torch.tensor(labels),
            "attention_mask": attention_mask,
            "num_tokens": attention_mask.sum(),
        }
