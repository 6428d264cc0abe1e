"""What training switches on after a vocabulary expansion (used by train.trainer.apply_method).

New rows start as averages of old ones; they must train or the new tokens stay blurred copies.
- full: every parameter trains already (`train.embedding_learning_rate` sets their own rate);
- freeze: the embeddings and LM head are unfrozen as well as the last blocks;
- lora/qlora: peft's trainable tokens (`trainable_token_indices`) train exactly the new rows of
  the embeddings (and of an untied LM head; a tied head follows the embeddings), and they are
  merged with the adapter by `merge_and_unload`, so merge, export and serving need no extra step.
"""

from __future__ import annotations

import logging

from domaintune.tokenizer.expand import new_token_ids

log = logging.getLogger(__name__)


def added_token_ids(model) -> list[int]:
    """The ids a `tokenizer expand` added to this model (empty for an unexpanded model)."""
    config = getattr(model, "config", None)
    return new_token_ids(config) if config is not None else []


def _module_name(model, module) -> str:
    return next(n for n, m in model.named_modules() if m is module).rsplit(".", 1)[-1]


def lora_token_options(model, method: str) -> dict:
    """LoraConfig arguments that make the new tokens' rows trainable (empty when none)."""
    ids = added_token_ids(model)
    if not ids:
        return {}
    emb, head = model.get_input_embeddings(), model.get_output_embeddings()
    targets = {_module_name(model, emb): ids}
    if head is not None and head.weight is not emb.weight:
        targets[_module_name(model, head)] = ids
    log.warning(
        "the model has %d tokens added by `tokenizer expand`: %s trains their rows of %s as "
        "well (peft trainable_token_indices); merge folds them into the model",
        len(ids), method, " and ".join(targets),
    )  # fmt: skip
    return {"trainable_token_indices": targets}


def unfreeze_embeddings(model) -> None:
    """Method freeze: the embeddings and LM head train too when tokens were added."""
    ids = added_token_ids(model)
    if not ids:
        return
    log.warning(
        "the model has %d tokens added by `tokenizer expand`: method freeze trains the "
        "embeddings and LM head as well (set train.embedding_learning_rate for their own rate)",
        len(ids),
    )
    model.get_input_embeddings().requires_grad_(True)
    head = model.get_output_embeddings()
    if head is not None:
        head.requires_grad_(True)
