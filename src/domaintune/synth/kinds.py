"""Requests and reply parsers for the teacher kinds: qa, self-instruct, paraphrase, translate.

Each `*_requests` builds the teacher requests from its inputs; each `parse_*` turns one reply
into candidate rows (a row that fails a kind's own check carries a `problem`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

from domaintune.data.select import TAXONOMY, classify
from domaintune.records import Conversation, Document
from domaintune.synth import prompts
from domaintune.synth.client import load_json_reply
from domaintune.synth.engine import Candidate, Request
from domaintune.synth.filters import language

_BLANK = re.compile(r"\n\s*\n")
_SPACE = re.compile(r"\s+")


def _texts(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON list of {what}, got {type(value).__name__}")
    return value


def _field(item: Any, key: str) -> str:
    if not isinstance(item, dict) or not isinstance(item.get(key), str) or not item[key].strip():
        raise ValueError(f'each item needs a non-empty string "{key}"')
    return item[key].strip()


def turns(user: str, assistant: str) -> list[dict[str, str]]:
    """A one-turn conversation in OpenAI form."""
    return [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]


# ---------------------------------------------------------------- qa from documents


def chunks(text: str, size: int = 1500) -> list[tuple[int, int]]:
    """(start, end) character spans of about `size`, cut at paragraph breaks where possible."""
    spans, start = [], 0
    paragraphs = [m.end() for m in _BLANK.finditer(text)] + [len(text)]
    end = start
    for cut in paragraphs:
        if cut - start > size and end > start:
            spans.append((start, end))
            start = end
        while cut - start > 2 * size:  # one huge paragraph: hard cuts
            spans.append((start, start + size))
            start += size
        end = cut
    if text[start:].strip():
        spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def qa_requests(docs: Sequence[Document], *, per_chunk: int, chunk_chars: int) -> list[Request]:
    """One request per document chunk, in the chunk's language."""
    out = []
    for doc in docs:
        for s, e in chunks(doc.text, chunk_chars):
            passage = doc.text[s:e]
            lang = language(passage)
            ctx = {"doc_id": doc.id, "span": [s, e], "lang": lang, "passage": passage}
            out.append(Request(prompts.qa_messages(passage, lang, per_chunk), ctx))
    return out


def find_quote(passage: str, quote: str) -> tuple[int, int] | None:
    """Where the quote is in the passage: exact, else with whitespace runs matched loosely."""
    at = passage.find(quote)
    if at != -1:
        return at, at + len(quote)
    words = [re.escape(w) for w in _SPACE.split(quote.strip()) if w]
    if not words:
        return None
    m = re.search(r"\s*".join(words), passage)
    return (m.start(), m.end()) if m else None


def parse_qa(request: Request, content: str) -> list[Candidate]:
    """Question, answer, quote (located in the passage) and dimension per item."""
    ctx = request.context
    out = []
    for item in _texts(load_json_reply(content), "question-answer objects"):
        question, answer = _field(item, "question"), _field(item, "answer")
        quote = item.get("quote") if isinstance(item.get("quote"), str) else ""
        where = find_quote(ctx["passage"], quote) if quote.strip() else None
        s0 = ctx["span"][0]
        prov = {"doc_id": ctx["doc_id"], "span": ctx["span"], "quote": quote,
                "quote_span": [s0 + where[0], s0 + where[1]] if where else None}  # fmt: skip
        dim = item.get("dimension")
        dim = dim if dim in ("knowledge", "reasoning") else "knowledge"
        cand = Candidate(turns(question, answer), ctx["lang"], prov, {"dimension": dim},
                         answer_in_lang=True)  # fmt: skip
        cand.problem = None if where else "quote_not_in_source"
        out.append(cand)
    return out


# ---------------------------------------------------------------- self-instruct


def self_instruct_requests(
    seeds: Sequence[str],
    *,
    num: int,
    per_request: int,
    lang: str,
    examples: int = 6,
    machine: Sequence[str] = (),
    machine_examples: int = 2,
    round_: int = 0,
    seed: int = 0,
) -> list[Request]:
    """Requests cycling through the task categories; each shows seed tasks, its category first.

    From the second round on, `machine_examples` of the shown tasks are generated ones kept in
    earlier rounds (Wang et al. 2022 show 6 human and 2 machine tasks).
    """
    if not seeds:
        raise ValueError("self-instruct needs at least one seed task")
    pool = [(p, classify(p)) for p in seeds]
    rng = random.Random(seed * 1000 + round_)
    categories = [c for c in TAXONOMY if c != "other"]
    n_machine = min(machine_examples, len(machine))
    out = []
    for r in range(-(-num // per_request)):
        category = categories[r % len(categories)]
        human = examples - n_machine
        same = [p for p, c in pool if c == category]
        shown = rng.sample(same, min(len(same), human // 2))
        rest = [p for p, _ in pool if p not in shown]
        shown += rng.sample(rest, min(len(rest), human - len(shown)))
        shown += rng.sample(list(machine), n_machine)
        req_lang = lang if lang != "auto" else _majority(shown)
        n = min(per_request, num - r * per_request)
        ctx = {"category": category, "lang": req_lang, "seeds": shown, "round": round_}
        messages = prompts.self_instruct_messages(shown, category, req_lang, n)
        out.append(Request(messages, ctx, seed=round_ * 100_000 + r))
    return out


def first_user(conv: Conversation) -> str:
    """The first user turn's text ("" when there is none)."""
    return next((m.content for m in conv.messages if m.role == "user"), "")


def _majority(texts: Sequence[str]) -> str:
    zh = sum(language(t) == "zh" for t in texts)
    return "zh" if zh * 2 >= len(texts) else "en"


def parse_instructions(request: Request, content: str) -> list[Candidate]:
    """{"instruction", "output"} items; meta keeps the requested and the detected category."""
    ctx = request.context
    out = []
    for item in _texts(load_json_reply(content), "instruction objects"):
        instruction, output = _field(item, "instruction"), _field(item, "output")
        prov = {k: ctx[k] for k in ("seeds", "weak_spot", "round") if k in ctx}
        meta = {"category": ctx.get("category") or classify(instruction),
                "detected_category": classify(instruction)}  # fmt: skip
        out.append(Candidate(turns(instruction, output), ctx["lang"], prov, meta))
    return out


# ---------------------------------------------------------------- paraphrase


def paraphrase_requests(convs: Sequence[Conversation], *, per_row: int) -> list[Request]:
    """One request per conversation: rewordings of its first user turn."""
    out = []
    for conv in convs:
        prompt = first_user(conv)
        lang = language(prompt)
        ctx = {"seed_id": conv.id, "lang": lang, "conversation": conv.to_openai()}
        out.append(Request(prompts.paraphrase_messages(prompt, lang, per_row), ctx))
    return out


def parse_paraphrases(request: Request, content: str) -> list[Candidate]:
    """Each rewording replaces the first user turn; the answer and later turns stay."""
    ctx = request.context
    out = []
    for i, text in enumerate(_texts(load_json_reply(content), "strings")):
        if not isinstance(text, str) or not text.strip():
            raise ValueError("each paraphrase must be a non-empty string")
        messages, system = _split_system([dict(m) for m in ctx["conversation"]])
        first = next(j for j, m in enumerate(messages) if m["role"] == "user")
        messages[first]["content"] = text.strip()
        prov = {"seed_id": ctx["seed_id"], "variant": i}
        out.append(Candidate(messages, ctx["lang"], prov, system=system))
    return out


# ---------------------------------------------------------------- translate, back-translate


def translate_requests(
    convs: Sequence[Conversation], *, to: str = "auto", back: bool = False
) -> list[Request]:
    """One request per conversation: all its turns translated (zh <-> en, or into `to`)."""
    out = []
    for conv in convs:
        messages = conv.to_openai()
        src = language(" ".join(m["content"] for m in messages))
        target = to if to != "auto" else ("en" if src == "zh" else "zh")
        ctx = {"pair_of": conv.id, "from": src, "to": target, "conversation": messages,
               "back": back}  # fmt: skip
        texts = [m["content"] for m in messages]
        out.append(Request(prompts.translate_messages(texts, target), ctx))
    return out


def _translated(request: Request, content: str) -> list[dict[str, str]]:
    ctx = request.context
    texts = _texts(load_json_reply(content), "translations")
    if len(texts) != len(ctx["conversation"]) or not all(isinstance(t, str) for t in texts):
        raise ValueError(f"expected {len(ctx['conversation'])} translated strings")
    return [{"role": m["role"], "content": t.strip()}
            for m, t in zip(ctx["conversation"], texts, strict=True)]  # fmt: skip


def parse_translation(request: Request, content: str) -> list[Candidate]:
    """The conversation in the target language, linked to its original by `pair_of`."""
    ctx = request.context
    turns_, system = _split_system(_translated(request, content))
    prov = {"pair_of": ctx["pair_of"], "from": ctx["from"], "to": ctx["to"]}
    return [Candidate(turns_, ctx["to"], prov, answer_in_lang=True, system=system)]


def _split_system(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], str | None]:
    system = next((m["content"] for m in messages if m["role"] == "system"), None)
    return [m for m in messages if m["role"] != "system"], system


def back_requests(first: Sequence[Request], found: Sequence[list[Candidate]]) -> list[Request]:
    """Second leg of back-translation: each pivot translated back into the original language."""
    out = []
    for request, pivots in zip(first, found, strict=True):
        if not pivots:
            continue
        pivot = pivots[0].messages
        ctx = {**request.context, "pivot": pivot, "conversation": pivot,
               "from": request.context["to"], "to": request.context["from"]}  # fmt: skip
        texts = [m["content"] for m in pivot]
        out.append(Request(prompts.translate_messages(texts, ctx["to"]), ctx))
    return out


def parse_pivot(request: Request, content: str) -> list[Candidate]:
    """The first leg's translation (the pivot; system turn included), not a row itself."""
    return [Candidate(_translated(request, content), request.context["to"], {})]


def parse_back(request: Request, content: str) -> list[Candidate]:
    """The back-translated conversation, linked to its original and carrying the pivot."""
    ctx = request.context
    turns_, system = _split_system(_translated(request, content))
    prov = {"pair_of": ctx["pair_of"], "via": ctx["from"],
            "pivot": [m["content"] for m in ctx["pivot"]]}  # fmt: skip
    return [Candidate(turns_, ctx["to"], prov, answer_in_lang=True, system=system)]
