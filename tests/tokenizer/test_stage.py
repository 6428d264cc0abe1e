"""`type: tokenizer` in a recipe: expand -> CPT (full) -> SFT (LoRA, merge) -> export -> serve,
with no manual step between them."""

from __future__ import annotations

import json

import pytest
import torch
from rich.console import Console
from transformers import AutoModelForCausalLM, AutoTokenizer

from domaintune.io import write_jsonl
from domaintune.recipes import parse_recipe

SMALL = {"max_steps": 3, "batch_size": 4, "logging_steps": 1, "save_steps": 100, "max_len": 64,
         "learning_rate": 3e-3}  # fmt: skip


def _recipe(tmp_path, tiny_model_dir, medical_corpus) -> dict:
    answer = "糖尿病是以高血糖为特征的代谢性疾病。"
    rows = [{"instruction": "什么是糖尿病？", "output": answer}] * 16
    write_jsonl(tmp_path / "sft.jsonl", rows)
    return {
        "name": "vocab",
        "output_dir": str(tmp_path / "run"),
        "model": {"path": str(tiny_model_dir)},
        "train": SMALL,
        "stages": [
            {"name": "vocab", "type": "tokenizer", "corpus": [{"path": str(medical_corpus)}],
             "add": 64, "min_freq": 2},
            {"name": "cpt", "type": "pt", "model_from": "vocab",
             "data": [{"path": str(medical_corpus)}], "train": {"method": "full"}},
            {"name": "sft", "type": "sft", "model_from": "cpt",
             "data": [{"path": str(tmp_path / "sft.jsonl")}],
             "train": {"method": "lora", "merge": True}},
            {"name": "hf", "type": "export", "model_from": "sft", "format": "hf"},
            {"name": "gguf", "type": "export", "model_from": "sft", "format": "gguf"},
        ],
    }  # fmt: skip


def test_recipe_stage_config_is_validated(tmp_path, tiny_model_dir, medical_corpus):
    raw = _recipe(tmp_path, tiny_model_dir, medical_corpus)
    recipe = parse_recipe(raw)
    stage = recipe.stages[0]
    assert (stage.produces, stage.models(), stage.add) == ("model", ["base"], 64)
    raw["stages"][0]["init"] = "random"
    with pytest.raises(Exception, match="init"):
        parse_recipe(raw)


@pytest.mark.slow
def test_expand_then_train_merge_export_and_serve(tmp_path, tiny_model_dir, medical_corpus):
    from domaintune.pipeline import run_recipe
    from domaintune.serve.loading import load_served

    recipe = parse_recipe(_recipe(tmp_path, tiny_model_dir, medical_corpus))
    out = run_recipe(recipe, console=Console(record=True, width=120))
    run = tmp_path / "run"
    assert out["vocab"]["added"] == 64 and out["vocab"]["rows"] == 576
    rec = json.loads((run / "vocab" / "final" / "domaintune_vocab.json").read_text())
    new_ids = [t["id"] for t in rec["tokens"]]

    def rows(path):
        return AutoModelForCausalLM.from_pretrained(path).get_input_embeddings().weight[new_ids]

    vocab, cpt = rows(run / "vocab" / "final"), rows(run / "cpt" / "final")
    assert (cpt != vocab).any(dim=1).sum() >= 32  # full CPT trained the new rows
    adapter = json.loads((run / "sft" / "final" / "adapter_config.json").read_text())
    assert adapter["trainable_token_indices"] == {"embed_tokens": new_ids}
    merged = rows(run / "sft" / "merged")
    assert (merged != cpt).any(dim=1).sum() >= 1  # LoRA's trainable tokens merged in
    export = run / "hf" / "export"
    tok = AutoTokenizer.from_pretrained(export)
    model = AutoModelForCausalLM.from_pretrained(export)
    assert len(tok) == rec["old_vocab"] + 64
    assert model.get_input_embeddings().weight.shape[0] == 576
    torch.testing.assert_close(model.get_input_embeddings().weight[new_ids], merged)
    ids = tok.encode("糖尿病", add_special_tokens=False)
    assert set(ids) & set(new_ids)
    served_model, served = load_served(export)
    assert served_model.get_input_embeddings().weight.shape[0] == 576
    (entry,) = served.values()
    assert entry.tokenizer.encode("糖尿病", add_special_tokens=False) == ids
    # GGUF: every row, and the merges in order with the appended ones last
    import gguf

    (path,) = (run / "gguf" / "export").glob("*.gguf")
    fields = gguf.GGUFReader(str(path)).fields
    merges = json.loads((export / "tokenizer.json").read_text())["model"]["merges"]
    assert len(fields["tokenizer.ggml.tokens"].data) == 576
    written = fields["tokenizer.ggml.merges"]
    last = [bytes(written.parts[i]).decode() for i in written.data[-3:]]
    assert last == [" ".join(m) for m in merges[-3:]] == [" ".join(t["merge"]) for t in
                                                          rec["tokens"][-3:]]  # fmt: skip
