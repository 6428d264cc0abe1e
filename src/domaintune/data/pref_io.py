"""Preference files: read (`read_pref`), check every row (`data validate --pref`), convert
between the pair formats (`data convert --pref`). The rows themselves: data/pref.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from domaintune.data.pref import (
    PathLike,
    PrefRow,
    _error,
    check_control,
    control_tokens,
    length_problem,
    parse_pref,
    reason_of,
    render_pref,
)
from domaintune.records import DataError, RawRow


def iter_pref_rows(path: PathLike) -> Iterator[tuple[int, PrefRow | DataError]]:
    """(line, row or the error that rejects it) for every row of a JSONL file."""
    from domaintune.data.validate import _UNPARSED, _read
    from domaintune.io import file_stem

    p = Path(path)
    for r in _read(p):
        if r.error is not None or r.value is _UNPARSED:
            yield r.line, r.error
            continue
        raw = RawRow(r.value, str(p), r.line, stem=file_stem(p))
        try:
            yield r.line, parse_pref(raw)
        except DataError as err:
            yield r.line, err


def read_pref(path: PathLike) -> list[PrefRow]:
    """Every row of a preference file; the first bad row raises DataError (file:line)."""
    rows = []
    for _, item in iter_pref_rows(path):
        if isinstance(item, DataError):
            raise item
        rows.append(item)
    if not rows:
        raise DataError(path, None, "no preference rows; the file is empty")
    return rows


def count_reasons(errors: Iterable[DataError]) -> dict[str, int]:
    counts = Counter(reason_of(e) for e in errors)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def validate_pref(
    path: PathLike,
    *,
    tokenizer: Any = None,
    template: str | None = None,
    max_len: int | None = None,
    drop_invalid: PathLike | None = None,
):
    """Check every row of a preference file (`data validate --pref`); a ValidationReport.

    Without a tokenizer the control-token check uses the common families' tokens; with one, its
    special tokens and the template's too, and each example is rendered (max_len: a completion
    must survive truncation).
    """
    from domaintune.data.validate import Problem, ValidationReport, _read, _Sink

    if max_len is not None and tokenizer is None:
        raise ValueError("--max-len needs --tokenizer")
    specials = control_tokens(tokenizer, template)
    p = Path(path)
    report = ValidationReport(str(path))
    rows = {r.line: r for r in _read(p)} if p.exists() else {}
    try:
        with _Sink(Path(drop_invalid) if drop_invalid is not None else None) as sink:
            for line, item in iter_pref_rows(p):
                report.rows += 1
                err = item if isinstance(item, DataError) else None
                if err is None:
                    err = _token_checks(p, line, item, tokenizer, template, max_len, specials)
                if err is None:
                    report.valid += 1
                    sink.keep(rows[line])
                else:
                    report.problems.append(Problem(line, reason_of(err), str(err)))
                    sink.reject(rows[line], err)
            if report.rows == 0:
                raise DataError(p, None, "file has no rows (it is empty or blank)")
    except DataError as err:
        report.file_error = str(err)
    except OSError as err:
        report.file_error = f"{path}: cannot read the file ({err})"
    return report


def _token_checks(p, line, row, tokenizer, template, max_len, specials) -> DataError | None:
    raw = RawRow({}, str(p), line)
    try:
        check_control(raw, row, specials)
        if tokenizer is not None:
            r = render_pref(tokenizer, row, template=template)
            problem = length_problem(r, max_len) if max_len else None
            if problem:
                field = "completion" if row.label is not None else "chosen"
                raise _error(raw, "empty side", f"{field} is empty after truncation: {problem}")
    except DataError as err:
        return err
    return None


PREF_TARGETS = ("openai", "trl", "sharegpt")


def pref_to_row(row: PrefRow, to: str) -> dict[str, Any]:
    """A preference row in format `to`: openai (ours), trl (conversational), sharegpt
    (LLaMA-Factory's pair form, KTO with kto_tag)."""
    system = row.prompt[0]["content"] if row.prompt and row.prompt[0]["role"] == "system" else None
    turns = row.prompt[1:] if system is not None else row.prompt
    if to == "openai":
        return row.to_dict()
    if to == "trl":
        out: dict[str, Any] = {"id": row.id, "prompt": row.prompt}
        reply = lambda text: [{"role": "assistant", "content": text}]  # noqa: E731
        if row.label is None:
            return {**out, "chosen": reply(row.chosen), "rejected": reply(row.rejected)}
        return {**out, "completion": reply(row.chosen), "label": row.label}
    if to == "sharegpt":
        names = {"user": "human", "assistant": "gpt"}
        conv = [{"from": names[m["role"]], "value": m["content"]} for m in turns]
        out = {"id": row.id, "conversations": conv, **({"system": system} if system else {})}
        if row.label is None:
            return {
                **out,
                "chosen": {"from": "gpt", "value": row.chosen},
                "rejected": {"from": "gpt", "value": row.rejected},
            }
        conv.append({"from": "gpt", "value": row.chosen})
        return {**out, "kto_tag": row.label}
    raise ValueError(f"unknown preference format {to!r}; choose one of {', '.join(PREF_TARGETS)}")


def convert_pref(src: PathLike, dst: PathLike, *, to: str) -> int:
    """Read preference rows in any accepted form and write them as `to` (atomically)."""
    from domaintune.io import write_jsonl

    if to not in PREF_TARGETS:
        raise ValueError(
            f"unknown preference format {to!r}; choose one of {', '.join(PREF_TARGETS)}"
        )
    return write_jsonl(dst, (pref_to_row(r, to) for r in read_pref(src)))
