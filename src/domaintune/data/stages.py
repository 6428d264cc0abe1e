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
# how many processes, and where they run: never what is kept
_WORKERS = frozenset({"num_proc", "engine", "address", "num_cpus"})


class DataStage(StageBase):
    """A stage that reads rows and writes the kept ones (`produces: data`)."""

    data: list[DataSource] = Field(min_length=1, description="files/folders or from: STAGE")
    produces: ClassVar[str] = "data"
    volatile_fields: ClassVar[frozenset[str]] = _WORKERS

    def sources(self) -> list[DataSource]:
        return list(self.data)


class EngineOptions(StageBase):
    """Where the per-document work runs: `local` processes or `ray` (as `--engine`)."""

    engine: Literal["local", "ray"] = "local"
    address: str | None = Field(None, description="Ray cluster: auto, HOST:PORT, ray://HOST:PORT")
    num_cpus: int | None = Field(None, ge=1, description="Ray workers (CPUs)")

    def engine_options(self) -> dict[str, Any]:
        return {"engine": self.engine, "address": self.address, "num_cpus": self.num_cpus}


class CleanStage(DataStage, EngineOptions):
    """HTML to text, unicode repair, boilerplate removal, quality and language filters."""

    type: Literal["clean"]
    lang: Literal["auto", "zh", "en"] = "auto"
    redact_pii: bool = False
    num_proc: int = Field(1, ge=1)


class DedupStage(DataStage, EngineOptions):
    """Exact and near duplicates (MinHash LSH); unset options take `data dedup`'s defaults."""

    type: Literal["dedup"]
    threshold: float | None = Field(None, gt=0.0, lt=1.0)
    ngram: int | None = Field(None, ge=1)
    num_perm: int | None = Field(None, ge=2)
    verify: bool | None = None
    num_proc: int = Field(1, ge=1)


class DecontaminateStage(DataStage, EngineOptions):
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


def _options(stage: StageBase, *names: str) -> dict[str, Any]:
    """The options the recipe set (unset ones keep the verb's own defaults)."""
    return {n: getattr(stage, n) for n in names if getattr(stage, n) is not None}


def _counts(result: Any, **extra: Any) -> dict:
    """A DataResult as the manifest's counts (read = kept + rejected, by reason)."""
    return {**result.counts.to_dict(), **extra}


# Each run_* is the Python API's verb (data/api.py) with the stage's files and folder.


def run_clean(stage: CleanStage, ctx: StageContext) -> dict:
    from domaintune.data import api

    result = api.clean(
        ctx.all_paths(stage.data), ctx.out / DATA_FILE, lang=stage.lang,
        redact_pii=stage.redact_pii, rejects=ctx.out / REJECTS_FILE,
        report=ctx.out / REPORT_FILE, num_proc=stage.num_proc, **stage.engine_options(),
    )  # fmt: skip
    return _counts(result, **result.details)


def run_dedup(stage: DedupStage, ctx: StageContext) -> dict:
    from domaintune.data import api

    result = api.dedup(
        ctx.all_paths(stage.data), ctx.out / DATA_FILE, clusters=ctx.out / "clusters.jsonl",
        rejects=ctx.out / REJECTS_FILE, report=ctx.out / REPORT_FILE, num_proc=stage.num_proc,
        **stage.engine_options(), **_options(stage, "threshold", "ngram", "num_perm", "verify"),
    )  # fmt: skip
    return _counts(result, clusters=len(result.details["clusters"]))


def run_decontaminate(stage: DecontaminateStage, ctx: StageContext) -> dict:
    from domaintune.data import api
    from domaintune.resources import resolve

    named = [resolve(f) for n in stage.against_stages for f in ctx.recipe.stage(n).eval_files()]
    ngrams = {"word_n": stage.ngram, "char_n": stage.char_ngram}
    result = api.decontaminate(
        ctx.all_paths(stage.data), ctx.out / DATA_FILE,
        against=[*ctx.all_paths(stage.against), *named], rejects=ctx.out / REJECTS_FILE,
        report=ctx.out / REPORT_FILE, num_proc=stage.num_proc, **stage.engine_options(),
        **{k: v for k, v in ngrams.items() if v is not None},
    )  # fmt: skip
    d = result.details
    return _counts(result, eval_items=d["eval_items"], too_short=d["too_short"])


def run_select(stage: SelectStage, ctx: StageContext) -> dict:
    from domaintune.data import api

    result = api.select(
        _one_file(ctx, stage), ctx.out / DATA_FILE, n=stage.n, by=stage.by, k=stage.k,
        seed=stage.seed, embedder=stage.embedder, report=ctx.out / REPORT_FILE,
        rejects=ctx.out / REJECTS_FILE,
    )  # fmt: skip
    return _counts(result)


def run_validate(stage: ValidateStage, ctx: StageContext) -> dict:
    from domaintune.data import api
    from domaintune.data.validate import rejected_path

    tokenizer = None
    if stage.tokenizer is not None:
        tokenizer = ctx.model_dir("base") if stage.tokenizer == "base" else Path(stage.tokenizer)
    out = ctx.out / DATA_FILE
    result = api.validate(
        _one_file(ctx, stage), out, fmt=stage.format, tokenizer=tokenizer,
        template=stage.template, max_len=stage.max_len,
    )  # fmt: skip
    rejected_path(out).replace(ctx.out / REJECTS_FILE)
    return _counts(result)


def run_convert(stage: ConvertStage, ctx: StageContext) -> dict:
    from domaintune.data import api

    return _counts(api.convert(_one_file(ctx, stage), ctx.out / DATA_FILE, to=stage.to))


def _one_file(ctx: StageContext, stage: DataStage) -> Path:
    """The stage's input as one file. Several .jsonl inputs are joined byte for byte (a broken
    row stays for validate to reject, with its text); other formats must come one at a time."""
    from domaintune.config import ConfigError
    from domaintune.io import atomic_write

    files = ctx.all_paths(stage.data)
    if len(files) == 1 and files[0].is_file():
        return files[0]
    if not all(f.is_file() and f.suffix == ".jsonl" for f in files):
        raise ConfigError(
            f"stage {stage.name!r}: {stage.type} reads one file, or several .jsonl files (got "
            f"{', '.join(map(str, files))}); convert the others to .jsonl first"
        )
    joined = ctx.out / "inputs.jsonl"
    with atomic_write(joined, "wb") as f:
        for file in files:
            data = file.read_bytes()
            f.write(data if data.endswith(b"\n") or not data else data + b"\n")
    return joined
