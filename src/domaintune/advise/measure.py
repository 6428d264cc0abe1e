"""What the advisor measures on the user's own model and data (issue #16, (a)-(e)).

(a) bits per character of the base model on a sample of the domain and of the general text
    (eval/perplexity.py's NLL, divided by ln 2 and by characters, so tokenizers compare);
(b) the volume of raw domain text and of instruction data, in the model's tokens;
(c) base or chat model (templates/check.py's name rule, and whether a chat template is saved);
(d) tokenizer fertility: tokens per character on the domain and the general text;
(e) memory: per method, the largest micro-batch that fits the GPU (memory/ estimator), with
    gradient checkpointing when nothing fits without it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from domaintune.records import Document

# The batch sizes tried, largest first, when looking for what fits.
BATCHES = (16, 8, 4, 2, 1)
METHODS = ("full", "lora", "qlora")


@dataclass
class TextFigures:
    """Figures of one side (domain or general) of the user's data."""

    documents: int = 0
    chars: int = 0
    tokens: int = 0
    sample_documents: int = 0  # scored for bits per character
    bpc: float | None = None  # bits per character of the base model on the sample

    @property
    def fertility(self) -> float | None:
        """Tokens per character (higher: the tokenizer splits this text into more pieces)."""
        return self.tokens / self.chars if self.chars else None


@dataclass
class MethodFit:
    """Whether a training method fits the GPU, and with what."""

    method: str
    fits: bool | None  # None: no --gpu-mem given
    batch: int
    grad_ckpt: bool
    peak_gib: float


@dataclass
class Measurements:
    model: str
    parameters: int
    chat_model: bool
    chat_template: bool
    domain: TextFigures
    general: TextFigures | None
    sft_rows: int = 0
    sft_tokens: int = 0
    domain_cjk: bool = False  # the domain text is mostly CJK characters (text.cjk_share >= 0.5)
    seq_len: int = 2048
    gpu_mem_gib: float | None = None
    fits: dict[str, MethodFit] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Knowledge gap: domain bits per character over general (1.0: no harder than general)."""
        g = self.general
        if g is None or not g.bpc or self.domain.bpc is None:
            return None
        return self.domain.bpc / g.bpc

    @property
    def fertility_ratio(self) -> float | None:
        """Domain fertility over general fertility (same tokenizer)."""
        if self.general is None or not self.general.fertility or not self.domain.fertility:
            return None
        return self.domain.fertility / self.general.fertility

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["domain"]["fertility"] = self.domain.fertility
        if self.general is not None:
            out["general"]["fertility"] = self.general.fertility
        out["gap"] = self.gap
        out["fertility_ratio"] = self.fertility_ratio
        return out


def count_text(docs: Sequence[Document], tokenizer: Any) -> TextFigures:
    """Documents, characters and tokens (no special tokens) of a set of documents."""
    fig = TextFigures(documents=len(docs))
    for start in range(0, len(docs), 256):
        batch = [d.text for d in docs[start : start + 256]]
        ids = tokenizer(batch, add_special_tokens=False, verbose=False)["input_ids"]
        fig.tokens += sum(len(x) for x in ids)
        fig.chars += sum(len(t) for t in batch)
    return fig


def bits_per_char(model: Any, tokenizer: Any, docs: Sequence[Document], *, max_len: int) -> float:
    """Bits per character: the summed NLL (nats) over ln 2, over the documents' characters.

    eval/perplexity.py scores every token but a window's first; its figures are per token, so
    the total is mean NLL x scored tokens."""
    from domaintune.eval.perplexity import perplexity

    figures = perplexity(model, tokenizer, docs, max_len=max_len)
    chars = sum(len(d.text) for d in docs)
    return figures["nll"] * figures["tokens"] / math.log(2) / chars


def sample_docs(docs: Sequence[Document], n: int, seed: int) -> list[Document]:
    """A seeded sample of n documents (all when there are fewer)."""
    if len(docs) <= n:
        return list(docs)
    return [docs[i] for i in sorted(random.Random(seed).sample(range(len(docs)), n))]


def method_fits(
    arch: Any, *, seq_len: int, gpu_mem: int | None, lora_rank: int = 8
) -> dict[str, MethodFit]:
    """Per method: the largest micro-batch in BATCHES that fits, else with checkpointing."""
    fits = {}
    for method in METHODS:
        if gpu_mem is None:
            peak = _peak_gib(arch, method, seq_len, 1, False, lora_rank)
            fits[method] = MethodFit(method, None, 1, False, peak)
        else:
            fits[method] = _largest_fit(arch, method, seq_len, gpu_mem, lora_rank)
    return fits


def _peak_gib(arch: Any, method: str, seq_len: int, batch: int, ckpt: bool, rank: int) -> float:
    from domaintune.memory import RunSetup, estimate
    from domaintune.memory.estimate import GIB

    setup = RunSetup(method=method, seq_len=seq_len, batch=batch, grad_ckpt=ckpt, lora_rank=rank)
    return estimate(arch, setup).total / GIB


def _largest_fit(arch: Any, method: str, seq_len: int, gpu_mem: int, rank: int) -> MethodFit:
    from domaintune.memory.estimate import GIB

    for ckpt in (False, True):
        for batch in BATCHES:
            peak = _peak_gib(arch, method, seq_len, batch, ckpt, rank)
            if peak * GIB <= gpu_mem:
                return MethodFit(method, True, batch, ckpt, peak)
    return MethodFit(method, False, 1, True, _peak_gib(arch, method, seq_len, 1, True, rank))


def read_all(paths: Sequence[str | Path], kind: str) -> list:
    """Documents (kind "docs") or conversations ("sft") of several files, in order."""
    from domaintune.io import read_conversations, read_documents

    read = read_documents if kind == "docs" else read_conversations
    return [r for p in paths for r in read(Path(p))]


def sft_tokens(convs: Sequence[Any], tokenizer: Any) -> int:
    """Tokens of the instruction data's message text (no template: the text's own volume)."""
    texts = [m.content for c in convs for m in c.messages] + [c.system for c in convs if c.system]
    return count_text([Document(id=str(i), text=t) for i, t in enumerate(texts)], tokenizer).tokens
