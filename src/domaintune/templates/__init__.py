"""Chat templates: conversation -> input_ids + labels, with the loss mask derived from structure."""

from domaintune.templates.hf import IGNORE_INDEX, encode_with_hf_template

__all__ = ["IGNORE_INDEX", "encode_with_hf_template"]
