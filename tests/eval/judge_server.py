"""A local OpenAI-compatible chat server with scripted replies, for judge tests (127.0.0.1 only)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """A scripted reply with its token usage."""

    content: str
    prompt_tokens: int = 100
    completion_tokens: int = 10


@dataclass
class Fail:
    """A scripted HTTP error (429, 500, ...)."""

    status: int


Script = Callable[[list[dict[str, str]]], "str | Reply | Fail"]


class FakeJudge:
    """POST /v1/chat/completions answered by `script(messages)`; records every request.

    Use as a context manager; `url` is the base URL for `OpenAI(base_url=...)`. A plain string
    from the script is a Reply with the default usage (100 prompt, 10 completion tokens).
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []  # bodies, in arrival order
        self.headers: list[dict[str, str]] = []  # names lower-cased
        self.errors = 0  # scripted failures sent
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeJudge:
        # A short poll interval: shutdown() waits for the next poll.
        thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def served(self) -> int:
        """Requests answered with a reply (not a scripted failure)."""
        return len(self.requests) - self.errors

    def _respond(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            out = self.script(body["messages"])
            if isinstance(out, Fail):
                self.errors += 1
        if isinstance(out, Fail):
            return out.status, {"error": {"message": "scripted failure", "type": "server_error"}}
        reply = Reply(out) if isinstance(out, str) else out
        return 200, {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not self.path.endswith("/chat/completions"):
                    status, payload = 404, {"error": {"message": f"no route {self.path}"}}
                else:
                    status, payload = fake._respond(
                        body, {k.lower(): v for k, v in self.headers.items()}
                    )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass  # keep test output clean

        return Handler
