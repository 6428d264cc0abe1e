"""LLM as judge over an OpenAI-compatible endpoint: single-answer 1-10 grading and A/B pairs.

Prompts follow MT-Bench's "single-math-v1" and "pair-math-v1" judge prompts (Zheng et al. 2023,
"Judging LLM-as-a-Judge"), with a stated rubric and a note on Chinese/English answers. Replies are
cached by a hash of (judge model, full prompt, sampling parameters), so reruns cost nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domaintune.io import file_stem, read_eval_items
from domaintune.records import DataError, EvalItem

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- answers files


@dataclass
class Answers:
    """A model's answers file: its name, where it came from, and its rows in file order."""

    model: str
    path: str
    rows: list[EvalItem]
    row_indexed: bool = False  # rows of a JSON list: errors say "path:row N"

    def error(self, line: int, message: str, field: str | None = None) -> DataError:
        """A DataError located at one row of this file."""
        return DataError(self.path, line, message, field, row=self.row_indexed)


def load_answers(path: str | Path, name: str | None = None) -> Answers:
    """Read answered rows (io.read_eval_items, kind "answered", with an id and a question) from
    a JSONL or an `eval gen --out` JSON (its `items`; the model name from its `model`)."""
    p = Path(path)
    doc = _result_doc(p)
    model = name or str((doc or {}).get("model") or file_stem(p))
    rows = list(read_eval_items(p, kind="answered", require=("id", "question")))
    answers = Answers(model, str(p), rows, row_indexed=p.suffix.lower() in (".json", ".parquet"))
    _unique_ids(answers)
    return answers


def _unique_ids(answers: Answers) -> None:
    """Ids must be unique in a file; if they are only unique per set (several benchmark files
    numbered 1, 2, ... in one `eval gen` result), every id becomes "set/id"."""
    rows = answers.rows
    if len({r.id for r in rows}) == len(rows):
        return
    qualified = [f"{r.subject}/{r.id}" if r.subject else r.id for r in rows]
    seen: dict[str, int] = {}
    for row, q in zip(rows, qualified, strict=True):
        if q in seen:
            where = f' in set "{row.subject}"' if row.subject else ""
            raise answers.error(
                row.line,
                f'duplicate id "{row.id}"{where} (first at {_where(answers, seen[q])}); '
                "ids must be unique within a file (or within each set)",
                "id",
            )
        seen[q] = row.line
    for row, q in zip(rows, qualified, strict=True):
        row.id = q


def _result_doc(path: Path) -> dict[str, Any] | None:
    if path.suffix.lower() != ".json" or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # read_eval_items reports it with a location
    if isinstance(data, dict) and "kind" in data and isinstance(data.get("items"), list):
        return data
    return None


def _where(answers: Answers, line: int) -> str:
    return f"row {line}" if answers.row_indexed else f"line {line}"


def join_answers(files: Sequence[Answers]) -> list[tuple[EvalItem, ...]]:
    """Rows joined by id across files, in the first file's order; every file must have every id."""
    first, joined = files[0], []
    indexes = [{row.id: row for row in f.rows} for f in files]
    for f in files[1:]:
        for row in f.rows:
            if row.id not in indexes[0]:
                raise f.error(row.line, f'id "{row.id}" is not in {first.path}; {_SAME_IDS}', "id")
    for row in first.rows:
        group = []
        for f, index in zip(files, indexes, strict=True):
            other = index.get(row.id)
            if other is None:
                raise first.error(row.line, f'id "{row.id}" has no row in {f.path}; {_SAME_IDS}')
            if other.question.strip() != row.question.strip():
                raise f.error(
                    other.line,
                    f'id "{row.id}" has a different question than {first.path} '
                    f"({_where(first, row.line)}); the files answer different question sets",
                    "question",
                )
            group.append(other)
        joined.append(tuple(group))
    return joined


_SAME_IDS = "every answers file must answer the same questions (joined by id)"

# ---------------------------------------------------------------- prompts and parsing

SINGLE_SYSTEM = "You are a helpful assistant."

SINGLE_PROMPT = """[Instruction]
Please act as an impartial judge and evaluate the quality of the response provided by an AI \
assistant to the user question displayed below. You will be given a reference answer and the \
assistant's answer. Your evaluation should consider correctness first, then completeness and \
helpfulness. Begin your evaluation by comparing the assistant's answer with the reference answer. \
Identify and correct any mistakes. The question and answers may be written in Chinese, English or \
both: judge the content, not the language, and do not penalize an answer for its language as long \
as it is the language of the question. Do not let the length of the answer influence your \
evaluation. Be as objective as possible.

Rate the response on a scale of 1 to 10 using this rubric:
- 9-10: correct and complete; agrees with the reference answer on every key point.
- 7-8: correct on the main point, with minor omissions or imprecision.
- 5-6: partly correct; misses or gets wrong a significant part of the reference answer.
- 3-4: mostly incorrect or vague, with only some relevant content.
- 1-2: wrong, harmful, irrelevant, or no real answer.

After providing your explanation, you must rate the response by strictly following this format \
on the last line: "Rating: [[rating]]", for example: "Rating: [[5]]".

[Question]
{question}

[The Start of Reference Answer]
{reference}
[The End of Reference Answer]

[The Start of Assistant's Answer]
{answer}
[The End of Assistant's Answer]"""

PAIR_SYSTEM = """Please act as an impartial judge and evaluate the quality of the responses \
provided by two AI assistants to the user question displayed below. Your evaluation should \
consider correctness first, then completeness and helpfulness. You will be given a reference \
answer, assistant A's answer, and assistant B's answer. Your job is to evaluate which assistant's \
answer is better. Begin your evaluation by comparing both assistants' answers with the reference \
answer. Identify and correct any mistakes. The question and answers may be written in Chinese, \
English or both: judge the content, not the language. Avoid any position biases and ensure that \
the order in which the responses were presented does not influence your decision. Do not allow \
the length of the responses to influence your evaluation. Do not favor certain names of the \
assistants. Be as objective as possible. After providing your explanation, output your final \
verdict by strictly following this format: "[[A]]" if assistant A is better, "[[B]]" if \
assistant B is better, and "[[C]]" for a tie."""

PAIR_PROMPT = """[User Question]
{question}

[The Start of Reference Answer]
{reference}
[The End of Reference Answer]

[The Start of Assistant A's Answer]
{answer_a}
[The End of Assistant A's Answer]

[The Start of Assistant B's Answer]
{answer_b}
[The End of Assistant B's Answer]"""

_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")
_RATING_PLAIN = re.compile(r"rating\s*[:：]\s*\[?\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")


def single_messages(row: EvalItem) -> list[dict[str, str]]:
    """The chat messages that ask the judge to grade one answer against the reference."""
    user = SINGLE_PROMPT.format(
        question=row.question, reference=row.answer, answer=row.prediction
    )
    return [{"role": "system", "content": SINGLE_SYSTEM}, {"role": "user", "content": user}]


def pair_messages(a: EvalItem, b: EvalItem) -> list[dict[str, str]]:
    """The chat messages that ask the judge whether answer A or B is better."""
    user = PAIR_PROMPT.format(
        question=a.question, reference=a.answer, answer_a=a.prediction, answer_b=b.prediction
    )
    return [{"role": "system", "content": PAIR_SYSTEM}, {"role": "user", "content": user}]


def parse_rating(reply: str) -> float | None:
    """The last `[[N]]` (else the last `Rating: N`) in the reply, if 1 <= N <= 10; else None."""
    found = _RATING.findall(reply) or _RATING_PLAIN.findall(reply)
    if not found:
        return None
    score = float(found[-1])
    return score if 1 <= score <= 10 else None


def parse_verdict(reply: str) -> str | None:
    """The last `[[A]]`, `[[B]]` or `[[C]]` (tie) in the reply; None when there is none."""
    found = _VERDICT.findall(reply)
    return found[-1] if found else None


# ---------------------------------------------------------------- cache and client


def cache_key(judge_model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    """sha256 of the judge model, full prompt and sampling parameters (not the endpoint/key)."""
    blob = json.dumps(
        {"model": judge_model, "messages": messages, "params": params},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JudgeCache:
    """Append-only JSONL of {key, reply, usage}; one line per judged prompt, kept across runs."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.entries: dict[str, dict[str, Any]] = {}
        self.unreadable = 0
        self._lock = threading.Lock()
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                    self.entries[entry["key"]] = entry
                except (json.JSONDecodeError, KeyError, TypeError):
                    self.unreadable += 1  # a line cut short by an interrupted run
        if self.unreadable:
            log.warning(
                "%s: ignored %d unreadable cache lines; those prompts are judged again",
                self.path,
                self.unreadable,
            )

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached entry for `key`, if any."""
        return self.entries.get(key)

    def put(self, key: str, reply: str, usage: dict[str, int]) -> None:
        """Record a reply; appended and flushed at once so an interrupted run keeps its work."""
        entry = {"key": key, "reply": reply, "usage": usage}
        with self._lock:
            self.entries[key] = entry
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")


class JudgeError(RuntimeError):
    """The judge endpoint failed for good (after retries, or with a non-retryable error)."""


@dataclass
class JudgeClient:
    """Chat completions against one endpoint, with retries and exponential backoff."""

    endpoint: str
    judge_model: str
    api_key: str = field(repr=False)  # never shown, logged or written
    temperature: float = 0.0
    max_tokens: int = 2048
    max_retries: int = 5
    backoff: float = 1.0  # seconds before the first retry; doubled each time
    timeout: float = 120.0
    stats: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_STATS, 0))

    def __post_init__(self) -> None:
        from openai import OpenAI

        quiet_http_logs()
        # The client's own retries are off: ours count them and use our backoff.
        self._client = OpenAI(
            base_url=self.endpoint, api_key=self.api_key, max_retries=0, timeout=self.timeout
        )
        self._lock = threading.Lock()

    @property
    def params(self) -> dict[str, Any]:
        """Sampling parameters: part of the cache key."""
        return {"temperature": self.temperature, "max_tokens": self.max_tokens}

    def complete(self, messages: list[dict[str, str]]) -> tuple[str, dict[str, int]]:
        """The judge's reply and token usage; retries 429, 5xx and connection errors."""
        import openai

        for attempt in range(self.max_retries + 1):
            try:
                resp = self._client.chat.completions.create(
                    model=self.judge_model, messages=messages, **self.params
                )
                break
            except (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError):
                if attempt == self.max_retries:
                    raise JudgeError(self._explain(f"failed {attempt + 1} times")) from None
                self._count("retries")
                time.sleep(self.backoff * 2**attempt * (1 + 0.1 * random.random()))
            except openai.APIStatusError as exc:
                raise JudgeError(self._explain(f"returned HTTP {exc.status_code}")) from None
        reply = resp.choices[0].message.content or ""
        usage = {
            "prompt_tokens": getattr(resp.usage, "prompt_tokens", 0) or 0,
            "completion_tokens": getattr(resp.usage, "completion_tokens", 0) or 0,
        }
        self._count("requests", **usage)
        return reply, usage

    def _count(self, name: str, **tokens: int) -> None:
        with self._lock:
            self.stats[name] += 1
            for k, v in tokens.items():
                self.stats[k] += v

    def _explain(self, what: str) -> str:
        # No server text here: a misbehaving endpoint could echo the request, key included.
        return (
            f"judge endpoint {redact_url(self.endpoint)} {what} for model {self.judge_model!r}; "
            "check --endpoint, --judge-model and the API key variable (--api-key-env), then rerun: "
            "replies received so far are cached"
        )


_STATS = ("requests", "retries", "cache_hits", "prompt_tokens", "completion_tokens")


# Loggers that print request URLs (httpx's INFO "HTTP Request: POST <url>"; openai's client uses
# httpx or httpx2) or request details at DEBUG: an endpoint's user:password@ or ?key= would show.
HTTP_LOGGERS = ("httpx", "httpx2", "httpcore", "openai")


def quiet_http_logs() -> None:
    """Raise the HTTP client loggers to WARNING so an endpoint's credentials are never logged;
    our own counters (requests, retries, tokens) report the traffic instead."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET (inherit) included
            logger.setLevel(logging.WARNING)


def redact_url(url: str) -> str:
    """The endpoint without user:password@ or a query string, safe to print and store."""
    return re.sub(r"//[^/@]*@", "//", url).split("?")[0]


@dataclass
class Judgment:
    """One judged prompt: its cache key, the judge's reply and whether it came from the cache."""

    key: str
    reply: str
    usage: dict[str, int]
    cached: bool


def judge_all(
    client: JudgeClient,
    cache: JudgeCache,
    prompts: Sequence[list[dict[str, str]]],
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[Judgment]:
    """Judge every prompt (cache first; each new prompt sent once), results in input order."""
    keys = [cache_key(client.judge_model, m, client.params) for m in prompts]
    todo = {k: m for k, m in zip(keys, prompts, strict=True) if cache.get(k) is None}
    client.stats["cache_hits"] += len(keys) - len(todo)
    if progress is not None:
        progress(len(keys) - len(todo))

    def ask(key: str) -> None:
        reply, usage = client.complete(todo[key])
        cache.put(key, reply, usage)
        if progress is not None:
            progress(1)

    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        for future in [pool.submit(ask, k) for k in todo]:
            future.result()
    finally:
        # On a failure, drop the queued prompts; replies received so far are in the cache.
        pool.shutdown(wait=True, cancel_futures=True)
    return [
        Judgment(k, cache.get(k)["reply"], cache.get(k)["usage"], cached=k not in todo)
        for k in keys
    ]


# ---------------------------------------------------------------- grading


def grade_single(
    answers: Answers, client: JudgeClient, cache: JudgeCache, **kw: Any
) -> dict[str, Any]:
    """Grade each answer against its reference (1-10); metrics, breakdowns, items, unparsed."""
    rows = answers.rows
    judged = judge_all(client, cache, [single_messages(r) for r in rows], **kw)
    items = [
        {
            **_tags(row),
            "score": parse_rating(j.reply),
            "prompt_hash": j.key,
            "reply": j.reply,
            "cached": j.cached,
        }
        for row, j in zip(rows, judged, strict=True)
    ]
    unparsed = [{"id": it["id"], "reply": it["reply"]} for it in items if it["score"] is None]
    return _graded(items, _score_stats, unparsed)


def grade_pairwise(
    answers: Answers, against: Answers, client: JudgeClient, cache: JudgeCache, **kw: Any
) -> dict[str, Any]:
    """Judge each question with the two answers in both orders; a win needs both to agree."""
    pairs = join_answers([answers, against])
    prompts = [pair_messages(a, b) for a, b in pairs] + [pair_messages(b, a) for a, b in pairs]
    judged = judge_all(client, cache, prompts, **kw)
    first, second = judged[: len(pairs)], judged[len(pairs) :]
    items, unparsed = [], []
    for (row, _), j1, j2 in zip(pairs, first, second, strict=True):
        orders = [
            _order("answers_first", j1, {"A": "win", "B": "loss", "C": "tie"}),
            _order("against_first", j2, {"A": "loss", "B": "win", "C": "tie"}),
        ]
        outcomes = [o["outcome"] for o in orders]
        unparsed += [
            {"id": row.id, "order": o["order"], "reply": o["reply"]}
            for o in orders
            if o["verdict"] is None
        ]
        if None in outcomes:
            verdict, consistent = None, None
        else:
            consistent = outcomes[0] == outcomes[1]
            verdict = outcomes[0] if consistent else "tie"  # order disagreement: a tie
        items.append({**_tags(row), "verdict": verdict, "consistent": consistent, "orders": orders})
    return _graded(items, _pair_stats, unparsed)


def _order(name: str, j: Judgment, outcome: dict[str, str]) -> dict[str, Any]:
    verdict = parse_verdict(j.reply)
    return {
        "order": name,
        "verdict": verdict,
        "outcome": outcome.get(verdict or ""),
        "prompt_hash": j.key,
        "reply": j.reply,
        "cached": j.cached,
    }


def _tags(row: EvalItem) -> dict[str, Any]:
    return {"id": row.id, "set": row.subject, "dimension": row.dimension}


def _graded(items: list[dict[str, Any]], stats: Callable, unparsed: list) -> dict[str, Any]:
    return {
        "metrics": stats(items),
        "by_set": _breakdown(items, "set", stats),
        "by_dimension": _breakdown(items, "dimension", stats),
        "items": items,
        "unparsed": unparsed,
    }


def _breakdown(items: list[dict[str, Any]], tag: str, stats: Callable) -> dict[str, Any]:
    """Stats per value of an item tag, when any item carries it; untagged items are kept apart."""
    if not any(it[tag] for it in items):
        return {}
    groups: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        groups.setdefault(it[tag] or "(none)", []).append(it)
    return {name: stats(group) for name, group in sorted(groups.items())}


def _score_stats(items: list[dict[str, Any]]) -> dict[str, Any]:
    scores = [it["score"] for it in items if it["score"] is not None]
    mean = sum(scores) / len(scores) if scores else None
    return {"score": mean, "n": len(scores), "unparsed": len(items) - len(scores)}


def _pair_stats(items: list[dict[str, Any]]) -> dict[str, Any]:
    verdicts = [it["verdict"] for it in items]
    wins, ties, losses = (verdicts.count(v) for v in ("win", "tie", "loss"))
    n = wins + ties + losses
    return {
        "win_rate": 100 * wins / n if n else None,
        # MT-Bench's "win rate adjusted": a tie counts as half a win.
        "win_rate_adjusted": 100 * (wins + ties / 2) / n if n else None,
        "wins": wins,
        "ties": ties,
        "losses": losses,
        "n": n,
        "order_disagreements": sum(it["consistent"] is False for it in items),
        "unparsed": len(items) - n,
    }
