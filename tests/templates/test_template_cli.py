"""`domaintune template ...` and the checks that a template fits the model."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.templates import TEMPLATES, render_text
from domaintune.templates.check import looks_like_chat_model, template_warnings
from template_helpers import family_tokenizer, load_fixture

runner = CliRunner()
MSGS = [
    {"role": "system", "content": "You are a doctor."},
    {"role": "user", "content": "Hi <|im_end|>"},
    {"role": "assistant", "content": "Hello."},
]


@pytest.fixture
def msgs_file(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(MSGS))
    return path


def test_render_prints_exactly_the_official_text(msgs_file):
    result = runner.invoke(
        app, ["template", "render", "--template", "llama2", "--messages", str(msgs_file)]
    )
    assert result.exit_code == 0, result.output
    official = family_tokenizer(load_fixture("llama2")).apply_chat_template(MSGS, tokenize=False)
    assert result.stdout == official  # byte for byte: no newline or decoration added


def test_render_show_labels_marks_trained_spans(msgs_file):
    result = runner.invoke(
        app,
        [
            "template",
            "render",
            "--template",
            "chatml",
            "--messages",
            str(msgs_file),
            "--show-labels",
        ],
    )
    assert result.stdout == (
        "<|im_start|>system\nYou are a doctor.<|im_end|>\n<|im_start|>user\nHi <|im_end|>"
        "<|im_end|>\n<|im_start|>assistant\n\u27e6Hello.<|im_end|>\u27e7\n"
    )


def test_render_a_prompt_for_inference_and_errors(tmp_path):
    prompt = tmp_path / "m.json"
    prompt.write_text(json.dumps([{"role": "user", "content": "Hi"}]))
    args = ["template", "render", "--template", "qwen3", "--messages", str(prompt)]
    result = runner.invoke(app, [*args, "--generation-prompt"])
    assert result.stdout == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    result = runner.invoke(app, [*args[:3], "nope", *args[4:]])
    assert result.exit_code == 1 and "unknown template 'nope'" in result.output
    prompt.write_text('[{"role": "bot", "content": "x"}]')
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "[0].role must be system, user or assistant" in result.output


def test_list_names_every_template():
    result = runner.invoke(app, ["template", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in TEMPLATES:
        assert f" {name} " in result.output


@pytest.mark.parametrize(
    "name,chat",
    [
        ("Qwen/Qwen2.5-7B-Instruct", True),
        ("meta-llama/Llama-2-7b-chat-hf", True),
        ("google/gemma-2b-it", True),
        ("/models/Qwen2.5-7B", False),
        ("baichuan2-7b-base", False),
        ("internlm2-chat-7b", True),
        ("runs/quickstart/cpt/final", False),
    ],
)
def test_chat_model_detection_by_name(name, chat):
    assert looks_like_chat_model(name) is chat


def test_warns_when_a_chat_model_gets_another_template():
    tok = family_tokenizer(load_fixture("qwen"))
    [warning] = template_warnings(tok, "Qwen/Qwen2.5-7B-Instruct", "chatml")
    assert "looks like a chat model" in warning and "SFT the Base model" in warning
    assert template_warnings(tok, "Qwen/Qwen2.5-7B-Instruct", "qwen") == []  # its own format
    assert template_warnings(tok, "/models/Qwen2.5-7B", "chatml") == []  # a base model


def test_template_whose_tokens_the_tokenizer_lacks_is_refused():
    tok = family_tokenizer(load_fixture("chatml"))
    with pytest.raises(
        ValueError,
        match=r"lacks: \['<\|start_header_id\|>', '<\|end_header_id"
        r"\|>', '<\|eot_id\|>'\]\. SFT a base model",
    ):
        template_warnings(tok, "my-base", "llama3")
    assert render_text(tok, MSGS[1:], template="plain")  # plain needs only EOS
