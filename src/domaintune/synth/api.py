"""Library face of `data synth`: one function per kind, plain arguments in, report dict out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domaintune.io import PathLike, file_stem, iter_rows, read_conversations, read_documents
from domaintune.records import RawRow, detect_format, parse_conversation
from domaintune.synth import kinds
from domaintune.synth.cache import RequestCache
from domaintune.synth.client import TeacherClient
from domaintune.synth.engine import Synth, write_outputs
from domaintune.synth.filters import NOVELTY_THRESHOLD, Limits

EVAL_SEED = 1_000_003  # eval requests differ from SFT requests on the same chunk (another key)


@dataclass
class Output:
    """Where a synth run writes and how it filters (shared by every kind)."""

    out: PathLike
    report: PathLike | None = None
    rejects: PathLike | None = None
    source: str | None = None
    novelty: float | None = NOVELTY_THRESHOLD  # None: no novelty filter
    against: Sequence[PathLike] = ()  # existing data: the novelty pool (and decontamination)
    limits: Limits | None = None
    progress: bool = False


def make_client(
    base_url: str, model: str, *, cache: PathLike | None, **settings: Any
) -> TeacherClient:
    """A teacher client with its request cache (sqlite file) opened."""
    store = RequestCache(cache) if cache is not None else None
    return TeacherClient(base_url, model, cache=store, **settings)


def existing_prompts(paths: Sequence[PathLike]) -> list[str]:
    """First user turns of conversation files and questions of eval files: the novelty pool."""
    out = []
    for path in paths:
        for line, data in iter_rows(path):
            if detect_format(data) == "eval":
                out.append(str(data["question"]))
            else:
                conv = parse_conversation(RawRow(data, str(path), line, stem=file_stem(path)))
                out.append(next((m.content for m in conv.messages if m.role == "user"), ""))
    return out


def _finish(synth: Synth, o: Output, client: TeacherClient | None, **kw: Any) -> dict[str, Any]:
    extra = kw.pop("extra", None)
    rows = synth.finish(
        limits=o.limits or Limits(), novelty=o.novelty, existing=kw.pop("existing", ()), **kw
    )
    usage = client.usage.to_dict() if client is not None else None
    return write_outputs(rows, o.out, synth, report=o.report, usage=usage, extra=extra)


def synth_qa(
    docs: PathLike,
    o: Output,
    client: TeacherClient,
    *,
    per_chunk: int = 3,
    chunk_chars: int = 1500,
    as_eval: bool = False,
) -> dict[str, Any]:
    """Grounded question-answer rows from document chunks (or an open-book eval set)."""
    documents = list(read_documents(docs))
    requests = kinds.qa_requests(documents, per_chunk=per_chunk, chunk_chars=chunk_chars)
    if as_eval:
        for r in requests:
            r.seed = EVAL_SEED
    with Synth("qa", o.source or file_stem(docs), o.rejects) as synth:
        for found in synth.collect(client, requests, kinds.parse_qa, progress=o.progress):
            synth.candidates += found
        return _finish(synth, o, client, as_eval=as_eval, existing=existing_prompts(o.against),
                       extra={"documents": len(documents), "chunks": len(requests)})  # fmt: skip


def synth_self_instruct(
    seeds: PathLike,
    o: Output,
    client: TeacherClient,
    *,
    num: int,
    per_request: int = 5,
    lang: str = "auto",
    seed: int = 0,
) -> dict[str, Any]:
    """New tasks from seed tasks, cycling the task categories; seeds join the novelty pool."""
    convs = list(read_conversations(seeds))
    requests = kinds.self_instruct_requests(
        convs, num=num, per_request=per_request, lang=lang, seed=seed
    )
    pool = [kinds.first_user(c) for c in convs] + existing_prompts(o.against)
    with Synth("self-instruct", o.source or file_stem(seeds), o.rejects) as synth:
        for found in synth.collect(client, requests, kinds.parse_instructions, progress=o.progress):
            synth.candidates += found
        report = _finish(synth, o, client, existing=pool)
    report["categories"] = _categories(o.out)
    return report


def _categories(path: PathLike) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, row in iter_rows(path):
        cat = row["meta"].get("category", "other")
        counts[cat] = counts.get(cat, 0) + 1
    return dict(sorted(counts.items()))


def synth_paraphrase(
    data: PathLike, o: Output, client: TeacherClient, *, per_row: int = 3
) -> dict[str, Any]:
    """The same tasks in new wordings; the originals are the novelty pool."""
    convs = list(read_conversations(data))
    requests = kinds.paraphrase_requests(convs, per_row=per_row)
    pool = [kinds.first_user(c) for c in convs] + existing_prompts(o.against)
    with Synth("paraphrase", o.source or file_stem(data), o.rejects) as synth:
        for found in synth.collect(client, requests, kinds.parse_paraphrases, progress=o.progress):
            synth.candidates += found
        return _finish(synth, o, client, existing=pool)


def synth_translate(
    data: PathLike, o: Output, client: TeacherClient, *, to: str = "auto", back: bool = False
) -> dict[str, Any]:
    """Conversations translated zh <-> en (or translated and back), linked by `pair_of`."""
    convs = list(read_conversations(data))
    first = kinds.translate_requests(convs, to=to, back=back)
    kind = "back-translate" if back else "translate"
    pool = existing_prompts(o.against)
    with Synth(kind, o.source or file_stem(data), o.rejects) as synth:
        if not back:
            for found in synth.collect(client, first, kinds.parse_translation, progress=o.progress):
                synth.candidates += found
        else:
            pivots = synth.collect(client, first, kinds.parse_pivot, progress=o.progress)
            second = kinds.back_requests(first, pivots)
            for found in synth.collect(client, second, kinds.parse_back, progress=o.progress):
                synth.candidates += found
            # a back-translation equal to its source adds nothing
            pool += [kinds.first_user(c) for c in convs]
        return _finish(synth, o, client, existing=pool)

