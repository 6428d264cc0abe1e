"""The data verbs as Python functions: `dt.data.clean(...)`, `dt.data.dedup(...)`, ...

Each takes plain arguments (paths and options, the same as the command's), writes its output
atomically and returns a typed result whose `counts` hold read = kept + rejected, by reason.
`src` may be one path or a list of paths (files or folders).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domaintune.data.accounting import Counts
from domaintune.io import PathLike

Src = PathLike | Sequence[PathLike]
LANGS = {"auto": ("zh", "en"), "zh": ("zh",), "en": ("en",)}


@dataclass
class DataResult:
    """What a data verb did: its counts (read = kept + rejected), output path, and extras."""

    counts: Counts
    out: Path
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def read(self) -> int:
        return self.counts.read

    @property
    def kept(self) -> int:
        return self.counts.kept

    @property
    def rejected(self) -> int:
        return self.counts.rejected

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        return dict(self.counts.rejected_by_reason)


def _engine(engine: str, address: str | None, num_cpus: int | None, num_proc: int):
    """The engine the verb runs on, open for the verb's duration (`data/parallel.py`)."""
    from domaintune.data.parallel import open_engine

    if engine != "local" and num_proc > 1:
        raise ValueError("num_proc is the local engine's; give num_cpus with engine='ray'")
    return open_engine(engine, address=address, num_cpus=num_cpus)


def _src(src: Src) -> PathLike | list[PathLike]:
    if isinstance(src, str | Path):
        return src
    items = list(src)
    return items[0] if len(items) == 1 else items


def clean(
    src: Src,
    out: PathLike,
    *,
    lang: str = "auto",
    redact_pii: bool = False,
    rejects: PathLike | None = None,
    report: PathLike | None = None,
    num_proc: int = 1,
    engine: str = "local",
    address: str | None = None,
    num_cpus: int | None = None,
    shards: int | None = None,
) -> DataResult:
    """Raw documents (HTML pages, text, jsonl) to clean text: extraction, repair, filters.

    `engine="ray"` runs the per-document work on Ray (`address` of a cluster, or a local Ray
    with `num_cpus`); the output is the same as the local engine's."""
    from domaintune.data.clean import CleanConfig, clean_file

    if lang not in LANGS:
        raise ValueError(f"lang {lang!r}: choose one of {', '.join(LANGS)}")
    config = CleanConfig(langs=LANGS[lang], redact_pii=redact_pii)
    with _engine(engine, address, num_cpus, num_proc) as eng:
        summary = clean_file(
            _src(src), out, config=config, rejects=rejects, report=report, num_proc=num_proc,
            engine=eng, shards=shards,
        )  # fmt: skip
    details = {
        "lines_removed_by_rule": dict(summary.lines_removed.most_common()),
        "pii_redacted": dict(summary.pii.most_common()),
    }
    return DataResult(summary.counts, Path(out), details)


def dedup(
    src: Src,
    out: PathLike,
    *,
    rejects: PathLike | None = None,
    report: PathLike | None = None,
    clusters: PathLike | None = None,
    num_proc: int = 1,
    engine: str = "local",
    address: str | None = None,
    num_cpus: int | None = None,
    **options: Any,
) -> DataResult:
    """Drop exact and near duplicates; `options`: threshold, ngram, num_perm, verify, seed,
    shards (a folder `out` of part files, docs/scale.md).
    `engine="ray"` keeps exactly the documents the local engine keeps."""
    from domaintune.data.dedup import dedup_documents

    with _engine(engine, address, num_cpus, num_proc) as eng:
        result = dedup_documents(
            _src(src), out, rejects=rejects, report=report, clusters=clusters,
            num_proc=num_proc, engine=eng, **options,
        )  # fmt: skip
    details = {"clusters": [c.to_dict() for c in result.clusters], "bands": result.bands,
               "rows": result.rows}  # fmt: skip
    return DataResult(result.counts, Path(out), details)


def decontaminate(
    src: Src,
    out: PathLike,
    *,
    against: Sequence[PathLike],
    rejects: PathLike | None = None,
    report: PathLike | None = None,
    num_proc: int = 1,
    engine: str = "local",
    address: str | None = None,
    num_cpus: int | None = None,
    shards: int | None = None,
    **ngrams: int,
) -> DataResult:
    """Drop rows sharing a long n-gram with any evaluation item (`word_n`, `char_n`)."""
    from domaintune.data.decontaminate import build_index, decontaminate_file

    index = build_index(list(against), **ngrams)
    with _engine(engine, address, num_cpus, num_proc) as eng:
        counts, hits = decontaminate_file(
            _src(src), out, index, rejects=rejects, report=report, num_proc=num_proc,
            engine=eng, shards=shards,
        )  # fmt: skip
    details = {"hits": hits, "eval_items": index.items, "too_short": len(index.too_short)}
    return DataResult(counts, Path(out), details)


def select(
    src: PathLike,
    out: PathLike,
    *,
    n: int,
    by: str = "cluster",
    k: int | None = None,
    seed: int = 0,
    embedder: PathLike | None = None,
    rejects: PathLike | None = None,
    report: PathLike | None = None,
) -> DataResult:
    """Pick `n` diverse conversations (k-means of prompts, or round-robin over categories)."""
    from domaintune.data.select import select_file

    found = select_file(
        src, out, n=n, by=by, k=k, seed=seed, embedder=embedder, report=report, rejects=rejects
    )
    counts = Counts(read=found["read"], kept=found["kept"])
    counts.rejected_by_reason.update(found["rejected_by_reason"])
    keys = ("read", "kept", "rejected", "rejected_by_reason")
    return DataResult(counts, Path(out), {k: v for k, v in found.items() if k not in keys})


def validate(
    src: PathLike,
    out: PathLike | None = None,
    *,
    fmt: str = "auto",
    tokenizer: Any = None,
    template: str | None = None,
    max_len: int | None = None,
) -> DataResult:
    """Check every conversation row; with `out`, write the valid rows there (rejects beside).

    `tokenizer` is a tokenizer object or a folder; a file-level problem raises DataError.
    """
    from domaintune.data.validate import load_tokenizer, validate_file
    from domaintune.records import DataError

    if isinstance(tokenizer, str | Path):
        tokenizer = load_tokenizer(tokenizer)
    report = validate_file(
        src, fmt=fmt, tokenizer=tokenizer, template=template, max_len=max_len, drop_invalid=out
    )
    if report.file_error:
        raise DataError(src, None, report.file_error.removeprefix(f"{src}: "))
    counts = Counts(read=report.rows, kept=report.valid)
    counts.rejected_by_reason.update(report.by_reason())
    problems = [p.message for p in report.problems]
    return DataResult(counts, Path(out) if out else Path(src), {"problems": problems})


def convert(src: PathLike, out: PathLike, *, to: str) -> DataResult:
    """Rewrite conversations as `to` (openai, alpaca, sharegpt); an error names what is lost."""
    from domaintune.data.convert import convert_file

    written = convert_file(src, out, to=to)
    return DataResult(Counts(read=written, kept=written), Path(out))
