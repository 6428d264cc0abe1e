"""Resized embeddings: padded to 64, new rows initialised as documented, old behaviour kept;
training after an expansion trains the new rows (full, freeze, LoRA) and merges them."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from domaintune.models import tiny_config
from domaintune.tokenizer.embeddings import resize_and_init
from helpers import train_settings


def test_expanded_model_rows_and_mean_init(tiny_model_dir, expanded_model):
    out, rec = expanded_model
    old = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    new = AutoModelForCausalLM.from_pretrained(out)
    old_tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    new_tok = AutoTokenizer.from_pretrained(out)
    w_old, w = old.get_input_embeddings().weight, new.get_input_embeddings().weight
    n_old = w_old.shape[0]
    assert rec["added"] == 64 and w.shape[0] == 576 and w.shape[0] % 64 == 0
    assert new.config.vocab_size == 576 and len(new_tok) == len(old_tok) + 64
    assert new.get_output_embeddings().weight is w  # still tied
    assert torch.equal(w[:n_old], w_old)
    whole = [t for t in rec["tokens"] if "\ufffd" not in t["text"]]  # whole characters
    assert len(whole) >= 10
    for t in whole:  # mean of the rows of the tokens its text encoded to before
        src = old_tok.encode(t["text"], add_special_tokens=False)
        torch.testing.assert_close(w[t["id"]], w_old[src].mean(0))
    torch.testing.assert_close(w[len(new_tok) :], w_old.mean(0).expand(576 - len(new_tok), -1))
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["domaintune_new_tokens"] == {"first_id": len(old_tok), "count": 64}
    # text without new tokens: same ids, same logits over the old vocabulary
    text = "patients with hypertension take medicine every day ."
    ids = torch.tensor([new_tok.encode(text)])
    assert ids.tolist()[0] == old_tok.encode(text)
    with torch.no_grad():
        a, b = old(ids).logits, new(ids).logits
    torch.testing.assert_close(b[..., :n_old], a)


@pytest.mark.parametrize("init", ["noise", "zero"])
def test_noise_and_zero_init_on_untied_head(init):
    cfg = tiny_config("llama", 100, hidden_size=64, num_layers=1, eos_id=0, pad_id=0)
    cfg.tie_word_embeddings = False
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg)
    before = model.get_output_embeddings().weight.detach().clone()
    info = resize_and_init(model, [100, 101, 102], [[1, 2], [3], [4, 5, 6]], init=init, seed=1)
    assert info == {"old_rows": 100, "rows": 128, "tied": False, "init": init}
    pairs = ((model.get_input_embeddings().weight, None), (model.lm_head.weight, before))
    for weight, ref in pairs:
        rows = weight[100:103]
        if init == "zero":
            assert torch.count_nonzero(rows) == 0
        else:  # LLaMA-Factory: mean of all old rows + N(0, 1/d)
            mean = weight[:100].mean(0)
            spread = (rows - mean).std().item()
            assert 0.06 < spread < 0.2  # 1/sqrt(64) = 0.125
        if ref is not None:
            assert torch.equal(weight[:100], ref)


def _step(model, ids):
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    x = torch.tensor([ids])
    model(input_ids=x, labels=x).loss.backward()
    opt.step()


@pytest.mark.parametrize("method", ["lora", "freeze"])
def test_training_after_expansion_trains_new_rows_and_merges(expanded_model, method):
    from domaintune.train.trainer import apply_method

    out, rec = expanded_model
    model = AutoModelForCausalLM.from_pretrained(out)
    before = model.get_input_embeddings().weight.detach().clone()
    settings = train_settings(method=method, freeze_trainable_layers=1)
    wrapped = apply_method(model, settings)
    new_ids = [t["id"] for t in rec["tokens"]]
    _step(wrapped, [new_ids[0], 5, new_ids[1], 7, new_ids[2]])
    if method == "lora":
        assert wrapped.peft_config["default"].trainable_token_indices == {"embed_tokens": new_ids}
        wrapped = wrapped.merge_and_unload()
    w = wrapped.get_input_embeddings().weight
    changed = set((w != before).any(dim=1).nonzero().flatten().tolist())
    assert set(new_ids[:3]) <= changed
    if method == "lora":  # trainable tokens touch only the new rows
        assert changed <= set(new_ids)
    assert wrapped.get_output_embeddings().weight is w
