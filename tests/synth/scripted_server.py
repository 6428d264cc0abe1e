"""A scripted OpenAI-compatible chat server, run as its own process on 127.0.0.1.

    python scripted_server.py '{"delay": 0.2, "faults": ["429", "500"]}'

prints `PORT <n>` once listening. Requests are counted by the sha256 of their JSON body (sorted
keys): `GET /stats` returns {"received": {hash: n}, "answered": {hash: n}, ...}; `POST /control`
merges a JSON object into the settings. Settings:
    delay         seconds before each reply
    faults        per-request-hash sequence for its 1st, 2nd, ... attempt: "429", "500",
                  "malformed" (a 200 whose body is not JSON), "nochoices" (JSON without choices),
                  "timeout" (sleep `timeout_sleep` s, then reply); later attempts succeed
    fault_every   only hashes with int(hash, 16) % fault_every == 0 get faults (default 1: all)
    retry_after   the Retry-After header sent with 429/500 (a string; none when null)
    storm_s       every request gets 429 for this many seconds after the first one arrives
                  (setting it through /control starts a new storm at the next request)
    hang_after    after this many requests have arrived, hold every further one unanswered
    responder     "path/to/file.py:function": content = function(messages, body) (default: echo)
The default reply content is "reply <hash[:8]>: <last user message>": deterministic per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from typing import Any

_REASONS = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}


def body_hash(body: dict[str, Any]) -> str:
    """The server's request identity: sha256 of the body's canonical JSON."""
    blob = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Script:
    """The server's state: settings, counters and the reply rules."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = {"delay": 0.0, "faults": [], "fault_every": 1, "retry_after": None,
                         "storm_s": 0.0, "hang_after": None, "timeout_sleep": 5.0,
                         "responder": None, **settings}  # fmt: skip
        self.received: Counter = Counter()
        self.answered: Counter = Counter()
        self.faults_sent: Counter = Counter()
        self.first_at: float | None = None
        self.inflight = 0
        self.max_inflight = 0
        self.hold = asyncio.Event()
        self._responder = _load(self.settings["responder"])

    async def chat(self, body: dict[str, Any]) -> tuple[int, bytes, dict[str, str]]:
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            return await self._chat(body)
        finally:
            self.inflight -= 1

    async def _chat(self, body: dict[str, Any]) -> tuple[int, bytes, dict[str, str]]:
        key = body_hash(body)
        self.received[key] += 1
        now = time.monotonic()
        self.first_at = self.first_at or now
        s = self.settings
        if now - self.first_at < s["storm_s"]:
            return self._fault("429")
        hang = s["hang_after"]
        if hang is not None and sum(self.received.values()) > hang:
            await self.hold.wait()  # never set: the client is killed while waiting
        faults = s["faults"] if int(key, 16) % int(s["fault_every"]) == 0 else []
        attempt = self.received[key] - 1
        if attempt < len(faults):
            fault = faults[attempt]
            if fault == "timeout":
                await asyncio.sleep(s["timeout_sleep"])
            else:
                return self._fault(fault)
        if s["delay"]:
            await asyncio.sleep(s["delay"])
        self.answered[key] += 1
        return 200, json.dumps(self._completion(key, body), ensure_ascii=False).encode(), {}

    def _fault(self, kind: str) -> tuple[int, bytes, dict[str, str]]:
        self.faults_sent[kind] += 1
        if kind == "malformed":
            return 200, b'{"id": "chatcmpl-x", "choices": [{"message": ', {}
        if kind == "nochoices":
            return 200, b'{"id": "chatcmpl-x", "object": "chat.completion"}', {}
        headers = {}
        if self.settings["retry_after"] is not None:
            headers["Retry-After"] = str(self.settings["retry_after"])
        payload = {"error": {"message": f"scripted {kind}", "type": "scripted"}}
        return int(kind), json.dumps(payload).encode(), headers

    def _completion(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        if self._responder is not None:
            content = self._responder(messages, body)
        else:
            user = [m["content"] for m in messages if m["role"] == "user"]
            content = f"reply {key[:8]}: {user[-1] if user else ''}"
        prompt_tokens = sum(len(m["content"]) for m in messages) // 4 + 1
        return {
            "id": f"chatcmpl-{key[:12]}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", ""),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(content) // 4 + 1,
                      "total_tokens": prompt_tokens + len(content) // 4 + 1},
        }  # fmt: skip

    def stats(self) -> dict[str, Any]:
        return {
            "received": dict(self.received),
            "answered": dict(self.answered),
            "faults": dict(self.faults_sent),
            "max_inflight": self.max_inflight,
        }


def _load(spec: str | None) -> Any:
    if not spec:
        return None
    path, name = spec.rsplit(":", 1)
    module_spec = importlib.util.spec_from_file_location("responder", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return getattr(module, name)


async def _serve_connection(script: Script, reader, writer) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, v in
                       (line.split(":", 1) for line in lines[1:] if ":" in line)}  # fmt: skip
            raw = await reader.readexactly(int(headers.get("content-length", 0)))
            status, data, extra = await _route(script, method, path, raw)
            writer.write(_response(status, data, extra))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _route(script: Script, method: str, path: str, raw: bytes) -> tuple[int, bytes, dict]:
    if method == "GET" and path == "/stats":
        return 200, json.dumps(script.stats()).encode(), {}
    if method == "POST" and path == "/control":
        update = json.loads(raw)
        script.settings.update(update)
        if "storm_s" in update:
            script.first_at = None  # the storm starts with the next request
        return 200, b"{}", {}
    if method == "POST" and path.endswith("/chat/completions"):
        return await script.chat(json.loads(raw))
    return 404, json.dumps({"error": {"message": f"no route {path}"}}).encode(), {}


def _response(status: int, data: bytes, extra: dict[str, str]) -> bytes:
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            "Content-Type: application/json", f"Content-Length: {len(data)}",
            *(f"{k}: {v}" for k, v in extra.items())]  # fmt: skip
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


async def main(settings: dict[str, Any]) -> None:
    script = Script(settings)
    server = await asyncio.start_server(
        lambda r, w: _serve_connection(script, r, w), "127.0.0.1", 0, backlog=1024
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


class ScriptedServer:
    """Start the server as a subprocess (stopped by its pid); `url` is the OpenAI base URL."""

    def __init__(self, **settings: Any) -> None:
        self.settings = settings
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> ScriptedServer:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, json.dumps(self.settings)],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"scripted server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=10) as r:
            return json.loads(r.read())

    def control(self, **settings: Any) -> None:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/control", data=json.dumps(settings).encode()
        )
        with urllib.request.urlopen(req, timeout=10):
            pass


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
