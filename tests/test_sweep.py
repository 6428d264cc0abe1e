"""Recipe sweeps: variants named and built from `sweep:`, each run into its own folder, stages
with an unchanged fingerprint hard-linked from another variant, the figures side by side."""

from __future__ import annotations

import json
import os

import pytest

from domaintune.config import ConfigError
from domaintune.recipes import parse_recipe
from domaintune.sweep import sweep_variants, variant_recipes


def test_variant_names_cross_named_variants_with_the_grid():
    sweep = {
        "variants": {"plain": {}, "ptx": {"stages.sft.ptx.coef": 0.5}},
        "train.learning_rate": [1e-3, 3e-4],
        "seed": [1, 2],
    }
    found = sweep_variants(sweep)
    assert list(found) == [
        "plain,learning_rate=0.001,seed=1",
        "plain,learning_rate=0.001,seed=2",
        "plain,learning_rate=0.0003,seed=1",
        "plain,learning_rate=0.0003,seed=2",
        "ptx,learning_rate=0.001,seed=1",
        "ptx,learning_rate=0.001,seed=2",
        "ptx,learning_rate=0.0003,seed=1",
        "ptx,learning_rate=0.0003,seed=2",
    ]
    assert found["ptx,learning_rate=0.0003,seed=2"] == {
        "stages.sft.ptx.coef": 0.5,
        "train.learning_rate": 3e-4,
        "seed": 2,
    }
    # two axes with the same last name keep their full paths; a stage switch reads on/off
    both = sweep_variants({"stages.cpt.train.max_len": [64], "train.max_len": [32]})
    assert list(both) == ["stages.cpt.train.max_len=64,train.max_len=32"]
    assert list(sweep_variants({"stages.cpt": [True, False]})) == ["cpt=on", "cpt=off"]


def test_variants_apply_overrides_list_items_and_stage_switches(recipe_raw, tmp_path):
    raw = {
        **recipe_raw,
        "sweep": {
            "stages.cpt": [True, False],
            "stages.cpt.data.0.fraction": [0.5],
            "train.learning_rate": [1e-3],
        },
    }
    recipe = parse_recipe(raw)
    variants = variant_recipes(recipe)
    on = variants["cpt=on,fraction=0.5,learning_rate=0.001"]
    off = variants["cpt=off,fraction=0.5,learning_rate=0.001"]
    assert on.run_dir == tmp_path / "run" / "cpt=on,fraction=0.5,learning_rate=0.001"
    assert on.stage("cpt").data[0].fraction == 0.5
    # the recipe-level train: block reaches every stage that does not set the field itself
    assert on.stage("cpt").train.learning_rate == 3e-3  # the stage's own
    assert on.stage("sft").train.learning_rate == 3e-3
    assert on.stage("ppl").models() == ["base", "cpt", "sft"]
    assert [s.name for s in off.stages] == ["sft", "ppl"]
    assert off.stage("sft").model_from == "base"  # trains from what cpt trained from
    assert off.stage("ppl").models() == ["base", "sft"]
    assert on.sweep is None and off.sweep is None


def test_recipe_level_train_override_reaches_stages(recipe_raw):
    raw = {**recipe_raw, "sweep": {"train.max_len": [32, 48]}}
    v = variant_recipes(parse_recipe(raw))
    assert [r.stage("sft").train.max_len for r in v.values()] == [32, 48]


def test_bad_sweeps_are_named(recipe_raw):
    with pytest.raises(ConfigError, match=r"sweep.train.learning_rate: give a non-empty list"):
        parse_recipe({**recipe_raw, "sweep": {"train.learning_rate": 1e-3}})
    bad = parse_recipe({**recipe_raw, "sweep": {"stages.cpt.data.3.fraction": [0.5]}})
    with pytest.raises(ConfigError, match=r"the list has 1 items"):
        variant_recipes(bad)
    wrong = parse_recipe({**recipe_raw, "sweep": {"stages.cpt.train.lr": [0.1]}})
    with pytest.raises(
        ConfigError, match=r"sweep variant 'lr=0.1'.*unknown key 'stages\[0\].train.lr'"
    ):
        variant_recipes(wrong)


def _eval_only(tmp_path, tiny_model_dir) -> dict:
    from domaintune.io import write_jsonl
    from helpers import make_texts

    write_jsonl(tmp_path / "held.jsonl", [{"text": t} for t in make_texts(6, seed=3)])
    held = str(tmp_path / "held.jsonl")
    return {
        "name": "sw",
        "output_dir": str(tmp_path / "runs" / "sw"),
        "model": {"path": str(tiny_model_dir)},
        "stages": [
            {
                "name": "fixed",
                "type": "eval",
                "models": ["base"],
                "perplexity": {"domain": held},
                "max_len": 32,
            },
            {
                "name": "varied",
                "type": "eval",
                "models": ["base"],
                "perplexity": {"general": held},
                "max_len": 32,
            },
        ],  # fmt: skip
        "sweep": {"stages.varied.max_len": [16, 32]},
    }


def test_sweep_runs_variants_reuses_unchanged_stages_and_tabulates(tmp_path, tiny_model_dir):
    import domaintune as dt

    result = dt.run(_eval_only(tmp_path, tiny_model_dir))
    root = tmp_path / "runs" / "sw"
    assert list(result.variants) == ["max_len=16", "max_len=32"]
    stages = {n: v["stages"] for n, v in result.sweep["variants"].items()}
    assert stages == {
        "max_len=16": {"fixed": "ran", "varied": "ran"},
        "max_len=32": {"fixed": "reused", "varied": "ran"},
    }
    first, second = root / "max_len=16", root / "max_len=32"
    assert result.variants["max_len=32"].run_dir == second
    same = [os.stat(d / "fixed" / "perplexity.json").st_ino for d in (first, second)]
    assert same[0] == same[1]  # hard-linked, not recomputed
    for name, d in (("max_len=16", first), ("max_len=32", second)):
        ppl = json.loads((d / "varied" / "perplexity.json").read_text())["base"]["general"]
        fixed = json.loads((d / "fixed" / "perplexity.json").read_text())["base"]["domain"]
        row = result.sweep["variants"][name]["row"]
        assert row == {
            "fixed/domain ppl": fixed["perplexity"],
            "varied/general ppl": ppl["perplexity"],
        }
    # max_len 16 scores shorter windows (less context): a different, higher perplexity
    rows = [result.sweep["variants"][n]["row"]["varied/general ppl"] for n in result.variants]
    assert rows[0] > rows[1]
    assert json.loads((root / "sweep.json").read_text()) == result.sweep
    page = (root / "report.html").read_text()
    assert "max_len=16" in page and f"{rows[0]:,.1f}" in page
    again = dt.run(_eval_only(tmp_path, tiny_model_dir))
    assert {n: v["stages"] for n, v in again.sweep["variants"].items()} == {
        n: {"fixed": "skipped", "varied": "skipped"} for n in again.variants
    }


def test_seed_summary_gives_mean_and_spread():
    from domaintune.report.sweep import seed_summary

    rows = {
        "a,seed=1": {"x": 10.0, "y": 1.0},
        "a,seed=2": {"x": 14.0, "y": 3.0},
        "seed=1,b": {"x": 5.0},
    }
    assert seed_summary(rows) == {
        "a": {
            "x": {"mean": 12.0, "spread": 4.0, "n": 2},
            "y": {"mean": 2.0, "spread": 2.0, "n": 2},
        },
        "b": {"x": {"mean": 5.0, "spread": 0.0, "n": 1}},
    }


def test_experiment_recipes_build_every_variant():
    from pathlib import Path

    from domaintune.recipes import load_recipe, recipe_problems

    folder = Path(__file__).resolve().parents[1] / "examples" / "experiments"
    counts = {}
    for path in sorted(folder.glob("*.yaml")):
        variants = variant_recipes(load_recipe(path))
        assert all(recipe_problems(v) == [] for v in variants.values()), path
        counts[path.stem] = len(variants)
    assert counts == {"cpt_prompts": 4, "cpt_vs_sft": 4, "general_share": 10, "learning_rate": 6}
    off = variant_recipes(load_recipe(folder / "cpt_vs_sft.yaml"))["cpt=off,seed=2"]
    assert (off.seed, off.stage("sft").model_from) == (2, "pretrain")
    assert off.stage("eval").models() == ["pretrain", "sft"]
