"""Run a recipe's stages in order, each into its own folder of the run directory.

A stage whose manifest says `complete` with the same fingerprint (its config and everything
upstream) is skipped; a training stage that stopped part-way resumes from its last checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from domaintune import distributed
from domaintune.config import EvalStage, Recipe, TrainConfig, TrainStage
from domaintune.io import (
    read_conversations,
    read_documents,
    read_manifest,
    sha256_of_files,
    write_json,
    write_manifest,
    write_text,
)
from domaintune.resources import resolve

log = logging.getLogger(__name__)
BUILTIN_TINY = "builtin:tiny"


@dataclass
class RunContext:
    recipe: Recipe
    console: Console = field(default_factory=Console)
    fingerprints: dict[str, str] = field(default_factory=dict)
    force: bool = False  # start training stages even when the memory estimate says no

    @property
    def run_dir(self) -> Path:
        return self.recipe.run_dir

    def model_dir(self, ref: str) -> Path:
        """The model a stage reads: 'base' or an earlier stage's output."""
        if ref == "base":
            path = self.recipe.model.path
            return self.run_dir / "base-model" if path == BUILTIN_TINY else Path(path)
        stage_dir = self.run_dir / ref
        merged = stage_dir / "merged"
        return merged if merged.exists() else stage_dir / "final"


def _fingerprint(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _is_done(stage_dir: Path, fingerprint: str) -> bool:
    manifest = read_manifest(stage_dir)
    return (
        bool(manifest)
        and manifest.get("status") == "complete"
        and (manifest.get("config", {}).get("fingerprint") == fingerprint)
    )


def ensure_base_model(ctx: RunContext) -> None:
    """Build the built-in tiny model into the run directory when the recipe asks for it."""
    model = ctx.recipe.model
    if model.path != BUILTIN_TINY:
        ctx.fingerprints["base"] = _fingerprint(model.model_dump(mode="json"))
        return
    from domaintune.models import TOKENIZER_FILES
    from domaintune.resources import data_path

    # The tiny model's tokenizer is trained on the bundled text: a change there is a new model.
    data = sha256_of_files(data_path(f) for f in TOKENIZER_FILES)
    ctx.fingerprints["base"] = _fingerprint(model.model_dump(mode="json"), sorted(data.values()))
    out = ctx.run_dir / "base-model"
    if distributed.is_main_process() and not _is_done(out, ctx.fingerprints["base"]):
        _build_base_model(ctx, out)
    distributed.barrier()  # the other ranks load what rank 0 built


def _build_base_model(ctx: RunContext, out: Path) -> None:
    from domaintune.models import build_tiny_model

    b = ctx.recipe.model.builtin
    ctx.console.rule("[bold]base model: building the built-in tiny model")
    start = time.time()
    build_tiny_model(
        out,
        arch=b.arch,
        seed=b.seed,
        vocab_size=b.vocab_size,
        hidden_size=b.hidden_size,
        num_layers=b.num_layers,
    )
    write_manifest(
        out,
        stage="init-model",
        inputs={"builtin": b.model_dump()},
        config={"fingerprint": ctx.fingerprints["base"]},
        counts={},
        timings={"seconds": round(time.time() - start, 2)},
        status="complete",
    )


def settings_from(train: TrainConfig, seed: int):
    from domaintune.train.trainer import TrainSettings

    d = train.model_dump()
    lora = d.pop("lora")
    d.pop("max_len")  # a data setting: used when the dataset is built
    return TrainSettings(
        **d,
        seed=seed,
        lora_r=lora["r"],
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        lora_target_modules=lora["target_modules"],
    )


def load_trainable(
    path: Path,
    *,
    dtype: str,
    trust_remote_code: bool,
    qlora: dict | None = None,
    attn_implementation: str | None = None,
):
    """Load a model to train further; an adapter directory is merged into its base first.

    With `qlora` settings the base is loaded in 4 bits (an adapter is merged into a full-precision
    copy first and that copy quantised)."""
    from domaintune.models import load_for_eval, load_tokenizer

    if qlora is not None:
        from domaintune.train.qlora import load_quantized, require_bitsandbytes

        require_bitsandbytes()  # before anything is read or loaded
        if (Path(path) / "adapter_config.json").exists():
            raise ValueError(
                f"method qlora starts from a full model; {path} is an adapter. Train the "
                "earlier stage with merge: true and point model_from at it, or use method: lora"
            )
        model = load_quantized(
            path,
            qlora,
            trust_remote_code=trust_remote_code,
            attn_implementation=attn_implementation,
        )
        tokenizer = load_tokenizer(path, trust_remote_code=trust_remote_code)
        model.train()
        return model, tokenizer
    model, tokenizer = load_for_eval(
        path,
        dtype=dtype,
        trust_remote_code=trust_remote_code,
        attn_implementation=attn_implementation,
    )
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.train()
    return model, tokenizer


def _dataset_builder(stage: TrainStage, tokenizer: Any, *, pack: bool | None = None):
    """records -> (dataset, stats) for this stage's type and settings."""
    from functools import partial

    from domaintune.train.data import build_pt_dataset, build_sft_dataset

    if stage.type == "pt":
        return partial(build_pt_dataset, tokenizer=tokenizer, max_len=stage.train.max_len)
    return partial(
        build_sft_dataset,
        tokenizer=tokenizer,
        max_len=stage.train.max_len,
        pack=stage.train.pack if pack is None else pack,
        **_sft_options(stage),
    )


def _sft_options(stage: TrainStage) -> dict:
    return {
        "template": stage.template,
        "train_on_prompt": stage.train_on_prompt,
        "mask_history": stage.mask_history,
    }


def _train_sources(ctx: RunContext, stage: TrainStage) -> list:
    """The stage's data files (and PTX text) read, sampled by `fraction`, named."""
    from domaintune.config import source_label
    from domaintune.train.data import sample_fraction
    from domaintune.train.sources import Source

    read = read_documents if stage.type == "pt" else read_conversations
    seed = ctx.recipe.seed
    sources = [
        Source(
            source_label(d),
            sample_fraction(list(read(resolve(d.path))), d.fraction, seed),
            stage.type,
            share=d.share,
        )
        for d in stage.data
    ]
    for d in stage.ptx.data if stage.ptx else []:
        docs = sample_fraction(list(read_documents(resolve(d.path))), d.fraction, seed)
        sources.append(Source(source_label(d), docs, "pt", ptx=True))
    return sources


def apply_template(ctx: RunContext, stage: TrainStage, model: Any, tokenizer: Any, source: Path):
    """Check the SFT template fits the model; make the outputs carry it and its stop tokens."""
    from domaintune.templates import chat_template_for, get_template
    from domaintune.templates.check import template_warnings

    for warning in template_warnings(tokenizer, str(source), stage.template, model.config):
        log.warning(warning)
        ctx.console.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
    if stage.template in (None, "hf"):
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                f"stage {stage.name!r}: the tokenizer of {source} has no chat "
                "template; set `template:` to a registry name (domaintune template "
                "list), e.g. plain for a base model"
            )
        return
    t = get_template(stage.template)
    tokenizer.chat_template = chat_template_for(stage.template)  # inference sees what training saw
    stops = [
        tokenizer.convert_tokens_to_ids(s)
        for s in [t.resolve(x, tokenizer.bos_token, tokenizer.eos_token) for x in t.stop_tokens]
        if s in tokenizer.get_vocab()
    ]
    model.generation_config.eos_token_id = stops[0] if len(stops) == 1 else stops


def zero_stage(deepspeed_config: str | None) -> int:
    """The ZeRO stage of a DeepSpeed JSON config (0 without one)."""
    if not deepspeed_config:
        return 0
    try:
        config = json.loads(Path(deepspeed_config).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"train.deepspeed: cannot read {deepspeed_config}: {err}") from None
    return int(config.get("zero_optimization", {}).get("stage", 0) or 0)


def preflight_stage(ctx: RunContext, stage: TrainStage, source: Path) -> dict | None:
    """On a GPU: estimate the stage's peak memory first; refuse a run that will not fit."""
    import torch

    if not torch.cuda.is_available():
        return None  # CPU runs use host memory; the estimator is about GPUs
    from domaintune.memory import preflight, require_fit

    s = stage.train
    result = preflight(
        source,
        method=s.method,
        seq_len=s.max_len,
        batch=s.batch_size,
        grad_accum=s.gradient_accumulation_steps,
        lora_rank=s.lora.r,
        lora_targets=s.lora.target_modules,
        lora_dropout=s.lora.dropout,
        trainable_layers=s.freeze_trainable_layers,
        grad_ckpt=s.gradient_checkpointing,
        gpus=distributed.world_size(),
        zero=zero_stage(s.deepspeed),
    )
    require_fit(result, force=ctx.force)
    ctx.console.print(result.message(), highlight=False, soft_wrap=True)
    return result.to_json()


def run_train_stage(ctx: RunContext, stage: TrainStage, *, resume: bool) -> dict:
    import os

    from domaintune.train.sources import build_train_set
    from domaintune.train.trainer import run_training

    recipe, out, t = ctx.recipe, ctx.run_dir / stage.name, stage.train
    source = ctx.model_dir(stage.model_from or "base")
    model, tokenizer = load_trainable(
        source,
        dtype=recipe.model.dtype,
        trust_remote_code=recipe.model.trust_remote_code,
        qlora=t.qlora.model_dump() if t.method == "qlora" else None,
        attn_implementation=recipe.model.attn_implementation,
    )
    if stage.type == "sft":
        apply_template(ctx, stage, model, tokenizer, source)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    train = build_train_set(
        _train_sources(ctx, stage),
        tokenizer,
        max_len=t.max_len,
        pack=t.pack,
        sft=_sft_options(stage) if stage.type == "sft" else None,
        rows_per_step=t.batch_size * t.gradient_accumulation_steps * world,
        seed=recipe.seed,
        on_exhausted=stage.on_exhausted,
        ptx_share=stage.ptx.share if stage.ptx else 0.0,
    )
    build = _dataset_builder(stage, tokenizer)
    eval_sets, eval_stats = {}, {}
    for name, path in stage.eval_data.items():
        records = list(
            (read_documents if stage.type == "pt" else read_conversations)(resolve(path))
        )
        eval_sets[name], st = build(records)
        eval_stats[name] = st.to_dict()
    stats = train.total
    layout = (
        "mixed by token shares per step"
        if train.mixed
        else ("packed" if train.packed else "one per row")
    )
    ctx.console.print(
        f"[dim]{stage.name}: {stats.kept} of {stats.rows_in} records, {stats.tokens:,} tokens, "
        f"{layout}, {stats.sequences} sequences of <= {t.max_len}; method {t.method}"
    )
    memory = preflight_stage(ctx, stage, source)
    summary = run_training(
        model,
        tokenizer,
        train.dataset,
        eval_sets,
        out,
        settings_from(t, recipe.seed),
        packed=train.packed,
        resume=resume,
        source_names=train.names,
        ptx_sources=train.ptx_sources,
        ptx_coef=stage.ptx.coef if stage.ptx else 0.0,
    )
    return {
        "data": stats.to_dict(),
        "sources": train.stats,
        "eval_data": eval_stats,
        "training": summary,
        "memory": memory,
    }


def run_eval_stage(ctx: RunContext, stage: EvalStage) -> dict:
    from domaintune.eval.perplexity import perplexity
    from domaintune.models import load_for_eval

    sets = {name: list(read_documents(resolve(p))) for name, p in stage.perplexity.items()}
    if stage.max_docs:
        sets = {k: v[: stage.max_docs] for k, v in sets.items()}
    exams = {name: _read_exam(stage, name) for name in stage.mcq}
    results: dict[str, dict[str, dict]] = {}
    exam_results: dict[str, dict[str, dict]] = {}
    for ref in stage.models:
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
    out = ctx.run_dir / stage.name
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
        ctx.console.print(exam_table(exam_results))
        counts["mcq"] = {
            ref: {name: doc["metrics"] for name, doc in docs.items()}
            for ref, docs in exam_results.items()
        }
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


def exam_table(results: dict[str, dict[str, dict]]) -> Table:
    """Models as rows, exams as columns: letter accuracy and lm-eval's acc (percent)."""
    exams = list(next(iter(results.values())))
    table = Table(title="Exams: acc_letter / acc (%, higher is better)", min_width=40)
    table.add_column("model")
    for name in exams:
        table.add_column(name, justify="right")
    for ref, docs in results.items():
        cells = [
            f"{docs[n]['metrics']['acc_letter']:.1f} / {docs[n]['metrics']['acc']:.1f}"
            for n in exams
        ]
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


def run_recipe(
    recipe: Recipe,
    *,
    only: list[str] | None = None,
    resume: bool = True,
    console: Console | None = None,
    force: bool = False,
) -> dict[str, dict]:
    """Run the recipe's stages (or only those named), skipping the ones already complete.

    Under torchrun / accelerate launch every rank calls this: rank 0 writes the run's files and
    decides which stages to skip; the other ranks follow its decisions and print nothing.
    """
    distributed.init_process_group()
    main = distributed.is_main_process()
    ctx = RunContext(recipe, (console or Console()) if main else Console(quiet=True), force=force)
    if main:
        ctx.run_dir.mkdir(parents=True, exist_ok=True)
        write_text(ctx.run_dir / "recipe.yaml", recipe.to_yaml())
    ensure_base_model(ctx)
    outcomes = {}
    for stage in recipe.stages:
        refs = stage.models if isinstance(stage, EvalStage) else [stage.model_from or "base"]
        # A stage is the same stage when its settings, its data's content and all upstream are.
        data = sorted(sha256_of_files(p for p in stage_inputs(stage) if Path(p).exists()).values())
        upstream = [ctx.fingerprints[r] for r in refs]
        fp = _fingerprint(stage.model_dump(mode="json"), recipe.seed, upstream, data)
        distributed.require_same(fp, f"the fingerprint of stage {stage.name!r} (recipe and data)")
        ctx.fingerprints[stage.name] = fp
        if only and stage.name not in only:
            continue
        out = ctx.run_dir / stage.name
        # Rank 0 decides for all: a rank reading the manifest while rank 0 rewrites it could
        # decide otherwise, and ranks that disagree wait for each other forever.
        if distributed.broadcast_from_main(main and _is_done(out, fp)):
            ctx.console.print(f"[green]{stage.name}: complete, skipped[/] (delete {out} to rerun)")
            outcomes[stage.name] = read_manifest(out)["counts"]
            continue
        outcomes[stage.name] = _run_stage(ctx, stage, out, fp, resume=resume)
    from domaintune.report import write_report

    if main:
        write_report(ctx.run_dir)  # the run as a page, also after a partial (--stage) run
    distributed.barrier()  # all ranks return together, with the run's files complete
    return outcomes


def stage_inputs(stage: TrainStage | EvalStage) -> list[str]:
    """The data files a stage reads (their content is part of the stage's fingerprint)."""
    if isinstance(stage, EvalStage):
        paths = [*stage.perplexity.values(), *stage.mcq.values(), *stage.mcq_dev.values()]
    else:
        ptx = [d.path for d in stage.ptx.data] if stage.ptx else []
        paths = [d.path for d in stage.data] + ptx + list(stage.eval_data.values())
    files = []
    for p in paths:  # an exam may be a folder of subject files
        path = resolve(p)
        files += sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
    return [str(f) for f in files]


def _run_stage(ctx: RunContext, stage, out: Path, fp: str, *, resume: bool) -> dict:
    main = distributed.is_main_process()
    previous = read_manifest(out) if main else None
    same_config = bool(previous) and previous.get("config", {}).get("fingerprint") == fp
    same_config = distributed.broadcast_from_main(same_config)
    if main and previous and not same_config:
        ctx.console.print(
            f"[yellow]{stage.name}: the recipe changed since {out} was written; "
            "starting this stage again"
        )
        shutil.rmtree(out)
    ctx.console.rule(f"[bold]{stage.name} ({stage.type})")
    config = {"fingerprint": fp, "stage": stage.model_dump(mode="json")}
    inputs = stage_inputs(stage)
    if main:
        write_manifest(
            out,
            stage=stage.type,
            inputs=inputs,
            config=config,
            counts={},
            timings={},
            status="running",
        )
    distributed.barrier()  # the old stage folder is gone before any rank writes the new one
    start = time.time()
    if isinstance(stage, EvalStage):
        # Scoring is not sharded: rank 0 scores every model, the others wait below.
        counts = run_eval_stage(ctx, stage) if main else {}
    else:
        counts = run_train_stage(ctx, stage, resume=resume and same_config)
    if main:
        write_manifest(
            out,
            stage=stage.type,
            inputs=inputs,
            config=config,
            counts=counts,
            timings={"seconds": round(time.time() - start, 2)},
            status="complete",
        )
    # Also the wait: later stages read this one's outputs, which rank 0 wrote.
    return distributed.broadcast_from_main(counts)
