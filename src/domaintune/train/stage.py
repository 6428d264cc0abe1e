"""Training stages `pt` (continued pre-training) and `sft`: the config model and `run_train`.

Everything a training stage does lives here: loading the model to train (QLoRA included),
checking and saving the chat template, the GPU memory pre-flight, reading and mixing the data
sources, and handing them to the trainer (`train/trainer.py`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from domaintune import distributed
from domaintune.config import DataSource, PtxConfig, StageBase, TrainConfig, source_label
from domaintune.io import read_conversations, read_documents
from domaintune.resources import resolve
from domaintune.stages import StageContext
from domaintune.train.cpt_prompts import CptPromptsConfig

log = logging.getLogger(__name__)

# Fields that change how a run is logged or checkpointed, never what it learns.
_CADENCE = frozenset({"train.logging_steps", "train.save_total_limit"})


class TrainStage(StageBase):
    """`pt`: documents packed whole; `sft`: conversations through a chat template."""

    type: Literal["pt", "sft"]
    model_from: str | None = Field(None, description="an earlier stage's name, or 'base'")
    data: list[DataSource] = Field(min_length=1)
    on_exhausted: Literal["repeat", "stop"] = Field(
        "repeat", description="with shares: repeat a source that runs out, or end the epoch"
    )
    ptx: PtxConfig | None = None
    eval_data: dict[str, str] = Field(default_factory=dict)
    train: TrainConfig = TrainConfig()
    # sft only: the chat format (registry name, or hf / unset: the tokenizer's own template)
    template: str | None = None
    train_on_prompt: bool = False
    mask_history: bool = Field(False, description="train only the last assistant turn")
    # pt only: a share of documents followed by "summarise the above" and their title (§6)
    cpt_prompts: CptPromptsConfig | None = None

    produces: ClassVar[str] = "model"

    def sources(self) -> list[DataSource]:
        return [*self.data, *(self.ptx.data if self.ptx else [])]

    def models(self) -> list[str]:
        return [self.model_from or "base"]

    def input_paths(self) -> list[str]:
        return [*super().input_paths(), *self.eval_data.values()]

    def eval_files(self) -> list[str]:
        return list(self.eval_data.values())

    def volatile(self) -> frozenset[str]:
        """Evaluation and save cadence change results only through early stopping or keep_best."""
        t = self.train
        # Unset, cpt_prompts is left out: runs from before the option keep their fingerprints.
        unset = frozenset() if self.cpt_prompts else frozenset({"cpt_prompts"})
        if t.early_stopping_patience is None and not t.keep_best:
            return _CADENCE | unset | {"train.eval_steps", "train.save_steps"}
        return _CADENCE | unset

    @model_validator(mode="after")
    def _check(self) -> TrainStage:
        if self.type == "pt" and (
            self.template or self.train_on_prompt or self.mask_history or self.ptx
        ):
            raise ValueError(
                f"stage {self.name!r}: template, train_on_prompt, mask_history and ptx apply to "
                "type sft only"
            )
        if self.type == "sft" and self.cpt_prompts:
            raise ValueError(f"stage {self.name!r}: cpt_prompts applies to type pt only")
        shares = [d.share for d in self.data]
        if any(x is not None for x in shares):
            if any(x is None for x in shares):
                raise ValueError(
                    f"stage {self.name!r}: give every data source a share, or none (got {shares})"
                )
            if abs(sum(shares) - 1.0) > 1e-6:
                raise ValueError(
                    f"stage {self.name!r}: data shares must add up to 1.0, got {sum(shares):g} "
                    f"({shares})"
                )
        names = [source_label(d) for d in self.data]
        if len(set(names)) != len(names):
            raise ValueError(
                f"stage {self.name!r}: two data sources are both called {names}; set `name:` "
                "on each so their losses can be told apart"
            )
        wrap = (self.cpt_prompts.sources or []) if self.cpt_prompts else []
        if set(wrap) - set(names):
            raise ValueError(
                f"stage {self.name!r}: cpt_prompts.sources {sorted(set(wrap) - set(names))} "
                f"are not data sources of the stage ({names})"
            )
        if self.template not in (None, "hf"):
            from domaintune.templates import get_template

            get_template(self.template)  # an unknown name lists the valid ones
        return self


def run_train(stage: TrainStage, ctx: StageContext) -> dict:
    """The stage contract's entry: train into ctx.out (checkpoints, final/, metrics.jsonl)."""
    return run_train_stage(ctx, stage, resume=ctx.resume)


def settings_from(train: TrainConfig, seed: int):
    """The trainer's settings: every field of the stage's `train:` section, and the seed."""
    from domaintune.train.trainer import TrainSettings

    return TrainSettings(**train.model_dump(), seed=seed)


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


def _train_sources(ctx: StageContext, stage: TrainStage) -> list:
    """The stage's data files (and PTX text) read, sampled by `fraction`, named."""
    from domaintune.config import source_label
    from domaintune.train.data import sample_fraction
    from domaintune.train.sources import Source

    read = read_documents if stage.type == "pt" else read_conversations
    seed = ctx.recipe.seed
    sources = [
        Source(
            source_label(d),
            sample_fraction(list(read(ctx.data_paths(d))), d.fraction, seed),
            stage.type,
            share=d.share,
            path=_where(ctx, d),
        )
        for d in stage.data
    ]
    if stage.cpt_prompts:
        _add_cpt_prompts(ctx, stage, sources)
    for d in stage.ptx.data if stage.ptx else []:
        docs = ptx_documents(ctx, d, seed)
        sources.append(Source(source_label(d), docs, "pt", ptx=True, path=_where(ctx, d)))
    return sources


def ptx_documents(ctx: StageContext, source: DataSource, seed: int) -> list:
    """One `ptx:` source's documents, sampled by its `fraction` (sft and dpo/kto stages)."""
    from domaintune.train.data import sample_fraction

    return sample_fraction(list(read_documents(ctx.data_paths(source))), source.fraction, seed)


def _add_cpt_prompts(ctx: StageContext, stage: TrainStage, sources: list) -> None:
    """`cpt_prompts:`: wrap a seeded share of each named source's documents (train/cpt_prompts)."""
    from domaintune.train.cpt_prompts import apply_cpt_prompts

    cfg = stage.cpt_prompts
    for source in sources:
        if cfg.sources is None or source.name in cfg.sources:
            source.records, n = apply_cpt_prompts(list(source.records), cfg, ctx.recipe.seed)
            ctx.console.print(
                f"[dim]{stage.name}: {n} of {len(source.records)} {source.name} documents "
                "end with a task prompt (cpt_prompts)"
            )


def _where(ctx: StageContext, source: DataSource) -> str:
    """The file(s) a source reads, for error messages (a from: source names the stage too)."""
    files = ", ".join(str(p) for p in ctx.data_paths(source))
    return f"{files} (stage {source.from_})" if source.from_ else files


def apply_template(ctx: StageContext, stage: TrainStage, model: Any, tokenizer: Any, source: Path):
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


def preflight_stage(ctx: StageContext, stage: TrainStage, source: Path) -> dict | None:
    """On a GPU: estimate the stage's peak memory first; refuse a run that will not fit."""
    return preflight_train(ctx, stage.train, source)


def preflight_train(ctx: StageContext, s: TrainConfig, source: Path, **extra: Any) -> dict | None:
    """The memory pre-flight of any training stage with `train:` settings `s` (`extra`: the
    estimator's stage-specific options, e.g. dpo's `pref` and `reference`); None on the CPU."""
    import torch

    if not torch.cuda.is_available():
        return None  # CPU runs use host memory; the estimator is about GPUs
    from domaintune.memory import preflight, require_fit

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
        **extra,
    )
    require_fit(result, force=ctx.force)
    ctx.console.print(result.message(), highlight=False, soft_wrap=True)
    return result.to_json()


def run_train_stage(ctx: StageContext, stage: TrainStage, *, resume: bool) -> dict:
    from domaintune.train.sources import build_train_set
    from domaintune.train.trainer import run_training

    recipe, out, t = ctx.recipe, ctx.out, stage.train
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
    world = distributed.world_size()
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
