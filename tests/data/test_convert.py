"""`data convert`: lossless conversion between openai, alpaca and sharegpt, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.data.convert import conversation_to_row, convert_file
from domaintune.io import DataError, read_conversations, write_jsonl
from domaintune.records import Conversation, Message

runner = CliRunner()


def msgs(*turns: str) -> list[Message]:
    return [Message("user" if i % 2 == 0 else "assistant", t) for i, t in enumerate(turns)]


CONVERSATIONS = [
    Conversation(
        "c1",
        msgs("hi", "hello", "how are you?", "fine\nthanks"),
        system="You are a doctor",
        source="clinic",
        meta={"lang": "en", "tags": [1, 2]},
    ),
    Conversation("c2", msgs("  spaced  ", "心脏"), source="wiki"),
    Conversation("sft-3", msgs("q", "a"), system="be brief", source="sft"),
]


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_round_trip_openai_alpaca_sharegpt_openai(tmp_path: Path) -> None:
    start = tmp_path / "start.jsonl"
    write_jsonl(start, [conversation_to_row(c, "openai") for c in CONVERSATIONS])
    assert list(read_conversations(start)) == CONVERSATIONS
    chain = [
        (start, "alpaca"),
        (tmp_path / "a.jsonl", "sharegpt"),
        (tmp_path / "s.jsonl", "openai"),
    ]
    outputs = [tmp_path / "a.jsonl", tmp_path / "s.jsonl", tmp_path / "o.jsonl"]
    for (src, to), dst in zip(chain, outputs, strict=True):
        assert convert_file(src, dst, to=to) == 3
        assert list(read_conversations(dst)) == CONVERSATIONS, to
    assert (tmp_path / "o.jsonl").read_text("utf-8") == start.read_text("utf-8")


def test_each_target_row(tmp_path: Path) -> None:
    conv = CONVERSATIONS[0]
    assert conversation_to_row(conv, "alpaca") == {
        "id": "c1",
        "instruction": "how are you?",
        "input": "",
        "output": "fine\nthanks",
        "system": "You are a doctor",
        "history": [["hi", "hello"]],
        "source": "clinic",
        "meta": {"lang": "en", "tags": [1, 2]},
    }
    assert conversation_to_row(conv, "sharegpt") == {
        "id": "c1",
        "conversations": [
            {"from": "system", "value": "You are a doctor"},
            {"from": "human", "value": "hi"},
            {"from": "gpt", "value": "hello"},
            {"from": "human", "value": "how are you?"},
            {"from": "gpt", "value": "fine\nthanks"},
        ],
        "source": "clinic",
        "meta": {"lang": "en", "tags": [1, 2]},
    }
    assert conversation_to_row(CONVERSATIONS[1], "openai") == {
        "id": "c2",
        "messages": [
            {"role": "user", "content": "  spaced  "},
            {"role": "assistant", "content": "心脏"},
        ],
        "source": "wiki",
    }


def test_alpaca_input_is_merged_and_default_ids_kept(tmp_path: Path) -> None:
    src = tmp_path / "sft.jsonl"
    src.write_text(
        json.dumps({"instruction": "Summarise", "input": "Long text", "output": "Short"}) + "\n",
        "utf-8",
    )
    out = tmp_path / "other.jsonl"
    result = runner.invoke(app, ["data", "convert", str(src), str(out), "--to", "alpaca"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote 1 alpaca rows to {out}\n"
    assert read_lines(out) == [
        {
            "id": "sft-1",
            "instruction": "Summarise\nLong text",
            "input": "",
            "output": "Short",
            "source": "sft",
        }
    ]
    assert list(read_conversations(out)) == list(read_conversations(src))


def test_target_that_cannot_hold_the_turns_names_the_row(tmp_path: Path) -> None:
    odd = Conversation("x", [Message("user", "q"), Message("user", "again")])
    with pytest.raises(ValueError) as info:
        conversation_to_row(odd, "alpaca")
    assert str(info.value) == (
        "alpaca holds only (user, assistant) turn pairs; turn 2 is user, expected assistant, "
        "so it would be lost"
    )
    unanswered = Conversation("y", msgs("q", "a", "q2"))
    with pytest.raises(ValueError, match="the last user turn has no assistant reply"):
        conversation_to_row(unanswered, "sharegpt")


def test_bad_input_row_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"instruction": "q", "output": "a"}\n{"instruction": "q"}\n', "utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text("old\n", "utf-8")
    result = runner.invoke(app, ["data", "convert", str(src), str(out), "--to", "openai"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f'error: {src}:2: missing required field "output" (alpaca rows need "instruction" '
        'and "output")',
        f"nothing written; run `domaintune data validate {src}` to list every problem",
    ]
    assert out.read_text("utf-8") == "old\n"
    with pytest.raises(DataError):
        convert_file(src, out, to="openai")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "chatml"], "error: --to 'chatml': choose one of openai, alpaca, sharegpt\n"),
        (["--to", "openai"], None),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], message: str | None) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"instruction": "q", "output": "a"}\n', "utf-8")
    out = tmp_path / "out.json"  # not .jsonl: rejected either way
    result = runner.invoke(app, ["data", "convert", str(src), str(out), *args])
    assert result.exit_code == 2
    assert result.stderr == (
        message or f"error: OUT {out}: the output is jsonl; give it a .jsonl name\n"
    )
    assert not out.exists()


def test_missing_input(tmp_path: Path) -> None:
    src = tmp_path / "nope.jsonl"
    result = runner.invoke(
        app, ["data", "convert", str(src), str(tmp_path / "o.jsonl"), "--to", "sharegpt"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {src}: no such file or directory; check the path\n")
