"""Tests for record types, data readers (formats + error messages), atomic writes and manifests."""

from __future__ import annotations

import gzip
import json
import os
import pickle
from pathlib import Path

import pandas as pd
import pytest

from domaintune.io import (
    DataError,
    atomic_write,
    file_sha256,
    iter_rows,
    read_conversations,
    read_documents,
    read_eval_items,
    read_manifest,
    read_records,
    sha256_of_files,
    write_json,
    write_jsonl,
    write_manifest,
    write_text,
)
from domaintune.records import Conversation, Document, EvalItem, Message


def jsonl(path: Path, *rows: object) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def error_of(reader, path: Path) -> DataError:
    with pytest.raises(DataError) as info:
        list(reader(path))
    return info.value


def msgs(*pairs: tuple[str, str]) -> list[Message]:
    return [Message(role, content) for role, content in pairs]


# ---------------------------------------------------------------- records


def test_message_rejects_unknown_role() -> None:
    with pytest.raises(ValueError, match="unknown role 'bot'"):
        Message("bot", "hi")


def test_to_openai_puts_system_first() -> None:
    conv = Conversation("c1", msgs(("user", "q"), ("assistant", "a")), system="be brief")
    assert conv.to_openai() == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a"},
    ]
    assert Conversation("c2", msgs(("user", "q"))).to_openai() == [{"role": "user", "content": "q"}]


@pytest.mark.parametrize(
    "record",
    [
        Document("d1", "文本", source="wiki", meta={"lang": "zh"}),
        Conversation(
            "c1",
            msgs(("user", "q"), ("assistant", "a")),
            system="s",
            source="x",
            meta={"k": [1, 2]},
        ),
        Conversation("c2", msgs(("user", "q"), ("assistant", "a"))),
        EvalItem("e1", "2+2?", "B", choices={"A": "3", "B": "4"}, meta={"subject": "math"}),
        EvalItem("e2", "Capital of France?", "Paris"),
    ],
)
def test_to_dict_from_dict_round_trip(record) -> None:
    data = record.to_dict()
    assert type(record).from_dict(json.loads(json.dumps(data))) == record
    assert type(record).from_dict(data).to_dict() == data


def test_canonical_jsonl_reads_back(tmp_path: Path) -> None:
    convs = [
        Conversation(
            "c1", msgs(("user", "q"), ("assistant", "a")), system="s", source="src", meta={"k": 1}
        )
    ]
    docs = [Document("d1", "text one", source="wiki", meta={"n": 2})]
    items = [EvalItem("e1", "q?", "A", {"A": "x", "B": "y"}), EvalItem("e2", "q2?", "ref")]
    write_jsonl(tmp_path / "c.jsonl", convs)
    write_jsonl(tmp_path / "d.jsonl", docs)
    write_jsonl(tmp_path / "e.jsonl", items)
    assert list(read_conversations(tmp_path / "c.jsonl")) == convs
    assert list(read_documents(tmp_path / "d.jsonl")) == docs
    assert list(read_eval_items(tmp_path / "e.jsonl")) == items
    assert list(read_records(tmp_path / "c.jsonl")) == convs
    assert list(read_records(tmp_path / "d.jsonl")) == docs


# ---------------------------------------------------------------- readers: good rows


def test_alpaca_with_input_system_history(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "sft.jsonl",
        {
            "instruction": "Summarise",
            "input": "Long text",
            "output": "Short",
            "system": "You are a lawyer",
            "history": [["hi", "hello"], ["how?", "fine"]],
        },
        {"id": "x7", "instruction": "Just this", "input": "", "output": "ok"},
    )
    assert list(read_conversations(path)) == [
        Conversation(
            "sft-1",
            msgs(
                ("user", "hi"),
                ("assistant", "hello"),
                ("user", "how?"),
                ("assistant", "fine"),
                ("user", "Summarise\nLong text"),
                ("assistant", "Short"),
            ),
            system="You are a lawyer",
            source="sft",
        ),
        Conversation("x7", msgs(("user", "Just this"), ("assistant", "ok")), source="sft"),
    ]


def test_sharegpt_with_system(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "chat.jsonl",
        {
            "system": "Be terse",
            "conversations": [
                {"from": "human", "value": "a"},
                {"from": "gpt", "value": "b"},
                {"from": "user", "value": "c"},
                {"from": "model", "value": "d"},
            ],
        },
        {
            "conversations": [
                {"from": "system", "value": "sys"},
                {"from": "human", "value": "q"},
                {"from": "assistant", "value": "r"},
            ]
        },
    )
    assert list(read_conversations(path, source="med")) == [
        Conversation(
            "chat-1",
            msgs(("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "d")),
            system="Be terse",
            source="med",
        ),
        Conversation("chat-2", msgs(("user", "q"), ("assistant", "r")), system="sys", source="med"),
    ]


def test_openai_messages(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "oa.jsonl",
        {
            "id": 12,
            "messages": [
                {"role": "system", "content": "S"},
                {"role": "user", "content": "U"},
                {"role": "assistant", "content": "A"},
            ],
        },
    )
    assert list(read_conversations(path)) == [
        Conversation("12", msgs(("user", "U"), ("assistant", "A")), system="S", source="oa")
    ]


def test_text_jsonl_gz_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write('{"text": "first"}\n\n   \n{"id": "b", "text": "second", "meta": {"p": 1}}\n')
    assert list(read_documents(path)) == [
        Document("corpus-1", "first", source="corpus"),
        Document("b", "second", source="corpus", meta={"p": 1}),
    ]


def test_txt_file_and_directory(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("line 1\nline 2\n", "utf-8")
    (tmp_path / "a.txt").write_text("alpha", "utf-8")
    jsonl(tmp_path / "c.jsonl", {"text": "gamma"})
    (tmp_path / ".hidden.txt").write_text("skip me", "utf-8")
    (tmp_path / "readme.md").write_text("not data", "utf-8")
    assert list(read_documents(tmp_path / "a.txt")) == [Document("a", "alpha", source="a.txt")]
    # In a folder, a whole-file document's id is its path under the folder (no clash between
    # b/notes.txt and notes.txt); a file no reader takes is counted, never skipped silently.
    readme = tmp_path / "readme.md"
    assert list(read_documents(tmp_path)) == [
        Document("a", "alpha", source="a.txt"),
        Document("b/notes", "line 1\nline 2\n", source="notes.txt"),
        Document("c-1", "gamma", source="c"),
        Document(readme.as_posix(), "", source="readme.md", meta={"unsupported_file": ".md"}),
    ]


def test_csv_rows_and_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "qa.csv"
    path.write_text('instruction,input,output\nAsk,,Answer\n"Multi\nline",ctx,Done\n', "utf-8")
    assert list(iter_rows(path)) == [
        (2, {"instruction": "Ask", "input": "", "output": "Answer"}),
        (3, {"instruction": "Multi\nline", "input": "ctx", "output": "Done"}),
    ]
    assert list(read_conversations(path)) == [
        Conversation("qa-2", msgs(("user", "Ask"), ("assistant", "Answer")), source="qa"),
        Conversation(
            "qa-3", msgs(("user", "Multi\nline\nctx"), ("assistant", "Done")), source="qa"
        ),
    ]


def test_parquet_sharegpt(tmp_path: Path) -> None:
    path = tmp_path / "pq.parquet"
    pd.DataFrame(
        {
            "conversations": [
                [{"from": "human", "value": "q1"}, {"from": "gpt", "value": "a1"}],
                [{"from": "human", "value": "q2"}, {"from": "gpt", "value": "a2"}],
            ]
        }
    ).to_parquet(path)
    assert list(read_conversations(path)) == [
        Conversation("pq-1", msgs(("user", "q1"), ("assistant", "a1")), source="pq"),
        Conversation("pq-2", msgs(("user", "q2"), ("assistant", "a2")), source="pq"),
    ]


def test_json_array_and_wrapped_object(tmp_path: Path) -> None:
    rows = [{"text": "one"}, {"text": "two", "source": "manual"}]
    (tmp_path / "arr.json").write_text(json.dumps(rows), "utf-8")
    (tmp_path / "wrap.json").write_text(json.dumps({"version": 1, "data": rows}), "utf-8")
    assert list(read_documents(tmp_path / "arr.json")) == [
        Document("arr-1", "one", source="arr"),
        Document("arr-2", "two", source="manual"),
    ]
    assert [d.id for d in read_documents(tmp_path / "wrap.json")] == ["wrap-1", "wrap-2"]


def test_eval_items_letters_list_index_and_open(tmp_path: Path) -> None:
    path = tmp_path / "ceval.csv"
    path.write_text("id,question,A,B,C,D,answer,explanation\n0,1+1=?,1,2,3,4,B,easy\n", "utf-8")
    assert list(read_eval_items(path)) == [
        EvalItem(
            "0", "1+1=?", "B", {"A": "1", "B": "2", "C": "3", "D": "4"}, {"explanation": "easy"}
        )
    ]
    path = jsonl(
        tmp_path / "mix.jsonl",
        {"question": "Q1", "choices": ["x", "y", "z"], "answer": 2, "subject": "s"},
        {"question": "Q2", "choices": {"A": "p", "B": "q"}, "answer": " b "},
        {"question": "Q3", "reference": "Paris"},
        {"question": "Q4", "answer": 42},
    )
    assert list(read_eval_items(path)) == [
        EvalItem("mix-1", "Q1", "C", {"A": "x", "B": "y", "C": "z"}, {"subject": "s"}),
        EvalItem("mix-2", "Q2", "B", {"A": "p", "B": "q"}),
        EvalItem("mix-3", "Q3", "Paris"),
        EvalItem("mix-4", "Q4", "42"),
    ]


def test_read_records_picks_type_from_first_row(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "m.jsonl", {"text": "doc"}, {"instruction": "i", "output": "o"})
    assert str(error_of(read_records, path)) == (
        f"{path}:2: this row is a conversation but the input started with documents; "
        "keep them in separate files"
    )


# ---------------------------------------------------------------- readers: exact errors


def test_output_not_a_string(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "sft.jsonl",
        {"instruction": "i", "output": "o"},
        {"instruction": "i", "output": {"text": "o"}},
    )
    err = error_of(read_conversations, path)
    assert str(err) == f'{path}:2: field "output" must be a string, got object'
    assert (err.path, err.line, err.field) == (str(path), 2, "output")


def test_missing_output(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "sft.jsonl", {"instruction": "i", "input": "x"})
    assert str(error_of(read_conversations, path)) == (
        f'{path}:1: missing required field "output" (alpaca rows need "instruction" and "output")'
    )


def test_bad_json_line_counts_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "sft.jsonl"
    path.write_text('{"text": "ok"}\n\n{"text": "oops",}\n', "utf-8")
    err = error_of(read_documents, path)
    assert str(err) == (
        f"{path}:3: invalid JSON at column 17: Expecting property name enclosed in double "
        "quotes; each line must hold exactly one JSON object"
    )
    assert err.line == 3


def test_non_object_row(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "x.jsonl", ["a", "b"])
    assert str(error_of(read_documents, path)) == f"{path}:1: row must be a JSON object, got array"


def test_sharegpt_bad_role(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "chat.jsonl",
        {
            "conversations": [
                {"from": "human", "value": "q"},
                {"from": "gpt", "value": "a"},
                {"from": "human", "value": "q2"},
                {"from": "bot", "value": "a2"},
            ]
        },
    )
    err = error_of(read_conversations, path)
    assert str(err) == (
        f'{path}:1: field "conversations[3].from" has unknown value "bot"; '
        "expected one of: human, user, gpt, assistant, model, system"
    )
    assert err.field == "conversations[3].from"


def test_conversation_ending_in_user(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "chat.jsonl",
        {
            "conversations": [
                {"from": "human", "value": "q"},
                {"from": "gpt", "value": "a"},
                {"from": "human", "value": "q2"},
            ]
        },
    )
    assert str(error_of(read_conversations, path)) == (
        f'{path}:1: conversation must end with an assistant turn, but "conversations[2].from" '
        'is "human"; add the assistant reply or drop the last turn'
    )


def test_turns_must_alternate(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "oa.jsonl",
        {
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "user", "content": "q again"},
                {"role": "assistant", "content": "a"},
            ]
        },
    )
    assert str(error_of(read_conversations, path)) == (
        f'{path}:1: field "messages[1].role" is "user" but turns must alternate user/assistant '
        "starting with user; expected assistant here"
    )


def test_empty_content(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "oa.jsonl",
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "  "}]},
    )
    assert str(error_of(read_conversations, path)) == (
        f'{path}:1: field "messages[1].content" is empty; fill it in or drop the row'
    )


def test_csv_row_with_empty_text(tmp_path: Path) -> None:
    path = tmp_path / "docs.csv"
    path.write_text('id,text\na,"first\ndoc"\nb,\n', "utf-8")
    err = error_of(read_documents, path)
    assert str(err) == f'{path}:4: field "text" is empty; fill it in or drop the row'
    assert (err.line, err.field) == (4, "text")


def test_parquet_row_type_error(tmp_path: Path) -> None:
    path = tmp_path / "docs.parquet"
    pd.DataFrame({"text": ["fine", None, "also fine"]}).to_parquet(path)
    err = error_of(read_documents, path)
    assert str(err) == f'{path}:row 2: field "text" must be a string, got null'
    assert (err.line, err.row) == (2, True)


def test_json_array_row_error(tmp_path: Path) -> None:
    path = tmp_path / "arr.json"
    path.write_text(json.dumps([{"text": "a"}, {"text": "b"}, {"text": 3}]), "utf-8")
    assert str(error_of(read_documents, path)) == (
        f'{path}:row 3: field "text" must be a string, got number'
    )


def test_unknown_format_lists_keys_and_formats(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "x.jsonl", {"prompt": "p", "response": "r"})
    assert str(error_of(read_conversations, path)) == (
        f'{path}:1: unrecognised row format; keys seen: "prompt", "response"; accepted formats: '
        'alpaca ("instruction", "output"), sharegpt ("conversations"), openai ("messages"); '
        "rename the fields to match one of them"
    )


def test_eval_answer_not_a_choice(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "mmlu.jsonl", {"question": "q", "A": "1", "B": "2", "answer": "E"})
    assert str(error_of(read_eval_items, path)) == (
        f'{path}:1: field "answer" is "E" but the choices are A, B; use one of those letters'
    )


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "data.xml"
    path.write_text("<a/>", "utf-8")
    assert str(error_of(iter_rows, path)) == (
        f"{path}: unsupported file type; use one of .jsonl.gz, .jsonl, .json, .csv, .parquet, "
        ".txt, .html, .htm"
    )


def test_missing_file_and_empty_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    assert str(error_of(read_conversations, missing)) == (
        f"{missing}: no such file or directory; check the path"
    )
    (tmp_path / "empty").mkdir()
    assert str(error_of(read_eval_items, tmp_path / "empty")) == (
        f"{tmp_path / 'empty'}: no data files found; expected .csv, .json, .jsonl, .jsonl.gz, "
        ".parquet"
    )


def test_alpaca_bad_history_pair(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "h.jsonl", {"instruction": "i", "output": "o", "history": [["a"]]})
    assert str(error_of(read_conversations, path)) == (
        f'{path}:1: field "history[0]" must be a [user, assistant] pair, got an array of 1'
    )


def test_data_error_pickles() -> None:
    err = pickle.loads(pickle.dumps(DataError("a.json", 3, "bad", "f", row=True)))
    assert (str(err), err.field, err.row) == ("a.json:row 3: bad", "f", True)


# ---------------------------------------------------------------- writing


def test_atomic_write_keeps_old_content_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old", "utf-8")
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("partial new content")
        raise RuntimeError("boom")
    assert target.read_text("utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_atomic_write_replaces_and_creates_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.bin"
    with atomic_write(target, "wb") as f:
        f.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert os.listdir(target.parent) == ["out.bin"]
    assert target.stat().st_mode & 0o777 != 0o600  # not mkstemp's private mode


def test_write_helpers(tmp_path: Path) -> None:
    n = write_jsonl(tmp_path / "o.jsonl", [{"a": "é"}, Document("d", "t")])
    assert n == 2
    assert (tmp_path / "o.jsonl").read_text("utf-8") == (
        '{"a": "é"}\n{"id": "d", "text": "t", "source": "", "meta": {}}\n'
    )
    write_json(tmp_path / "o.json", {"p": tmp_path / "x", "k": "中"})
    assert json.loads((tmp_path / "o.json").read_text("utf-8")) == {
        "p": str(tmp_path / "x"),
        "k": "中",
    }
    write_text(tmp_path / "t" / "o.txt", "hello\n")
    assert (tmp_path / "t" / "o.txt").read_text("utf-8") == "hello\n"


def test_hashes(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    write_text(tmp_path / "d" / "b.txt", "abc")
    write_text(tmp_path / "d" / "a.txt", "")
    assert file_sha256(tmp_path / "d" / "b.txt") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert list(sha256_of_files([tmp_path / "d"])) == [
        str(tmp_path / "d" / "a.txt"),
        str(tmp_path / "d" / "b.txt"),
    ]


def test_manifest_round_trip(tmp_path: Path) -> None:
    assert read_manifest(tmp_path) is None
    write_text(tmp_path / "in.txt", "abc")
    counts = {"in": 3, "kept": 2, "rejected": 1, "reasons": {"too_short": 1}}
    path = write_manifest(
        tmp_path / "stage",
        stage="clean",
        inputs=[tmp_path / "in.txt", "hub/m"],
        config={"min_chars": 5},
        counts=counts,
        timings={"total_s": 1.5},
        status="ok",
    )
    manifest = read_manifest(tmp_path / "stage")
    assert path == tmp_path / "stage" / "manifest.json"
    assert manifest is not None
    assert manifest.pop("created_at").endswith("+00:00")
    assert isinstance(manifest.pop("created_at_ns"), int)
    assert manifest == {
        "stage": "clean",
        "status": "ok",
        "inputs": {str(tmp_path / "in.txt"): file_sha256(tmp_path / "in.txt"), "hub/m": None},
        "config": {"min_chars": 5},
        "counts": counts,
        "timings": {"total_s": 1.5},
    }


def test_corrupt_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json", "utf-8")
    with pytest.raises(DataError, match="delete the file to rerun the stage"):
        read_manifest(tmp_path)


def test_documents_keep_their_extra_fields(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text('{"id": "d1", "text": "t", "url": "https://x", "stars": 3}\n', "utf-8")
    [doc] = read_documents(path)
    assert doc.extra == {"url": "https://x", "stars": 3}
    assert doc.to_dict() == {
        "id": "d1",
        "text": "t",
        "source": "docs",
        "meta": {},
        "url": "https://x",
        "stars": 3,
    }
    assert Document.from_dict(doc.to_dict()) == doc
