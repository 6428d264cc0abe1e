"""Question-answer pairs from FAQ and forum HTML pages, by the page's structure (no teacher).

Structures, tried in this order on each page: schema.org FAQPage / QAPage JSON-LD; schema.org
Question microdata (accepted answer, else the most up-voted suggested one); <details><summary>;
<dl><dt><dd>; a heading that ends in a question mark followed by its section's text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from domaintune.io import PathLike
from domaintune.synth import prompts
from domaintune.synth.engine import Candidate, Request
from domaintune.synth.filters import language

_SPACE = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\s*\n\s*")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_QUESTION_END = ("?", "？")
PAGE_CHARS = 6000  # page text sent to the teacher (a FAQ page's main text fits)


def _clean(raw: str) -> str:
    """Whitespace collapsed, line breaks kept between blocks."""
    return _LINES.sub("\n", _SPACE.sub(" ", raw)).strip()


def _text(node: Any) -> str:
    """An element's visible text."""
    return _clean(node.text_content())


def _html_text(value: str) -> str:
    """Text of a JSON-LD string, which may hold HTML markup."""
    from lxml import html

    return _text(html.fromstring(f"<div>{value}</div>")) if "<" in value else _clean(value)


def _json_ld(tree: Any) -> Iterator[tuple[str, str, str]]:
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except json.JSONDecodeError:
            continue
        for node in data if isinstance(data, list) else [data]:
            if not isinstance(node, dict):
                continue
            entities = node.get("mainEntity") or []
            for q in entities if isinstance(entities, list) else [entities]:
                if not isinstance(q, dict) or q.get("@type") != "Question":
                    continue
                answer = q.get("acceptedAnswer") or q.get("suggestedAnswer") or {}
                if isinstance(answer, list):
                    answer = answer[0] if answer else {}
                question = q.get("name") or q.get("text") or ""
                if isinstance(answer, dict) and answer.get("text") and question:
                    yield _html_text(str(question)), _html_text(str(answer["text"])), "json-ld"


def _microdata(tree: Any) -> Iterator[tuple[str, str, str]]:
    for q in tree.xpath('//*[@itemtype and contains(@itemtype, "schema.org/Question")]'):
        names = q.xpath('.//*[@itemprop="name"]') or q.xpath('.//*[@itemprop="text"]')
        accepted = q.xpath('.//*[@itemprop="acceptedAnswer"]')
        answers = accepted or sorted(q.xpath('.//*[@itemprop="suggestedAnswer"]'),
                                     key=_votes, reverse=True)  # fmt: skip
        if names and answers:
            body = answers[0].xpath('.//*[@itemprop="text"]') or [answers[0]]
            yield _text(names[0]), _text(body[0]), "microdata"


def _votes(node: Any) -> int:
    found = node.xpath('.//*[@itemprop="upvoteCount"]')
    if not found:
        return 0
    value = found[0].get("content") or found[0].text_content()
    return int(value) if value and value.strip().lstrip("-").isdigit() else 0


def _details(tree: Any) -> Iterator[tuple[str, str, str]]:
    for d in tree.xpath("//details[summary]"):
        summary = d.xpath("./summary")[0]
        parts = [summary.tail or ""]
        parts += [_text(c) + "\n" + (c.tail or "") for c in summary.itersiblings()]
        yield _text(summary), _clean("\n".join(parts)), "details"


def _definition_lists(tree: Any) -> Iterator[tuple[str, str, str]]:
    for dt in tree.xpath("//dl/dt"):
        dd = dt.getnext()
        if dd is not None and dd.tag == "dd":
            yield _text(dt), _text(dd), "dl"


def _headings(tree: Any) -> Iterator[tuple[str, str, str]]:
    for h in tree.xpath("|".join(f"//{t}" for t in _HEADINGS)):
        question = _text(h)
        if not question.endswith(_QUESTION_END):
            continue
        parts, node = [], h.getnext()
        while node is not None and node.tag not in _HEADINGS:
            parts.append(_text(node))
            node = node.getnext()
        yield question, "\n".join(p for p in parts if p), "heading"


_STRUCTURES = (_json_ld, _microdata, _details, _definition_lists, _headings)


def mine_page(text: str) -> list[tuple[str, str, str]]:
    """(question, answer, structure) found on one page; the first structure that finds any wins."""
    from lxml import html

    if not text.strip():
        return []
    tree = html.fromstring(text)
    for find in _STRUCTURES:
        found = [(q, a, how) for q, a, how in find(tree) if q]
        if found:
            return found
    return []


def page_files(path: PathLike) -> list[Path]:
    """An .html/.htm file, or every such file under a folder (sorted)."""
    p = Path(path)
    if p.is_dir():
        return sorted(f for f in p.rglob("*") if f.suffix.lower() in (".html", ".htm"))
    return [p]


def mine_candidates(path: PathLike) -> tuple[list[Candidate], int, list[tuple[Path, str]]]:
    """Candidates from every page under `path`, the number of pages, and the pages whose
    structure gave no pair (file, visible text) for an optional teacher."""
    from lxml import html

    files = page_files(path)
    out, unstructured = [], []
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace")
        found = mine_page(text)
        if not found and text.strip():
            unstructured.append((f, page_text(html.fromstring(text))))
        for i, (q, a, how) in enumerate(found):
            prov = {"file": str(f), "index": i, "structure": how}
            cand = Candidate([{"role": "user", "content": q}, {"role": "assistant", "content": a}],
                             language(q), prov)  # fmt: skip
            cand.problem = None if a else "no_answer"
            out.append(cand)
    return out, len(files), unstructured


_BLOCKS = ("p", "div", "li", "br", "tr", "dt", "dd", "section", "article", "blockquote", "pre",
           *_HEADINGS)  # fmt: skip


def page_text(tree: Any) -> str:
    """A page's visible text, one line per block element (scripts, styles, nav, footer dropped)."""
    for bad in tree.xpath("//script|//style|//nav|//footer"):
        bad.drop_tree()
    for el in tree.iter(*_BLOCKS):
        el.tail = "\n" + (el.tail or "")
    return _text(tree)


def mine_requests(pages: list[tuple[Path, str]]) -> list[Request]:
    """One teacher request per page without structure (its first PAGE_CHARS characters)."""
    out = []
    for f, text in pages:
        page = text[:PAGE_CHARS]
        if page.strip():
            lang = language(page)
            ctx = {"file": str(f), "page": page, "lang": lang}
            out.append(Request(prompts.mine_messages(page, lang), ctx))
    return out


def parse_mined(request: Request, content: str) -> list[Candidate]:
    """Pairs the teacher found; an answer not copied from the page is `answer_not_in_page`."""
    from domaintune.synth.client import load_json_reply
    from domaintune.synth.kinds import find_quote

    ctx = request.context
    items = load_json_reply(content)
    if not isinstance(items, list):
        raise ValueError("expected a JSON list of question-answer objects")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError("each item must be an object with question and answer")
        q, a = str(item.get("question") or "").strip(), str(item.get("answer") or "").strip()
        prov = {"file": ctx["file"], "index": i, "structure": "teacher"}
        cand = Candidate([{"role": "user", "content": q}, {"role": "assistant", "content": a}],
                         language(q or a), prov)  # fmt: skip
        cand.problem = None if a and find_quote(ctx["page"], a) else "answer_not_in_page"
        out.append(cand)
    return out
