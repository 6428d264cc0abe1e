"""The `eval` recipe stage: held-out perplexity and multiple-choice exams of several models.

Results go to `<stage>/results/<model>/<set>.json` in the shared result layout, so
`domaintune eval compare` reads a run; the tables are printed and the report shows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator
from rich.table import Table

from domaintune.config import StageBase
from domaintune.io import read_documents, write_json
from domaintune.resources import resolve
from domaintune.stages import StageContext


class EvalStage(StageBase):
    """Score models: held-out perplexity and/or multiple-choice exams.

    Each set is in the general group (forgetting) when its name contains "general", else domain.
    """

    type: Literal["eval"]
    models_: list[str] = Field(alias="models", description="'base' and/or earlier stage names")
    perplexity: dict[str, str] = Field(
        default_factory=dict, description="eval set name -> documents file"
    )
    mcq: dict[str, str] = Field(
        default_factory=dict, description="exam name -> C-Eval/CMMLU/MMLU/jsonl file or folder"
    )
    mcq_shots: int = Field(0, ge=0, description="few-shot examples from mcq_dev")
    mcq_dev: dict[str, str] = Field(default_factory=dict, description="exam name -> dev file")
    max_len: int = Field(512, gt=8)
    max_docs: int | None = None

    produces: ClassVar[str] = ""

    def models(self) -> list[str]:
        return list(self.models_)

    def input_paths(self) -> list[str]:
        return [*self.perplexity.values(), *self.mcq.values(), *self.mcq_dev.values()]

    def eval_files(self) -> list[str]:
        return [*self.perplexity.values(), *self.mcq.values()]

    def summary(self, counts: dict) -> list:
        """The stage's tables, from its counts (printed again at the end of a run)."""
        tables = [perplexity_table(counts["perplexity"])] if counts.get("perplexity") else []
        return tables + ([exam_table(counts["mcq"])] if counts.get("mcq") else [])

    @model_validator(mode="after")
    def _something_to_score(self) -> EvalStage:
        if not self.perplexity and not self.mcq:
            raise ValueError(f"eval stage {self.name!r}: give perplexity sets and/or mcq exams")
        if self.mcq_shots and set(self.mcq_dev) != set(self.mcq):
            raise ValueError(
                f"eval stage {self.name!r}: mcq_shots needs an mcq_dev file for every exam "
                f"({sorted(self.mcq)})"
            )
        return self


def run_eval(stage: EvalStage, ctx: StageContext) -> dict:
    """The stage contract's entry (rank 0 only: scoring is not sharded)."""
    from domaintune import distributed

    return run_eval_stage(ctx, stage) if distributed.is_main_process() else {}


def run_eval_stage(ctx: StageContext, stage: EvalStage) -> dict:
    from domaintune.eval.perplexity import perplexity
    from domaintune.models import load_for_eval

    sets = {name: list(read_documents(resolve(p))) for name, p in stage.perplexity.items()}
    if stage.max_docs:
        sets = {k: v[: stage.max_docs] for k, v in sets.items()}
    exams = {name: _read_exam(stage, name) for name in stage.mcq}
    results: dict[str, dict[str, dict]] = {}
    exam_results: dict[str, dict[str, dict]] = {}
    for ref in stage.models():
        model, tokenizer = load_for_eval(
            ctx.model_dir(ref),
            dtype=ctx.recipe.model.dtype,
            trust_remote_code=ctx.recipe.model.trust_remote_code,
        )
        results[ref] = {
            name: perplexity(model, tokenizer, docs, max_len=stage.max_len)
            for name, docs in sets.items()
        }
        exam_results[ref] = {
            name: _score_exam(model, tokenizer, ref, name, exam, stage.max_len)
            for name, exam in exams.items()
        }
    out = ctx.out
    counts: dict[str, Any] = {}
    if results and sets:
        write_json(out / "perplexity.json", results)
        write_compare_results(out / "results", results, stage.max_len)
        ctx.console.print(perplexity_table(results))
        counts["perplexity"] = results
    if exams:
        for ref, docs in exam_results.items():
            for name, doc in docs.items():
                write_json(out / "results" / ref / f"{name}.json", doc)
        counts["mcq"] = {
            ref: {name: doc["metrics"] for name, doc in docs.items()}
            for ref, docs in exam_results.items()
        }
        ctx.console.print(exam_table(counts["mcq"]))
    return counts


def _read_exam(stage: EvalStage, name: str):
    from domaintune.eval import mcq

    questions = mcq.read_exam([resolve(stage.mcq[name])])
    dev = mcq.read_exam([resolve(stage.mcq_dev[name])]) if stage.mcq_shots else []
    style = mcq.STYLES[mcq.DEFAULT_STYLE[mcq.detect_format(resolve(stage.mcq[name]))]]
    return questions, mcq.pick_shots(questions, dev, stage.mcq_shots), style


def _score_exam(model, tokenizer, ref: str, name: str, exam, max_len: int) -> dict:
    """One exam for one model, in the shared result layout (kind mcq)."""
    from domaintune.eval import mcq
    from domaintune.eval.results import group_of

    questions, shots, style = exam
    items = mcq.score(model, tokenizer, questions, style=style, shots=shots, max_len=max_len)
    settings = {"exam": name, "prompt": style.name, "max_len": max_len}
    return mcq.mcq_result(items, ref, group=group_of(name), settings=settings)


def exam_table(metrics: dict[str, dict[str, dict]]) -> Table:
    """Models as rows, exams as columns: letter and option-text accuracy (percent).

    `metrics`: model -> exam -> the result's metrics (as the stage's counts hold them)."""
    exams = list(next(iter(metrics.values())))
    table = Table(title="Exams: acc_letter / acc_option (%, higher is better)", min_width=40)
    table.add_column("model")
    for name in exams:
        table.add_column(name, justify="right")
    for ref, by_exam in metrics.items():
        cells = [f"{by_exam[n]['acc_letter']:.1f} / {by_exam[n]['acc_option']:.1f}" for n in exams]
        table.add_row(ref, *cells)
    return table


def write_compare_results(folder: Path, results: dict[str, dict[str, dict]], max_len: int) -> None:
    """One `eval ppl`-layout JSON per model and eval set: results/<model>/<set>.json, grouped by
    name (results.group_of), so `domaintune eval compare results/<before> results/<after>` reads
    a run."""
    from domaintune.eval.perplexity import ppl_result
    from domaintune.eval.results import group_of

    for ref, sets in results.items():
        for name, figures in sets.items():
            doc = ppl_result(
                ref,
                {name: figures},
                group=group_of(name),
                settings={"max_len": max_len, "stride": max_len},
            )
            write_json(folder / ref / f"{name}.json", doc)


def perplexity_table(results: dict[str, dict[str, dict]]) -> Table:
    """Models as rows, eval sets as columns; the relative change against the first model."""
    sets = list(next(iter(results.values())))
    first = next(iter(results))
    table = Table(title="Held-out perplexity (lower is better)", min_width=40)
    table.add_column("model")
    for name in sets:
        table.add_column(name, justify="right")
    for ref, row in results.items():
        cells = []
        for name in sets:
            ppl = row[name]["perplexity"]
            base = results[first][name]["perplexity"]
            delta = "" if ref == first else f" ({(ppl - base) / base:+.0%})"
            cells.append(f"{ppl:,.1f}{delta}")
        table.add_row(ref, *cells)
    return table


