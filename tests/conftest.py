"""Shared fixtures: a tiny tokenizer and model built in the test session, fully offline."""

from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from helpers import make_texts


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A 2-layer Qwen2 model (hidden 64) with a 512-token BPE trained on a few lines."""
    from domaintune.models import build_tiny_model

    out = tmp_path_factory.mktemp("tiny") / "model"
    return build_tiny_model(
        out, texts=make_texts(400), vocab_size=512, hidden_size=64, num_layers=2, seed=0
    )
