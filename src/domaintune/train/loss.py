"""The training loss: next-token cross-entropy over trained tokens only, computed exactly.

Two things the usual `model(labels=...)` path does not do:
- The LM head runs only at positions that have a target (a forward pre-hook hands it the hidden
  states of those positions). In SFT most positions are prompt, and on small and mid-sized models
  the vocabulary projection and its softmax are a large share of the step: this is where packed SFT
  gets faster than computing logits everywhere. The result is the same cross-entropy.
- The loss is a sum over tokens divided by counts the caller gives (the whole accumulated batch on
  every process), split into groups (the main objective and PTX text) so `loss = main + coef * ptx`
  with each part a per-token mean, and per-source sums come back for logging.

A model whose output head cannot be found, or whose forward does something with the logits other
than return them (checked on the first batch: the logits must come back as [targets, vocab]), gets
the full logits and the same loss.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from domaintune.templates import IGNORE_INDEX

log = logging.getLogger(__name__)


def target_mask(labels: torch.Tensor) -> torch.Tensor:
    """[batch, seq] bool: positions whose next token is a target (the shifted-loss positions)."""
    mask = torch.zeros_like(labels, dtype=torch.bool)
    mask[:, :-1] = labels[:, 1:] != IGNORE_INDEX
    return mask


def output_head(model: torch.nn.Module) -> torch.nn.Module | None:
    """The LM head of a (possibly PEFT- or DDP-wrapped) transformers causal LM, else None."""
    inner = model
    for _ in range(4):  # DDP / DeepSpeed engine .module, PEFT .base_model.model
        if hasattr(inner, "module") and isinstance(inner.module, torch.nn.Module):
            inner = inner.module
        elif hasattr(inner, "get_base_model"):
            inner = inner.get_base_model()
        else:
            break
    if not type(inner).__module__.startswith("transformers.models."):
        return None  # remote code: its forward may reshape the logits
    get = getattr(inner, "get_output_embeddings", None)
    return get() if callable(get) else None


@contextlib.contextmanager
def head_at(head: torch.nn.Module, mask: torch.Tensor):
    """While active, `head` sees only the hidden states at `mask` ([batch, seq] bool)."""

    def select(module, args):
        hidden = args[0]
        if hidden.shape[:2] != mask.shape:
            raise RuntimeError(f"LM head input {tuple(hidden.shape)} does not match the batch")
        return (hidden[mask], *args[1:])

    handle = head.register_forward_pre_hook(select)
    try:
        yield
    finally:
        handle.remove()


@dataclass
class TokenLosses:
    ce: torch.Tensor  # [n] cross-entropy of every target token, fp32
    source: torch.Tensor  # [n] source index of every target token


class LossComputer:
    """Per-token cross-entropy for a batch, with the LM head at target positions when it can."""

    def __init__(self) -> None:
        self.fast: bool | None = None  # decided on the first batch

    def __call__(self, model: torch.nn.Module, inputs: dict) -> TokenLosses:
        labels = inputs.pop("labels")
        source = inputs.pop("source", None)
        mask = target_mask(labels)
        targets = labels[:, 1:][mask[:, :-1]]
        head = output_head(model) if self.fast is not False else None
        logits = None
        if head is not None:
            with head_at(head, mask):
                out = model(**inputs, use_cache=False)
            logits = out.logits
            if self.fast is None:
                self.fast = logits.dim() == 2 and logits.shape[0] == targets.shape[0]
                if not self.fast:
                    log.warning("this model reshapes its logits; computing them at every position")
            if not self.fast:
                logits = None
        if logits is None:
            logits = model(**inputs, use_cache=False).logits[mask]
        ce = F.cross_entropy(logits.float(), targets, reduction="none")
        src = torch.zeros_like(targets) if source is None else source[:, 1:][mask[:, :-1]]
        return TokenLosses(ce, src)
