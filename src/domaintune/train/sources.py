"""A training stage's data: its sources encoded, then packed, mixed by token shares, or both.

One source without shares: samples packed best-fit-decreasing over the whole set (pt always, sft
with `pack`), rows shuffled every epoch by the Trainer. With shares or PTX text: a MixedDataset
(train/mixing.py) that holds the shares in every optimizer step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from torch.utils.data import Dataset

from domaintune.records import DataError
from domaintune.train.data import (
    BuildStats,
    ListDataset,
    Sample,
    encode_conversations,
    encode_documents,
    pack_samples,
    padded_row,
)
from domaintune.train.mixing import MixedDataset, Stream


@dataclass
class Source:
    """Records of one data file with how they train."""

    name: str
    records: Sequence[Any]  # Documents (kind pt) or Conversations (kind sft)
    kind: str  # "pt" | "sft"
    share: float | None = None
    ptx: bool = False
    path: str | None = None  # the file(s) read, for error messages (default: the name)


@dataclass
class TrainSet:
    dataset: Dataset
    packed: bool
    names: list[str]  # source index -> name (PTX sources as ptx/<name>)
    ptx_sources: set[int]
    stats: dict[str, dict] = field(default_factory=dict)  # per source
    total: BuildStats = field(default_factory=BuildStats)
    mixed: bool = False


def encode_source(
    source: Source, index: int, tokenizer: Any, *, max_len: int, sft: dict, stats: BuildStats
) -> list[Sample]:
    if source.kind == "pt":
        return encode_documents(
            source.records, tokenizer, max_len=max_len, source=index, stats=stats
        )
    return encode_conversations(
        source.records, tokenizer, max_len=max_len, source=index, stats=stats, **sft
    )


def _nothing_to_train(source: Source, st: BuildStats) -> DataError:
    where = source.path or source.name
    if st.rows_in == 0:
        return DataError(where, None, "has no rows (it is empty or blank); nothing to train on")
    reasons = ", ".join(f"{reason}: {n}" for reason, n in st.rejected.most_common())
    return DataError(
        where, None, f"none of its {st.rows_in} rows can be trained on ({reasons}); fix or drop it"
    )


def build_train_set(
    sources: Sequence[Source],
    tokenizer: Any,
    *,
    max_len: int,
    pack: bool = True,
    sft: dict | None = None,
    rows_per_step: int = 8,
    seed: int = 0,
    on_exhausted: str = "repeat",
    ptx_share: float = 0.0,
) -> TrainSet:
    """Encode every source and lay the rows out (see the module docstring)."""
    sft = sft or {}
    names = [f"ptx/{s.name}" if s.ptx else s.name for s in sources]
    encoded: list[list[Sample]] = []
    stats: dict[str, dict] = {}
    total = BuildStats()
    for i, source in enumerate(sources):
        st = BuildStats()
        samples = encode_source(source, i, tokenizer, max_len=max_len, sft=sft, stats=st)
        if not samples:
            raise _nothing_to_train(source, st)
        encoded.append(samples)
        stats[names[i]] = st.to_dict()
        for key in (
            "rows_in", "kept", "tokens", "trained_tokens", "truncated", "split_documents",
            "cut_by_chars",
        ):  # fmt: skip
            setattr(total, key, getattr(total, key) + getattr(st, key))
        total.rejected.update(st.rejected)
    ptx_ids = {i for i, s in enumerate(sources) if s.ptx}
    data_ids = [i for i, s in enumerate(sources) if not s.ptx]
    shares = [sources[i].share for i in data_ids]
    mixed = bool(ptx_ids) or any(x is not None for x in shares)
    if not mixed:
        samples = [x for i in data_ids for x in encoded[i]]
        kind = sources[data_ids[0]].kind
        if kind == "pt" or pack:
            rows = pack_samples(samples, max_len)
        else:
            rows = [padded_row(x) for x in samples]
        total.sequences = len(rows)
        packed = kind == "pt" or pack
        return TrainSet(ListDataset(rows), packed, names, ptx_ids, stats, total)
    data_weight = 1.0 - ptx_share if ptx_ids else 1.0
    streams = []
    if any(x is not None for x in shares):
        for i in data_ids:
            streams.append(
                Stream(
                    names[i],
                    encoded[i],
                    sources[i].share * data_weight,
                    splittable=sources[i].kind == "pt",
                )
            )
    else:
        merged = [x for i in data_ids for x in encoded[i]]
        label = "+".join(names[i] for i in data_ids)
        streams.append(Stream(label, merged, data_weight, sources[data_ids[0]].kind == "pt"))
    if ptx_ids:
        merged = [x for i in sorted(ptx_ids) for x in encoded[i]]
        streams.append(Stream("ptx", merged, ptx_share, splittable=True))
    dataset = MixedDataset(
        streams, rows_per_step=rows_per_step, max_len=max_len, seed=seed, on_exhausted=on_exhausted
    )
    total.sequences = len(dataset)
    return TrainSet(dataset, True, names, ptx_ids, stats, total, mixed=True)
