"""The OpenAI-compatible HTTP face of the engine (FastAPI): /v1/models, /v1/chat/completions,
/v1/completions, streamed as server-sent events or not.

Every error is an OpenAI-style body (`{"error": {message, type, param, code}}`) with a 4xx status;
a failure inside generation is a 500 with the same body, never a traceback. With an API key, every
/v1 request needs `Authorization: Bearer KEY` (compared in constant time); the key is never logged.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from domaintune.serve.engine import Engine, SamplingParams, Sequence
from domaintune.serve.loading import Served
from domaintune.serve.protocol import ChatRequest, CompletionRequest, error_body

MAX_BODY = 1 << 20  # bytes of a request body
MAX_TOKENS = 4096  # the largest max_tokens a request may ask for


class APIError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", *,
                 param: str | None = None, code: str | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.body = status, error_body(message, kind, param=param, code=code)


def create_app(
    engine: Engine, *, api_key: str | None = None, max_body: int = MAX_BODY,
    max_tokens: int = MAX_TOKENS,
) -> FastAPI:  # fmt: skip
    """The app; `engine` must be started (and is closed by whoever started it)."""
    app = FastAPI(title="domaintune", docs_url=None, redoc_url=None, openapi_url=None)
    created = int(time.time())

    @app.exception_handler(APIError)
    async def _api_error(request: Request, err: APIError) -> JSONResponse:
        return JSONResponse(err.body, status_code=err.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        body = error_body(f"{request.method} {request.url.path}: {err.detail}",
                          "invalid_request_error")  # fmt: skip
        return JSONResponse(body, status_code=err.status_code)

    @app.exception_handler(Exception)
    async def _server_error(request: Request, err: Exception) -> JSONResponse:
        body = error_body(f"internal error: {type(err).__name__}", "server_error")
        return JSONResponse(body, status_code=500)

    @app.middleware("http")
    async def _auth(request: Request, call_next: Any) -> Any:
        if api_key and request.url.path.startswith("/v1"):
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
                body = error_body("missing or wrong API key: send 'Authorization: Bearer KEY'",
                                  "invalid_request_error", code="invalid_api_key")  # fmt: skip
                return JSONResponse(body, status_code=401)
        return await call_next(request)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", **engine.stats()}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        data = [
            {"id": s.name, "object": "model", "created": created, "owned_by": "domaintune",
             "root": str(s.path), "parent": None if s.adapter is None else _base_name(engine)}
            for s in engine.served.values()
        ]  # fmt: skip
        return {"object": "list", "data": data}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        req = await _parse(request, ChatRequest, max_body)
        served = _served(engine, req.model)
        prompt = chat_prompt(served, [m.plain() for m in req.messages])
        return await _respond(engine, req, served, [prompt], max_tokens, chat=True)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        req = await _parse(request, CompletionRequest, max_body)
        served = _served(engine, req.model)
        prompts = [served.tokenizer(p)["input_ids"] for p in req.prompts()]
        if not prompts or any(not p for p in prompts):
            raise APIError(400, "prompt is empty", param="prompt")
        return await _respond(engine, req, served, prompts, max_tokens, chat=False)

    return app


def _base_name(engine: Engine) -> str:
    return next(s.name for s in engine.served.values() if s.adapter is None)


async def _parse(request: Request, model: type, max_body: int) -> Any:
    """The body as `model`, or a 400/413 naming what is wrong."""
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise APIError(413, f"request body over {max_body} bytes", code="body_too_large")
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise APIError(400, f"malformed JSON in the request body: {err}") from None
    if not isinstance(data, dict):
        raise APIError(400, "the request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise APIError(400, f"{where}: {first['msg']}", param=where) from None


def _served(engine: Engine, name: str) -> Served:
    if name not in engine.served:
        known = ", ".join(sorted(engine.served))
        raise APIError(404, f"model {name!r} not found; GET /v1/models lists {known}",
                       param="model", code="model_not_found")  # fmt: skip
    return engine.served[name]


def chat_prompt(served: Served, messages: list[dict[str, str]]) -> list[int]:
    """Token ids of the chat prompt: `eval gen`'s own rendering (eval.generate.render_prompt)."""
    from domaintune.eval.generate import check_template, render_prompt

    try:
        check_template(served.tokenizer, served.template)  # "pass --template ..." when none
        return render_prompt(served.tokenizer, messages, template=served.template)
    except Exception as err:  # noqa: BLE001 (a template that refuses these messages: the client's)
        raise APIError(400, f"messages: {err}", param="messages") from None


def _params(req: Any, served: Served, prompts: list[list[int]], cap: int) -> SamplingParams:
    longest = max(len(p) for p in prompts)
    room = served.context - longest
    if room <= 0:
        raise APIError(400, f"the prompt is {longest} tokens; this model's context is "
                       f"{served.context}", param="messages",
                       code="context_length_exceeded")  # fmt: skip
    wanted = req.limit()
    if wanted is not None and wanted > cap:
        raise APIError(400, f"max_tokens {wanted} is over this server's limit {cap}",
                       param="max_tokens")  # fmt: skip
    if wanted is not None and wanted > room:
        raise APIError(400, f"the prompt ({longest} tokens) plus max_tokens ({wanted}) is over "
                       f"the context ({served.context})", param="max_tokens",
                       code="context_length_exceeded")  # fmt: skip
    return SamplingParams(max_tokens=wanted or min(cap, room), temperature=req.temperature,
                          top_p=req.top_p, seed=req.seed, stop=req.stops())  # fmt: skip


async def _respond(engine: Engine, req: Any, served: Served, prompts: list[list[int]],
                   cap: int, *, chat: bool) -> Any:  # fmt: skip
    params = _params(req, served, prompts, cap)
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()

    def on_event(seq: Sequence, delta: str, done: bool) -> None:
        loop.call_soon_threadsafe(events.put_nowait, (seq, delta, done))

    seqs = [
        Sequence(served, p, params, on_event, index=i * req.n + j)
        for i, p in enumerate(prompts) for j in range(req.n)
    ]  # fmt: skip
    for s in seqs:
        engine.submit(s)
    meta = {"id": f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}",
            "created": int(time.time()), "model": served.name}  # fmt: skip
    usage_prompt = sum(len(p) for p in prompts)
    if req.stream:
        stream = _stream(events, seqs, meta, chat=chat, usage=req.include_usage(),
                         prompt_tokens=usage_prompt)  # fmt: skip
        return StreamingResponse(stream, media_type="text/event-stream")
    try:
        left = len(seqs)
        while left:
            _, _, done = await events.get()
            left -= done
    finally:
        for s in seqs:
            s.cancel()  # a no-op for finished ones; frees the slots of a vanished client
    failed = [s.error for s in seqs if s.error]
    if failed:
        raise APIError(500, f"generation failed: {failed[0]}", "server_error")
    return {**meta, "object": "chat.completion" if chat else "text_completion",
            "choices": [_choice(s, chat) for s in seqs],
            "usage": _usage(usage_prompt, seqs)}  # fmt: skip


def _choice(s: Sequence, chat: bool) -> dict[str, Any]:
    body = {"message": {"role": "assistant", "content": s.text}} if chat else {"text": s.text}
    return {"index": s.index, **body, "finish_reason": s.finish_reason, "logprobs": None}


def _usage(prompt_tokens: int, seqs: list[Sequence]) -> dict[str, int]:
    done = sum(len(s.tokens) for s in seqs)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": done,
            "total_tokens": prompt_tokens + done}  # fmt: skip


def _sse(obj: Any) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


async def _stream(events: asyncio.Queue, seqs: list[Sequence], meta: dict[str, Any], *,
                  chat: bool, usage: bool, prompt_tokens: int) -> AsyncIterator[str]:  # fmt: skip
    kind = "chat.completion.chunk" if chat else "text_completion"

    def chunk(index: int, text: str | None, finish: str | None, role: bool = False) -> str:
        if chat:
            delta = {"role": "assistant", "content": ""} if role else {}
            if text:
                delta["content"] = text
            choice = {"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}
        else:
            choice = {"index": index, "text": text or "", "finish_reason": finish,
                      "logprobs": None}  # fmt: skip
        return _sse({**meta, "object": kind, "choices": [choice]})

    try:
        if chat:
            for s in seqs:
                yield chunk(s.index, None, None, role=True)
        left = len(seqs)
        while left:
            seq, delta, done = await events.get()
            if delta:
                yield chunk(seq.index, delta, None)
            if done:
                left -= 1
                if seq.error:
                    yield _sse(error_body(f"generation failed: {seq.error}", "server_error"))
                    return
                yield chunk(seq.index, None, seq.finish_reason)
        if usage:
            counts = _usage(prompt_tokens, seqs)
            yield _sse({**meta, "object": kind, "choices": [], "usage": counts})
        yield "data: [DONE]\n\n"
    finally:  # also when the client went away mid-stream: free its rows in the batch
        for s in seqs:
            s.cancel()


def run_server(engine: Engine, *, host: str = "127.0.0.1", port: int = 8000,
               api_key: str | None = None, max_tokens: int = MAX_TOKENS,
               announce: Any = print) -> None:  # fmt: skip
    """Serve until interrupted. Port 0 picks a free port; the line `serving on URL` names it."""
    import socket

    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening before the announcement: a client that reads the line and connects while
    # uvicorn still starts waits in the backlog instead of being refused (seen under load).
    sock.listen(2048)
    bound = sock.getsockname()[1]
    app = create_app(engine, api_key=api_key, max_tokens=max_tokens)
    config = uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=2)
    shown = f"[{host}]" if ":" in host else host
    announce(f"serving on http://{shown}:{bound}/v1 (models: {', '.join(engine.served)})")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        engine.close()
