"""Preference stages `dpo` and `kto`: the config model and `run_pref`.

After an SFT stage (`model_from: sft`): the pairs are rendered through the same chat template the
SFT stage used (`data/pref.py`), the model is loaded as the SFT stage loads it (full, LoRA, QLoRA;
`train/stage.py`), and TRL's DPOTrainer / KTOTrainer trains it (`train/pref_trainer.py`). With
LoRA/QLoRA the reference is the same weights with the adapter disabled (no second copy);
`precompute_ref: true` computes the reference log-probs once before training instead.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from domaintune.config import DataSource, PtxConfig, StageBase, TrainConfig
from domaintune.resources import resolve
from domaintune.stages import StageContext

log = logging.getLogger(__name__)

# Fields of metrics.jsonl's `pref` object, from TRL's log keys (eval sets: `eval_pref`).
PREF_KEYS = {
    "rewards/chosen": "reward_chosen",
    "rewards/rejected": "reward_rejected",
    "rewards/margins": "margin",
    "rewards/accuracies": "accuracy",
    "logps/chosen": "logp_chosen",
    "logps/rejected": "logp_rejected",
    "kl": "kl",
    "completion_length": "completion_length",
    "length/chosen": "length_chosen",
    "length/rejected": "length_rejected",
    "loss/sft": "sft_loss",
    "loss/ptx": "ptx_loss",
}
_DEFAULT_BETA = {"simpo": 2.0}  # SimPO's recommended beta (Meng et al. 2024); DPO's 0.1 elsewhere


class PrefStage(StageBase):
    """`dpo`: chosen/rejected pairs; `kto`: completions labelled desirable or not."""

    type: Literal["dpo", "kto"]
    model_from: str | None = Field(None, description="the SFT stage this aligns, or 'base'")
    data: list[DataSource] = Field(min_length=1)
    eval_data: dict[str, str] = Field(
        default_factory=dict, description="held-out preference files: reward accuracy, margin"
    )
    train: TrainConfig = TrainConfig()
    template: str | None = Field(None, description="the SFT stage's template (registry name)")
    loss: Literal["sigmoid", "ipo", "hinge", "simpo", "orpo"] = "sigmoid"
    beta: float | None = Field(None, gt=0, description="default 0.1 (simpo: 2.0)")
    gamma: float = Field(1.0, ge=0, description="simpo: the target reward margin")
    sft_coef: float | None = Field(
        None, ge=0, description="weight of the NLL on chosen (RPO anchor); orpo default 1.0"
    )
    precompute_ref: bool = Field(False, description="reference log-probs computed once up front")
    desirable_weight: float = Field(1.0, gt=0, description="kto: weight of desirable examples")
    undesirable_weight: float = Field(1.0, gt=0, description="kto: weight of undesirable ones")
    ptx: PtxConfig | None = Field(
        None, description="general text trained alongside: loss = preference + coef * ptx NLL"
    )

    produces: ClassVar[str] = "model"
    volatile_fields: ClassVar[frozenset[str]] = frozenset(
        {"train.logging_steps", "train.save_total_limit", "train.eval_steps", "train.save_steps"}
    )

    def sources(self) -> list[DataSource]:
        return [*self.data, *(self.ptx.data if self.ptx else [])]

    def models(self) -> list[str]:
        return [self.model_from or "base"]

    def input_paths(self) -> list[str]:
        return [*super().input_paths(), *self.eval_data.values()]

    def eval_files(self) -> list[str]:
        return list(self.eval_data.values())

    @property
    def beta_value(self) -> float:
        return self.beta if self.beta is not None else _DEFAULT_BETA.get(self.loss, 0.1)

    @property
    def sft_weight(self) -> float:
        if self.sft_coef is not None:
            return self.sft_coef
        return 1.0 if self.loss == "orpo" else 0.0

    @model_validator(mode="after")
    def _check(self) -> PrefStage:
        if self.type == "kto" and (self.loss != "sigmoid" or self.sft_coef):
            raise ValueError(
                f"stage {self.name!r}: loss and sft_coef apply to type dpo; kto has its own loss"
            )
        if self.template not in (None, "hf"):
            from domaintune.templates import get_template

            get_template(self.template)  # an unknown name lists the valid ones
        return self


# ---------------------------------------------------------------- data


def encode_pref_rows(
    rows: list, tokenizer: Any, *, template: str | None, max_len: int, kto: bool
) -> tuple[list[dict], dict]:
    """Rendered rows for TRL and counts: read = kept + rejected (by reason)."""
    from domaintune.data.pref import check_control, control_tokens, length_problem, render_pref
    from domaintune.records import DataError, RawRow

    specials = control_tokens(tokenizer, template)
    out, rejected = [], {}
    for path, line, row in rows:
        try:
            check_control(RawRow({}, path, line), row, specials)
            r = render_pref(tokenizer, row, template=template)
            if length_problem(r, max_len):
                raise DataError(path, line, "empty after truncation")
        except DataError as err:
            reason = getattr(err, "reason", None) or "empty side"
            rejected[reason] = rejected.get(reason, 0) + 1
            continue
        if kto:
            out.append(
                {"prompt_ids": r.prompt_ids, "completion_ids": r.chosen_ids, "label": row.label}
            )
        else:
            out.append(
                {
                    "prompt_ids": r.prompt_ids,
                    "chosen_ids": r.chosen_ids,
                    "rejected_ids": r.rejected_ids,
                }
            )
    n_rej = sum(rejected.values())
    counts = {
        "read": len(out) + n_rej,
        "kept": len(out),
        "rejected": n_rej,
        "rejected_by_reason": rejected,
    }
    return out, counts


def _read_rows(paths: list[Path], kind: str, fraction: float, seed: int) -> list:
    from domaintune.data.pref_io import read_pref
    from domaintune.train.data import sample_fraction

    rows = []
    for p in paths:
        for i, row in enumerate(read_pref(p)):
            if (row.label is None) != (kind == "dpo"):
                raise ValueError(
                    f"{p}: row {i + 1} is a {'KTO' if row.label is not None else 'pair'} row; "
                    f"a {kind} stage reads {'pairs' if kind == 'dpo' else 'KTO rows'}"
                )
            rows.append((str(p), i + 1, row))
    return sample_fraction(rows, fraction, seed)


@dataclass
class PtxBatches:
    """General text for a preference stage: packed rows (`build_pt_dataset`, no attention across
    documents), in a seeded order, `per_batch` of them with every training micro-batch.

    Micro-batch m takes rows m*per_batch ... (m+1)*per_batch - 1 (mod the row count): which rows a
    step sees depends only on the step, not on what ran before it."""

    rows: list[dict]
    per_batch: int
    coef: float
    pad_id: int

    def batch(self, index: int) -> dict:
        from domaintune.train.data import PackedCollator

        n = len(self.rows)
        picked = [self.rows[(index * self.per_batch + j) % n] for j in range(self.per_batch)]
        return PackedCollator(self.pad_id)(picked)


def ptx_rows_per_batch(share: float, pair_tokens: float, row_tokens: float, batch: int) -> int:
    """PTX rows per micro-batch so that `share` of the trained tokens is PTX text: the trained
    tokens of a micro-batch of pairs (chosen + rejected completions) times share / (1 - share),
    in rows of `row_tokens` trained tokens; at least one row."""
    return max(1, round(share / (1.0 - share) * pair_tokens * batch / row_tokens))


def build_ptx(
    ctx: StageContext, stage: PrefStage, tokenizer: Any, encoded: list[dict]
) -> tuple[PtxBatches, dict]:
    """The stage's `ptx:` text packed to max_len, and its counts for the manifest."""
    from domaintune.train.data import build_pt_dataset
    from domaintune.train.stage import ptx_documents

    cfg, t, seed = stage.ptx, stage.train, ctx.recipe.seed
    docs = [doc for d in cfg.data for doc in ptx_documents(ctx, d, seed)]
    dataset, stats = build_pt_dataset(docs, tokenizer, max_len=t.max_len)
    rows = list(dataset)
    if not rows:
        where = ", ".join(str(p) for d in cfg.data for p in ctx.data_paths(d))
        raise ValueError(f"stage {stage.name!r}: ptx data {where} has no text to train on")
    random.Random(seed).shuffle(rows)
    sides = ("completion_ids",) if stage.type == "kto" else ("chosen_ids", "rejected_ids")
    pair_tokens = sum(len(r[k]) for r in encoded for k in sides) / len(encoded)
    row_tokens = stats.trained_tokens / len(rows)
    per_batch = ptx_rows_per_batch(cfg.share, pair_tokens, row_tokens, t.batch_size)
    ptx_tokens = per_batch * row_tokens
    counts = {
        **stats.to_dict(),
        "rows_per_batch": per_batch,
        "share": round(ptx_tokens / (ptx_tokens + pair_tokens * t.batch_size), 4),
        "coef": cfg.coef,
    }
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return PtxBatches(rows, per_batch, cfg.coef, pad), counts


# ---------------------------------------------------------------- run


def run_pref(stage: PrefStage, ctx: StageContext) -> dict:
    """The stage contract's entry: train into ctx.out (final/, metrics.jsonl)."""
    from datasets import Dataset

    from domaintune.train.stage import apply_template, load_trainable, settings_from

    recipe, t = ctx.recipe, stage.train
    source = ctx.model_dir(stage.model_from or "base")
    model, tokenizer = load_trainable(
        source,
        dtype=recipe.model.dtype,
        trust_remote_code=recipe.model.trust_remote_code,
        qlora=t.qlora.model_dump() if t.method == "qlora" else None,
        attn_implementation=recipe.model.attn_implementation,
    )
    apply_template(ctx, stage, model, tokenizer, source)
    kto = stage.type == "kto"
    rows = []
    for d in stage.data:
        rows += _read_rows(ctx.data_paths(d), stage.type, d.fraction, recipe.seed)
    encoded, counts = encode_pref_rows(
        rows, tokenizer, template=stage.template, max_len=t.max_len, kto=kto
    )
    if not encoded:
        raise ValueError(f"stage {stage.name!r}: no usable rows ({counts})")
    evals = {}
    for name, path in stage.eval_data.items():
        ev = _read_rows([resolve(path)], stage.type, 1.0, recipe.seed)
        evals[name] = Dataset.from_list(
            encode_pref_rows(ev, tokenizer, template=stage.template, max_len=t.max_len, kto=kto)[0]
        )
    ptx, ptx_counts = build_ptx(ctx, stage, tokenizer, encoded) if stage.ptx else (None, None)
    if ptx_counts:
        counts["ptx"] = ptx_counts
    memory = preflight_pref(ctx, stage, source, ptx_rows=ptx.per_batch if ptx else 0)
    ctx.console.print(
        f"[dim]{stage.name}: {counts['kept']} of {counts['read']} {stage.type} rows; loss "
        f"{'kto' if kto else stage.loss}, beta {stage.beta_value:g}, method {t.method}"
    )
    summary = train_pref(
        model,
        tokenizer,
        Dataset.from_list(encoded),
        evals,
        ctx.out,
        stage,
        settings_from(t, recipe.seed),
        ptx=ptx,
        resume=ctx.resume,
    )
    return {"data": counts, "training": summary, "memory": memory}


def reference_kind(stage: PrefStage, method: str) -> str:
    """Where the reference log-probs come from (memory.setup.REFERENCES)."""
    if stage.type == "dpo" and stage.loss in ("simpo", "orpo"):
        return "precomputed"  # for the KL estimate only; the loss does not use them
    if stage.precompute_ref:
        return "precomputed"
    return "adapter" if method in ("lora", "qlora") else "copy"


def preflight_pref(
    ctx: StageContext, stage: PrefStage, source: Path, ptx_rows: int = 0
) -> dict | None:
    """On a GPU: the memory estimate with the pairs' two sequences, the reference and the PTX
    rows of each micro-batch."""
    from domaintune.train.stage import preflight_train

    reference = reference_kind(stage, stage.train.method)
    return preflight_train(
        ctx, stage.train, source, pref=stage.type, reference=reference, ptx_rows=ptx_rows
    )


def pref_config(
    stage: PrefStage,
    settings: Any,
    out: Path,
    *,
    has_eval: bool,
    names: list,
    resuming: bool = False,
):
    """TRL's DPOConfig / KTOConfig: our TrainingArguments (train/trainer.py: checkpoints every
    save_steps under out/checkpoints, for --resume) + the stage's."""
    import dataclasses

    from transformers import TrainingArguments
    from trl import DPOConfig, KTOConfig

    from domaintune.train.trainer import training_arguments

    base = training_arguments(out, settings, has_eval=has_eval, eval_names=names, resuming=resuming)
    cls = KTOConfig if stage.type == "kto" else DPOConfig
    shared = {f.name for f in dataclasses.fields(TrainingArguments) if f.init}
    kwargs = {k: getattr(base, k) for k in shared if hasattr(base, k)}
    kwargs.update(
        load_best_model_at_end=False,
        prediction_loss_only=True,
        metric_for_best_model=None,
        beta=stage.beta_value,
        max_length=settings.max_len,
        precompute_ref_log_probs=stage.precompute_ref or stage.loss in ("simpo", "orpo"),
        disable_dropout=True,
    )
    if stage.type == "kto":
        kwargs.update(
            desirable_weight=stage.desirable_weight,
            undesirable_weight=stage.undesirable_weight,
            train_sampling_strategy="sequential",
        )
    return cls(**kwargs)


def train_pref(
    model,
    tokenizer,
    train_set,
    eval_sets,
    out_dir,
    stage: PrefStage,
    settings,
    ptx=None,
    resume: bool = False,
):
    """Train with TRL (our subclasses), save final/ (and merged/), return the manifest summary.

    Checkpoints as the training stages write them (complete ones marked, rotated); `resume`
    continues from the newest complete one."""
    from transformers import set_seed

    from domaintune.train.checkpoints import CheckpointRecorder
    from domaintune.train.outputs import save_outputs
    from domaintune.train.plots import plot_loss_curves
    from domaintune.train.pref_trainer import PrefDPOTrainer, PrefKTOTrainer, PrefMetricsCallback
    from domaintune.train.trainer import (
        apply_method,
        count_parameters,
        resume_point,
        whole_stage,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint, carried = resume_point(out) if resume else (None, {})
    if checkpoint is None:
        (out / "metrics.jsonl").unlink(missing_ok=True)
    model.config.use_cache = False
    set_seed(settings.seed)
    model = apply_method(model, settings)
    params = count_parameters(model)
    args = pref_config(
        stage,
        settings,
        out,
        has_eval=bool(eval_sets),
        names=list(eval_sets),
        resuming=checkpoint is not None,
    )
    metrics = PrefMetricsCallback(out / "metrics.jsonl", list(eval_sets))
    common = dict(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_sets or None,
        processing_class=tokenizer,
        callbacks=[metrics],
    )
    if stage.type == "kto":
        trainer = PrefKTOTrainer(**common, ptx=ptx)
    else:
        trainer = PrefDPOTrainer(
            **common, pref_loss=stage.loss, gamma=stage.gamma, sft_coef=stage.sft_weight, ptx=ptx
        )
    trainer.add_callback(
        CheckpointRecorder(
            save_total_limit=settings.save_total_limit, loss_sum=trainer.loss_sum, carried=carried
        )
    )
    start = time.time()
    try:
        result = trainer.train(resume_from_checkpoint=checkpoint)
    finally:
        metrics.flush()  # the rows up to a stop stay on disk
    save_outputs(trainer, tokenizer, out, settings)
    if (out / "metrics.jsonl").exists():
        plot_loss_curves(out / "metrics.jsonl", out / "loss.png", title=f"{out.name}: loss")
    return {
        "parameters": params,
        **whole_stage(result, trainer.state, carried, start),
        "reference": reference_kind(stage, settings.method),
        "resumed_from": checkpoint,
    }
