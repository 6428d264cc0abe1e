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


# ---------------------------------------------------------------- safetensors only


class _Evil:
    """A pickle that creates `path` when it is unpickled."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        from pathlib import Path

        return (Path.touch, (Path(self.path),))


def _plant(path, sentinel):
    import pickle

    with open(path, "wb") as f:
        pickle.dump({"weight": _Evil(sentinel)}, f)


def test_the_planted_pickle_runs_code_when_unpickled(tmp_path):
    """The payload the next tests plant does what an attack would: proof they can fail."""
    import pickle

    _plant(tmp_path / "x.bin", tmp_path / "ran")
    pickle.loads((tmp_path / "x.bin").read_bytes())
    assert (tmp_path / "ran").exists()


def test_pickled_adapter_is_refused_before_unpickling(tiny_model_dir, tmp_path):
    import shutil

    from domaintune.models import UnsafeWeightsError, load_for_eval

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 2, "lora_alpha": 4}
    config |= {"target_modules": ["q_proj"], "base_model_name_or_path": str(tiny_model_dir)}
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_model_dir / name, adapter / name)
    _plant(adapter / "adapter_model.bin", tmp_path / "pwned")
    with pytest.raises(UnsafeWeightsError) as err:
        load_for_eval(adapter)
    assert str(err.value) == (
        f"{adapter}/adapter_model.bin is a pickle file, which can run code when loaded, and there "
        "is no adapter_model.safetensors beside it; domaintune reads weights from safetensors "
        'only. Convert it where you trust the file: python -c "import torch; from '
        "safetensors.torch import save_file; save_file(torch.load('"
        f"{adapter}/adapter_model.bin', weights_only=True), '{adapter}/adapter_model.safetensors')"
        '"'
    )
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "weights.pth", "last.ckpt"])
def test_pickled_model_is_refused_before_unpickling(tiny_model_dir, tmp_path, name):
    import shutil

    from domaintune.models import UnsafeWeightsError, load_for_eval, load_model

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    (model / "model.safetensors").unlink()
    _plant(model / name, tmp_path / "pwned")
    for load in (load_model, load_for_eval):
        with pytest.raises(UnsafeWeightsError, match=f"^{model}/{name} is a pickle file") as err:
            load(model)
        assert "save_pretrained" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "pwned").exists()


def test_pickles_beside_safetensors_weights_are_never_read(tiny_model_dir, tmp_path):
    """A Trainer's training_args.bin, or a stray .bin beside model.safetensors, is not loaded."""
    import shutil

    from domaintune.models import load_for_eval

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    _plant(model / "pytorch_model.bin", tmp_path / "pwned")
    _plant(model / "training_args.bin", tmp_path / "pwned")
    lm, _ = load_for_eval(model)
    assert lm.config.vocab_size > 0
    assert not (tmp_path / "pwned").exists()


def test_core_models_module_imports_no_stage_package():
    """models.py is core: it loads 4-bit bases itself and imports nothing from train/ or eval/."""
    import ast
    from pathlib import Path

    import domaintune.models

    tree = ast.parse(Path(domaintune.models.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    stages = ("data", "synth", "tokenizer", "memory", "train", "eval", "diagnose", "report")
    upward = {m for m in imported for s in stages if m.startswith(f"domaintune.{s}")}
    assert upward == set()
