"""Recipe schema: unknown keys name the key, its line and the closest valid key; overrides work."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from domaintune.config import ConfigError
from domaintune.eval.stage import EvalStage
from domaintune.recipes import load_recipe, parse_recipe
from domaintune.train.stage import TrainStage

RECIPE = """\
name: t
model:
  path: builtin:tiny
train:
  method: lora
  learning_rate: 2.0e-4
stages:
  - name: cpt
    type: pt
    data: [{path: a.jsonl}]
    train:
      method: full
  - name: ppl
    type: eval
    models: [base, cpt]
    perplexity: {domain: b.jsonl}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_valid_recipe_inherits_train_defaults(tmp_path):
    r = load_recipe(_write(tmp_path, RECIPE))
    cpt, ppl = r.stages
    assert isinstance(cpt, TrainStage) and isinstance(ppl, EvalStage)
    assert cpt.train.method == "full"  # the stage's own value wins
    assert cpt.train.learning_rate == 2e-4  # inherited from the recipe-level train block
    assert r.run_dir == Path("runs/t")


def test_unknown_key_names_line_path_and_suggestion(tmp_path):
    path = _write(tmp_path, RECIPE.replace("learning_rate: 2.0e-4", "learning_rat: 2.0e-4"))
    with pytest.raises(ConfigError) as err:
        load_recipe(path)
    msg = str(err.value)
    assert msg.startswith(
        f"{path}:6: unknown key 'train.learning_rat'; did you mean 'learning_rate'?"
    )
    assert msg.count("learning_rat'") == 1  # reported once, not again for each stage that inherits


def test_unknown_key_inside_a_stage(tmp_path):
    path = _write(
        tmp_path,
        RECIPE.replace(
            "perplexity: {domain: b.jsonl}", "perplexity: {domain: b.jsonl}\n    max_lenn: 3"
        ),
    )
    with pytest.raises(
        ConfigError,
        match=r"recipe.yaml:17: unknown key 'stages\[1\].max_lenn'; "
        r"did you mean 'max_len'\?",
    ):
        load_recipe(path)


def test_wrong_type_names_field_and_value(tmp_path):
    path = _write(tmp_path, RECIPE.replace("method: full", "method: full\n      max_len: abc"))
    with pytest.raises(ConfigError) as err:
        load_recipe(path)
    assert str(err.value).startswith(
        f"{path}:13: stages[0].train.max_len: Input should be a valid integer"
    )
    assert "(got 'abc')" in str(err.value)


def test_bad_literal_and_stage_reference(tmp_path):
    with pytest.raises(
        ConfigError,
        match="stages\\[0\\].train.method: Input should be 'full', 'freeze', 'lora' or 'qlora'",
    ):
        load_recipe(_write(tmp_path, RECIPE.replace("method: full", "method: qlora-ish")))
    with pytest.raises(
        ConfigError,
        match=r"recipe.yaml:13: stage 'ppl': model 'sft' is not 'base' or an earlier stage that "
        r"trains a model \(earlier model stages: \['cpt'\]\)",
    ):
        load_recipe(_write(tmp_path, RECIPE.replace("[base, cpt]", "[base, sft]")))


def test_set_overrides_recipe_and_stage_fields(tmp_path):
    path = _write(tmp_path, RECIPE)
    r = load_recipe(
        path,
        ["train.learning_rate=1e-4", "stages.cpt.train.max_len=128", "model.builtin.arch=llama"],
    )
    assert r.stages[0].train.learning_rate == 1e-4
    assert r.stages[0].train.max_len == 128
    assert r.model.builtin.arch == "llama"
    with pytest.raises(ConfigError, match="unknown key 'train.lerning_rate'; did you mean"):
        load_recipe(path, ["train.lerning_rate=1e-4"])
    with pytest.raises(ConfigError, match="no stage named 'sft'; stages are \\['cpt', 'ppl'\\]"):
        load_recipe(path, ["stages.sft.train.max_len=1"])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_recipe(path, ["train.learning_rate"])


def test_resolved_recipe_round_trips(tmp_path):
    import yaml

    r = load_recipe(_write(tmp_path, RECIPE), ["train.learning_rate=1e-4"])
    again = parse_recipe(yaml.safe_load(r.to_yaml()))
    assert again == r


def test_shipped_recipes_validate():
    from domaintune.resources import ROOT

    root = Path(__file__).resolve().parents[1]
    recipes = sorted((ROOT / "recipes").glob("*.yaml")) + sorted(
        (root / "examples").rglob("*.yaml")
    )
    recipes = [p for p in recipes if "accelerate" not in p.parts]  # launcher configs, not recipes
    assert len(recipes) >= 3
    for path in recipes:
        load_recipe(path)


def test_parsing_leaves_the_callers_mapping_unchanged(tmp_path):
    """A recipe dict parsed twice with different overrides gives both results (parsing used to
    copy the recipe-level train: block into each stage of the caller's dict)."""
    import copy

    import yaml

    raw = yaml.safe_load(RECIPE)
    before = copy.deepcopy(raw)
    first = parse_recipe(raw, overrides=["train.learning_rate=1e-3"])
    assert raw == before
    second = parse_recipe(raw, overrides=["train.learning_rate=5e-4"])
    assert (first.stages[0].train.learning_rate, second.stages[0].train.learning_rate) == (
        1e-3, 5e-4,
    )  # fmt: skip


def test_a_stage_level_check_names_the_stage_line_without_dumping_it(tmp_path):
    """Checks across a stage's fields (shares adding up) name the stage's line, in one line."""
    text = RECIPE.replace(
        "data: [{path: a.jsonl}]",
        "data: [{path: a.jsonl, share: 0.5}, {path: b.jsonl, share: 0.4}]",
    )
    with pytest.raises(ConfigError) as err:
        load_recipe(_write(tmp_path, text))
    message = str(err.value)
    assert message == (
        f"{tmp_path / 'recipe.yaml'}:8: stages[0]: stage 'cpt': data shares must add up to 1.0, "
        "got 0.9 ([0.5, 0.4])"
    )
