"""`data validate`: every bad row reported as file:line, exact counts, --drop-invalid outputs."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.data.validate import load_tokenizer, validate_file
from domaintune.io import DataError, read_conversations

runner = CliRunner()

GOOD = {"instruction": "q", "output": "a"}
CHAT = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]


def lines(path: Path, *rows: object) -> Path:
    """Write rows (dicts as JSON, str as-is) one per line."""
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    path.write_text(text, "utf-8")
    return path


def validate(*args: object):
    return runner.invoke(app, ["data", "validate", *map(str, args)])


def problems(result) -> list[str]:
    return result.stdout.splitlines()[:-1]


# ---------------------------------------------------------------- malformed files


def test_broken_json_line_keeps_going(tmp_path: Path) -> None:
    path = lines(tmp_path / "sft.jsonl", GOOD, '{"instruction": "q",', "", GOOD, "not json")
    result = validate(path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:2: invalid JSON at column 21: Expecting property name enclosed in double quotes; "
        "each line must hold exactly one JSON object",
        f"{path}:5: invalid JSON at column 1: Expecting value; "
        "each line must hold exactly one JSON object",
        f"{path}: 4 rows read, 2 valid, 2 invalid (invalid JSON: 2)",
    ]


def test_wrong_types_and_missing_fields(tmp_path: Path) -> None:
    path = lines(
        tmp_path / "sft.jsonl",
        {"instruction": "q", "output": {"text": "a"}},
        {"instruction": "q"},
        {"messages": "hi"},
        {"messages": [{"role": "user", "content": 3}, {"role": "assistant", "content": "a"}]},
        [GOOD],
        GOOD,
    )
    result = validate(path)
    assert result.exit_code == 1
    assert problems(result) == [
        f'{path}:1: field "output" must be a string, got object',
        f'{path}:2: missing required field "output" (alpaca rows need "instruction" and "output")',
        f'{path}:3: field "messages" must be an array of {{"role", "content"}} objects, got string',
        f'{path}:4: field "messages[0].content" must be a string, got number',
        f"{path}:5: row must be a JSON object, got array",
    ]
    assert result.stdout.splitlines()[-1] == (
        f"{path}: 6 rows read, 1 valid, 5 invalid "
        "(wrong type: 3, missing field: 1, not a JSON object: 1)"
    )


def test_empty_messages_and_content(tmp_path: Path) -> None:
    path = lines(
        tmp_path / "chat.jsonl",
        {"messages": []},
        {"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "a"}]},
        {"instruction": "q", "output": ""},
    )
    result = validate(path)
    assert result.exit_code == 1
    assert problems(result) == [
        f"{path}:1: conversation has no user/assistant turns; drop the row",
        f'{path}:2: field "messages[0].content" is empty; fill it in or drop the row',
        f'{path}:3: field "output" is empty; fill it in or drop the row',
    ]
    assert result.stdout.splitlines()[-1] == (
        f"{path}: 3 rows read, 0 valid, 3 invalid (empty content: 2, no turns: 1)"
    )


def test_bad_role_order(tmp_path: Path) -> None:
    user, bot, system = (
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "b"},
        {"role": "system", "content": "s"},
    )
    path = lines(
        tmp_path / "chat.jsonl",
        {"messages": [user, user, bot]},
        {"messages": [user, bot, user]},
        {"messages": [user, system, bot]},
        {"messages": [system, user, bot]},
    )
    result = validate(path)
    assert result.exit_code == 1
    assert problems(result) == [
        f'{path}:1: field "messages[1].role" is "user" but turns must alternate user/assistant '
        "starting with user; expected assistant here",
        f'{path}:2: conversation must end with an assistant turn, but "messages[2].role" is '
        '"user"; add the assistant reply or drop the last turn',
        f'{path}:3: field "messages[1].role" is "system", but a system prompt is only allowed '
        "as the first turn",
    ]
    assert result.stdout.splitlines()[-1] == (
        f"{path}: 4 rows read, 1 valid, 3 invalid (role order: 2, misplaced system prompt: 1)"
    )


def test_format_mismatch(tmp_path: Path) -> None:
    path = lines(tmp_path / "sft.jsonl", GOOD, {"messages": CHAT})
    result = validate(path, "--format", "alpaca")
    assert result.exit_code == 1
    assert problems(result) == [
        f'{path}:2: this row is in openai format; keys seen: "messages"; accepted formats: '
        'alpaca ("instruction", "output"); rename the fields to match one of them'
    ]
    assert result.stdout.splitlines()[-1] == (
        f"{path}: 2 rows read, 1 valid, 1 invalid (wrong format: 1)"
    )
    # auto accepts every conversation format, row by row.
    assert validate(path, "--format", "auto").stdout == f"{path}: 2 rows read, 2 valid, 0 invalid\n"


def test_invalid_utf8_line_is_named_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "sft.jsonl"
    path.write_bytes(
        b'{"instruction": "q", "output": "a"}\n{"instruction": "\xff", "output": "a"}\n'
        b'{"instruction": "q", "output": "a"}\n'
    )
    result = validate(path)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:2: not valid UTF-8 (invalid start byte at byte 18 of the line); "
        "the file must be UTF-8: re-save it as UTF-8",
        f"{path}: 3 rows read, 2 valid, 1 invalid (not UTF-8: 1)",
    ]


def test_readers_name_the_non_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "sft.jsonl.gz"
    with gzip.open(path, "wb") as f:
        f.write(b'{"instruction": "q", "output": "a"}\n{"instruction": "\xe4", "output": "a"}\n')
    with pytest.raises(DataError) as info:
        list(read_conversations(path))
    assert info.value.line == 2
    assert str(info.value).startswith(f"{path}:2: not valid UTF-8 (")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "sft.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"instruction": "q", "output": "a"}\n')
    result = validate(path)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: 1 rows read, 1 valid, 0 invalid\n"
    assert [c.messages[0].content for c in read_conversations(path)] == ["q"]


def test_ten_megabyte_line(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    big = "the heart pumps blood. " * (10 * 2**20 // 23 + 1)
    lines(path, {"instruction": "q", "output": big}, GOOD)
    assert path.stat().st_size > 10 * 2**20
    start = time.perf_counter()
    report = validate_file(path)
    assert time.perf_counter() - start < 5
    assert (report.rows, report.valid, report.invalid, report.file_error) == (2, 2, 0, None)
    # The same line, cut short: one clear message, no crash.
    path.write_text(json.dumps({"instruction": "q", "output": big})[:-2] + "\n", "utf-8")
    report = validate_file(path)
    assert [p.message for p in report.problems] == [
        f"{path}:1: invalid JSON at column 32: Unterminated string starting here; "
        "each line must hold exactly one JSON object"
    ]


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "sft.jsonl"
    path.write_text("", "utf-8")
    result = validate(path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {path}: file has no rows (it is empty or blank); nothing to validate\n"
    )
    assert result.stdout == f"{path}: 0 rows read, 0 valid, 0 invalid\n"


@pytest.mark.parametrize(("verb", "word"), [("clean", "clean"), ("dedup", "deduplicate")])
@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_clean_and_dedup_fail_on_an_empty_input_like_validate(tmp_path, verb, word, text):
    path = tmp_path / "docs.jsonl"
    path.write_text(text, "utf-8")
    result = runner.invoke(app, ["data", verb, str(path), str(tmp_path / "out.jsonl")])
    assert result.exit_code == 1
    message = f"{path}: no documents (it is empty or blank); nothing to {word}"
    assert result.stderr == f"error: {message}\n"
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("folder", "is a directory; validate one data file at a time"),
        ("missing.jsonl", "no such file or directory; check the path"),
        (
            "notes.xml",
            "unsupported file type; use one of .jsonl.gz, .jsonl, .json, .csv, .parquet, .txt, "
            ".html, .htm",
        ),
    ],
)
def test_file_level_errors_reported_once(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.xml").write_text("<a/>", "utf-8")
    path = tmp_path / name
    result = validate(path, "--drop-invalid", tmp_path / "out.jsonl")
    assert result.exit_code == 1
    assert result.stderr == f"error: {path}: {message}\n"
    assert not (tmp_path / "out.jsonl").exists()


def test_corrupt_gzip_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "sft.jsonl.gz"
    path.write_bytes(b"not gzip at all")
    result = validate(path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}: cannot read the file (")


def test_other_formats_are_checked_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "sft.csv"
    path.write_text("instruction,output\nq,a\nq,\n", "utf-8")
    report = validate_file(path)
    assert [p.message for p in report.problems] == [
        f'{path}:3: field "output" is empty; fill it in or drop the row'
    ]
    assert (report.rows, report.valid, report.invalid) == (2, 1, 1)


# ---------------------------------------------------------------- --drop-invalid


def test_drop_invalid_writes_both_files_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "sft.jsonl"
    path.write_bytes(
        b'{"instruction": "q",   "output": "a", "extra": 1}\n'
        b"{oops\n"
        b"\n"
        b'{"messages": [{"role": "user", "content": "q"}]}\n'
        b'{"instruction": "\xff", "output": "a"}\n'
        b'{"id": 7, "conversations": [{"from": "human", "value": "\xe5\xbf\x83"}, '
        b'{"from": "gpt", "value": "ok"}]}\n'
    )
    out = tmp_path / "clean" / "sft.jsonl"
    result = validate(path, "--drop-invalid", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-2:] == [
        f"{path}: 5 rows read, 2 valid, 3 invalid (invalid JSON: 1, not UTF-8: 1, role order: 1)",
        f"wrote 2 valid rows to {out} and 3 rejected rows to {out}.rejected.jsonl",
    ]
    assert out.read_text("utf-8") == (
        '{"instruction": "q",   "output": "a", "extra": 1}\n'
        '{"id": 7, "conversations": [{"from": "human", "value": "心"}, '
        '{"from": "gpt", "value": "ok"}]}\n'
    )
    rejected = [json.loads(x) for x in (tmp_path / "clean" / "sft.jsonl.rejected.jsonl").open()]
    assert rejected == [
        {
            "line": 2,
            "reason": "invalid JSON at column 2: Expecting property name enclosed in double "
            "quotes; each line must hold exactly one JSON object",
            "row": "{oops",
        },
        {
            "line": 4,
            "reason": 'conversation must end with an assistant turn, but "messages[0].role" is '
            '"user"; add the assistant reply or drop the last turn',
            "row": {"messages": [{"role": "user", "content": "q"}]},
        },
        {
            "line": 5,
            "reason": "not valid UTF-8 (invalid start byte at byte 18 of the line); "
            "the file must be UTF-8: re-save it as UTF-8",
            "row": '{"instruction": "\ufffd", "output": "a"}',
        },
    ]
    # The kept rows are a valid file.
    assert validate(out).exit_code == 0


def test_drop_invalid_needs_a_jsonl_name(tmp_path: Path) -> None:
    path = lines(tmp_path / "sft.jsonl", GOOD)
    result = validate(path, "--drop-invalid", tmp_path / "out.json")
    assert result.exit_code == 2
    assert "the output is jsonl; give it a .jsonl name" in result.stderr


def test_all_valid_exits_0(tmp_path: Path) -> None:
    path = lines(tmp_path / "sft.jsonl", GOOD, {"messages": CHAT})
    result = validate(path)
    assert result.exit_code == 0
    assert result.stdout == f"{path}: 2 rows read, 2 valid, 0 invalid\n"


# ---------------------------------------------------------------- token checks

# The fixture's ChatML template spends 18 tokens on the user/assistant headers around "q" and
# its byte-level BPE knows few words, so a ("q", "a") conversation is 21 tokens.
MAX_LEN = 32


def test_max_len_and_no_trained_token(tmp_path: Path, tiny_model_dir) -> None:
    long_answer = "blood pumps " * 10
    long_prompt = "the heart " * 10
    path = lines(
        tmp_path / "sft.jsonl",
        GOOD,
        {"instruction": "q", "output": long_answer},
        {"instruction": long_prompt, "output": "a"},
    )
    result = validate(path, "--tokenizer", tiny_model_dir, "--max-len", MAX_LEN)
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        f"{path}:2: 41 tokens after templating, over --max-len 32; "
        "shorten the sample or raise --max-len",
        f"{path}:3: no trained token within --max-len 32: the first assistant token is at "
        "position 39 of 41; shorten the prompt or raise --max-len",
        f"{path}: 3 rows read, 1 valid, 2 invalid (no trained tokens: 1, too long: 1)",
    ]
    # Without --max-len only the label check runs, and every row has trained tokens.
    assert validate(path, "--tokenizer", tiny_model_dir, "--template", "hf").exit_code == 0


def test_no_trained_tokens_at_all(tmp_path: Path, tiny_model_dir, monkeypatch) -> None:
    import domaintune.templates as templates

    def masked(tokenizer, messages, **kwargs):
        return {"input_ids": [1, 2], "labels": [templates.IGNORE_INDEX] * 2, "text": "xy"}

    monkeypatch.setattr(templates, "encode_conversation", masked)
    path = lines(tmp_path / "sft.jsonl", GOOD)
    report = validate_file(path, tokenizer=load_tokenizer(tiny_model_dir))
    assert [(p.reason, p.message) for p in report.problems] == [
        (
            "no trained tokens",
            f"{path}:1: no trained tokens after templating (every label is masked); "
            "check the assistant turns and the template",
        )
    ]


def test_unknown_template_is_a_usage_error(tmp_path: Path, tiny_model_dir) -> None:
    path = lines(tmp_path / "sft.jsonl", GOOD)
    result = validate(path, "--tokenizer", tiny_model_dir, "--template", "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown template 'nope'; choose one of")
    assert result.stdout == ""


def test_max_len_needs_tokenizer(tmp_path: Path) -> None:
    path = lines(tmp_path / "sft.jsonl", GOOD)
    result = validate(path, "--max-len", 16)
    assert result.exit_code == 2
    assert result.stderr == "error: --max-len and --template need --tokenizer\n"


def test_bad_tokenizer_dir(tmp_path: Path) -> None:
    path = lines(tmp_path / "sft.jsonl", GOOD)
    (tmp_path / "empty").mkdir()
    result = validate(path, "--tokenizer", tmp_path / "empty")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: --tokenizer {tmp_path / 'empty'}: cannot load")


# ---------------------------------------------------------------- huge samples: bounded work


def test_too_long_chars_rejected_before_tokenizing(tmp_path: Path, tiny_model_dir, monkeypatch):
    from domaintune.models import max_token_chars

    tok = load_tokenizer(tiny_model_dir)
    longest = max_token_chars(tok)
    assert longest == 13  # "<|endoftext|>"; the longest learned token is "Ġhypertension" (13)
    bound = MAX_LEN * longest
    over = {"instruction": "q", "output": "a" * bound}  # content: 1 + bound characters
    at = {"instruction": "q", "output": "a" * (bound - 1)}  # exactly bound: tokenized
    path = lines(tmp_path / "sft.jsonl", over, at, GOOD)
    encoded = []
    import domaintune.templates

    real = domaintune.templates.encode_conversation

    def spy(tokenizer, messages, **kwargs):
        encoded.append(sum(len(m["content"]) for m in messages))
        return real(tokenizer, messages, **kwargs)

    monkeypatch.setattr(domaintune.templates, "encode_conversation", spy)
    report = validate_file(path, tokenizer=tok, max_len=MAX_LEN)
    assert [p.message for p in report.problems[:1]] == [
        f"{path}:1: 417 characters of content, over --max-len 32 x 13 characters (the "
        "tokenizer's longest token) = 416: it cannot fit in 32 tokens; not tokenized. Shorten "
        "or split the sample, or raise --max-len"
    ]
    assert report.by_reason() == {"too long": 1, "too_long_chars": 1}
    assert (report.rows, report.valid) == (3, 1)
    assert 417 not in encoded and bound in encoded  # the long one never reached the tokenizer
    # Without --max-len the bound is the tokenizer's model_max_length (1024 here).
    report = validate_file(path, tokenizer=tok)
    assert report.by_reason() == {}


_PEAK = """
import json, sys, time
from pathlib import Path
from transformers import PreTrainedTokenizerFast  # AutoTokenizer would import torch
from domaintune.data.validate import validate_file

tok = PreTrainedTokenizerFast.from_pretrained(sys.argv[1])
path, mb = Path(sys.argv[2]), float(sys.argv[3])
text = "the heart pumps blood through the arteries. " * int(mb * 2**20 / 44)
path.write_text(json.dumps({"instruction": "q", "output": "a"}) + "\\n", "utf-8")
validate_file(path, tokenizer=tok, max_len=64)  # imports and first calls: not counted
path.write_text(json.dumps({"instruction": "q", "output": text}) + "\\n", "utf-8")
del text


def peak():  # KiB. The process's VmHWM: getrusage's ru_maxrss also keeps exited threads' peaks
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0])


with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # Linux: the peak restarts from the current RSS (the setup is not counted)
before = peak()
start = time.perf_counter()
report = validate_file(path, tokenizer=tok, max_len=64)
after = peak()
print(json.dumps({"mib": (after - before) / 1024, "s": time.perf_counter() - start,
                  "reasons": report.by_reason()}))
"""


def _validate_peak(tmp_path: Path, tokenizer: Path, mb: float) -> dict:
    import subprocess
    import sys

    args = [sys.executable, "-c", _PEAK, str(tokenizer), str(tmp_path / "big.jsonl"), str(mb)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, check=True)
    return json.loads(proc.stdout.splitlines()[-1])


def test_huge_sample_memory_and_time_are_bounded(tmp_path: Path, tiny_model_dir) -> None:
    """2 MiB in one sample: tokenizing it would add ~290 MiB of peak memory (measured: 10)."""
    result = _validate_peak(tmp_path, tiny_model_dir, 2)
    print("RESULT", json.dumps(result))
    assert result["reasons"] == {"too_long_chars": 1}
    assert result["mib"] < 30 and result["s"] < 5, result


@pytest.mark.slow
def test_fifty_megabyte_sample_in_seconds(tmp_path: Path, tiny_model_dir) -> None:
    result = _validate_peak(tmp_path, tiny_model_dir, 50)
    print("RESULT", json.dumps(result))
    assert result["reasons"] == {"too_long_chars": 1}
    assert result["mib"] < 400 and result["s"] < 20, result
