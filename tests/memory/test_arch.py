"""Parameter counts of the built-in architectures equal the published counts."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config

from domaintune.memory import BUILTIN, count_params, resolve_arch

# Published counts: model cards / safetensors index totals (see docs/memory.md for sources).
PUBLISHED = {
    "llama2-7b": 6_738_415_616,
    "llama2-13b": 13_015_864_320,
    "llama2-70b": 68_976_648_192,
    "llama3-8b": 8_030_261_248,
    "mistral-7b": 7_241_732_096,
    "qwen2.5-0.5b": 494_032_768,
    "qwen2.5-1.5b": 1_543_714_304,
    "qwen2.5-7b": 7_615_616_512,
    "qwen2.5-14b": 14_770_033_664,
    "qwen2.5-72b": 72_706_203_648,
    "chatglm3-6b": 6_243_584_000,
    "baichuan2-7b": 7_505_973_248,
    "baichuan2-13b": 13_896_668_160,
    "internlm2-7b": 7_737_708_544,
    "internlm2-20b": 19_861_149_696,
}
CONFIGS = {"llama": LlamaConfig, "qwen2": Qwen2Config, "mistral": MistralConfig}


def test_builtin_table_is_complete():
    assert set(BUILTIN) == set(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_builtin_count_equals_published(name):
    assert count_params(BUILTIN[name]).total == PUBLISHED[name]


def _hf_config(a):
    return CONFIGS[a.family](
        vocab_size=a.vocab_size,
        hidden_size=a.hidden_size,
        intermediate_size=a.intermediate_size,
        num_hidden_layers=a.num_layers,
        num_attention_heads=a.num_heads,
        num_key_value_heads=a.num_kv_heads,
        tie_word_embeddings=a.tied_embeddings,
    )


@pytest.mark.parametrize("name", ["llama2-70b", "llama3-8b", "mistral-7b", "qwen2.5-0.5b"])
def test_count_equals_transformers_on_meta_device(name):
    a = BUILTIN[name]
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(_hf_config(a))
    assert count_params(a).total == sum(p.numel() for p in model.parameters())


def test_model_directory_config_is_read(tmp_path):
    a = BUILTIN["qwen2.5-1.5b"]
    _hf_config(a).save_pretrained(tmp_path)
    got = resolve_arch(tmp_path)
    assert count_params(got).total == PUBLISHED["qwen2.5-1.5b"]
    assert got.qkv_bias and got.tied_embeddings


def test_chatglm_config_dict():
    cfg = {
        "model_type": "chatglm",
        "padded_vocab_size": 65024,
        "hidden_size": 4096,
        "ffn_hidden_size": 13696,
        "num_layers": 28,
        "num_attention_heads": 32,
        "multi_query_attention": True,
        "multi_query_group_num": 2,
        "kv_channels": 128,
        "add_qkv_bias": True,
    }
    assert count_params(resolve_arch(cfg)).total == PUBLISHED["chatglm3-6b"]


def test_unknown_model_names_the_choices(tmp_path):
    with pytest.raises(ValueError, match="llama2-7b"):
        resolve_arch("llama9-1b")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ValueError, match="not supported"):
        resolve_arch(tmp_path)
