"""Training data: document packing for `pt`, template encoding for `sft`, and their collators."""

from __future__ import annotations

import bisect
import logging
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import Dataset

from domaintune.records import Conversation, Document
from domaintune.templates import IGNORE_INDEX, encode_conversation

log = logging.getLogger(__name__)
SHOW_IDS = 5  # ids named in a warning about rows changed to fit max_len


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
    cut_by_chars: int = 0  # rows over the character bound, cut before tokenizing (see char_bound)
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
            "cut_by_chars": self.cut_by_chars,
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


def char_bound(tokenizer: Any, max_len: int) -> int:
    """Characters beyond which a text cannot fit in `max_len` tokens (see models.max_token_chars).

    Training bounds the tokenizer's work by it: a longer document is tokenized this many
    characters at a time, a longer conversation is cut at twice this many before templating.
    """
    from domaintune.models import max_token_chars

    return max_len * max_token_chars(tokenizer)


_SPACE = re.compile(r"\s")


def _text_pieces(text: str, size: int) -> Iterator[str]:
    """`text` in pieces of at most `size` characters, each cut before a whitespace character in
    its second half when there is one (so words are not split; CJK text is cut anywhere)."""
    start = 0
    while len(text) - start > size:
        end = start + size
        spaces = [m.start() for m in _SPACE.finditer(text, start + size // 2, end)]
        end = spaces[-1] if spaces and spaces[-1] > start else end
        yield text[start:end]
        start = end
    yield text[start:]


def _document_ids(tokenizer: Any, text: str, bound: int) -> Iterator[list[int]]:
    if len(text) <= bound:
        yield tokenizer(text, add_special_tokens=False)["input_ids"]
        return
    for part in _text_pieces(text, bound):
        yield tokenizer(part, add_special_tokens=False)["input_ids"]


def _piece(ids: list[int], source: int) -> Sample:
    return Sample(ids, [IGNORE_INDEX] + ids[1:], source)


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
    not a target, so no document (or piece) is trained to follow another. A document longer than
    `char_bound` characters is tokenized that many characters at a time (memory bounded by
    max_len, not by the longest document); each part still yields at least max_len tokens.
    """
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the tokenizer has no eos_token; set one so documents can be separated")
    stats = stats if stats is not None else BuildStats()
    bound = char_bound(tokenizer, max_len)
    pieces: list[Sample] = []
    cut: list[str] = []
    for doc in docs:
        stats.rows_in += 1
        if not doc.text.strip():
            stats.rejected["empty text"] += 1
            continue
        if len(doc.text) > bound:
            cut.append(doc.id)
        n = 0
        buf: list[int] = []
        for ids in _document_ids(tokenizer, doc.text, bound):
            buf += ids
            n += len(ids)
            i = 0  # the same pieces as slicing the whole document's ids every max_len
            for i in range(0, len(buf) - max_len + 1, max_len):
                pieces.append(_piece(buf[i : i + max_len], source))
            buf = buf[i + max_len :] if len(buf) >= max_len else buf
        pieces.append(_piece(buf + [eos], source))
        stats.kept += 1
        stats.tokens += n + 1
        stats.split_documents += int(n + 1 > max_len)
    stats.trained_tokens += sum(p.trained for p in pieces)
    stats.cut_by_chars += len(cut)
    if cut:
        log.info(
            "%d documents longer than %s characters (max_len x the longest token) were tokenized "
            "%s characters at a time (first: %s)",
            len(cut), f"{bound:,}", f"{bound:,}", ", ".join(cut[:SHOW_IDS]),
        )  # fmt: skip
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
    """Render conversations through a chat template; only assistant turns are trained.

    A conversation longer than `max_len` tokens is truncated to its first max_len (a warning
    names the first few). One whose messages hold more than twice `char_bound` characters is cut
    there before templating: its first max_len tokens lie well inside the kept text.
    """
    stats = stats if stats is not None else BuildStats()
    bound = 2 * char_bound(tokenizer, max_len)
    samples, truncated = [], []
    for conv in convs:
        stats.rows_in += 1
        messages = conv.to_openai()
        if sum(len(m["content"]) for m in messages) > bound:
            messages = _cut_messages(messages, bound)
            stats.cut_by_chars += 1
        enc = encode_conversation(
            tokenizer,
            messages,
            template=template,
            train_on_prompt=train_on_prompt,
            mask_history=mask_history,
        )
        ids, labels = enc["input_ids"], enc["labels"]
        if len(ids) > max_len:
            stats.truncated += 1
            truncated.append(conv.id)
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
    if truncated:
        log.warning(
            "%d of %d conversations are longer than max_len %d tokens and were truncated to it "
            "(first: %s); raise max_len, or list them with `domaintune data validate FILE "
            "--tokenizer MODEL --max-len %d`",
            len(truncated), stats.rows_in, max_len, ", ".join(truncated[:SHOW_IDS]), max_len,
        )  # fmt: skip
    return samples


def _cut_messages(messages: list[dict[str, str]], budget: int) -> list[dict[str, str]]:
    """The messages with their contents cut to `budget` characters in all, in order."""
    out = []
    for m in messages:
        out.append({**m, "content": m["content"][: max(budget, 0)]})
        budget -= len(m["content"])
    return out


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
