"""`advise`: measure the user's model and data, then recommend (the library function)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from domaintune.advise.measure import (
    Measurements,
    bits_per_char,
    count_text,
    method_fits,
    read_all,
    sample_docs,
    sft_tokens,
)
from domaintune.advise.rules import Advice, recommend

# Documents scored for bits per character on each side: enough for a stable mean on CPU in
# seconds (the figure is a ratio of two such means).
SAMPLE_DOCS = 64
CJK_MAJORITY = 0.5  # a text is "mostly CJK" from half its letters (text.cjk_share)


def measure(
    model: str | Path,
    domain: Sequence[str | Path],
    *,
    general: Sequence[str | Path] = (),
    sft: Sequence[str | Path] = (),
    gpu_mem: str | None = None,
    seq_len: int = 2048,
    arch: str | None = None,
    sample: int = SAMPLE_DOCS,
    max_len: int = 512,
    seed: int = 0,
) -> Measurements:
    """(a)-(e) of docs/advisor.md on the model and files given."""
    from domaintune.memory import resolve_arch
    from domaintune.memory.arch import count_params
    from domaintune.memory.estimate import GIB
    from domaintune.memory.plan import parse_size
    from domaintune.models import load_for_eval
    from domaintune.templates.check import looks_like_chat_model
    from domaintune.text import cjk_share

    if not domain:
        raise ValueError("advise needs --domain FILE (raw domain documents)")
    net, tokenizer = load_for_eval(model)
    docs = {"domain": read_all(domain, "docs"), "general": read_all(general, "docs")}
    figures = {}
    for side, found in docs.items():
        if not found:
            continue
        figures[side] = count_text(found, tokenizer)
        scored = sample_docs(found, sample, seed)
        figures[side].sample_documents = len(scored)
        figures[side].bpc = bits_per_char(net, tokenizer, scored, max_len=max_len)
    convs = read_all(sft, "sft")
    mem = parse_size(gpu_mem) if gpu_mem else None
    shape = resolve_arch(arch or model)
    text = "".join(d.text for d in sample_docs(docs["domain"], sample, seed))
    return Measurements(
        model=str(model),
        parameters=count_params(shape).total if arch else net.num_parameters(),
        chat_model=looks_like_chat_model(str(model), net.config),
        chat_template=bool(getattr(tokenizer, "chat_template", None)),
        domain=figures["domain"],
        general=figures.get("general"),
        sft_rows=len(convs),
        sft_tokens=sft_tokens(convs, tokenizer) if convs else 0,
        seq_len=seq_len,
        gpu_mem_gib=mem / GIB if mem else None,
        fits=method_fits(shape, seq_len=seq_len, gpu_mem=mem),
        domain_cjk=cjk_share(text) >= CJK_MAJORITY,
    )


def advise(model: str | Path, domain: Sequence[str | Path], **options) -> Advice:
    """Measure (see `measure` for the options) and recommend: CPT+SFT or SFT, general share and
    PTX, method and batch that fit, learning rates, vocabulary; every figure in the reasons."""
    return recommend(measure(model, domain, **options))
