"""Read and write data files, reporting every bad row as `file:line: field ...: how to fix`."""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import functools
import gzip
import hashlib
import itertools
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from domaintune.records import (
    Conversation,
    DataError,
    Document,
    EvalItem,
    RawRow,
    detect_format,
    json_type,
    parse_conversation,
    parse_document,
    parse_eval_item,
    parse_record,
)

PathLike = str | os.PathLike[str]
SUPPORTED_SUFFIXES = (
    ".jsonl.gz", ".jsonl", ".json", ".csv", ".parquet", ".txt", ".html", ".htm"
)  # fmt: skip
WHOLE_FILE_SUFFIXES = (".txt", ".html", ".htm")  # one document per file
UNSUPPORTED_FILE = "unsupported_file"  # Document.meta key of a file no reader can read
MANIFEST_NAME = "manifest.json"


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in SUPPORTED_SUFFIXES if name.endswith(s)), path.suffix.lower())


def file_stem(path: PathLike) -> str:
    """Return the file name without its data suffix (`sft.jsonl.gz` -> `sft`)."""
    p = Path(path)
    suffix = _suffix(p)
    return p.name[: -len(suffix)] if suffix and p.name.lower().endswith(suffix) else p.stem


def _row_indexed(path: Path) -> bool:
    # Rows in a JSON array or a parquet table have no useful physical line, so count rows.
    return _suffix(path) in (".json", ".parquet")


# ---------------------------------------------------------------- raw rows


def iter_rows(path: PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line or row number, row dict) from a .jsonl[.gz], .json, .csv, .parquet or .txt."""
    p = Path(path)
    readers: dict[str, Callable[[Path], Iterator[tuple[int, Any]]]] = {
        ".jsonl": _jsonl_rows,
        ".jsonl.gz": _jsonl_rows,
        ".json": _json_rows,
        ".csv": _csv_rows,
        ".parquet": _parquet_rows,
        ".txt": _txt_rows,
        ".html": _html_rows,
        ".htm": _html_rows,
    }
    reader = readers.get(_suffix(p))
    if not p.exists():
        raise DataError(p, None, "no such file or directory; check the path")
    if reader is None:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        raise DataError(p, None, f"unsupported file type; use one of {supported}")
    try:
        for line, row in reader(p):
            yield line, require_object(p, line, row)
    except UnicodeDecodeError as exc:
        raise not_utf8(p, exc) from None


def require_object(path: PathLike, line: int, row: Any) -> dict[str, Any]:
    """Return `row` if it is a JSON object, else raise a DataError naming path:line."""
    if not isinstance(row, dict):
        raise DataError(
            path,
            line,
            f"row must be a JSON object, got {json_type(row)}",
            row=_row_indexed(Path(path)),
        )
    return row


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    for lineno, raw in iter_jsonl_lines(path):
        text = decode_jsonl_line(path, lineno, raw)
        if text.strip():
            yield lineno, parse_jsonl_line(path, lineno, text)


def iter_jsonl_lines(path: PathLike) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, raw bytes) per line of a .jsonl[.gz] file, streaming; BOM removed."""
    p = Path(path)
    opener: Callable[..., IO[bytes]] = gzip.open if _suffix(p) == ".jsonl.gz" else open
    # Read bytes and decode line by line, so one bad byte is reported at its line and the
    # rest of the file can still be read.
    with opener(p, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            yield lineno, raw[3:] if lineno == 1 and raw.startswith(codecs.BOM_UTF8) else raw


def decode_jsonl_line(path: PathLike, lineno: int, raw: bytes) -> str:
    """Decode one jsonl line as UTF-8, or raise a DataError naming path:line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(path, lineno, _utf8_problem(raw, exc)) from None


def _utf8_problem(raw: bytes, exc: UnicodeDecodeError) -> str:
    """What is wrong with a line that is not UTF-8, and how to fix it (GBK files are common)."""
    where = f"not valid UTF-8 ({exc.reason} at byte {exc.start + 1} of the line); "
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return where + "the file must be UTF-8: re-save it as UTF-8"
    return where + "it reads as GBK/GB18030: convert it to UTF-8 (iconv -f GB18030 -t UTF-8)"


def parse_jsonl_line(path: PathLike, lineno: int, text: str) -> Any:
    """Parse one jsonl line, or raise a DataError naming path:line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            path,
            lineno,
            f"{_json_problem(exc)}; each line must hold exactly one JSON object",
        ) from None


def _json_problem(exc: json.JSONDecodeError) -> str:
    # json's messages end in "at" when they expect a position: "Unterminated string starting at"
    msg = exc.msg[:-3] + " here" if exc.msg.endswith(" at") else exc.msg
    return f"invalid JSON at column {exc.colno}: {msg}"


def _json_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with open(path, encoding="utf-8-sig") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as exc:
            raise DataError(
                path,
                exc.lineno,
                _json_problem(exc),
            ) from None
    if isinstance(data, dict) and detect_format(data) is None:
        lists = [k for k, v in data.items() if isinstance(v, list)]
        if len(lists) != 1:
            keys = ", ".join(f'"{k}"' for k in data) or "none"
            raise DataError(
                path,
                None,
                "expected a JSON array of objects or an object with a "
                f'single list field like {{"data": [...]}}; top-level keys: {keys}',
            )
        data = data[lists[0]]
    elif isinstance(data, dict):
        data = [data]  # a single record saved as one object
    if not isinstance(data, list):
        raise DataError(path, None, f"expected a JSON array of objects, got {json_type(data)}")
    yield from enumerate(data, 1)


def _csv_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if header is None:
                return
            dupes = sorted({h for h in header if header.count(h) > 1})
            if dupes:
                raise DataError(path, 1, f'duplicate column "{dupes[0]}"; rename it in the header')
            end = reader.line_num
            for values in reader:
                # A quoted field may span lines; report the line the row starts on.
                start, end = end + 1, reader.line_num
                if not values:
                    continue
                if len(values) != len(header):
                    raise DataError(
                        path,
                        start,
                        f"row has {len(values)} fields but the header has "
                        f"{len(header)}; quote values that contain commas",
                    )
                yield start, dict(zip(header, values, strict=True))
        except csv.Error as exc:
            raise DataError(path, reader.line_num, f"malformed CSV ({exc})") from None


def _parquet_rows(path: Path) -> Iterator[tuple[int, Any]]:
    import pyarrow as pa  # imported lazily: only parquet inputs need it
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(path, None, f"not a readable parquet file ({exc})") from None
    index = 0
    for batch in table.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            index += 1
            yield index, row


def _txt_rows(path: Path) -> Iterator[tuple[int, Any]]:
    yield (
        1,
        {"id": file_stem(path), "text": path.read_text(encoding="utf-8-sig"), "source": path.name},
    )


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)


def _html_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """A whole HTML page as one document: the raw markup, extracted later by `data clean`."""
    yield 1, {"id": file_stem(path), "text": decode_html(path), "source": path.name}


def decode_html(path: PathLike) -> str:
    """A page's text: UTF-8, else the charset its <meta> declares (GBK pages are common)."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        declared = _CHARSET.search(raw[:4096])
        if declared is None:
            raise DataError(
                path,
                None,
                f"not valid UTF-8 ({exc.reason} at byte {exc.start + 1}) and no <meta charset>; "
                "re-save it as UTF-8",
            ) from None
        charset = declared.group(1).decode("ascii").lower()
        try:
            return raw.decode("gb18030" if charset in ("gbk", "gb2312") else charset)
        except (LookupError, UnicodeDecodeError) as err:
            raise DataError(
                path,
                None,
                f"cannot decode as its declared charset {charset!r} ({err}); re-save it as UTF-8",
            ) from None


def _is_hidden(f: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in f.relative_to(root).parts)


def data_files(path: PathLike, *, include_txt: bool = True) -> list[tuple[Path, Path]]:
    """(file, root) pairs: the file itself, or every data file under a folder, sorted."""
    p = Path(path)
    if not p.is_dir():
        return [(p, p.parent)]
    allowed = set(SUPPORTED_SUFFIXES) - (set() if include_txt else set(WHOLE_FILE_SUFFIXES))
    files = sorted(f for f in p.rglob("*") if f.is_file() and not _is_hidden(f, p))
    if not any(_suffix(f) in allowed for f in files):
        raise DataError(p, None, f"no data files found; expected {', '.join(sorted(allowed))}")
    return [(f, p) for f in files]


def _paths(path: PathLike | Iterable[PathLike]) -> list[PathLike]:
    """One path, or several (a stage's inputs): always a list."""
    if isinstance(path, str | os.PathLike):
        return [path]
    return list(path)


def label(path: PathLike | Iterable[PathLike]) -> str:
    """A short name for progress bars: a file's name, or the first of several and a count."""
    paths = _paths(path)
    first = Path(paths[0]).name if paths else "nothing"
    return first if len(paths) == 1 else f"{first} and {len(paths) - 1} more"


def relative_id(file: Path, root: Path) -> str:
    """A whole-file document's id: its path under the folder read, without the suffix."""
    rel = file.relative_to(root).as_posix()
    suffix = _suffix(file)
    return rel[: -len(suffix)] if suffix and rel.lower().endswith(suffix) else rel


# ---------------------------------------------------------------- public readers


def iter_raw_rows(
    path: PathLike | Iterable[PathLike], *, include_txt: bool = True
) -> Iterator[RawRow | Path]:
    """Raw rows of every file; a file in a folder that no reader takes is yielded as its Path."""
    allowed = set(SUPPORTED_SUFFIXES) - (set() if include_txt else set(WHOLE_FILE_SUFFIXES))
    for top in _paths(path):
        for file, root in data_files(top, include_txt=include_txt):
            if _suffix(file) not in allowed and Path(top).is_dir():
                yield file  # never skipped silently: the caller counts or refuses it
                continue
            stem, row_indexed = file_stem(file), _row_indexed(file)
            whole = _suffix(file) in WHOLE_FILE_SUFFIXES
            for line, data in iter_rows(file):
                if whole and Path(top).is_dir():
                    data["id"] = relative_id(file, root)
                yield RawRow(data, str(file), line, stem=stem, row_indexed=row_indexed)


def _unsupported(file: Path, what: str) -> DataError:
    supported = ", ".join(SUPPORTED_SUFFIXES)
    return DataError(
        file,
        None,
        f"cannot read this file as {what} (supported: {supported}); move it out of "
        "the folder or convert it",
    )


def read_documents(
    path: PathLike | Iterable[PathLike], *, source: str | None = None
) -> Iterator[Document]:
    """Yield Documents from files or, recursively and sorted, from every data file in a dir.

    A file in a folder that no reader takes is yielded as an empty Document whose meta holds
    `unsupported_file` (its suffix), so a filtering stage counts it as rejected.
    """
    for _, doc in read_documents_with_rows(path, source=source):
        yield doc


def read_documents_with_rows(
    path: PathLike | Iterable[PathLike], *, source: str | None = None
) -> Iterator[tuple[dict[str, Any] | None, Document]]:
    """(row as the file holds it, Document); None for a file no reader takes."""
    for raw in iter_raw_rows(path):
        if isinstance(raw, Path):
            yield None, unsupported_document(raw, source)
            continue
        yield raw.data, parse_document(raw, source)


def unsupported_document(file: Path, source: str | None = None) -> Document:
    """A file in a folder that no reader takes, as an empty Document a filter stage rejects."""
    meta = {UNSUPPORTED_FILE: _suffix(file) or file.name}
    return Document(id=file.as_posix(), text="", source=source or file.name, meta=meta)


def read_conversations(
    path: PathLike | Iterable[PathLike], *, source: str | None = None
) -> Iterator[Conversation]:
    """Yield Conversations from alpaca, sharegpt, openai or canonical rows."""
    for raw in iter_raw_rows(path, include_txt=False):
        if isinstance(raw, Path):
            raise _unsupported(raw, "conversations")
        yield parse_conversation(raw, source)


EXAM_LAYOUTS = ("ceval", "cmmlu", "mmlu")  # the CSV layouts of exam files
SPLIT_SUFFIXES = ("_val", "_dev", "_test")  # C-Eval/MMLU file names: <subject>_<split>.csv
_MMLU_COLUMNS = ["question", "A", "B", "C", "D", "answer"]  # MMLU's CSVs have no header
_HEADER_WORDS = {"id", "question", "prompt", "instruction", "answer", "reference"}


def read_eval_items(
    path: PathLike | Iterable[PathLike],
    *,
    kind: str = "any",
    layout: str | None = None,
    default_subject: bool = False,
    require: Iterable[str] = (),
) -> Iterator[EvalItem]:
    """Yield EvalItems (multiple-choice, open or answered rows: records.parse_eval_item).

    Reads jsonl/json/parquet rows, and CSV in the exam layouts (detected unless `layout` says):
    C-Eval (a header), CMMLU (a header whose unnamed first column is the row id) and MMLU (no
    header: question, A, B, C, D, answer); CSV rows are numbered from 1 after any header. With
    `default_subject` a row without a subject gets its file's (`eval_subject`). Every file
    must hold at least one row.
    """
    require = tuple(require)
    for top in _paths(path):
        for file, _ in data_files(top, include_txt=False):
            if _suffix(file) in WHOLE_FILE_SUFFIXES and Path(top).is_dir():
                raise _unsupported(file, "evaluation items")
            subject = eval_subject(file) if default_subject else None
            n = 0
            for n, raw in enumerate(_eval_rows(file, layout, kind), 1):  # noqa: B007
                yield parse_eval_item(raw, kind=kind, subject=subject, require=require)
            if n == 0:
                raise DataError(
                    file, None, "no rows: the file is empty; fill it in or leave it out"
                )


def eval_subject(path: PathLike) -> str:
    """An eval file's subject: its stem without a split suffix (`law_val.csv` -> law)."""
    stem = file_stem(path)
    for suffix in SPLIT_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def exam_layout(path: PathLike) -> str | None:
    """The CSV exam layout of a file: ceval, cmmlu or mmlu; None when it has no rows."""
    first = next(_csv_values(Path(path)), None)
    return None if first is None else _layout_of(first)


def _layout_of(first: list[str]) -> str:
    if {h.strip().lower() for h in first} & _HEADER_WORDS:
        return "cmmlu" if first[0].strip() == "" else "ceval"
    return "mmlu"


def _eval_rows(file: Path, layout: str | None, kind: str) -> Iterator[RawRow]:
    if _suffix(file) == ".csv":
        return _eval_csv_rows(file, layout, kind)
    stem, row_indexed = eval_subject(file), _row_indexed(file)
    return (RawRow(data, str(file), n, stem, row_indexed) for n, data in iter_rows(file))


def _eval_csv_rows(path: Path, layout: str | None, kind: str) -> Iterator[RawRow]:
    rows = _csv_values(path)
    first = next(rows, None)
    if first is None:
        return
    layout = layout or _layout_of(first)
    if layout == "mmlu":
        header, rows = _MMLU_COLUMNS, itertools.chain([first], rows)
    else:
        # Field names in any case (CMMLU writes "Question"); option letters as they are.
        header = [h.strip() if len(h.strip()) == 1 else h.strip().lower() for h in first]
        if layout == "cmmlu" and header[0] == "":
            header[0] = "id"  # CMMLU's unnamed row-number column
        for name in ("question", "answer") if kind == "choice" else ():
            if name not in header:
                raise DataError(
                    path,
                    None,
                    f'the header (line 1) has no "{name}" column; {layout} files need question, '
                    f"A, B, C, D and answer columns (header seen: {','.join(first)})",
                    name,
                )
    stem = eval_subject(path)
    for n, values in enumerate(rows, 1):
        if len(values) != len(header):
            expected = ",".join(_MMLU_COLUMNS) if layout == "mmlu" else "the header's"
            raise DataError(
                path,
                n,
                f"row has {len(values)} fields, not {len(header)} ({expected}); "
                "quote values that contain commas",
                row=True,
            )
        yield RawRow(dict(zip(header, values, strict=True)), str(path), n, stem, row_indexed=True)


def _csv_values(path: Path) -> Iterator[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            yield from (values for values in reader if values)  # blank lines are not rows
        except csv.Error as exc:
            raise DataError(path, reader.line_num, f"malformed CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise not_utf8(path, exc) from None


def not_utf8(path: PathLike, exc: UnicodeDecodeError) -> DataError:
    """The error for a file that is not UTF-8, naming its first bad line (GBK is common)."""
    opener: Callable[..., IO[bytes]] = gzip.open if _suffix(Path(path)) == ".jsonl.gz" else open
    with opener(path, "rb") as f:
        # UTF-8 never uses the newline byte inside a character, so lines decode on their own.
        for lineno, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                return DataError(path, lineno, _utf8_problem(raw, err))
    return DataError(path, None, f"not valid UTF-8 ({exc.reason}); re-save it as UTF-8")


def read_records(path: PathLike | Iterable[PathLike]) -> Iterator[Document | Conversation]:
    """Yield Documents or Conversations, whichever the first row is; later rows must match."""
    for _, record in read_records_with_rows(path):
        yield record


def read_records_with_rows(
    path: PathLike | Iterable[PathLike],
) -> Iterator[tuple[dict[str, Any], Document | Conversation]]:
    """(row as the file holds it, its record), with read_records' checks, in one pass.

    Filter stages write kept rows as read (an alpaca row stays alpaca) from the first item."""
    first: type | None = None
    for raw in iter_raw_rows(path):
        if isinstance(raw, Path):
            raise _unsupported(raw, "documents or conversations")
        record = parse_record(raw)
        first = first or type(record)
        if not isinstance(record, first):
            raise raw.error(
                f"this row is a {type(record).__name__.lower()} but the input started "
                f"with {first.__name__.lower()}s; keep them in separate files"
            )
        yield raw.data, record


# ---------------------------------------------------------------- writing


@functools.cache
def _umask() -> int:
    # os.umask can only be read by setting it; done once, so the brief window is harmless.
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w", *, encoding: str = "utf-8") -> Iterator[IO[Any]]:
    """Write to a temp file beside `path`, then fsync and rename over it; on error keep the old."""
    if mode not in ("w", "wb"):
        raise ValueError(f'atomic_write mode must be "w" or "wb", got {mode!r}')
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    # .NAME.PID-XXXXXXXX.tmp: the pid tells a later write whether its writer is still alive.
    prefix = f".{target.name}.{os.getpid()}-"
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=".tmp")
    try:
        text_args = {} if mode == "wb" else {"encoding": encoding, "newline": ""}
        with os.fdopen(fd, mode, **text_args) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        keep = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp, keep)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)


_STARTED = time.time()  # this process wrote no temp file before this module was loaded


def remove_stale_temps(target: Path) -> list[Path]:
    """Delete the temp files a killed writer left beside `target` (see atomic_write).

    A temp file is stale when the process named in it is gone, or runs but started after the file
    was last written (a recycled pid); one of ours is stale when older than this process. Names
    without a pid (older versions) are removed when older than this process.
    """
    name = re.escape(target.name)
    ours = re.compile(rf"^\.{name}\.(\d+)-[a-z0-9_]{{8}}\.tmp$")
    legacy = re.compile(rf"^\.{name}\.[a-z0-9_]{{8}}\.tmp$")
    removed = []
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            match = ours.match(entry.name)
            if match is None and legacy.match(entry.name) is None:
                continue
            with contextlib.suppress(OSError):
                mtime = entry.stat().st_mtime
                pid = int(match.group(1)) if match else os.getpid()
                if not _writer_alive(pid, mtime):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _writer_alive(pid: int, mtime: float) -> bool:
    """Whether process `pid` may still be writing a temp file last modified at `mtime`."""
    if pid == os.getpid():
        return mtime >= _STARTED
    if os.name != "posix":
        return True  # os.kill(pid, 0) would end the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    started = _process_start(pid)
    return started is None or mtime >= started - 1.0  # /proc/stat's boot time is in seconds


def _process_start(pid: int) -> float | None:
    """Unix time process `pid` started (Linux /proc); None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable (a no-op where a directory cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def jsonl_line(row: Mapping[str, Any]) -> str:
    """One row as `write_jsonl` writes it: UTF-8 JSON, no ASCII escapes, a newline."""
    return json.dumps(dict(row), ensure_ascii=False, default=_json_default) + "\n"


def write_jsonl(path: PathLike, rows: Iterable[Mapping[str, Any] | Any]) -> int:
    """Atomically write dicts or records (with to_dict) as UTF-8 jsonl; return the row count."""
    count = 0
    with atomic_write(path) as f:
        for row in rows:
            obj = row.to_dict() if hasattr(row, "to_dict") else row
            if not isinstance(obj, Mapping):
                raise TypeError(f"jsonl rows must be dicts or records, got {type(row).__name__}")
            f.write(jsonl_line(obj))
            count += 1
    return count


def write_json(path: PathLike, obj: Any, *, indent: int = 2) -> None:
    """Atomically write `obj` as pretty UTF-8 JSON."""
    text = json.dumps(obj, ensure_ascii=False, indent=indent, default=_json_default)
    write_text(path, text + "\n")


def write_text(path: PathLike, text: str, *, encoding: str = "utf-8") -> None:
    """Atomically write a text file."""
    with atomic_write(path, encoding=encoding) as f:
        f.write(text)


def file_sha256(path: PathLike) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of_files(paths: Iterable[PathLike]) -> dict[str, str]:
    """Map each file (directories expanded recursively, sorted) to its hex SHA-256."""
    hashes: dict[str, str] = {}
    for p in map(Path, paths):
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            hashes[str(f)] = file_sha256(f)
    return hashes


def _manifest_inputs(inputs: Iterable[PathLike] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(inputs, Mapping):
        return dict(inputs)
    hashes: dict[str, Any] = {}
    for item in inputs:
        # Inputs that are not local files (hub model or dataset ids) are recorded unhashed.
        hashes.update(sha256_of_files([item]) if Path(item).exists() else {os.fspath(item): None})
    return hashes


def write_manifest(
    directory: PathLike,
    *,
    stage: str,
    inputs: Iterable[PathLike] | Mapping[str, Any],
    config: Any,
    counts: Mapping[str, Any],
    timings: Mapping[str, float],
    status: str,
) -> Path:
    """Atomically write `<directory>/manifest.json` describing one stage run; return its path."""
    manifest = {
        "stage": stage,
        "status": status,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "created_at_ns": time.time_ns(),  # tells two writes within one second apart
        "inputs": _manifest_inputs(inputs),
        "config": config,
        "counts": dict(counts),
        "timings": dict(timings),
    }
    path = Path(directory) / MANIFEST_NAME
    write_json(path, manifest)
    return path


def read_manifest(directory: PathLike) -> dict[str, Any] | None:
    """Return the stage manifest in `directory`, or None when there is none."""
    path = Path(directory) / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            path,
            exc.lineno,
            f"invalid JSON in manifest ({exc.msg}); delete the file to rerun the stage",
        ) from None
    if not isinstance(data, dict):
        raise DataError(path, None, "manifest must be a JSON object; delete it to rerun the stage")
    return data
