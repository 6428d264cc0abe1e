"""Check a conversation data file row by row: every problem as `file:line: message`, plus counts."""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from domaintune.io import (
    atomic_write,
    decode_jsonl_line,
    file_stem,
    iter_jsonl_lines,
    iter_rows,
    parse_jsonl_line,
    require_object,
)
from domaintune.records import DataError, RawRow, check_format, parse_conversation

FORMATS = ("auto", "alpaca", "sharegpt", "openai")
PathLike = str | os.PathLike[str]

# Reason of a row-level problem, from its message; first match wins, so the order matters
# (a wrong-format message quotes the row's keys, which could contain any of the later words).
_REASONS = (
    ("not valid UTF-8", "not UTF-8"),
    ("invalid JSON", "invalid JSON"),
    ("row must be a JSON object", "not a JSON object"),
    ("format; keys seen", "wrong format"),
    ("missing required field", "missing field"),
    ("is empty", "empty content"),
    ("no user/assistant turns", "no turns"),
    ("system prompt is only allowed", "misplaced system prompt"),
    ("is a system turn but", "misplaced system prompt"),
    ("turns must alternate", "role order"),
    ("must end with an assistant turn", "role order"),
    ("has unknown value", "unknown role"),
    ("must be a", "wrong type"),
    ("characters of content, over", "too_long_chars"),
    ("over --max-len", "too long"),
    ("no trained token", "no trained tokens"),
    ("chat template rejected", "template error"),
)


def reason_of(err: DataError) -> str:
    """Short category of a row-level DataError, used to count problems by kind."""
    return next((reason for text, reason in _REASONS if text in err.message), "other")


@dataclass
class Problem:
    """One invalid row."""

    line: int
    reason: str
    message: str  # the full `file:line: ...` text


@dataclass
class ValidationReport:
    """What validate_file found; `rows == valid + invalid` always holds."""

    path: str
    rows: int = 0
    valid: int = 0
    problems: list[Problem] = field(default_factory=list)
    file_error: str | None = None  # a problem with the file as a whole; reading stopped there

    @property
    def invalid(self) -> int:
        """Number of invalid rows."""
        return len(self.problems)

    def by_reason(self) -> dict[str, int]:
        """Invalid-row counts per reason, most frequent first."""
        counts = Counter(p.reason for p in self.problems)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def summary(self) -> str:
        """One line: rows read, valid, invalid (with counts by reason)."""
        text = f"{self.path}: {self.rows} rows read, {self.valid} valid, {self.invalid} invalid"
        reasons = ", ".join(f"{r}: {n}" for r, n in self.by_reason().items())
        return f"{text} ({reasons})" if reasons else text


# ---------------------------------------------------------------- reading rows


_UNPARSED = object()  # marks a row whose JSON could not be read


@dataclass
class _Row:
    line: int
    value: Any  # the parsed row, or _UNPARSED
    text: str | None = None  # the line as written (jsonl inputs only)
    error: DataError | None = None


def _is_jsonl(path: Path) -> bool:
    return path.name.lower().endswith((".jsonl", ".jsonl.gz"))


def _read(path: Path) -> Iterator[_Row]:
    if path.is_dir():
        raise DataError(path, None, "is a directory; validate one data file at a time")
    if not _is_jsonl(path):
        # Other formats are parsed whole by their readers; a bad row there stops the reading.
        for line, row in iter_rows(path):
            yield _Row(line, row)
        return
    if not path.exists():
        raise DataError(path, None, "no such file or directory; check the path")
    yield from _read_jsonl(path)


def _read_jsonl(path: Path) -> Iterator[_Row]:
    for line, raw in iter_jsonl_lines(path):
        try:
            text = decode_jsonl_line(path, line, raw)
        except DataError as err:
            yield _Row(line, _UNPARSED, raw.decode("utf-8", "replace").rstrip("\r\n"), err)
            continue
        if not text.strip():
            continue
        text = text.rstrip("\r\n")
        try:
            value = parse_jsonl_line(path, line, text)
        except DataError as err:
            yield _Row(line, _UNPARSED, text, err)
            continue
        try:
            require_object(path, line, value)
        except DataError as err:
            yield _Row(line, value, text, err)
            continue
        yield _Row(line, value, text)


# ---------------------------------------------------------------- checking rows


# The length limit without --max-len when the tokenizer states none: the longest context of
# today's common open models (Qwen2.5, Llama 3.1: 131,072 tokens).
DEFAULT_LIMIT = 131_072


@dataclass
class _TokenCheck:
    """Render a conversation with the chat template and check its length and trained tokens.

    A conversation with more than `limit` x the tokenizer's longest token characters of content
    cannot fit in `limit` tokens; it is rejected (too_long_chars) before anything is tokenized,
    so memory and time are bounded by the limit, not by the longest sample. The limit is
    --max-len, else the tokenizer's model_max_length, else DEFAULT_LIMIT.
    """

    tokenizer: Any
    template: str | None
    max_len: int | None
    longest: int = 0  # the tokenizer's longest token in characters (0: not measured yet)

    def encode(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        from domaintune.templates import encode_conversation

        return encode_conversation(self.tokenizer, messages, template=self.template)

    def probe(self) -> None:
        """Raise ValueError now for an unknown template or a tokenizer without one."""
        self.encode([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}])

    def limit(self) -> tuple[int, str]:
        """The token limit and where it comes from."""
        if self.max_len is not None:
            return self.max_len, "--max-len"
        stated = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(stated, int) and 0 < stated <= 10 * DEFAULT_LIMIT:
            return stated, "the tokenizer's model_max_length"
        return DEFAULT_LIMIT, "the default limit"

    def check_chars(self, raw: RawRow, messages: list[dict[str, str]]) -> None:
        from domaintune.models import max_token_chars

        limit, source = self.limit()
        self.longest = self.longest or max_token_chars(self.tokenizer)
        n = sum(len(m["content"]) for m in messages)
        if n > limit * self.longest:
            raise raw.error(
                f"{n:,} characters of content, over {source} {limit} x {self.longest} characters "
                f"(the tokenizer's longest token) = {limit * self.longest:,}: it cannot fit in "
                f"{limit} tokens; not tokenized. Shorten or split the sample, or raise --max-len"
            )

    def __call__(self, raw: RawRow, messages: list[dict[str, str]]) -> None:
        import jinja2

        from domaintune.templates import IGNORE_INDEX

        self.check_chars(raw, messages)
        try:
            labels = self.encode(messages)["labels"]
        except jinja2.TemplateError as exc:
            # Templates may refuse some conversations (e.g. a system turn); that is this row's.
            raise raw.error(f"the chat template rejected this conversation ({exc})") from None
        trained = [i for i, label in enumerate(labels) if label != IGNORE_INDEX]
        if not trained:
            raise raw.error(
                "no trained tokens after templating (every label is masked); "
                "check the assistant turns and the template"
            )
        if self.max_len is None:
            return
        if trained[0] >= self.max_len:
            raise raw.error(
                f"no trained token within --max-len {self.max_len}: the first assistant token "
                f"is at position {trained[0] + 1} of {len(labels)}; shorten the prompt or "
                "raise --max-len"
            )
        if len(labels) > self.max_len:
            raise raw.error(
                f"{len(labels)} tokens after templating, over --max-len {self.max_len}; "
                "shorten the sample or raise --max-len"
            )


def _check(path: Path, row: _Row, fmt: str, tokens: _TokenCheck | None) -> DataError | None:
    if row.error is not None:
        return row.error
    row_indexed = path.name.lower().endswith((".json", ".parquet"))
    raw = RawRow(row.value, str(path), row.line, stem=file_stem(path), row_indexed=row_indexed)
    try:
        if fmt != "auto":
            check_format(raw, fmt)
        conversation = parse_conversation(raw)
        if tokens is not None:
            tokens(raw, conversation.to_openai())
    except DataError as err:
        return err
    return None


# ---------------------------------------------------------------- writing kept and rejected rows


class _Sink:
    """Writes valid rows to `out` and rejected ones beside it; nothing when `out` is None."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        self.kept: IO[str] | None = None
        self.rejected: IO[str] | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> _Sink:
        if self.out is not None:
            self.kept = self._stack.enter_context(atomic_write(self.out))
            self.rejected = self._stack.enter_context(atomic_write(rejected_path(self.out)))
        return self

    def __exit__(self, *exc: object) -> bool | None:
        # On an error both files are left as they were (atomic_write discards its temp file).
        return self._stack.__exit__(*exc)

    def keep(self, row: _Row) -> None:
        if self.kept is not None:
            self.kept.write(_original(row) + "\n")

    def reject(self, row: _Row, err: DataError) -> None:
        if self.rejected is not None:
            value = row.text if row.value is _UNPARSED else row.value
            record = {"line": row.line, "reason": err.message, "row": value}
            self.rejected.write(json.dumps(record, ensure_ascii=False) + "\n")


def _original(row: _Row) -> str:
    # jsonl lines are copied as written, so kept rows are byte-for-byte the input's.
    return row.text if row.text is not None else json.dumps(row.value, ensure_ascii=False)


def rejected_path(out: PathLike) -> Path:
    """Where `--drop-invalid OUT` puts the rejected rows: OUT.rejected.jsonl."""
    return Path(f"{os.fspath(out)}.rejected.jsonl")


# ---------------------------------------------------------------- entry points


def load_tokenizer(path: PathLike) -> Any:
    """Load a tokenizer from a local directory (never runs code shipped with it)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(os.fspath(path), trust_remote_code=False)


def validate_file(
    path: PathLike,
    *,
    fmt: str = "auto",
    tokenizer: Any = None,
    template: str | None = None,
    max_len: int | None = None,
    drop_invalid: PathLike | None = None,
) -> ValidationReport:
    """Check every row of a conversation file; with `drop_invalid`, also split it into two files.

    Raises ValueError for bad arguments (unknown format or template, max_len without tokenizer);
    problems with the file itself are reported in `file_error`, problems with rows in `problems`.
    """
    tokens = _token_check(fmt, tokenizer, template, max_len)
    p = Path(path)
    report = ValidationReport(str(path))
    try:
        with _Sink(Path(drop_invalid) if drop_invalid is not None else None) as sink:
            for row in _read(p):
                report.rows += 1
                err = _check(p, row, fmt, tokens)
                if err is None:
                    report.valid += 1
                    sink.keep(row)
                else:
                    report.problems.append(Problem(row.line, reason_of(err), str(err)))
                    sink.reject(row, err)
            if report.rows == 0:
                raise DataError(
                    p, None, "file has no rows (it is empty or blank); nothing to validate"
                )
    except DataError as err:
        report.file_error = str(err)
    except (OSError, EOFError) as err:
        # e.g. a truncated or corrupt .jsonl.gz, or a file we may not read.
        report.file_error = f"{path}: cannot read the file ({err})"
    return report


def _token_check(
    fmt: str, tokenizer: Any, template: str | None, max_len: int | None
) -> _TokenCheck | None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if tokenizer is None:
        if max_len is not None or template is not None:
            raise ValueError("--max-len and --template need --tokenizer")
        return None
    if max_len is not None and max_len < 1:
        raise ValueError(f"--max-len must be at least 1, got {max_len}")
    tokens = _TokenCheck(tokenizer, template, max_len)
    tokens.probe()
    return tokens


from domaintune.verbs import make_callable  # noqa: E402 (last: the module is complete)

make_callable(__name__, "domaintune.data.api:validate")  # dt.data.validate(...) calls the verb
