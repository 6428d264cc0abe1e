"""Preference stages `dpo` and `kto`: the config model and `run_pref`.

After an SFT stage (`model_from: sft`): the pairs are rendered through the same chat template the
SFT stage used (`data/pref.py`), the model is loaded as the SFT stage loads it (full, LoRA, QLoRA;
`train/stage.py`), and TRL's DPOTrainer / KTOTrainer trains it (`train/pref_trainer.py`). With
LoRA/QLoRA the reference is the same weights with the adapter disabled (no second copy);
`precompute_ref: true` computes the reference log-probs once before training instead.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from domaintune.config import DataSource, StageBase, TrainConfig
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

    produces: ClassVar[str] = "model"
    volatile_fields: ClassVar[frozenset[str]] = frozenset(
        {"train.logging_steps", "train.save_total_limit", "train.eval_steps", "train.save_steps"}
    )

    def sources(self) -> list[DataSource]:
        return list(self.data)

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
    memory = preflight_pref(ctx, stage, source)
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
    )
    return {"data": counts, "training": summary, "memory": memory}


def reference_kind(stage: PrefStage, method: str) -> str:
    """Where the reference log-probs come from (memory.setup.REFERENCES)."""
    if stage.type == "dpo" and stage.loss in ("simpo", "orpo"):
        return "precomputed"  # for the KL estimate only; the loss does not use them
    if stage.precompute_ref:
        return "precomputed"
    return "adapter" if method in ("lora", "qlora") else "copy"


def preflight_pref(ctx: StageContext, stage: PrefStage, source: Path) -> dict | None:
    """On a GPU: the memory estimate with the pairs' two sequences and the reference."""
    from domaintune.train.stage import preflight_train

    reference = reference_kind(stage, stage.train.method)
    return preflight_train(ctx, stage.train, source, pref=stage.type, reference=reference)


def pref_config(stage: PrefStage, settings: Any, out: Path, *, has_eval: bool, names: list):
    """TRL's DPOConfig / KTOConfig: our TrainingArguments (train/trainer.py) + the stage's."""
    import dataclasses

    from transformers import TrainingArguments
    from trl import DPOConfig, KTOConfig

    from domaintune.train.trainer import training_arguments

    base = training_arguments(out, settings, has_eval=has_eval, eval_names=names)
    cls = KTOConfig if stage.type == "kto" else DPOConfig
    shared = {f.name for f in dataclasses.fields(TrainingArguments) if f.init}
    kwargs = {k: getattr(base, k) for k in shared if hasattr(base, k)}
    kwargs.update(
        save_strategy="no",  # a preference stage reruns whole; final/ is written at the end
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


def train_pref(model, tokenizer, train_set, eval_sets, out_dir, stage: PrefStage, settings):
    """Train with TRL (our subclasses), save final/ (and merged/), return the manifest summary."""
    from transformers import set_seed

    from domaintune.train.outputs import save_outputs
    from domaintune.train.plots import plot_loss_curves
    from domaintune.train.pref_trainer import PrefDPOTrainer, PrefKTOTrainer, PrefMetricsCallback
    from domaintune.train.trainer import apply_method, count_parameters

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.jsonl").unlink(missing_ok=True)
    model.config.use_cache = False
    set_seed(settings.seed)
    model = apply_method(model, settings)
    params = count_parameters(model)
    args = pref_config(stage, settings, out, has_eval=bool(eval_sets), names=list(eval_sets))
    common = dict(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_sets or None,
        processing_class=tokenizer,
        callbacks=[PrefMetricsCallback(out / "metrics.jsonl", list(eval_sets))],
    )
    if stage.type == "kto":
        trainer = PrefKTOTrainer(**common)
    else:
        trainer = PrefDPOTrainer(
            **common, pref_loss=stage.loss, gamma=stage.gamma, sft_coef=stage.sft_weight
        )
    start = time.time()
    result = trainer.train()
    save_outputs(trainer, tokenizer, out, settings)
    if (out / "metrics.jsonl").exists():
        plot_loss_curves(out / "metrics.jsonl", out / "loss.png", title=f"{out.name}: loss")
    return {
        "parameters": params,
        "global_step": trainer.state.global_step,
        "train_loss": result.training_loss,
        "reference": reference_kind(stage, settings.method),
        "seconds": round(time.time() - start, 2),
    }
