"""Data recipe stages: clean, dedup, decontaminate, select, validate, convert.

Each is the verb of the same name as a stage: its options are the verb's, its inputs are files
(`path:`) or earlier data stages (`from:`), and it writes into its stage folder:
`data.jsonl` (kept rows), `rejects.jsonl` (each rejected row with its reason), `report.json`.
Its counts (the manifest's) hold read = kept + rejected, by reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from domaintune.config import DataSource, StageBase
from domaintune.stages import DATA_FILE, REJECTS_FILE, StageContext

REPORT_FILE = "report.json"
_WORKERS = frozenset({"num_proc"})  # how many processes: never what is kept


class DataStage(StageBase):
    """A stage that reads rows and writes the kept ones (`produces: data`)."""

    data: list[DataSource] = Field(min_length=1, description="files/folders or from: STAGE")
    produces: ClassVar[str] = "data"
    volatile_fields: ClassVar[frozenset[str]] = _WORKERS

    def sources(self) -> list[DataSource]:
        return list(self.data)


class CleanStage(DataStage):
    """HTML to text, unicode repair, boilerplate removal, quality and language filters."""

    type: Literal["clean"]
    lang: Literal["auto", "zh", "en"] = "auto"
    redact_pii: bool = False
    num_proc: int = Field(1, ge=1)


class DedupStage(DataStage):
    """Exact and near duplicates (MinHash LSH); unset options take `data dedup`'s defaults."""

    type: Literal["dedup"]
    threshold: float | None = Field(None, gt=0.0, lt=1.0)
    ngram: int | None = Field(None, ge=1)
    num_perm: int | None = Field(None, ge=2)
    verify: bool | None = None
    num_proc: int = Field(1, ge=1)


class DecontaminateStage(DataStage):
    """Drop training rows sharing a long n-gram with evaluation items.

    `against`: evaluation files, or earlier data stages (e.g. an eval set made by synth);
    `against_stages`: train or eval stages whose evaluation files (eval_data, perplexity, mcq)
    are checked, wherever they stand in the recipe (their files are known before they run).
    """

    type: Literal["decontaminate"]
    against: list[DataSource] = Field(default_factory=list)
    against_stages: list[str] = Field(default_factory=list)
    ngram: int | None = Field(None, ge=1, description="word n-gram (default 13, GPT-3)")
    char_ngram: int | None = Field(None, ge=1, description="Chinese character n-gram")
    num_proc: int = Field(1, ge=1)

    def sources(self) -> list[DataSource]:
        return [*self.data, *self.against]

    def inputs(self, recipe: Any) -> list[str]:
        named = [f for n in self.against_stages for f in recipe.stage(n).eval_files()]
        return [*self.input_paths(), *named]

    def ref_problems(
        self, earlier: Mapping[str, StageBase], stages: Mapping[str, StageBase]
    ) -> list[str]:
        problems = super().ref_problems(earlier, stages)
        for name in self.against_stages:
            if name not in stages or not stages[name].eval_files():
                with_files = [n for n, s in stages.items() if s.eval_files()]
                problems.append(
                    f"against_stages: {name!r} is not a stage with evaluation files "
                    f"(stages with some: {with_files})"
                )
        if not self.against and not self.against_stages:
            problems.append("give against: (eval files) and/or against_stages: (stage names)")
        return problems


class SelectStage(DataStage):
    """Pick n diverse conversations (k-means of prompts, or round-robin over categories)."""

    type: Literal["select"]
    n: int = Field(gt=0)
    by: Literal["cluster", "category"] = "cluster"
    k: int | None = Field(None, gt=0)
    seed: int = 0
    embedder: str | None = Field(None, description="local sentence-transformers model dir")


class ValidateStage(DataStage):
    """Keep the valid conversations; invalid rows are rejected with their reason."""

    type: Literal["validate"]
    format: Literal["auto", "alpaca", "sharegpt", "openai"] = "auto"
    tokenizer: str | None = Field(None, description="tokenizer dir, or 'base' for the model's")
    template: str | None = None
    max_len: int | None = Field(None, gt=0)

    def models(self) -> list[str]:
        return ["base"] if self.tokenizer == "base" else []

    def input_paths(self) -> list[str]:
        own = [self.tokenizer] if self.tokenizer not in (None, "base") else []
        return [*super().input_paths(), *own]


class ConvertStage(DataStage):
    """Rewrite conversations as openai, alpaca or sharegpt rows (an error names what is lost)."""

    type: Literal["convert"]
    to: Literal["openai", "alpaca", "sharegpt"]


# ------------------------------------------------------------------ runs


def _files(ctx: StageContext, stage: DataStage) -> Path | list[Path]:
    """The stage's inputs: one path, or a list (the verbs read both)."""
    files = ctx.all_paths(stage.data)
    return files[0] if len(files) == 1 else files


def _options(stage: StageBase, *names: str) -> dict[str, Any]:
    """The options the recipe set (unset ones keep the verb's own defaults)."""
    return {n: getattr(stage, n) for n in names if getattr(stage, n) is not None}


def run_clean(stage: CleanStage, ctx: StageContext) -> dict:
    from domaintune.data.clean import CleanConfig, clean_file
    from domaintune.data.corpus_cli import LANGS

    config = CleanConfig(langs=LANGS[stage.lang], redact_pii=stage.redact_pii)
    summary = clean_file(
        _files(ctx, stage),
        ctx.out / DATA_FILE,
        config=config,
        rejects=ctx.out / REJECTS_FILE,
        report=ctx.out / REPORT_FILE,
        num_proc=stage.num_proc,
    )
    return {
        **summary.counts.to_dict(),
        "lines_removed_by_rule": dict(summary.lines_removed.most_common()),
        "pii_redacted": dict(summary.pii.most_common()),
    }


def run_dedup(stage: DedupStage, ctx: StageContext) -> dict:
    from domaintune.data.dedup import dedup_documents

    result = dedup_documents(
        _files(ctx, stage),
        ctx.out / DATA_FILE,
        clusters=ctx.out / "clusters.jsonl",
        rejects=ctx.out / REJECTS_FILE,
        report=ctx.out / REPORT_FILE,
        num_proc=stage.num_proc,
        **_options(stage, "threshold", "ngram", "num_perm", "verify"),
    )
    return {**result.counts.to_dict(), "clusters": len(result.clusters)}


def run_decontaminate(stage: DecontaminateStage, ctx: StageContext) -> dict:
    from domaintune.data.decontaminate import build_index, decontaminate_file
    from domaintune.resources import resolve

    named = [resolve(f) for n in stage.against_stages for f in ctx.recipe.stage(n).eval_files()]
    options = {"word_n": stage.ngram, "char_n": stage.char_ngram}
    index = build_index(
        [*ctx.all_paths(stage.against), *named],
        **{k: v for k, v in options.items() if v is not None},
    )
    counts, hits = decontaminate_file(
        _files(ctx, stage),
        ctx.out / DATA_FILE,
        index,
        rejects=ctx.out / REJECTS_FILE,
        report=ctx.out / REPORT_FILE,
        num_proc=stage.num_proc,
    )
    return {**counts.to_dict(), "eval_items": index.items, "too_short": len(index.too_short)}


def run_select(stage: SelectStage, ctx: StageContext) -> dict:
    from domaintune.data.select import select_file

    report = select_file(
        _one_file(ctx, stage),
        ctx.out / DATA_FILE,
        n=stage.n,
        by=stage.by,
        k=stage.k,
        seed=stage.seed,
        embedder=stage.embedder,
        report=ctx.out / REPORT_FILE,
        rejects=ctx.out / REJECTS_FILE,
    )
    keys = ("read", "kept", "rejected", "rejected_by_reason")
    return {k: report[k] for k in keys}


def run_validate(stage: ValidateStage, ctx: StageContext) -> dict:
    from domaintune.data.validate import load_tokenizer, rejected_path, validate_file
    from domaintune.records import DataError

    tokenizer = None
    if stage.tokenizer is not None:
        path = ctx.model_dir("base") if stage.tokenizer == "base" else Path(stage.tokenizer)
        tokenizer = load_tokenizer(path)
    out = ctx.out / DATA_FILE
    report = validate_file(
        _one_file(ctx, stage),
        fmt=stage.format,
        tokenizer=tokenizer,
        template=stage.template,
        max_len=stage.max_len,
        drop_invalid=out,
    )
    if report.file_error:
        raise DataError(report.path, None, report.file_error.removeprefix(f"{report.path}: "))
    rejected_path(out).replace(ctx.out / REJECTS_FILE)
    by_reason = report.by_reason()
    return {
        "read": report.rows,
        "kept": report.valid,
        "rejected": report.invalid,
        "rejected_by_reason": by_reason,
    }


def run_convert(stage: ConvertStage, ctx: StageContext) -> dict:
    from domaintune.data.convert import convert_file

    written = convert_file(_one_file(ctx, stage), ctx.out / DATA_FILE, to=stage.to)
    return {"read": written, "kept": written, "rejected": 0, "rejected_by_reason": {}}


def _one_file(ctx: StageContext, stage: DataStage) -> Path:
    """The stage's input as one file: several inputs are joined (rows unchanged, in order)."""
    from domaintune.io import iter_rows, write_jsonl

    files = ctx.all_paths(stage.data)
    if len(files) == 1 and not files[0].is_dir():
        return files[0]
    joined = ctx.out / "inputs.jsonl"
    write_jsonl(joined, (row for f in files for row in _rows_of(f, iter_rows)))
    return joined


def _rows_of(path: Path, iter_rows) -> Any:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        for _, row in iter_rows(f):
            yield row
