"""The server as users meet it: a subprocess on a loopback port, called with the `openai` client."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import openai
import pytest

from domaintune.eval.generate import generate_ids, pad_token_id, render_prompts, stop_token_ids
from domaintune.models import load_for_eval
from domaintune.records import EvalItem


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url, api_key=server.key, max_retries=0, timeout=60)


def _eval_gen(path, questions, max_new):
    """What `domaintune eval gen` generates for these questions: (token ids, decoded text)."""
    model, tok = load_for_eval(path)
    items = [EvalItem(id=str(i), question=q, answer="") for i, q in enumerate(questions)]
    stops = stop_token_ids(model, tok)
    ids = generate_ids(model, render_prompts(tok, items), stop_ids=stops,
                       pad_id=pad_token_id(tok, stops), batch_size=4, max_new_tokens=max_new,
                       show_progress=False)  # fmt: skip
    return [(i, tok.decode(i, skip_special_tokens=True)) for i in ids]


def test_models_lists_base_and_adapters(client):
    ids = sorted(m.id for m in client.models.list().data)
    assert ids == ["law", "med", "model"]


@pytest.mark.parametrize("name", ["med", pytest.param("model", marks=pytest.mark.slow)])
def test_greedy_chat_equals_eval_gen(client, name, tiny_model_dir, adapters, questions):
    path = tiny_model_dir if name == "model" else adapters[name]
    expected = _eval_gen(path, questions[:4], 12)
    for q, (ids, text) in zip(questions, expected, strict=False):
        r = client.chat.completions.create(
            model=name, messages=[{"role": "user", "content": q}], max_tokens=12, temperature=0
        )
        assert r.choices[0].message.content == text
        assert r.usage.completion_tokens == len(ids)
        assert r.choices[0].finish_reason == ("length" if len(ids) == 12 else "stop")
    if name == "med":  # the random base repeats one token; the adapter's answers differ
        assert len({t for _, t in expected}) > 1


def test_stream_equals_non_stream_and_adapters_differ(client, questions):
    messages = [{"role": "system", "content": "be brief"},
                {"role": "user", "content": questions[0]}]  # fmt: skip
    whole = {}
    for name in ("model", "med", "law"):
        r = client.chat.completions.create(model=name, messages=messages, max_tokens=12,
                                           temperature=0)  # fmt: skip
        whole[name] = r.choices[0].message.content
        chunks = list(client.chat.completions.create(
            model=name, messages=messages, max_tokens=12, temperature=0, stream=True,
            stream_options={"include_usage": True}))  # fmt: skip
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == whole[name]
        assert chunks[0].choices[0].delta.role == "assistant"
        assert chunks[-2].choices[0].finish_reason == r.choices[0].finish_reason
        assert chunks[-1].usage.completion_tokens == r.usage.completion_tokens
        assert chunks[-1].usage.prompt_tokens == r.usage.prompt_tokens
    assert len(set(whole.values())) == 3  # each model answers differently


def test_completions_n_seed_stop_and_finish_reasons(client):
    kw = dict(model="model", prompt="the heart pumps blood", max_tokens=8)
    greedy = client.completions.create(**kw, temperature=0)
    assert greedy.choices[0].finish_reason == "length" and greedy.usage.completion_tokens == 8
    text = greedy.choices[0].text
    stop = text[3:5]
    cut = client.completions.create(**kw, temperature=0, stop=[stop])
    assert cut.choices[0].text == text[: text.find(stop)]
    assert cut.choices[0].finish_reason == "stop"
    a = client.completions.create(**kw, temperature=1.0, seed=3, n=3)
    b = client.completions.create(**kw, temperature=1.0, seed=3, n=3)
    assert [c.index for c in a.choices] == [0, 1, 2]
    assert [c.text for c in a.choices] == [c.text for c in b.choices]
    assert len({c.text for c in a.choices}) > 1  # n samples, not one answer three times
    two = client.completions.create(model="model", prompt=["the heart", "blood"], max_tokens=4,
                                    temperature=0)  # fmt: skip
    assert len(two.choices) == 2 and two.usage.completion_tokens == 8
    streamed = client.completions.create(**kw, temperature=0, stream=True)
    assert "".join(c.choices[0].text for c in streamed) == text


def _post(server, path, body, key, raw=None):
    key = server.key if key == "KEY" else key
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    content = raw if raw is not None else json.dumps(body)
    headers["Content-Type"] = "application/json"
    return httpx.post(server.url + path, content=content, headers=headers, timeout=30)


CHAT = {"model": "model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


@pytest.mark.parametrize(
    "body,raw,key,status,code,text",
    [
        (CHAT, None, None, 401, "invalid_api_key", "API key"),
        (CHAT, None, "sk-wrong", 401, "invalid_api_key", "API key"),
        (None, b'{"model": "model", "messages": [', "KEY", 400, None, "malformed JSON"),
        ({**CHAT, "model": "gpt-9"}, None, "KEY", 404, "model_not_found", "'gpt-9' not found"),
        ({"model": "model"}, None, "KEY", 400, None, "messages: Field required"),
        ({**CHAT, "messages": []}, None, "KEY", 400, None, "messages: List should have at"),
        ({**CHAT, "max_tokens": 1001}, None, "KEY", 400, None, "over this server's limit 1000"),
        (
            {**CHAT, "messages": [{"role": "user", "content": "heart " * 1100}]},
            None,
            "KEY",
            400,
            "context_length_exceeded",
            "this model's context is 1024",
        ),
        ({**CHAT, "temperature": 3}, None, "KEY", 400, None, "temperature: Input should be"),
        (None, b"{" + b" " * (1 << 20) + b"}", "KEY", 413, "body_too_large", "over 1048576"),
        (None, b"[1, 2]", "KEY", 400, None, "must be a JSON object"),
    ],
)
def test_errors_are_openai_style_4xx(server, body, raw, key, status, code, text):
    r = _post(server, "/chat/completions", body, key=key, raw=raw)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert text in err["message"] and err["code"] == code and err["type"]
    assert "Traceback" not in r.text


def test_client_raises_typed_errors(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=client.base_url, api_key="bad", max_retries=0).models.list()


def test_disconnect_mid_stream_frees_the_slot(server, client):
    health = lambda: httpx.get(server.url.removesuffix("/v1") + "/health").json()  # noqa: E731
    before = health()["cancelled"]
    body = {**CHAT, "max_tokens": 900, "stream": True}  # the base never stops early
    headers = {"Authorization": f"Bearer {server.key}"}
    with httpx.stream("POST", server.url + "/chat/completions", json=body, headers=headers) as r:
        for line in r.iter_lines():
            if line.startswith("data: ") and '"content"' in line:
                break
    for _ in range(200):
        if health()["cancelled"] == before + 1:
            break
        time.sleep(0.05)
    assert health() == {"status": "ok", "running": 0, "waiting": 0, "cancelled": before + 1}


def test_hundred_concurrent_requests_async(server, questions):
    async def main():
        client = openai.AsyncOpenAI(base_url=server.url, api_key=server.key, max_retries=0,
                                    timeout=120)  # fmt: skip
        names = ["model", "med", "law"]
        calls = [
            client.chat.completions.create(
                model=names[i % 3], messages=[{"role": "user", "content": questions[i % 6]}],
                max_tokens=4, temperature=0)
            for i in range(100)
        ]  # fmt: skip
        return await asyncio.gather(*calls)

    results = asyncio.run(main())
    assert len(results) == 100
    for i, r in enumerate(results):
        assert r.model == ["model", "med", "law"][i % 3]
        assert r.choices[0].finish_reason in ("stop", "length")
        done = r.usage.completion_tokens
        assert done == 4 or r.choices[0].finish_reason == "stop"
    first = {}
    for i, r in enumerate(results):  # same model and question: same greedy answer, batched or not
        first.setdefault((i % 3, i % 6), r.choices[0].message.content)
        assert r.choices[0].message.content == first[(i % 3, i % 6)]


def test_key_never_logged(server, client):
    client.models.list()
    assert "serving on" in server.log.read_text()
    assert server.key not in server.log.read_text()
