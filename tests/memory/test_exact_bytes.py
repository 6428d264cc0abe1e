"""Estimator bytes equal the real tensors' bytes after one AdamW step (tiny model, CPU, fp32)."""

from __future__ import annotations

import pytest
import torch

from domaintune.memory import RunSetup, estimate
from domaintune.models import load_model
from domaintune.train.trainer import TrainSettings, apply_method


def _nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _one_step(model_dir, settings: TrainSettings) -> dict[str, int]:
    """Apply the method, run one AdamW step, return the bytes of params, grads, states."""
    torch.manual_seed(0)
    model = apply_method(load_model(model_dir), settings)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3)
    ids = torch.randint(0, model.config.vocab_size, (2, 16))
    model(input_ids=ids, labels=ids, use_cache=False).loss.backward()
    opt.step()
    states = [v for st in opt.state.values() for v in st.values() if torch.is_tensor(v)]
    return {
        "weights": _nbytes(model.parameters()),
        "gradients": _nbytes(p.grad for p in model.parameters() if p.grad is not None),
        "optimizer": _nbytes(states),
        "trainable": sum(p.numel() for p in params),
    }


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("full", {}),
        ("freeze", {"freeze_trainable_layers": 1}),
        ("lora", {"lora": {"r": 4, "dropout": 0.0}}),
    ],
)
def test_state_bytes_are_exact(tiny_model_dir, method, extra):
    settings = TrainSettings(method=method, **{"lora": {"dropout": 0.0}, **extra})
    real = _one_step(tiny_model_dir, settings)
    setup = RunSetup(
        method=method,
        precision="fp32",
        lora_rank=settings.lora_r,
        trainable_layers=settings.freeze_trainable_layers,
        device="cpu",
    )
    est = estimate(tiny_model_dir, setup)
    assert est.trainable_params == real["trainable"]
    assert est.group("weights") == real["weights"]
    assert est.group("gradients") == real["gradients"]
    assert est.group("optimizer") == real["optimizer"]


def test_params_match_the_loaded_model(tiny_model_dir):
    model = load_model(tiny_model_dir)
    est = estimate(tiny_model_dir, RunSetup(precision="fp32", device="cpu"))
    assert est.params == sum(p.numel() for p in model.parameters())
