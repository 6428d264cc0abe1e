"""Async teacher client for any OpenAI-compatible endpoint (the `openai` package).

Bounded concurrency (a semaphore), retries with exponential backoff and jitter that honour
`Retry-After` (and `retry-after-ms`) on 429 and 5xx, a persistent request cache (cache.py) so a
killed run repeats no answered request, token and cost accounting, and a progress bar with rate
and ETA. The API key is read from an environment variable and kept only in memory.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import os
import random
import re
import ssl
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domaintune.synth.cache import RequestCache, request_key

Messages = list[dict[str, str]]
# Servers on the loopback need no key; everything else does.
_SLOTS_PER_CLIENT = 8
_LOCAL = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/|$)")


class TeacherError(RuntimeError):
    """The endpoint refused for good (bad key, unknown model, wrong URL): stop the run."""


@dataclass
class Reply:
    """One teacher reply (from the endpoint or the cache)."""

    key: str
    content: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    cached: bool = False


@dataclass
class Usage:
    """What a run asked, got and paid; prices are per million tokens."""

    requested: int = 0
    cache_hits: int = 0
    sent: int = 0  # HTTP requests made, retries included
    received: int = 0  # replies received from the endpoint (not the cache)
    failed: int = 0  # prompts with no reply after every retry
    retries: Counter = field(default_factory=Counter)  # by reason: 429, 5xx, timeout, ...
    prompt_tokens: int = 0
    completion_tokens: int = 0
    price_in: float = 0.0
    price_out: float = 0.0
    longest_wait_s: float = 0.0  # the longest single backoff sleep

    @property
    def cost(self) -> float:
        """Cost of the tokens received in this run (cached replies are free)."""
        return (self.prompt_tokens * self.price_in + self.completion_tokens * self.price_out) / 1e6

    def to_dict(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "cache_hits": self.cache_hits,
            "sent": self.sent,
            "received": self.received,
            "failed": self.failed,
            "retries": dict(self.retries.most_common()),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": round(self.cost, 6),
            "longest_wait_s": round(self.longest_wait_s, 3),
        }


def retry_after(headers: Any) -> float | None:
    """Seconds a 429/5xx asks us to wait: `retry-after-ms`, `retry-after` (seconds or a date)."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / scale)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        return max(0.0, when.timestamp() - time.time())
    return None


def read_api_key(env: str, base_url: str) -> str:
    """The key from environment variable `env`; loopback endpoints may go without one."""
    key = os.environ.get(env)
    if key:
        return key
    if _LOCAL.match(base_url):
        return "EMPTY"
    raise TeacherError(
        f"environment variable {env} is not set; export the endpoint's API key there "
        "(or name another variable with --api-key-env). The key is never written to disk."
    )


@dataclass
class TeacherClient:
    """Chat completions for many prompts at once, cached, retried and accounted."""

    base_url: str
    model: str
    cache: RequestCache | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 32
    temperature: float = 0.7
    max_tokens: int = 1024
    max_retries: int = 10
    backoff: float = 1.0  # seconds before the first retry without Retry-After; doubled each time
    max_wait: float = 60.0  # no single wait is longer, whatever Retry-After says
    timeout: float = 120.0
    price_in: float = 0.0
    price_out: float = 0.0
    transport: str = "auto"  # "aiohttp" when installed, else "httpx" (openai's default)
    usage: Usage = field(init=False)

    def __post_init__(self) -> None:
        self._api_key = read_api_key(self.api_key_env, self.base_url)  # memory only
        self.usage = Usage(price_in=self.price_in, price_out=self.price_out)
        self._rng = random.Random()

    def __repr__(self) -> str:  # no key in logs or tracebacks
        return f"TeacherClient(base_url={redact_url(self.base_url)!r}, model={self.model!r})"

    def params(self, seed: int | None = None) -> dict[str, Any]:
        """Sampling parameters sent with (and hashed into the key of) every request."""
        out: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if seed is not None:
            out["seed"] = seed
        return out

    def key(self, messages: Messages, seed: int | None = None) -> str:
        """The cache key of one request."""
        return request_key(self.model, messages, self.params(seed))

    def run(
        self,
        prompts: Sequence[Messages],
        *,
        seeds: Sequence[int | None] | None = None,
        progress: bool = False,
        description: str = "teacher",
    ) -> list[Reply | None]:
        """Ask every prompt (cache first); replies in input order, None where all retries failed."""
        return asyncio.run(
            self.arun(prompts, seeds=seeds, progress=progress, description=description)
        )

    async def arun(
        self,
        prompts: Sequence[Messages],
        *,
        seeds: Sequence[int | None] | None = None,
        progress: bool = False,
        description: str = "teacher",
    ) -> list[Reply | None]:
        """Async form of `run`."""
        from openai import AsyncOpenAI

        seeds = list(seeds) if seeds is not None else [None] * len(prompts)
        self.usage.requested += len(prompts)
        out: list[Reply | None] = [None] * len(prompts)
        keys = [self.key(m, seed) for m, seed in zip(prompts, seeds, strict=True)]
        todo = self._from_cache(keys, out)
        # The client's own retries are off: ours honour Retry-After, count and cap the waits.
        # One HTTP client per 8 slots: httpcore's pool scans every connection on every request,
        # which at 32 connections cost a quarter of our CPU per request.
        slots = max(1, self.concurrency)
        clients = [
            AsyncOpenAI(
                base_url=self.base_url, api_key=self._api_key, max_retries=0, timeout=self.timeout,
                http_client=_http_client(self.transport),
            )
            for _ in range(-(-slots // _SLOTS_PER_CLIENT))
        ]
        free: asyncio.Queue[int] = asyncio.Queue()
        for slot in range(slots):
            free.put_nowait(slot)
        with _Bar(progress, description, len(prompts), self.usage) as bar:
            bar.advance(len(prompts) - len(todo))

            async def one(i: int) -> None:
                slot = await free.get()
                try:
                    client = clients[slot % len(clients)]
                    out[i] = await self._ask(client, prompts[i], seeds[i], keys[i])
                finally:
                    free.put_nowait(slot)
                bar.advance(1)

            try:
                await asyncio.gather(*(one(i) for i in todo))
            finally:
                for client in clients:
                    await client.close()
        asked = {keys[i]: out[i] for i in todo}
        return [r if r is not None or keys[i] not in asked else asked[keys[i]]
                for i, r in enumerate(out)]  # fmt: skip

    def _from_cache(self, keys: list[str], out: list) -> list[int]:
        """Fill cached replies into `out`; the indexes to ask (a repeated request once)."""
        todo, first = [], {}
        for i, key in enumerate(keys):
            hit = self.cache.get(key) if self.cache is not None else None
            if hit is not None:
                self.usage.cache_hits += 1
                out[i] = _reply(key, hit, cached=True)
            elif key not in first:
                first[key] = i
                todo.append(i)
        return todo

    async def _ask(
        self, client: Any, messages: Messages, seed: int | None, key: str
    ) -> Reply | None:
        import openai

        for attempt in range(self.max_retries + 1):
            self.usage.sent += 1
            try:
                # The documented low-level call: the same route, errors and headers as
                # chat.completions.create, without its per-request typing work (half our CPU).
                body = {"model": self.model, "messages": messages, **self.params(seed)}
                resp = await client.post("/chat/completions", body=body, cast_to=object)
                reply = _parse(key, resp)
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                what = f"refused the key (HTTP {exc.status_code})"
                raise TeacherError(self._explain(what)) from None
            except openai.NotFoundError:
                raise TeacherError(self._explain("has no such model or route (HTTP 404)")) from None
            except openai.BadRequestError:
                break  # this prompt is refused; the others go on
            except Exception as exc:  # noqa: BLE001 - retried or dropped by kind, else raised
                reason, hint = _retry_reason(exc)
                if reason is None and not isinstance(exc, openai.APIStatusError):
                    raise  # not an endpoint failure: a bug to see, not a row to drop
                if reason is None or attempt == self.max_retries:
                    break  # another 4xx for this prompt, or retries spent: the others go on
                self.usage.retries[reason] += 1
                await asyncio.sleep(self._wait(attempt, hint))
                continue
            self.usage.received += 1
            self.usage.prompt_tokens += reply.prompt_tokens
            self.usage.completion_tokens += reply.completion_tokens
            if self.cache is not None:
                self.cache.put(key, {**_fields(reply), "model": self.model})
            return reply
        self.usage.failed += 1
        return None

    def _wait(self, attempt: int, hint: float | None) -> float:
        if hint is not None:  # honour Retry-After, plus up to 25% so a storm's retries spread out
            wait = hint * (1.0 + 0.25 * self._rng.random())
        else:  # "equal jitter" exponential backoff
            step = self.backoff * 2.0**attempt
            wait = step / 2 + self._rng.uniform(0, step / 2)
        wait = min(wait, self.max_wait)
        self.usage.longest_wait_s = max(self.usage.longest_wait_s, wait)
        return wait

    def _explain(self, what: str) -> str:
        return (
            f"teacher endpoint {redact_url(self.base_url)} {what} for model {self.model!r}; "
            f"check --base-url, --model and ${self.api_key_env}, then rerun: replies received so "
            "far are cached"
        )


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every HTTP client (each would load the CA bundle: ~0.1 s apiece)."""
    try:
        import certifi  # httpx's own CA bundle

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()


def _http_client(transport: str) -> Any:
    """aiohttp under openai's client when installed (`openai[aiohttp]`): less CPU per
    request than httpx (benchmarks/synth.py), which is what bounds throughput on small machines."""
    if transport != "httpx":
        try:
            import aiohttp  # noqa: F401
            from openai import DefaultAioHttpClient

            return DefaultAioHttpClient(verify=_ssl_context())
        except ImportError:
            pass
    from openai import DefaultAsyncHttpxClient

    return DefaultAsyncHttpxClient(verify=_ssl_context())


def _retry_reason(exc: BaseException) -> tuple[str | None, float | None]:
    """(reason, Retry-After seconds) for a retryable failure; (None, None) otherwise."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "timeout", None
    if isinstance(exc, openai.APIConnectionError):
        return "connection", None
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        if code == 429 or code >= 500 or code == 408:
            return str(code) if code < 500 else "5xx", retry_after(exc.response.headers)
        return None, None
    if isinstance(exc, ValueError | _Malformed | openai.APIResponseValidationError):
        return "malformed", None  # a 200 whose body is not a chat completion
    return None, None


class _Malformed(Exception):
    """A 200 reply without choices[0].message.content."""


def _parse(key: str, resp: Any) -> Reply:
    """A Reply from a chat completion's JSON; _Malformed when it is not one."""
    try:
        choice = resp["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise _Malformed(f"no choices[0].message.content ({exc!r})") from None
    if not isinstance(content, str):
        raise _Malformed("message content is not a string")
    usage = resp.get("usage") or {}
    return Reply(
        key,
        content,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        finish_reason=choice.get("finish_reason"),
    )


def _fields(reply: Reply) -> dict[str, Any]:
    return {
        "content": reply.content,
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "finish_reason": reply.finish_reason,
    }


def _reply(key: str, hit: dict[str, Any], *, cached: bool) -> Reply:
    names = ("content", "prompt_tokens", "completion_tokens", "finish_reason")
    return Reply(key, **{k: hit[k] for k in names}, cached=cached)


def redact_url(url: str) -> str:
    """The endpoint without user:password@ or a query string, safe to print and store."""
    return re.sub(r"//[^/@]*@", "//", url).split("?")[0]


class _Bar:
    """rich progress: done/total, rate, ETA and tokens; silent unless asked and on a terminal."""

    def __init__(self, enabled: bool, description: str, total: int, usage: Usage) -> None:
        self.enabled, self.description, self.total, self.usage = enabled, description, total, usage
        self._progress: Any = None
        self._advance: Callable[[int], None] = lambda n: None

    def __enter__(self) -> _Bar:
        if not self.enabled:
            return self
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[tokens]}"),
            transient=True,
            # Never swap sys.stdout/stderr: the bar lives across awaits, and a swapped stream
            # outlives a test's captured one (pytest then lost sys.stderr).
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._progress.__enter__()
        task = self._progress.add_task(self.description, total=self.total, rate="", tokens="")
        start = time.monotonic()

        def advance(n: int) -> None:
            t = self._progress.tasks[task]
            rate = (t.completed + n) / max(time.monotonic() - start, 1e-9)
            u = self.usage
            tokens = f"{u.prompt_tokens + u.completion_tokens} tok ${u.cost:.4f}"
            self._progress.update(task, advance=n, rate=f"{rate:.1f} req/s", tokens=tokens)

        self._advance = advance
        return self

    def advance(self, n: int) -> None:
        if n:
            self._advance(n)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)


def load_json_reply(text: str) -> Any:
    """Parse a JSON value from a teacher reply, tolerating ```json fences and prose around it."""
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    body = fenced.group(1) if fenced else text
    pairs = sorted((("[", "]"), ("{", "}")), key=lambda p: (body.find(p[0]) % (len(body) + 1)))
    for opener, closer in pairs:
        start, end = body.find(opener), body.rfind(closer)
        if start != -1 and end > start:
            try:
                return json.loads(body[start : end + 1])
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON value in the reply")


def default_cache_path(out: str | Path) -> Path:
    """Where a synth command keeps its request cache by default: beside its output file."""
    out = Path(out)
    return out.with_name(out.name.split(".")[0] + ".teacher-cache.sqlite")
