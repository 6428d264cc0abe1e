"""The command line: exit codes and messages a user sees."""

from __future__ import annotations

from typer.testing import CliRunner

from domaintune.cli import app

runner = CliRunner()


def test_check_prints_resolved_recipe_with_override(tmp_path):
    result = runner.invoke(
        app,
        ["check", "examples/law_sft_general_mix.yaml", "--set", "train.learning_rate=3e-5",
         "--schema-only"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "learning_rate: 3.0e-05" in result.output
    assert "trust_remote_code: false" in result.output


def test_check_names_missing_model_and_data_paths(tmp_path):
    """A model path that does not exist fails `check` (it used to pass, then crash in train)."""
    result = runner.invoke(app, ["check", "examples/law_sft_general_mix.yaml"])
    assert result.exit_code == 2
    lines = [" ".join(x.split()) for x in result.output.strip().split("error: ") if x]
    assert lines[0] == (
        "model.path /models/Qwen2.5-7B: no such folder, and not a hub id (owner/name); "
        "check model.path"
    )
    assert "stage 'sft': data/law_instructions.jsonl: no such file or folder" in lines
    ok = tmp_path / "ok.yaml"
    ok.write_text(
        "name: x\nmodel: {path: Qwen/Qwen2.5-0.5B}\nstages:\n"
        "  - {name: e, type: eval, models: [base], perplexity: {d: builtin:heldout_domain.jsonl}}\n"
    )
    assert runner.invoke(app, ["check", str(ok)]).exit_code == 0  # a hub id is fine


def test_run_errors_are_one_line_unless_debug(tmp_path, tiny_model_dir):
    """A run-time error is one line naming what to fix; --debug shows the traceback."""
    (tmp_path / "sft.jsonl").write_text("")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"name: x\noutput_dir: {tmp_path / 'run'}\nmodel: {{path: {tiny_model_dir}}}\n"
        "stages:\n  - {name: p, type: pt, data: [{path: %s}]}\n" % (tmp_path / "sft.jsonl")
    )
    result = runner.invoke(app, ["run", str(recipe)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and result.output.count("error:") == 1
    debug = runner.invoke(app, ["run", str(recipe), "--debug"])
    assert debug.exit_code == 1 and debug.exception is not None


def test_bad_recipe_exits_2_with_location(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: x\nmodel:\n  path: m\n  trust_remote_cod: true\nstages: []\n")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert f"{path}:4: unknown key 'model.trust_remote_cod'; did you mean 'trust_remote_code'?" in (
        " ".join(result.output.split())
    )


def test_data_error_exits_1_naming_file_line_field(tmp_path, tiny_model_dir):
    bad = tmp_path / "sft.jsonl"
    bad.write_text(
        '{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": {"x": 1}}\n'
    )
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"name: x\noutput_dir: {tmp_path / 'run'}\nmodel:\n  path: {tiny_model_dir}\n"
        f"stages:\n  - name: sft\n    type: sft\n    data: [{{path: {bad}}}]\n"
    )
    result = runner.invoke(app, ["train", str(recipe)])
    assert result.exit_code == 1
    assert f'{bad}:2: field "output" must be a string, got object' in " ".join(
        result.output.split()
    )
