"""One training stage (`pt` or `sft`) on transformers' Trainer, with full / freeze / LoRA methods.

Stage directory layout:
  checkpoints/checkpoint-N/   Trainer checkpoints (weights in safetensors), for --resume
  final/                      the trained model (full, freeze) or PEFT adapter (lora) + tokenizer
  merged/                     lora with merge=True: adapter merged into a full model
  metrics.jsonl               one row per logged step (see train/callbacks.py)
  loss.png                    training and eval loss curves with the learning rate
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer, TrainingArguments, set_seed
from transformers.trainer_utils import get_last_checkpoint

from domaintune.train.callbacks import MetricsJsonlCallback
from domaintune.train.data import ListDataset, PackedCollator, PaddedCollator
from domaintune.train.plots import plot_loss_curves

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    """Plain training arguments (the `train:` recipe section maps onto these)."""

    method: str = "lora"
    learning_rate: float = 2e-4
    embedding_learning_rate: float | None = None
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    warmup_steps: int | None = None
    num_epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    logging_steps: int = 10
    eval_steps: int = 50
    save_steps: int = 100
    save_total_limit: int | None = 2
    freeze_trainable_layers: int = 2
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_target_modules: list[str] | str = "all-linear"
    merge: bool = False
    qlora: dict[str, Any] = field(default_factory=dict)
    pack: bool = True
    early_stopping_patience: int | None = None
    early_stopping_metric: str | None = None
    keep_best: bool = False
    stop_on_nonfinite: bool = True
    gradient_checkpointing: bool = False
    deepspeed: str | None = None
    fsdp: str | None = None
    fsdp_config: str | None = None
    seed: int = 42
    extra_args: dict[str, Any] = field(default_factory=dict)


class DomainTrainer(Trainer):
    """Trainer that counts real (non-padding) tokens and logs the padding share.

    The collator's `num_tokens` is taken out of the batch before the forward pass.
    """

    _window = (0, 0)  # (real tokens, token slots) since the last log

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        n = inputs.pop("num_tokens", None)
        if n is not None and model.training:
            counts = torch.stack([n.reshape(()), torch.tensor(inputs["input_ids"].numel())])
            real, slots = self.accelerator.gather(counts.to(self.args.device)).reshape(-1, 2).sum(0)
            self.state.num_input_tokens_seen += int(real)
            self._window = (self._window[0] + int(real), self._window[1] + int(slots))
        return super().compute_loss(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._window[1]:
            logs["padding"] = 1.0 - self._window[0] / self._window[1]
            self._window = (0, 0)
        super().log(logs, start_time)


def decoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    """The transformer block list (the ModuleList with num_hidden_layers entries)."""
    n = model.config.num_hidden_layers
    for _, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n:
            return module
    raise ValueError(f"cannot find the {n} decoder layers of {type(model).__name__}")


def apply_method(model: torch.nn.Module, s: TrainSettings) -> torch.nn.Module:
    """Set which parameters train: all (full), the last N blocks (freeze), or LoRA adapters."""
    if s.method == "full":
        model.requires_grad_(True)
        return model
    if s.method == "freeze":
        layers = decoder_layers(model)
        if s.freeze_trainable_layers > len(layers):
            raise ValueError(
                f"freeze_trainable_layers={s.freeze_trainable_layers} but the model has "
                f"{len(layers)} layers; choose at most {len(layers)} (or method: full)"
            )
        model.requires_grad_(False)
        for layer in layers[len(layers) - s.freeze_trainable_layers :]:
            layer.requires_grad_(True)
        return model
    if s.method == "lora":
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            task_type="CAUSAL_LM",
            r=s.lora_r,
            lora_alpha=s.lora_alpha,
            lora_dropout=s.lora_dropout,
            target_modules=s.lora_target_modules,
        )
        return get_peft_model(model, config)
    raise ValueError(f"unknown method {s.method!r}; choose full, freeze or lora")


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable}


def training_arguments(
    out: Path, s: TrainSettings, *, has_eval: bool, resuming: bool = False
) -> TrainingArguments:
    cpu = not torch.cuda.is_available()
    distributed: dict[str, Any] = {}
    if s.deepspeed:
        distributed["deepspeed"] = s.deepspeed
    if s.fsdp:
        distributed["fsdp"] = s.fsdp
        if s.fsdp_config:
            distributed["fsdp_config"] = s.fsdp_config
    if cpu and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        distributed["ddp_backend"] = "gloo"  # NCCL needs GPUs
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        distributed["ddp_find_unused_parameters"] = False
    return TrainingArguments(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=s.batch_size,
        per_device_eval_batch_size=s.batch_size,
        gradient_accumulation_steps=s.gradient_accumulation_steps,
        num_train_epochs=s.num_epochs,
        max_steps=s.max_steps,
        learning_rate=s.learning_rate,
        lr_scheduler_type=s.lr_scheduler,
        # A float in [0, 1) is a ratio of the total steps, an int a number of steps.
        warmup_steps=s.warmup_steps if s.warmup_steps is not None else s.warmup_ratio,
        weight_decay=s.weight_decay,
        max_grad_norm=s.max_grad_norm,
        logging_steps=s.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=s.eval_steps if has_eval else None,
        # The curve starts from the model as it came in (a resumed run has that row already).
        eval_on_start=has_eval and not resuming,
        save_strategy="steps",
        save_steps=s.save_steps,
        save_total_limit=s.save_total_limit,
        seed=s.seed,
        data_seed=s.seed,
        use_cpu=cpu,
        bf16=False,
        fp16=False,
        # Packed batches rely on position_ids with no KV cache (else documents see each other).
        use_cache=False,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        report_to="none",
        disable_tqdm=False,
        gradient_checkpointing=s.gradient_checkpointing,
        **distributed,
        **s.extra_args,
    )


def run_training(
    model: torch.nn.Module,
    tokenizer: Any,
    train_set: ListDataset,
    eval_sets: dict[str, ListDataset],
    out_dir: str | Path,
    settings: TrainSettings,
    *,
    packed: bool,
    resume: bool = False,
    callbacks: list | None = None,
) -> dict[str, Any]:
    """Train, save `final/` (and `merged/`), return a summary for the stage manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.config.use_cache = False
    set_seed(settings.seed)  # LoRA's initialisation draws from the global RNG: same seed, same run
    model = apply_method(model, settings)
    params = count_parameters(model)
    log.info("trainable parameters: %s of %s", f"{params['trainable']:,}", f"{params['total']:,}")
    checkpoint = _last_checkpoint(out) if resume else None
    if checkpoint is None and (out / "metrics.jsonl").exists():
        (out / "metrics.jsonl").unlink()  # a fresh start must not inherit an old run's rows
    collator = (PackedCollator if packed else PaddedCollator)(pad_id=tokenizer.pad_token_id)
    args = training_arguments(
        out, settings, has_eval=bool(eval_sets), resuming=checkpoint is not None
    )
    trainer = DomainTrainer(
        model=model,
        args=args,
        data_collator=collator,
        train_dataset=train_set,
        eval_dataset=eval_sets or None,
        processing_class=tokenizer,
        callbacks=[MetricsJsonlCallback(out / "metrics.jsonl"), *(callbacks or [])],
    )
    start = time.time()
    result = trainer.train(resume_from_checkpoint=checkpoint)
    summary = {
        "parameters": params,
        "global_step": trainer.state.global_step,
        "train_loss": result.training_loss,
        "tokens_seen": int(trainer.state.num_input_tokens_seen),
        "seconds": round(time.time() - start, 2),
        "resumed_from": checkpoint,
    }
    save_outputs(trainer, tokenizer, out, settings)
    if trainer.is_world_process_zero() and (out / "metrics.jsonl").exists():
        plot_loss_curves(out / "metrics.jsonl", out / "loss.png", title=f"{out.name}: loss")
    return summary


def _last_checkpoint(out: Path) -> str | None:
    folder = out / "checkpoints"
    checkpoint = get_last_checkpoint(str(folder)) if folder.exists() else None
    if checkpoint is None:
        log.warning("resume: no checkpoint in %s; starting this stage from the beginning", folder)
    return checkpoint


def save_outputs(trainer: Trainer, tokenizer: Any, out: Path, s: TrainSettings) -> None:
    """Write final/ (and merged/ for LoRA with merge), each as a temp folder renamed into place."""
    model = trainer.model
    model.config.use_cache = True  # inference default for whoever loads the result
    gen = getattr(model, "generation_config", None)  # stop tokens travel with every output
    _save_dir(out / "final", lambda tmp: trainer.save_model(str(tmp)), tokenizer, gen)
    if s.method == "lora" and s.merge:
        merged = model.merge_and_unload()
        _save_dir(out / "merged", merged.save_pretrained, tokenizer, gen)


def _save_dir(dst: Path, save: Any, tokenizer: Any, gen: Any) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save(tmp)
    tokenizer.save_pretrained(tmp)
    if gen is not None and not (tmp / "generation_config.json").exists():
        gen.save_pretrained(tmp)
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)
