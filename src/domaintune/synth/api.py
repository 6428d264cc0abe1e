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
    rounds: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """New tasks from seed tasks, cycling the task categories; seeds join the novelty pool.

    With rounds > 1 (Wang et al. 2022's bootstrapping), `num` is split over the rounds and each
    later round also shows tasks generated and kept (checks and novelty) in the earlier ones.
    """
    human = [kinds.first_user(c) for c in read_conversations(seeds)]
    pool = human + existing_prompts(o.against)
    shares = [num // rounds + (1 if r < num % rounds else 0) for r in range(rounds)]
    machine: list[str] = []
    with Synth("self-instruct", o.source or file_stem(seeds), o.rejects) as synth:
        for r, share in enumerate(s for s in shares if s):
            requests = kinds.self_instruct_requests(human, num=share, per_request=per_request,
                                                    lang=lang, machine=machine, round_=r,
                                                    seed=seed)  # fmt: skip
            for found in synth.collect(client, requests, kinds.parse_instructions,
                                       progress=o.progress):  # fmt: skip
                synth.candidates += found
            machine = synth.provisional(o.limits or Limits(), o.novelty, pool)
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



def synth_adversarial(
    results: Sequence[PathLike],
    o: Output,
    client: TeacherClient,
    *,
    per_spot: int = 20,
    per_request: int = 5,
    top: int = 3,
    metric: str | None = None,
    questions: Sequence[PathLike] = (),
    lang: str = "auto",
) -> dict[str, Any]:
    """Harder prompts aimed at the sets and dimensions where eval results show the model weak."""
    from domaintune.synth import adversarial as adv

    texts = adv.question_texts(questions)
    spots, requests = [], []
    for path in results:
        doc = adv.load_result(path)
        found = adv.weak_spots(doc, adv.main_metric(doc, metric, path), top=top, questions=texts)
        spots += found
        requests += adv.adversarial_requests(found, per_spot=per_spot, per_request=per_request,
                                             lang=lang)  # fmt: skip
    if not requests:
        raise ValueError("no weak spot: every set and dimension is at or above the overall score")
    weak = [{"spot": s.label, "value": s.value, "overall": s.overall, "failed_shown": len(s.failed)}
            for s in spots]  # fmt: skip
    with Synth("adversarial", o.source or "adversarial", o.rejects) as synth:
        for found in synth.collect(client, requests, kinds.parse_instructions, progress=o.progress):
            synth.candidates += found
        return _finish(synth, o, client, existing=existing_prompts(o.against),
                       extra={"weak_spots": weak})  # fmt: skip


def synth_convert(
    data: PathLike,
    o: Output,
    *,
    task: str,
    columns: dict[str, str] | None = None,
    labels: Sequence[str] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """A labelled dataset as instructions with varied templates (no teacher)."""
    from domaintune.synth.convert import convert_rows

    candidates = convert_rows(data, task, columns=columns, labels=labels, seed=seed)
    with Synth("convert", o.source or file_stem(data), o.rejects) as synth:
        synth.candidates = candidates
        return _finish(synth, o, None, existing=existing_prompts(o.against),
                       extra={"task": task})  # fmt: skip


def synth_mine(pages: PathLike, o: Output, client: TeacherClient | None = None) -> dict[str, Any]:
    """Question-answer pairs from FAQ / forum HTML pages by their structure; with a teacher, the
    pages without structure are read by it (answers must be copied from the page)."""
    from domaintune.synth import mine

    candidates, files, unstructured = mine.mine_candidates(pages)
    with Synth("mine", o.source or file_stem(pages), o.rejects) as synth:
        synth.candidates = candidates
        if client is not None and unstructured:
            requests = mine.mine_requests(unstructured)
            for found in synth.collect(client, requests, mine.parse_mined, progress=o.progress):
                synth.candidates += found
        extra = {"pages": files, "pages_without_structure": len(unstructured)}
        report = _finish(synth, o, client, existing=existing_prompts(o.against), extra=extra)
    structures: dict[str, int] = {}
    for c in synth.candidates:
        structures[c.provenance["structure"]] = structures.get(c.provenance["structure"], 0) + 1
    report["structures_found"] = dict(sorted(structures.items()))
    return report
