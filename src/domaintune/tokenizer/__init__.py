"""Tokenizer analysis and vocabulary expansion (`domaintune tokenizer analyze|expand`).

    from domaintune.tokenizer import analyze, expand_model
"""

from domaintune.tokenizer.analyze import analyze
from domaintune.tokenizer.expand import expand_model, new_token_ids, plan_tokens

__all__ = ["analyze", "expand_model", "new_token_ids", "plan_tokens"]
