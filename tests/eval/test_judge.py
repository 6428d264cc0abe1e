"""`domaintune eval judge` against a local OpenAI-compatible server with scripted replies."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.eval.judge import (
    PAIR_PROMPT,
    PAIR_SYSTEM,
    SINGLE_PROMPT,
    SINGLE_SYSTEM,
    cache_key,
    join_answers,
    load_answers,
    parse_rating,
    parse_verdict,
    single_messages,
)
from domaintune.io import write_json, write_jsonl
from domaintune.records import DataError, EvalItem
from eval.judge_server import Fail, FakeJudge, Reply

runner = CliRunner()
KEY = "sk-test-SECRET-do-not-leak-4821"
DOCS = Path(__file__).parents[2] / "docs" / "eval-review.md"


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("JUDGE_TEST_KEY", KEY)


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def _judge(tmp_path, url, answers, *extra, out="judge.json"):
    args = ["eval", "judge", "--answers", str(answers), "--endpoint", url]
    args += ["--judge-model", "judge-1", "--api-key-env", "JUDGE_TEST_KEY", "--backoff", "0.001"]
    args += ["--out", str(tmp_path / out), *extra]
    result = runner.invoke(app, args)
    doc = json.loads((tmp_path / out).read_text()) if result.exit_code == 0 else None
    return result, doc


def _assert_key_not_leaked(tmp_path, *outputs):
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert KEY.encode() not in f.read_bytes(), f
    for text in outputs:
        assert KEY not in text


# ---------------------------------------------------------------- parsing and prompts


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("The answer matches the reference.\nRating: [[7]]", 7.0),
        ("Mostly right. Rating: 8", 8.0),  # tolerated without brackets
        ("评分：Rating：[[6.5]]", 6.5),  # full-width colon
        ('Format "[[5]]"... after checking, Rating: [[9]]', 9.0),  # the last one counts
        ("Rating: [[10]]", 10.0),
        ("Rating: [[11]]", None),  # out of range
        ("Rating: [[0]]", None),
        ("I cannot judge this answer.", None),
    ],
)
def test_parse_rating(reply, score):
    assert parse_rating(reply) == score


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("B misses the dose. [[A]]", "A"),
        ("[[B]]", "B"),
        ("Both equally good: [[C]]", "C"),
        ("Not [[A]] as it first seems; final verdict: [[B]]", "B"),
        ("Assistant A is better.", None),
        ("[[D]]", None),
    ],
)
def test_parse_verdict(reply, verdict):
    assert parse_verdict(reply) == verdict


def test_single_prompt_is_exact_and_documented():
    row = EvalItem("q1", "高血压的诊断标准？", "140/90 mmHg", prediction="收缩压≥140")
    messages = single_messages(row)
    assert messages[0] == {"role": "system", "content": "You are a helpful assistant."}
    user = messages[1]["content"]
    assert user.startswith("[Instruction]\nPlease act as an impartial judge")
    assert user.endswith(
        "[Question]\n高血压的诊断标准？\n\n[The Start of Reference Answer]\n140/90 mmHg\n"
        "[The End of Reference Answer]\n\n[The Start of Assistant's Answer]\n收缩压≥140\n"
        "[The End of Assistant's Answer]"
    )
    assert 'on the last line: "Rating: [[rating]]", for example: "Rating: [[5]]".' in user
    docs = DOCS.read_text(encoding="utf-8")
    for text in (SINGLE_SYSTEM, SINGLE_PROMPT, PAIR_SYSTEM, PAIR_PROMPT):
        assert text in docs  # the docs show the prompts verbatim


def test_cache_key_covers_model_prompt_and_params():
    messages = [{"role": "user", "content": "x"}]
    base = cache_key("judge-1", messages, {"temperature": 0.0, "max_tokens": 2048})
    assert base == cache_key("judge-1", messages, {"max_tokens": 2048, "temperature": 0.0})
    assert len(base) == 64 and int(base, 16) >= 0
    assert base != cache_key("judge-2", messages, {"temperature": 0.0, "max_tokens": 2048})
    assert base != cache_key("judge-1", messages, {"temperature": 0.7, "max_tokens": 2048})
    other = [{"role": "user", "content": "y"}]
    assert base != cache_key("judge-1", other, {"temperature": 0.0, "max_tokens": 2048})


# ---------------------------------------------------------------- single-answer grading

ROWS = [
    # prediction -> scripted judge reply, usage (prompt, completion)
    ("q1", "good", "Correct and complete.\nRating: [[8]]", (120, 12), "cardio", "knowledge"),
    ("q2", "fair", "Partly right. Rating: 6", (100, 7), "cardio", "reasoning"),
    ("q3", "poor", "Wrong dose.\nRating: [[2]]", (90, 5), "renal", "knowledge"),
    ("q4", "odd", "I refuse to grade this.", (80, 6), "renal", "reasoning"),
    ("q5", "wild", "Amazing! Rating: [[11]]", (70, 4), "renal", "knowledge"),
]
REPLIES = {pred: (reply, usage) for _, pred, reply, usage, _, _ in ROWS}


def _single_script(messages):
    answer = _between(
        messages[1]["content"], "[The Start of Assistant's Answer]", "[The End of Assistant's"
    )
    reply, (prompt_tokens, completion_tokens) = REPLIES[answer]
    return Reply(reply, prompt_tokens, completion_tokens)


def _answers(tmp_path, name="model_a.jsonl", rows=ROWS):
    data = [
        {
            "id": rid,
            "question": f"问题 {rid}: 高血压的一线用药？",
            "reference": "ACEI/ARB、CCB、利尿剂",
            "prediction": pred,
            "set": s,
            "dimension": d,
        }
        for rid, pred, _, _, s, d in rows
    ]
    write_jsonl(tmp_path / name, data)
    return tmp_path / name


def test_single_grading_scores_unparsed_tokens_cache_and_no_key_leak(tmp_path):
    answers = _answers(tmp_path)
    with FakeJudge(_single_script) as server:
        result, doc = _judge(tmp_path, server.url, answers)
        assert result.exit_code == 0, result.output
        assert len(server.requests) == 5
        assert server.requests[0]["model"] == "judge-1"
        assert server.requests[0]["temperature"] == 0.0
        assert server.headers[0]["authorization"] == f"Bearer {KEY}"  # the key was sent

    assert doc["kind"] == "judge" and doc["mode"] == "single" and doc["scale"] == "1-10"
    assert doc["model"] == "model_a" and doc["group"] == "domain"
    assert [it["score"] for it in doc["items"]] == [8.0, 6.0, 2.0, None, None]
    assert [it["id"] for it in doc["items"]] == ["q1", "q2", "q3", "q4", "q5"]
    assert doc["items"][3]["reply"] == "I refuse to grade this."
    assert doc["metrics"] == {"score": pytest.approx(16 / 3), "n": 3, "unparsed": 2}
    assert doc["by_set"] == {
        "cardio": {"score": 7.0, "n": 2, "unparsed": 0},
        "renal": {"score": 2.0, "n": 1, "unparsed": 2},
    }
    assert doc["by_dimension"] == {
        "knowledge": {"score": 5.0, "n": 2, "unparsed": 1},
        "reasoning": {"score": 6.0, "n": 1, "unparsed": 1},
    }
    assert doc["unparsed"] == [
        {"id": "q4", "reply": "I refuse to grade this."},
        {"id": "q5", "reply": "Amazing! Rating: [[11]]"},
    ]
    assert doc["usage"] == {
        "requests": 5,
        "retries": 0,
        "cache_hits": 0,
        "prompt_tokens": 460,
        "completion_tokens": 34,
    }
    hashes = [it["prompt_hash"] for it in doc["items"]]
    assert len(set(hashes)) == 5 and all(len(h) == 64 for h in hashes)
    assert "mean judge score 5.33 (1-10 scale) over 3 answers" in result.stdout
    assert "2 judge replies could not be parsed" in result.stdout
    assert (tmp_path / "judge-cache.jsonl").exists()  # default: beside --out

    # Rerun at another endpoint (the cache key does not depend on it): no requests at all.
    with FakeJudge(_single_script) as other:
        again, doc2 = _judge(tmp_path, other.url, answers, out="again.json")
        assert again.exit_code == 0, again.output
        assert other.requests == []
    assert doc2["usage"] == {
        "requests": 0,
        "retries": 0,
        "cache_hits": 5,
        "prompt_tokens": 0,
        "completion_tokens": 0,
    }
    assert [it["score"] for it in doc2["items"]] == [8.0, 6.0, 2.0, None, None]
    assert all(it["cached"] for it in doc2["items"])
    assert [it["prompt_hash"] for it in doc2["items"]] == hashes
    _assert_key_not_leaked(tmp_path, result.output, again.output)


def test_retries_on_5xx_and_429_then_succeeds(tmp_path):
    answers = _answers(tmp_path, rows=ROWS[:1])
    calls = []

    def flaky(messages):
        calls.append(1)
        return [Fail(500), Fail(429)][len(calls) - 1] if len(calls) <= 2 else "Rating: [[7]]"

    with FakeJudge(flaky) as server:
        result, doc = _judge(tmp_path, server.url, answers, "--max-retries", "2")
        assert result.exit_code == 0, result.output
        assert (len(server.requests), server.errors, server.served) == (3, 2, 1)
    assert doc["usage"]["retries"] == 2 and doc["usage"]["requests"] == 1
    assert doc["items"][0]["score"] == 7.0


def test_gives_up_after_max_retries_with_a_clear_error(tmp_path):
    answers = _answers(tmp_path, rows=ROWS[:1])
    with FakeJudge(lambda messages: Fail(503)) as server:
        result, _ = _judge(tmp_path, server.url, answers, "--max-retries", "1")
        assert len(server.requests) == 2
    assert result.exit_code == 1
    assert "error: judge endpoint" in result.stderr and "failed 2 times" in result.stderr
    assert not (tmp_path / "judge.json").exists()
    _assert_key_not_leaked(tmp_path, result.output)


def test_connection_errors_are_retried(tmp_path):
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    answers = _answers(tmp_path, rows=ROWS[:1])
    result, _ = _judge(tmp_path, f"http://127.0.0.1:{port}/v1", answers, "--max-retries", "2")
    assert result.exit_code == 1
    assert "failed 3 times" in result.stderr


def test_non_retryable_error_stops_at_once(tmp_path):
    answers = _answers(tmp_path, rows=ROWS[:1])
    with FakeJudge(lambda messages: Fail(401)) as server:
        result, _ = _judge(tmp_path, server.url, answers)
        assert len(server.requests) == 1
    assert result.exit_code == 1 and "returned HTTP 401" in result.stderr
    _assert_key_not_leaked(tmp_path, result.output)


# ---------------------------------------------------------------- pairwise


def _pair_script(messages):
    """The judge prefers "strong" answers, except: q3 always picks A (position bias), q4 is a
    tie, and q5 is unparsable when the model's answer comes second."""
    user = messages[1]["content"]
    a = _between(user, "[The Start of Assistant A's Answer]", "[The End of")
    b = _between(user, "[The Start of Assistant B's Answer]", "[The End of")
    qid = _between(user, "[User Question]", ":")
    if qid == "q3":
        return "A looks fine. [[A]]"
    if qid == "q4":
        return "Equivalent. [[C]]"
    if qid == "q5" and b.startswith("mine"):
        return "Hmm, hard to say."
    return "[[A]]" if "strong" in a else "[[B]]" if "strong" in b else "[[C]]"


def _pair_files(tmp_path):
    qs = ["q1", "q2", "q3", "q4", "q5"]
    mine = ["mine strong", "mine weak", "mine x", "mine y", "mine strong"]
    theirs = ["theirs weak", "theirs strong", "theirs x", "theirs y", "theirs weak"]
    sets = ["cardio", "cardio", "renal", "renal", "renal"]

    def rows(preds):
        return [
            {"id": q, "question": f"{q}: 问题", "reference": "r", "prediction": p, "set": s}
            for q, p, s in zip(qs, preds, sets, strict=True)
        ]

    write_jsonl(tmp_path / "mine.jsonl", rows(mine))
    # The --against side as an `eval gen --out` result: its model name comes from the file.
    gen = {"kind": "gen", "model": "runs/base/model", "group": "domain", "metrics": {}}
    write_json(tmp_path / "base_gen.json", {**gen, "by_set": {}, "items": rows(theirs)[::-1]})
    return tmp_path / "mine.jsonl", tmp_path / "base_gen.json"


def test_pairwise_both_orders_ties_on_disagreement(tmp_path):
    mine, theirs = _pair_files(tmp_path)
    with FakeJudge(_pair_script) as server:
        result, doc = _judge(tmp_path, server.url, mine, "--against", str(theirs))
        assert result.exit_code == 0, result.output
        assert len(server.requests) == 10
    assert doc["mode"] == "pairwise" and doc["against"] == "runs/base/model"
    assert [it["verdict"] for it in doc["items"]] == ["win", "loss", "tie", "tie", None]
    assert [it["consistent"] for it in doc["items"]] == [True, True, False, True, None]
    q3 = doc["items"][2]["orders"]
    assert [(o["order"], o["verdict"], o["outcome"]) for o in q3] == [
        ("answers_first", "A", "win"),
        ("against_first", "A", "loss"),
    ]
    assert doc["metrics"] == {
        "win_rate": 25.0,
        "win_rate_adjusted": 50.0,
        "wins": 1,
        "ties": 2,
        "losses": 1,
        "n": 4,
        "order_disagreements": 1,
        "unparsed": 1,
    }
    assert doc["by_set"]["cardio"]["wins"] == 1 and doc["by_set"]["cardio"]["losses"] == 1
    assert doc["by_set"]["renal"]["ties"] == 2 and doc["by_set"]["renal"]["unparsed"] == 1
    assert doc["unparsed"] == [{"id": "q5", "order": "against_first", "reply": "Hmm, hard to say."}]
    assert doc["usage"]["requests"] == 10 and doc["usage"]["prompt_tokens"] == 1000
    assert "1 wins, 2 ties, 1 losses; win rate 25.0%; 1 order disagreements" in result.stdout

    # Four workers: the same items in the same order (fresh cache, so all are asked again).
    with FakeJudge(_pair_script) as server:
        args = ("--against", str(theirs), "--workers", "4", "--cache", str(tmp_path / "c2.jsonl"))
        result4, doc4 = _judge(tmp_path, server.url, mine, *args, out="w4.json")
        assert result4.exit_code == 0 and len(server.requests) == 10
    strip = [{k: v for k, v in it.items() if k != "orders"} for it in doc4["items"]]
    assert strip == [{k: v for k, v in it.items() if k != "orders"} for it in doc["items"]]
    assert [o["reply"] for it in doc4["items"] for o in it["orders"]] == [
        o["reply"] for it in doc["items"] for o in it["orders"]
    ]


# ---------------------------------------------------------------- bad input


def test_missing_field_names_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "q1", "question": "a", "reference": "b", "prediction": "c"}\n'
        '{"id": "q2", "question": "a", "reference": "b"}\n',
        encoding="utf-8",
    )
    result = runner.invoke(
        app,
        [
            "eval",
            "judge",
            "--answers",
            str(bad),
            "--endpoint",
            "x",
            "--judge-model",
            "j",
            "--api-key-env",
            "JUDGE_TEST_KEY",
        ],
    )
    assert result.exit_code == 1
    assert (
        f'error: {bad}:2: missing the prediction: give it in the field "prediction"'
        in result.stderr
    )


def test_join_errors_name_file_and_line(tmp_path):
    mine, theirs = _pair_files(tmp_path)
    rows = [json.loads(line) for line in mine.read_text().splitlines()]
    write_jsonl(tmp_path / "short.jsonl", rows[:3] + [{**rows[3], "id": "q9"}, rows[4]])
    write_jsonl(tmp_path / "dup.jsonl", rows + [rows[1]])
    base = ["eval", "judge", "--endpoint", "x", "--judge-model", "j"]
    result = runner.invoke(
        app, [*base, "--answers", str(mine), "--against", str(tmp_path / "short.jsonl")]
    )
    assert result.exit_code == 1
    assert f'{tmp_path / "short.jsonl"}:4: id "q9" is not in {mine}' in result.stderr
    result = runner.invoke(
        app, [*base, "--answers", str(tmp_path / "short.jsonl"), "--against", str(mine)]
    )
    assert f'{tmp_path / "short.jsonl"}:4: id "q9" is not in {mine}' not in result.stderr
    assert re.search(rf'{re.escape(str(mine))}:4: id "q4" is not in', result.stderr)
    result = runner.invoke(app, [*base, "--answers", str(tmp_path / "dup.jsonl")])
    assert 'dup.jsonl:6: duplicate id "q2" in set "cardio" (first at line 2)' in result.stderr


def test_ids_unique_only_per_set_become_set_slash_id(tmp_path):
    rows = [
        {"id": i, "question": f"{s} {i}", "reference": "r", "prediction": "p", "set": s}
        for s in ("cmmlu", "ceval")
        for i in (1, 2)
    ]
    gen = {"kind": "gen", "model": "m", "group": "domain", "metrics": {}, "by_set": {}}
    write_json(tmp_path / "gen.json", {**gen, "items": rows})
    write_jsonl(tmp_path / "other.jsonl", rows[::-1])
    a, b = load_answers(tmp_path / "gen.json"), load_answers(tmp_path / "other.jsonl", "x")
    assert [r.id for r in a.rows] == ["cmmlu/1", "cmmlu/2", "ceval/1", "ceval/2"]
    assert (a.model, b.model) == ("m", "x")
    assert [(x.id, y.line) for x, y in join_answers([a, b])] == [
        ("cmmlu/1", 4),
        ("cmmlu/2", 3),
        ("ceval/1", 2),
        ("ceval/2", 1),
    ]
    write_json(tmp_path / "bad.json", {**gen, "items": rows + [rows[2]]})
    with pytest.raises(
        DataError,
        match=r'bad.json:row 5: duplicate id "1" in set "ceval" '
        r"\(first at row 3\)",
    ):
        load_answers(tmp_path / "bad.json")


def test_api_key_handling(tmp_path, monkeypatch):
    from domaintune.eval.judge import JudgeClient

    assert KEY not in repr(JudgeClient("http://127.0.0.1:1/v1", "j", KEY))
    answers = _answers(tmp_path, rows=ROWS[:1])
    # The key itself passed by mistake as the variable name: refused, never echoed.
    base = ["eval", "judge", "--answers", str(answers), "--endpoint", "x", "--judge-model", "j"]
    result = runner.invoke(app, [*base, "--api-key-env", KEY])
    assert result.exit_code == 2 and "NAME of an environment variable" in result.stderr
    assert KEY not in result.output
    # No key set: a dummy key is sent (a local server without auth accepts it), with a warning.
    monkeypatch.delenv("JUDGE_TEST_KEY")
    with FakeJudge(lambda messages: "Rating: [[4]]") as server:
        result, doc = _judge(tmp_path, server.url, answers)
        assert server.headers[0]["authorization"] == "Bearer EMPTY"
    assert result.exit_code == 0 and doc["items"][0]["score"] == 4.0
    assert "warning: $JUDGE_TEST_KEY is not set; sending a dummy key" in result.stderr
