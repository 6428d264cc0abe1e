"""Tokenizer analysis and vocabulary expansion (`domaintune tokenizer analyze|expand`)."""

from domaintune.tokenizer.expand import expand_model, new_token_ids, plan_tokens

__all__ = ["expand_model", "new_token_ids", "plan_tokens"]
