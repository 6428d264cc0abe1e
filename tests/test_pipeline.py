"""A whole recipe on the tiny model: stages chain, outputs land, complete stages are skipped."""

from __future__ import annotations

import copy
import json

import pytest
from rich.console import Console

from domaintune.io import read_manifest
from domaintune.recipes import parse_recipe


def test_recipe_runs_stages_in_order_then_skips_them(recipe_raw, tmp_path):
    from domaintune.pipeline import run_recipe

    console = Console(record=True, width=120)
    recipe = parse_recipe(recipe_raw)
    out = run_recipe(recipe, console=console)
    run = tmp_path / "run"
    assert (run / "recipe.yaml").exists()
    assert (run / "cpt" / "final" / "model.safetensors").exists()
    assert (run / "sft" / "final" / "adapter_model.safetensors").exists()
    assert (run / "sft" / "merged" / "model.safetensors").exists()
    adapter_cfg = json.loads((run / "sft" / "final" / "adapter_config.json").read_text())
    assert adapter_cfg["target_modules"] and adapter_cfg["r"] == 8
    assert out["sft"]["data"]["in"] == 20  # fraction 0.5 of 40 rows
    assert out["cpt"]["training"]["global_step"] == 4
    ppl = json.loads((run / "ppl" / "perplexity.json").read_text())
    assert set(ppl) == {"base", "cpt", "sft"}
    assert ppl["cpt"]["domain"]["perplexity"] < ppl["base"]["domain"]["perplexity"]
    for stage in ("cpt", "sft", "ppl"):
        assert read_manifest(run / stage)["status"] == "complete"
    assert "Held-out perplexity (lower is better)" in console.export_text()
    # The eval stage's results feed the forgetting report: base vs cpt, matched per set.
    from domaintune.eval.compare import compare

    cmp = compare(run / "ppl" / "results" / "base", run / "ppl" / "results" / "cpt")
    rows = {(r.group, r.set, r.metric): r for r in cmp.rows if r.side == "both"}
    dom = rows[("domain", "domain", "perplexity")]
    assert dom.before == pytest.approx(ppl["base"]["domain"]["perplexity"])
    assert dom.after == pytest.approx(ppl["cpt"]["domain"]["perplexity"])
    assert dom.delta == pytest.approx(100 * (dom.after / dom.before - 1))

    console = Console(record=True, width=120)
    run_recipe(parse_recipe(recipe_raw), console=console)
    text = console.export_text()
    assert text.count("complete, skipped") == 3

    # Changing one stage reruns it and what depends on it, not what came before.
    recipe_raw["stages"][1]["train"]["learning_rate"] = 1e-3
    console = Console(record=True, width=120)
    run_recipe(parse_recipe(recipe_raw), console=console)
    text = console.export_text()
    assert "cpt: complete, skipped" in text
    assert "sft: complete" not in text and "ppl: complete" not in text


def test_interrupted_stage_resumes_from_its_last_checkpoint(recipe_raw, tmp_path):
    from domaintune.io import write_manifest
    from domaintune.pipeline import run_recipe

    recipe_raw["stages"] = recipe_raw["stages"][:1]
    run_recipe(parse_recipe(recipe_raw), console=Console(file=None, width=120))
    run = tmp_path / "run" / "cpt"
    manifest = read_manifest(run)
    # Make it look like the process died after the step-2 checkpoint: manifest still "running".
    write_manifest(
        run,
        stage="pt",
        inputs={},
        config=manifest["config"],
        counts={},
        timings={},
        status="running",
    )
    import shutil

    shutil.rmtree(run / "final")
    shutil.rmtree(run / "checkpoints" / "checkpoint-4")
    out = run_recipe(parse_recipe(recipe_raw), console=Console(width=120))
    assert out["cpt"]["training"]["resumed_from"].endswith("checkpoint-2")
    assert out["cpt"]["training"]["global_step"] == 4
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2, 3, 4]
    assert (run / "final" / "model.safetensors").exists()


def test_changed_data_content_reruns_the_stage(recipe_raw, tmp_path):
    """The fingerprint holds the input files' content: an appended row reruns the stage (a dedup
    stage: the runner hashes every stage type's inputs alike, and this one does not train)."""
    from domaintune.pipeline import run_recipe

    corpus = str(tmp_path / "corpus.jsonl")
    recipe_raw["stages"] = [{"name": "dedup", "type": "dedup", "data": [{"path": corpus}]}]
    run_recipe(parse_recipe(recipe_raw), console=Console(width=120))
    console = Console(record=True, width=120)
    run_recipe(parse_recipe(recipe_raw), console=console)
    assert "dedup: complete, skipped" in console.export_text()
    with open(tmp_path / "corpus.jsonl", "a", encoding="utf-8") as f:
        f.write('{"text": "a new document about the heart ."}\n')
    console = Console(record=True, width=120)
    out = run_recipe(parse_recipe(recipe_raw), console=console)
    assert "skipped" not in console.export_text()
    assert out["dedup"]["read"] == 61


def test_sft_with_a_registry_template_saves_it_with_the_model(recipe_raw, tmp_path):
    from transformers import AutoTokenizer, GenerationConfig

    from domaintune.pipeline import run_recipe
    from domaintune.templates import chat_template_for

    sft = recipe_raw["stages"][1]
    sft.update(model_from="base", template="plain", mask_history=True)
    sft["train"]["merge"] = False
    recipe_raw["stages"] = [sft]
    out = run_recipe(parse_recipe(recipe_raw), console=Console(width=120))
    final = tmp_path / "run" / "sft" / "final"
    tok = AutoTokenizer.from_pretrained(final)
    assert tok.chat_template == chat_template_for("plain")
    assert GenerationConfig.from_pretrained(final).eos_token_id == tok.eos_token_id
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert tok.apply_chat_template(msgs, tokenize=False) == "q\na<|endoftext|>\n"
    assert out["sft"]["data"]["kept"] == 20


def test_template_options_are_sft_only(recipe_raw):
    from domaintune.config import ConfigError

    recipe_raw["stages"][0]["template"] = "chatml"
    with pytest.raises(ConfigError, match="apply to type sft only"):
        parse_recipe(recipe_raw)
    recipe_raw["stages"][0].pop("template")
    recipe_raw["stages"][1]["template"] = "qwen25"
    with pytest.raises(ConfigError, match="unknown template 'qwen25'"):
        parse_recipe(recipe_raw)


def test_gpu_preflight_refuses_a_run_that_will_not_fit(recipe_raw, monkeypatch):
    """On a GPU the stage is estimated first; 1 MiB of GPU memory cannot hold it."""
    import torch

    from domaintune.memory import WillNotFitError
    from domaintune.memory import preflight as real_preflight
    from domaintune.pipeline import run_recipe

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(
        "domaintune.memory.preflight",
        lambda *a, **kw: real_preflight(*a, **kw, gpu_mem_bytes=2**20),
    )
    recipe_raw["stages"] = recipe_raw["stages"][:1]
    with pytest.raises(WillNotFitError, match="--force"):
        run_recipe(parse_recipe(recipe_raw), console=Console(width=120))


def test_eval_stage_scores_exams_into_the_shared_layout(recipe_raw, tmp_path):
    """An eval stage with an mcq exam: one result per model and exam, readable by eval compare."""
    from domaintune.eval.compare import compare
    from domaintune.pipeline import run_recipe

    recipe_raw["stages"] = [
        recipe_raw["stages"][0],
        {
            "name": "exam",
            "type": "eval",
            "models": ["base", "cpt"],
            "mcq": {"domain_exam": "builtin:mcq_domain.jsonl"},
            "max_len": 256,
        },
    ]
    counts = run_recipe(parse_recipe(recipe_raw), console=Console(file=None, width=120))
    run = tmp_path / "run" / "exam"
    docs = {
        m: json.loads((run / "results" / m / "domain_exam.json").read_text())
        for m in ("base", "cpt")
    }
    for model, doc in docs.items():
        assert doc["kind"] == "mcq" and doc["model"] == model and doc["group"] == "domain"
        assert len(doc["items"]) == 48
        for metric in ("acc_letter", "acc_option", "acc_option_norm"):
            right = sum(item["correct"][metric] for item in doc["items"])
            assert doc["metrics"][metric] == pytest.approx(100 * right / 48)
        assert counts["exam"]["mcq"][model]["domain_exam"] == doc["metrics"]
    cmp = compare(run / "results" / "base", run / "results" / "cpt")
    # the run's page shows the exam table, models in the stage's order, deltas in points
    page = (tmp_path / "run" / "report.html").read_text()
    table = page[page.index("Exams: accuracy") :]
    assert table.index("<th>base</th>") < table.index("<th>cpt</th>")
    delta = docs["cpt"]["metrics"]["acc_option"] - docs["base"]["metrics"]["acc_option"]
    assert f"({delta:+.1f})" in table
    # one subject (the file's stem): compare shows the overall figure once, on the set row
    row = next(r for r in cmp.rows if r.set == "mcq_domain" and r.metric == "acc_letter")
    assert row.delta == pytest.approx(
        docs["cpt"]["metrics"]["acc_letter"] - docs["base"]["metrics"]["acc_letter"]
    )


def test_cadence_fields_do_not_invalidate_a_training_stage(recipe_raw, tmp_path):
    """logging/eval/save cadence cannot change what a stage learns: it stays complete (changing
    `logging_steps` used to delete the stage's outputs and rerun it)."""
    from domaintune.pipeline import run_recipe

    recipe_raw["stages"] = recipe_raw["stages"][:1]
    run = tmp_path / "run"
    run_recipe(parse_recipe(recipe_raw), console=Console(width=120))
    first = read_manifest(run / "cpt")
    cadence = ["train.logging_steps=3", "train.save_steps=3", "train.eval_steps=3",
               "train.save_total_limit=1"]  # fmt: skip
    run_recipe(parse_recipe(recipe_raw, overrides=cadence), console=Console(width=120))
    assert read_manifest(run / "cpt")["created_at_ns"] == first["created_at_ns"]
    # with early stopping, the eval cadence decides when to stop: it is part of the stage
    early = ["train.early_stopping_patience=2"]
    a = parse_recipe(copy.deepcopy(recipe_raw), overrides=early)
    b = parse_recipe(copy.deepcopy(recipe_raw), overrides=[*early, "train.eval_steps=3"])
    from domaintune.pipeline import stage_fingerprint

    fps = {"base": "x"}
    assert stage_fingerprint(a.stages[0], a, fps) != stage_fingerprint(b.stages[0], b, fps)
    plain = parse_recipe(copy.deepcopy(recipe_raw), overrides=["train.eval_steps=3"])
    same = parse_recipe(copy.deepcopy(recipe_raw))
    assert stage_fingerprint(plain.stages[0], plain, fps) == stage_fingerprint(
        same.stages[0], same, fps
    )
