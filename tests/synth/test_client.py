"""Teacher client against the scripted server: faults, Retry-After, cache, accounting, key."""

from __future__ import annotations

import time

import pytest

from domaintune.synth.cache import RequestCache, request_key
from domaintune.synth.client import TeacherClient, TeacherError, retry_after
from synth.scripted_server import ScriptedServer, body_hash

DEFAULTS = {"delay": 0.0, "faults": [], "retry_after": None, "storm_s": 0.0, "hang_after": None,
            "timeout_sleep": 5.0}  # fmt: skip


@pytest.fixture(scope="module")
def server():
    """One scripted server for the module (a process start costs more than most tests here);
    each test sets its behaviour and asks its own prompts (their own request hashes)."""
    with ScriptedServer() as s:
        yield s


def _set(server: ScriptedServer, **settings) -> ScriptedServer:
    server.control(**{**DEFAULTS, **settings})
    return server


def _prompts(n: int, tag: str = "question") -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": f"{tag} {i}"}] for i in range(n)]


def _body(client: TeacherClient, messages) -> dict:
    return {"model": client.model, "messages": messages, **client.params()}


def test_every_fault_is_retried_and_each_prompt_answered_once(server, tmp_path):
    faults = ["429", "500", "malformed", "nochoices", "timeout"]
    _set(server, faults=faults, retry_after="0.05", timeout_sleep=1.0)
    before = server.stats()["faults"]
    client = TeacherClient(server.url, "teacher", cache=RequestCache(tmp_path / "c.sqlite"),
                           timeout=0.6, backoff=0.02, concurrency=6)  # fmt: skip
    replies = client.run(_prompts(6))
    stats = server.stats()
    hashes = [body_hash(_body(client, m)) for m in _prompts(6)]
    assert [r.content for r in replies] == [
        f"reply {h[:8]}: question {i}" for i, h in enumerate(hashes)
    ]
    assert [stats["received"][h] for h in hashes] == [6] * 6  # 5 faults, then the reply
    sent = {k: v - before.get(k, 0) for k, v in stats["faults"].items()}
    assert sent == {"429": 6, "500": 6, "malformed": 6, "nochoices": 6}
    usage = client.usage.to_dict()
    assert usage["retries"] == {"malformed": 12, "429": 6, "5xx": 6, "timeout": 6}
    assert (usage["sent"], usage["received"], usage["failed"]) == (36, 6, 0)
    # usage from the scripted replies: prompt len // 4 + 1, completion len // 4 + 1
    assert usage["prompt_tokens"] == sum(len(f"question {i}") // 4 + 1 for i in range(6))
    assert usage["completion_tokens"] == sum(len(r.content) // 4 + 1 for r in replies)


def test_retry_after_is_honoured(server):
    _set(server, faults=["429"], retry_after="0.5")
    client = TeacherClient(server.url, "teacher", backoff=0.01)
    start = time.monotonic()
    (reply,) = client.run(_prompts(1, "retry-after"))
    elapsed = time.monotonic() - start
    assert reply is not None and reply.content.endswith("retry-after 0")
    assert 0.5 <= elapsed < 2.0  # Retry-After 0.5 s plus at most 25% jitter (and a busy machine)
    assert 0.5 <= client.usage.longest_wait_s <= 0.625


def test_retry_after_forms():
    assert retry_after({"retry-after": "3"}) == 3.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after({}) is None


def test_cache_answers_a_rerun_without_any_request(server, tmp_path):
    _set(server, delay=0.01)
    received = sum(server.stats()["received"].values())
    first = TeacherClient(server.url, "t", cache=RequestCache(tmp_path / "c.sqlite"))
    a = first.run(_prompts(10))
    second = TeacherClient(server.url, "t", cache=RequestCache(tmp_path / "c.sqlite"))
    b = second.run(_prompts(10))
    assert sum(server.stats()["received"].values()) - received == 10
    assert [r.content for r in a] == [r.content for r in b]
    assert all(r.cached for r in b) and second.usage.cache_hits == 10
    assert second.usage.sent == 0 and second.usage.cost == 0.0
    key = request_key("t", _prompts(1)[0], {"temperature": 0.7, "max_tokens": 1024})
    assert a[0].key == key and len(RequestCache(tmp_path / "c.sqlite")) == 10


def test_concurrency_is_bounded_and_costs_add_up():
    with ScriptedServer(delay=0.1) as server:  # its own: max_inflight counts from the start
        client = TeacherClient(server.url, "t", concurrency=3, price_in=2.0, price_out=8.0)
        client.run(_prompts(12))
        assert server.stats()["max_inflight"] == 3
    u = client.usage
    assert u.cost == pytest.approx((u.prompt_tokens * 2.0 + u.completion_tokens * 8.0) / 1e6)


def test_exhausted_retries_give_none_and_bad_key_stops(server):
    _set(server, faults=["500", "500", "500"])
    client = TeacherClient(server.url, "t", max_retries=1, backoff=0.01)
    assert client.run(_prompts(2, "exhausted")) == [None, None]
    assert (client.usage.failed, client.usage.sent) == (2, 4)
    _set(server, faults=["401"])
    client = TeacherClient(server.url, "t")
    with pytest.raises(TeacherError, match="refused the key .HTTP 401"):
        client.run(_prompts(1, "bad key"))


def test_key_comes_from_the_environment_and_is_never_written(server, tmp_path, monkeypatch):
    secret = "sk-test-DO-NOT-STORE-1234567890"
    monkeypatch.setenv("SYNTH_KEY", secret)
    _set(server)
    client = TeacherClient(server.url, "t", api_key_env="SYNTH_KEY",
                           cache=RequestCache(tmp_path / "c.sqlite"))  # fmt: skip
    client.run(_prompts(3, "secret"))
    assert secret not in repr(client) and secret not in str(client.usage.to_dict())
    for path in tmp_path.iterdir():
        assert secret.encode() not in path.read_bytes()
    monkeypatch.delenv("SYNTH_KEY")
    with pytest.raises(TeacherError, match="SYNTH_KEY is not set"):
        TeacherClient("https://teacher.example/v1", "t", api_key_env="SYNTH_KEY")


def test_a_repeated_request_is_sent_once(server):
    _set(server)
    received = sum(server.stats()["received"].values())
    prompts = _prompts(2, "repeated") * 2
    replies = TeacherClient(server.url, "t").run(prompts)
    assert sum(server.stats()["received"].values()) - received == 2
    assert [r.content for r in replies[:2]] == [r.content for r in replies[2:]]
