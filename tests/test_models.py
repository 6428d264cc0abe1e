"""The built-in tiny model: a standard HF directory that reloads offline and is deterministic."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from domaintune.models import IM_END, build_tiny_model
from helpers import make_texts


@pytest.mark.parametrize("arch", ["qwen2", "llama"])
def test_tiny_model_reloads_with_auto_classes(tmp_path, arch):
    out = build_tiny_model(
        tmp_path / "m",
        arch=arch,
        texts=make_texts(200),
        vocab_size=512,
        hidden_size=128,
        num_layers=2,
    )
    names = {p.name for p in out.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "chat_template.jinja",
        "generation_config.json",
    } <= names
    assert not any(n.endswith((".bin", ".pt", ".pth")) for n in names)
    model = AutoModelForCausalLM.from_pretrained(out, use_safetensors=True)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.config.model_type == arch
    assert model.config.vocab_size == len(tok)
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]
    assert tok.apply_chat_template(msgs, tokenize=False) == (
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n"
    )
    gen = GenerationConfig.from_pretrained(out)
    assert gen.eos_token_id == [tok.convert_tokens_to_ids(IM_END), tok.eos_token_id]
    ids = tok("the heart", return_tensors="pt")["input_ids"]
    assert model(ids).logits.shape == (1, ids.shape[1], len(tok))  # [batch, seq, vocab]


def test_same_seed_same_files_other_seed_other_weights(tmp_path):
    texts = make_texts(200)
    a = build_tiny_model(tmp_path / "a", texts=texts, vocab_size=512, hidden_size=64, num_layers=2)
    b = build_tiny_model(tmp_path / "b", texts=texts, vocab_size=512, hidden_size=64, num_layers=2)
    c = build_tiny_model(
        tmp_path / "c", texts=texts, vocab_size=512, hidden_size=64, num_layers=2, seed=1
    )
    for f in sorted(p.name for p in a.iterdir()):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "tokenizer.json").read_bytes() == (c / "tokenizer.json").read_bytes()
    assert (a / "model.safetensors").read_bytes() != (c / "model.safetensors").read_bytes()


def test_default_tiny_model_size(tmp_path):
    """The quickstart's model: ~8k vocabulary, a few million parameters, on the bundled corpora."""
    out = build_tiny_model(tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(out)
    n = sum(p.numel() for p in model.parameters())
    assert 3_000_000 < n < 10_000_000
    assert 7000 < model.config.vocab_size <= 8192
    meta = json.loads((out / "domaintune.json").read_text())
    assert meta == {
        "builtin": "tiny",
        "arch": "qwen2",
        "seed": 0,
        "vocab_size": 8192,
        "hidden_size": 256,
        "num_layers": 4,
    }
    tok = AutoTokenizer.from_pretrained(out)
    # a tokenizer trained on the medical corpus keeps common domain words whole
    assert len(tok("高血压", add_special_tokens=False)["input_ids"]) <= 2
    with torch.no_grad():
        assert torch.isfinite(model(torch.tensor([[1, 2, 3]])).logits).all()
