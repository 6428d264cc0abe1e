"""A key put into --endpoint (user:password@ or ?key=) never reaches a log line, at any level."""

from __future__ import annotations

import logging

import pytest

from domaintune.eval.judge import JudgeClient, JudgeError
from eval.judge_server import FakeJudge


def test_endpoint_credentials_are_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    with FakeJudge(lambda messages: "7") as judge:
        host = judge.url.removeprefix("http://")
        client = JudgeClient(f"http://user:PASSWORD1@{host}", "j", "APIKEY3", max_retries=0)
        assert client.complete([{"role": "user", "content": "hi"}])[0] == "7"
        client = JudgeClient(f"http://{host}?api-key=QUERYKEY2", "j", "APIKEY3", max_retries=0)
        with pytest.raises(JudgeError) as err:
            client.complete([{"role": "user", "content": "hi"}])  # the query spoils the path
    assert str(err.value).startswith(f"judge endpoint http://{host} returned HTTP 404")
    assert judge.headers[0]["authorization"].startswith("Basic ")  # user:password sent...
    lines = [f"{r.name}: {r.getMessage()}" for r in caplog.records]
    secrets = ("PASSWORD1", "QUERYKEY2", "APIKEY3")
    assert [line for line in lines if any(s in line for s in secrets)] == []  # ...never logged
    for name in ("httpx", "httpx2", "httpcore", "openai"):
        assert logging.getLogger(name).level == logging.WARNING
