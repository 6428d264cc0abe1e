"""TRL's DPOTrainer and KTOTrainer with our rendering and losses: thin subclasses.

Why each override exists (TRL 1.16, pinned `trl>=1.16,<1.17` in the equivalence tests):
- `_prepare_dataset` (no public hook): our rows arrive already rendered by the SFT templates
  (`data/pref.py`), with exactly one end-of-turn token per completion. TRL's own preparation
  would tokenize the text again with the tokenizer's template and append an EOS to non-chat
  text (TRL issue 4481: `<|im_end|><|im_end|>`), so a tokenized dataset passes through.
  tests/pref/test_losses.py checks that TRL's loss on our batch equals ours.
- `compute_loss` (public): sigmoid/ipo/hinge DPO, SimPO and ORPO from `train/pref.py`, the SFT
  anchor, the PTX term on general text (`PrefTrainerMixin`, DPO and KTO), and the metrics the
  diagnosis reads (rewards, margin, accuracy, log-probs, KL estimate, completion length). The
  reference comes from TRL: `compute_ref_log_probs` (a reference copy, or the LoRA adapter
  disabled: no second copy), or its precomputed columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from trl import DPOTrainer, KTOTrainer

from domaintune.train.callbacks import MetricsJsonlCallback
from domaintune.train.pref import REFERENCE_FREE, pref_loss, sft_term
from domaintune.train.pref_stage import PREF_KEYS
from domaintune.train.trainer import LossSumMixin

IGNORE_INDEX = -100


def _tokenized(dataset: Any) -> bool:
    return "prompt_ids" in (getattr(dataset, "column_names", None) or [])


class PrefTrainerMixin(LossSumMixin):
    """What both preference trainers add on a training micro-batch: `loss + coef * NLL` of general
    text (`pref_stage.PtxBatches`; InstructGPT's PTX, where LLaMA-Factory's DPO has only the
    SFT-on-chosen anchor), `tokens_seen` (pair, KL and PTX tokens), and the loss sum a checkpoint
    records. Evaluation adds no PTX term, so eval losses compare with runs without it.

    Micro-batch k of optimizer step s reads PTX batch s * gradient_accumulation_steps + k: the
    same text at the same step whether or not the run was resumed from a checkpoint."""

    ptx: Any = None
    _ptx_at: tuple[int, int] = (-1, 0)  # (optimizer step, micro-batches taken in it)

    def finish_loss(self, model, inputs: dict, loss: torch.Tensor) -> torch.Tensor:
        if not model.training:
            return loss
        tokens = sum(
            int(inputs[k].sum()) for k in ("attention_mask", "KL_attention_mask") if k in inputs
        )
        if self.ptx is not None:
            step, micro = self._ptx_at
            if step != self.state.global_step:
                step, micro = self.state.global_step, 0
            self._ptx_at = (step, micro + 1)
            batch = self.ptx.batch(step * self.args.gradient_accumulation_steps + micro)
            out = model(
                input_ids=batch["input_ids"].to(loss.device),
                position_ids=batch["position_ids"].to(loss.device),
                labels=batch["labels"].to(loss.device),
                use_cache=False,
            )
            self._metrics["train"]["loss/ptx"].append(out.loss.detach().float().item())
            loss = loss + self.ptx.coef * out.loss
            tokens += int(batch["num_tokens"])
        count = torch.tensor(tokens, device=loss.device)
        if self.args.world_size > 1:
            count = self.accelerator.gather(count.reshape(1)).sum()
        self.state.num_input_tokens_seen += int(count)
        return loss


class PrefDPOTrainer(PrefTrainerMixin, DPOTrainer):
    """DPOTrainer on pre-rendered pairs with the losses of `train/pref.py`."""

    def __init__(
        self,
        *args,
        pref_loss: str = "sigmoid",
        gamma: float = 1.0,
        sft_coef: float = 0.0,
        ptx: Any = None,
        **kwargs,
    ):
        self.pref_loss_type, self.gamma, self.sft_coef, self.ptx = pref_loss, gamma, sft_coef, ptx
        super().__init__(*args, **kwargs)

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        if _tokenized(dataset):
            return dataset
        return super()._prepare_dataset(dataset, processing_class, args, dataset_name)

    def policy_logps(self, model, inputs) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token completion log-probs [2B, T-1] and the completion mask they cover."""
        mask = inputs["completion_mask"][:, 1:]
        labels = inputs["input_ids"].masked_fill(inputs["completion_mask"] == 0, IGNORE_INDEX)
        out = model(
            input_ids=inputs["input_ids"],
            attention_mask=inputs["attention_mask"],
            labels=labels,
            use_cache=False,
            fused_lm_head=True,
        )
        return out.log_probs[:, -mask.size(1) :] * mask, mask

    def reference_logps(self, model, inputs) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if "ref_chosen_logps" in inputs:
            return inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
        if self.pref_loss_type in REFERENCE_FREE:
            return None, None
        return self.compute_ref_log_probs(self.ref_model or model, inputs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        mode = "train" if self.model.training else "eval"
        token_logps, mask = self.policy_logps(model, inputs)  # [2B, T-1]
        logps, lengths = token_logps.sum(1), mask.sum(1).to(token_logps.dtype)
        chosen, rejected = logps.chunk(2)
        chosen_len, rejected_len = lengths.chunk(2)
        ref_chosen, ref_rejected = self.reference_logps(model, inputs)
        result = pref_loss(
            self.pref_loss_type,
            chosen,
            rejected,
            chosen_len,
            rejected_len,
            ref_chosen,
            ref_rejected,
            beta=self.beta,
            gamma=self.gamma,
        )
        loss = result.losses.mean()
        sft = sft_term(token_logps.chunk(2)[0], mask.chunk(2)[0])
        if self.sft_coef:
            loss = loss + self.sft_coef * sft
        loss = self.finish_loss(model, inputs, loss)
        stats = {
            "rewards/chosen": result.chosen_rewards,
            "rewards/rejected": result.rejected_rewards,
            "rewards/margins": result.chosen_rewards - result.rejected_rewards,
            "rewards/accuracies": (result.chosen_rewards > result.rejected_rewards).float(),
            "logps/chosen": chosen.detach(),
            "logps/rejected": rejected.detach(),
            "completion_length": lengths,
            "length/chosen": chosen_len,
            "length/rejected": rejected_len,
            "loss/sft": sft.detach().reshape(1),
        }
        if ref_chosen is not None:
            # A KL estimate on the pair data: the mean sequence log-ratio log(pi/pi_ref).
            stats["kl"] = torch.cat([chosen - ref_chosen, rejected - ref_rejected]).detach()
        for key, value in stats.items():
            value = self.accelerator.gather_for_metrics(value.float())
            self._metrics[mode][key].append(value.mean().item())
        return (loss, None) if return_outputs else loss


class PrefKTOTrainer(PrefTrainerMixin, KTOTrainer):
    """KTOTrainer on pre-rendered (prompt, completion, label) rows."""

    def __init__(self, *args, ptx: Any = None, **kwargs):
        self.ptx = ptx
        super().__init__(*args, **kwargs)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        result = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if return_outputs:
            return self.finish_loss(model, inputs, result[0]), *result[1:]
        return self.finish_loss(model, inputs, result)

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        if not _tokenized(dataset):
            return super()._prepare_dataset(dataset, processing_class, args, dataset_name)
        if self.calculate_KL:
            # TRL's rotation: (x_i, y_{i-1}) within each batch gives the mismatched KL pairs.
            def rotate(batch):
                ids = batch["completion_ids"]
                return {"KL_completion_ids": [ids[-1], *ids[:-1]]}

            dataset = dataset.map(rotate, batched=True, batch_size=args.per_device_train_batch_size)
        return dataset


class PrefMetricsCallback(MetricsJsonlCallback):
    """metrics.jsonl rows with `pref` (training) and `eval_pref` ({eval set: {...}}) objects."""

    FIELDS = (*MetricsJsonlCallback.FIELDS, "pref", "eval_pref")

    def __init__(self, path: str | Path, eval_names: list[str] = ()):
        super().__init__(path)
        self.eval_names = list(eval_names)

    def on_log(self, args, state, control, logs=None, **kwargs):
        super().on_log(args, state, control, logs=logs, **kwargs)
        if not state.is_world_process_zero or not logs or self.pending is None:
            return
        pref = {PREF_KEYS[k]: float(v) for k, v in logs.items() if k in PREF_KEYS}
        if pref:
            self.pending["pref"] = pref
        # TRL evaluates each set on its own and logs its metrics unnamed, beside `eval_NAME_loss`
        sets = [n for n in self.eval_names if f"eval_{n}_loss" in logs]
        for key, value in logs.items():
            if key.startswith("eval_"):
                name, metric = _eval_key(key[len("eval_") :])
                if name == "eval" and len(sets) == 1:
                    name = sets[0]
                if metric in PREF_KEYS:
                    evals = self.pending.setdefault("eval_pref", {})
                    evals.setdefault(name, {})[PREF_KEYS[metric]] = float(value)


def _eval_key(key: str) -> tuple[str, str]:
    """'held_rewards/accuracies' -> ('held', 'rewards/accuracies'); 'kl' of set 'a_b' too."""
    for metric in sorted(PREF_KEYS, key=len, reverse=True):
        if key.endswith("_" + metric):
            return key[: -len(metric) - 1], metric
        if key == metric:
            return "eval", metric
    return key, ""
