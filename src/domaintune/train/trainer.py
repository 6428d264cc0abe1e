"""One training stage (`pt` or `sft`) on transformers' Trainer, with full / freeze / LoRA methods.

Stage directory layout:
  checkpoints/checkpoint-N/   Trainer checkpoints (weights in safetensors), for --resume; complete
                              when their domaintune_checkpoint.json is there (train/checkpoints.py)
  final/                      the trained model (full, freeze) or PEFT adapter (lora) + tokenizer
  merged/                     lora with merge=True: adapter merged into a full model
  metrics.jsonl               one row per logged step (see train/callbacks.py)
  loss.png                    training and eval loss curves with the learning rate
"""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import time
from pathlib import Path
from typing import Any

import torch
from pydantic import Field
from torch.utils.data import Dataset
from transformers import Trainer, TrainingArguments, set_seed

from domaintune import distributed
from domaintune.config import TrainConfig
from domaintune.models import UnsafeWeightsError, require_safetensors
from domaintune.templates import IGNORE_INDEX
from domaintune.train.attention import packed_attention
from domaintune.train.callbacks import MetricsJsonlCallback
from domaintune.train.checkpoints import CheckpointRecorder, newest_complete, read_record
from domaintune.train.data import PackedCollator, PaddedCollator
from domaintune.train.loss import LossComputer
from domaintune.train.mixing import MixedDataset, StepSampler
from domaintune.train.outputs import save_outputs
from domaintune.train.plots import plot_loss_curves

log = logging.getLogger(__name__)


class TrainSettings(TrainConfig):
    """The recipe's `train:` section (config.TrainConfig, every field) plus what a run adds.

    Derived, not copied: a new recipe field reaches the trainer without touching this class.
    """

    seed: int = 42
    extra_args: dict[str, Any] = Field(
        default_factory=dict, description="more TrainingArguments (tests and benchmarks)"
    )

    # LoRA settings as peft names them
    @property
    def lora_r(self) -> int:
        return self.lora.r

    @property
    def lora_alpha(self) -> int:
        return self.lora.alpha

    @property
    def lora_dropout(self) -> float:
        return self.lora.dropout

    @property
    def lora_target_modules(self) -> list[str] | str:
        return self.lora.target_modules


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the step."""


class LossSumMixin:
    """For a Trainer subclass: the sum of this `train()` call's per-micro-batch training losses,
    the figure a checkpoint's record carries (`checkpoints.CheckpointRecorder`) so that a resumed
    stage reports the loss of the whole stage."""

    _loss_sum: torch.Tensor | None = None

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        # The same values the Trainer sums into its train_loss (one per micro-batch; no sync).
        if self._loss_sum is None or self._loss_sum.device != loss.device:
            dtype = torch.float32 if loss.device.type == "mps" else torch.float64
            before = 0.0 if self._loss_sum is None else float(self._loss_sum)
            self._loss_sum = torch.tensor(before, dtype=dtype, device=loss.device)
        self._loss_sum += loss.detach().to(self._loss_sum.dtype)
        return loss

    def loss_sum(self) -> float:
        """Sum of the per-step training losses so far, averaged over processes (collective)."""
        total = torch.zeros(1) if self._loss_sum is None else self._loss_sum.reshape(1)
        if self.args.world_size > 1:
            total = self.accelerator.gather(total.to(self.args.device)).mean()
        return float(total.sum())


class DomainTrainer(LossSumMixin, Trainer):
    """Trainer with our loss (see train/loss.py): exact over the accumulated batch, PTX, per source.

    - `num_items_in_batch` is the count of trained tokens of the whole optimizer step (all
      micro-batches, all processes), per group: [main, ptx]. Each micro-batch contributes
      sum(ce) / count, so 8 x 1 and 2 x 4 give the same loss and gradients.
    - The collator's `num_tokens` (real tokens) feeds `tokens_seen` and the padding share.
    - Per-source loss sums are kept between logging steps and logged as `loss_by_source`.
    """

    def __init__(
        self,
        *args,
        source_names: list[str] | None = None,
        ptx_sources: set[int] | None = None,
        ptx_coef: float = 0.0,
        embedding_learning_rate: float | None = None,
        stop_on_nonfinite: bool = True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.source_names = source_names or ["train"]
        n = len(self.source_names)
        self.ptx_of_source = torch.zeros(n, dtype=torch.bool)
        for i in ptx_sources or ():
            self.ptx_of_source[i] = True
        self.ptx_coef = ptx_coef
        self.embedding_learning_rate = embedding_learning_rate
        self.stop_on_nonfinite = stop_on_nonfinite
        self.loss_is_scaled_for_ga = True  # compute_loss divides by the whole step's count
        self._losses = LossComputer()
        self._window = torch.zeros(2, dtype=torch.float64)  # real tokens, token slots (local)
        # ce sum and target count per source (local, on the loss's device; float32 on MPS)
        dtype = torch.float32 if self.args.device.type == "mps" else torch.float64
        self._src_window = torch.zeros(2, n, dtype=dtype)
        self._micro = 0

    # -- counting
    def _counts(self, batch: dict) -> torch.Tensor:
        """[main targets, ptx targets, real tokens, token slots] of one micro-batch."""
        labels = batch["labels"]
        targets = labels[:, 1:] != IGNORE_INDEX
        src = batch.get("source")
        if src is None:
            is_ptx = torch.zeros_like(targets)
        else:
            is_ptx = self.ptx_of_source.to(src.device)[src[:, 1:].clamp(min=0)]
        real = batch["num_tokens"].reshape(()) if "num_tokens" in batch else labels.numel()
        return torch.stack(
            [
                (targets & ~is_ptx).sum(),
                (targets & is_ptx).sum(),
                torch.as_tensor(real, device=labels.device),
                torch.as_tensor(labels.numel(), device=labels.device),
            ]
        )

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """The step's micro-batches and their trained-token counts over all processes.

        One all-gather per optimizer step carries the loss normalisers [main, ptx] and the real
        tokens for `tokens_seen`; the padding window stays local until it is logged.
        """
        batches = []
        for _ in range(num_batches):
            try:
                batches.append(next(epoch_iterator))
            except StopIteration:
                break
        if not batches:
            return batches, None
        local = sum(self._counts(b) for b in batches).to(device)
        self._window += local[2:].double().cpu()
        total = local
        if self.args.world_size > 1:
            total = self.accelerator.gather(local.reshape(1, 4)).sum(0)
        self.state.num_input_tokens_seen += int(total[2])
        self._micro = 0
        return batches, total[:2]

    # -- loss
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        inputs.pop("num_tokens", None)  # counted per step in get_batch_samples
        t = self._losses(model, inputs)
        is_ptx = self.ptx_of_source.to(t.source.device)[t.source]
        if num_items_in_batch is None or not model.training:
            loss = t.ce.mean() if t.ce.numel() else t.ce.sum()  # an eval batch: its own mean
        else:
            main_n, ptx_n = num_items_in_batch.clamp(min=1).to(t.ce)  # tensors: no host sync
            loss = t.ce[~is_ptx].sum() / main_n
            if self.ptx_coef and bool(self.ptx_of_source.any()):
                loss = loss + self.ptx_coef * t.ce[is_ptx].sum() / ptx_n
            # DDP / DeepSpeed / FSDP average gradients over processes; the counts are global.
            loss = loss * self.accelerator.num_processes
        if model.training:
            # Per-source sums stay on the device until a logging step (no sync per micro-batch).
            if self._src_window.device != t.ce.device:
                self._src_window = self._src_window.to(t.ce.device)
            ce = t.ce.detach().to(self._src_window.dtype)
            self._src_window[0].index_add_(0, t.source, ce)
            self._src_window[1].index_add_(0, t.source, torch.ones_like(ce))
            self._micro += 1
            if self.stop_on_nonfinite and not torch.isfinite(loss.detach()).item():
                raise TrainingDiverged(
                    f"the loss is {float(loss)} at step {self.state.global_step + 1} "
                    f"(micro-batch {self._micro} of {self.args.gradient_accumulation_steps}); "
                    f"training stopped. The last checkpoint is in {self.args.output_dir}. Lower "
                    "the learning rate or check this step's data; with fp16, use bf16 instead."
                )
        return (loss, t) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        inputs.pop("num_tokens", None)
        with torch.no_grad():
            loss = self.compute_loss(model, inputs)
        return loss.detach(), None, None

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:
            window = torch.cat([self._window.to(self._src_window), self._src_window.flatten()])
            window = window.to(self.args.device)
            if self.args.world_size > 1:
                window = self.accelerator.gather(window.reshape(1, -1)).sum(0)
            window = window.cpu()
            if window[1] > 0:
                logs["padding"] = float(1.0 - window[0] / window[1])
            sums, counts = window[2:].reshape(2, -1)
            by_source = {
                name: float(sums[i] / counts[i])
                for i, name in enumerate(self.source_names)
                if counts[i] > 0
            }
            if len(self.source_names) > 1 or self.ptx_of_source.any():
                logs["loss_by_source"] = by_source
            self._window.zero_()
            self._src_window.zero_()
        super().log(logs, start_time)

    # -- optimizer: a separate learning rate for the embeddings and the LM head
    def create_optimizer(self, model=None):
        if self.embedding_learning_rate is None or self.optimizer is not None:
            return super().create_optimizer(model)
        model = self.model if model is None else model
        special = set()
        for get in ("get_input_embeddings", "get_output_embeddings"):
            module = getattr(model, get)() if hasattr(model, get) else None
            if module is not None:
                special.update(id(p) for p in module.parameters())
        decay = set(self.get_decay_parameter_names(model))
        groups: dict[tuple[bool, bool], list] = {}
        for name, p in model.named_parameters():
            if p.requires_grad:
                groups.setdefault((id(p) in special, name in decay), []).append(p)
        param_groups = [
            {
                "params": params,
                "weight_decay": self.args.weight_decay if is_decay else 0.0,
                **({"lr": self.embedding_learning_rate} if is_emb else {}),
            }
            for (is_emb, is_decay), params in sorted(groups.items())
        ]
        optimizer_cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, model)
        self.optimizer = optimizer_cls(param_groups, **kwargs)
        return self.optimizer

    # -- data order: a mixed dataset is laid out step by step and read in order
    def _get_train_sampler(self, train_dataset=None):
        dataset = self.train_dataset if train_dataset is None else train_dataset
        if isinstance(dataset, MixedDataset):
            return StepSampler(dataset)
        return super()._get_train_sampler(train_dataset)


def decoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    """The transformer block list (the ModuleList with num_hidden_layers entries)."""
    n = model.config.num_hidden_layers
    for _, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == n:
            return module
    raise ValueError(f"cannot find the {n} decoder layers of {type(model).__name__}")


def apply_method(model: torch.nn.Module, s: TrainSettings) -> torch.nn.Module:
    """Set which parameters train: all (full), the last N blocks (freeze), or LoRA adapters.

    After `tokenizer expand` the new tokens' rows train too (see domaintune.tokenizer.training).
    """
    from domaintune.tokenizer.training import lora_token_options, unfreeze_embeddings

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
        unfreeze_embeddings(model)  # rows added by `tokenizer expand` must train
        return model
    if s.method in ("lora", "qlora"):
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        if s.method == "qlora":
            if not getattr(model, "is_loaded_in_4bit", False):
                raise ValueError(
                    "method qlora needs the base loaded in 4 bits (load it with "
                    "domaintune.train.qlora.load_quantized)"
                )
            model = prepare_model_for_kbit_training(
                model, use_gradient_checkpointing=s.gradient_checkpointing
            )
        config = LoraConfig(
            task_type="CAUSAL_LM",
            r=s.lora_r,
            lora_alpha=s.lora_alpha,
            lora_dropout=s.lora_dropout,
            target_modules=s.lora_target_modules,
            **lora_token_options(model, s.method),  # new tokens' rows (`tokenizer expand`)
        )
        return get_peft_model(model, config)
    raise ValueError(f"unknown method {s.method!r}; choose full, freeze, lora or qlora")


def count_parameters(model: torch.nn.Module) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable}


def training_arguments(
    out: Path,
    s: TrainSettings,
    *,
    has_eval: bool,
    resuming: bool = False,
    eval_names: list[str] | None = None,
) -> TrainingArguments:
    eval_names = eval_names or []
    cpu = not torch.cuda.is_available()
    best_metric = None
    if s.keep_best or s.early_stopping_patience:
        if not eval_names:
            raise ValueError("keep_best and early_stopping_patience need eval_data in the stage")
        name = s.early_stopping_metric or eval_names[0]
        if name not in eval_names:
            raise ValueError(
                f"early_stopping_metric {name!r} is not an eval set of this stage ({eval_names})"
            )
        best_metric = f"eval_{name}_loss"
        if s.keep_best and s.save_steps % s.eval_steps:
            raise ValueError(
                "keep_best needs save_steps to be a multiple of eval_steps (got save_steps="
                f"{s.save_steps}, eval_steps={s.eval_steps}) so that the best evaluation has a "
                "checkpoint"
            )
    multi: dict[str, Any] = {}
    if s.deepspeed:
        multi["deepspeed"] = s.deepspeed
    if s.fsdp:
        multi["fsdp"] = s.fsdp
        if s.fsdp_config:
            multi["fsdp_config"] = s.fsdp_config
    if cpu and distributed.world_size() > 1:
        multi["ddp_backend"] = "gloo"  # NCCL needs GPUs
    if distributed.world_size() > 1:
        multi["ddp_find_unused_parameters"] = False
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
        load_best_model_at_end=s.keep_best,
        metric_for_best_model=best_metric,
        greater_is_better=False if best_metric else None,
        logging_nan_inf_filter=False,  # a NaN is logged as NaN (diagnose and the watchdog see it)
        save_total_limit=None,  # applied by CheckpointRecorder, over complete checkpoints only
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
        **({"gradient_checkpointing": True} if s.gradient_checkpointing else {}),
        **multi,
        **s.extra_args,
    )


def run_training(
    model: torch.nn.Module,
    tokenizer: Any,
    train_set: Dataset,
    eval_sets: dict[str, Dataset],
    out_dir: str | Path,
    settings: TrainSettings,
    *,
    packed: bool,
    resume: bool = False,
    callbacks: list | None = None,
    source_names: list[str] | None = None,
    ptx_sources: set[int] | None = None,
    ptx_coef: float = 0.0,
) -> dict[str, Any]:
    """Train, save `final/` (and `merged/`), return a summary for the stage manifest.

    `source_names[i]` names the rows' `source` index i in the logs; `ptx_sources` are the source
    indices whose loss is the PTX part (weighted by `ptx_coef`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.config.use_cache = False
    set_seed(settings.seed)  # LoRA's initialisation draws from the global RNG: same seed, same run
    if settings.merge and settings.method in ("lora", "qlora") and _sharded(settings):
        raise ValueError(
            "merge: true is not supported with ZeRO-3 or FSDP: the weights are sharded across "
            "processes when the adapter would be merged. Train without merge; the adapter in "
            "final/ merges on one process (peft: PeftModel.from_pretrained(base, "
            "'final').merge_and_unload())"
        )
    model = apply_method(model, settings)
    params = count_parameters(model)
    log.info("trainable parameters: %s of %s", f"{params['trainable']:,}", f"{params['total']:,}")
    checkpoint, carried = resume_point(out) if resume else (None, {})
    if checkpoint is None and distributed.is_main_process():
        # a fresh start must not inherit an old run's rows
        (out / "metrics.jsonl").unlink(missing_ok=True)
    collator = (PackedCollator if packed else PaddedCollator)(pad_id=tokenizer.pad_token_id)
    args = training_arguments(
        out,
        settings,
        has_eval=bool(eval_sets),
        resuming=checkpoint is not None,
        eval_names=list(eval_sets),
    )
    extra = []
    if settings.early_stopping_patience:
        from transformers import EarlyStoppingCallback

        extra.append(EarlyStoppingCallback(settings.early_stopping_patience))
    trainer = DomainTrainer(
        model=model,
        args=args,
        data_collator=collator,
        train_dataset=train_set,
        eval_dataset=eval_sets or None,
        processing_class=tokenizer,
        callbacks=[MetricsJsonlCallback(out / "metrics.jsonl"), *extra, *(callbacks or [])],
        source_names=source_names,
        ptx_sources=ptx_sources,
        ptx_coef=ptx_coef,
        embedding_learning_rate=settings.embedding_learning_rate,
        stop_on_nonfinite=settings.stop_on_nonfinite,
    )
    recorder = CheckpointRecorder(
        save_total_limit=settings.save_total_limit, loss_sum=trainer.loss_sum, carried=carried
    )
    trainer.add_callback(recorder)
    start = time.time()
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        # Packed rows: attention per sample (train/attention.py), the model's own afterwards.
        with packed_attention(base) if packed else contextlib.nullcontext():
            result = trainer.train(resume_from_checkpoint=checkpoint)
    except pickle.UnpicklingError as err:
        if checkpoint is None:
            raise
        raise UnsafeWeightsError(
            f"{checkpoint}: torch's weights-only loader refused one of its state files "
            f"({str(err).splitlines()[0]}); this stage's Trainer does not write such files. "
            "Delete that checkpoint folder to resume from an earlier one, or rerun without --resume"
        ) from None
    finally:
        for cb in trainer.callback_handler.callbacks:
            if isinstance(cb, MetricsJsonlCallback):
                cb.flush()  # the rows up to a stop (watchdog, interrupt) stay on disk
    summary = {
        "parameters": params,
        **whole_stage(result, trainer.state, carried, start),
        "world_size": trainer.args.world_size,
        "resumed_from": checkpoint,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "stopped_early": bool(
            settings.early_stopping_patience
            and settings.max_steps > 0
            and trainer.state.global_step < settings.max_steps
        ),
    }
    save_outputs(trainer, tokenizer, out, settings)
    if trainer.is_world_process_zero() and (out / "metrics.jsonl").exists():
        plot_loss_curves(out / "metrics.jsonl", out / "loss.png", title=f"{out.name}: loss")
    return summary


def whole_stage(result: Any, state: Any, carried: dict, started: float) -> dict[str, Any]:
    """global_step, train_loss, tokens_seen and seconds of the whole stage. A resumed stage: the
    losses and seconds up to its checkpoint come from the checkpoint's record, so the figures
    cover the whole stage, as an uninterrupted run's would."""
    step = state.global_step
    loss_sum = carried.get("loss_sum", 0.0) + result.training_loss * (step - carried.get("step", 0))
    return {
        "global_step": step,
        "train_loss": loss_sum / step if step else result.training_loss,
        "tokens_seen": int(state.num_input_tokens_seen),
        "seconds": round(carried.get("seconds", 0.0) + time.time() - started, 2),
    }


def _sharded(s: TrainSettings) -> bool:
    """Parameters sharded across processes (ZeRO-3 or FSDP)."""
    if s.fsdp:
        return True
    if s.deepspeed:
        stage = json.loads(Path(s.deepspeed).read_text()).get("zero_optimization", {}).get("stage")
        return stage == 3
    return False


def resume_point(out: Path) -> tuple[str | None, dict[str, float]]:
    """The newest complete checkpoint and the stage totals up to it ({} when starting over).

    Incomplete checkpoints (a save cut off by a kill) are named in the log, with the reason, and
    removed by the main process. The checkpoint's weights must be safetensors; its other files
    (optimizer.pt, scheduler.pt, rng_state*.pth) were written by this stage's own Trainer into
    this run directory and are read by transformers with torch.load(weights_only=True).
    """
    folder = out / "checkpoints"
    checkpoint = newest_complete(folder, remove_incomplete=distributed.is_main_process())
    if checkpoint is None:
        log.warning(
            "resume: no complete checkpoint in %s; starting this stage from the beginning", folder
        )
        return None, {}
    adapter = (checkpoint / "adapter_config.json").exists()
    require_safetensors(checkpoint, adapter=adapter, checkpoint=True)
    record = read_record(checkpoint) or {}
    log.info("resume: from %s (step %s)", checkpoint, record.get("step"))
    return str(checkpoint), {**record.get("totals", {}), "step": record.get("step", 0)}
