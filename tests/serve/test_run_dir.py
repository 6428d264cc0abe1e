"""A real run directory (LoRA SFT with the qwen template) served and exported (slow)."""

from __future__ import annotations

import pytest
from rich.console import Console

from domaintune.recipes import parse_recipe


@pytest.mark.slow
def test_serve_and_export_a_trained_run(recipe_raw, tmp_path):
    from domaintune.eval.generate import generate_ids, render_prompts, stop_token_ids
    from domaintune.models import load_for_eval
    from domaintune.pipeline import run_recipe
    from domaintune.records import EvalItem
    from domaintune.serve.engine import Engine, SamplingParams
    from domaintune.serve.loading import load_served
    from domaintune.serve.ollama import go_template
    from domaintune.serve.server import chat_prompt
    from domaintune.serve.stage import export_model

    sft = recipe_raw["stages"][1]
    sft.update(model_from="base", template="qwen")
    sft["train"].update(merge=False, max_len=192)  # qwen's default system prompt is long
    recipe_raw["stages"] = [sft]
    run_recipe(parse_recipe(recipe_raw), console=Console(quiet=True))
    run = tmp_path / "run"
    model, served = load_served(run)
    assert sorted(served) == ["model", "run"] and served["run"].path == run / "sft" / "final"
    questions = ["what does the heart pump", "blood pressure"]
    lm, tok = load_for_eval(run / "sft" / "final")
    items = [EvalItem(id=str(i), question=q, answer="") for i, q in enumerate(questions)]
    prompts = render_prompts(tok, items)
    assert prompts == [chat_prompt(served["run"], [{"role": "user", "content": q}])
                       for q in questions]  # fmt: skip
    assert "You are Qwen" in tok.decode(prompts[0])  # the template training used
    stops = stop_token_ids(lm, tok)
    assert sorted(served["run"].stop_ids) == sorted(stops)
    ref = generate_ids(lm, prompts, stop_ids=stops, pad_id=stops[0], max_new_tokens=10,
                       show_progress=False)  # fmt: skip
    engine = Engine(model, served, max_batch=4).start()
    try:
        got = engine.generate("run", prompts, SamplingParams(max_tokens=10))
    finally:
        engine.close()
    assert [s.tokens for s in got] == ref
    modelfile = export_model(run, tmp_path / "ollama", fmt="ollama").read_text()
    assert "(template: qwen)" in modelfile and go_template("qwen") in modelfile
    hf = export_model(run, tmp_path / "hf", fmt="hf")
    assert (hf / "model.safetensors").exists() and not (hf / "adapter_config.json").exists()
