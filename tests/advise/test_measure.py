"""The advisor's measurements on a real (tiny) model and files: bits per character against a
reference computed with transformers' own loss, token counts, the chat-model rule, the CLI."""

from __future__ import annotations

import json
import math
import shutil

import pytest
from typer.testing import CliRunner

from domaintune.io import write_jsonl
from helpers import make_texts


@pytest.fixture
def files(tmp_path):
    texts = make_texts(40, seed=5)
    out = {
        "domain": tmp_path / "domain.jsonl",
        "general": tmp_path / "general.jsonl",
        "sft": tmp_path / "sft.jsonl",
    }
    write_jsonl(out["domain"], [{"text": t} for t in texts[:12]])
    write_jsonl(out["general"], [{"text": t} for t in texts[12:24]])
    write_jsonl(out["sft"], [{"instruction": texts[i], "output": texts[i + 1]} for i in (30, 32)])
    return out


def _reference_bpc(model, tok, path) -> float:
    """Summed NLL of every token after each document's first, EOS appended (transformers' loss),
    over ln 2 and the characters."""
    import torch

    from domaintune.io import read_documents

    nats, chars = 0.0, 0
    for doc in read_documents(path):
        ids = tok(doc.text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        x = torch.tensor([ids])
        with torch.no_grad():
            loss = model(input_ids=x, labels=x, use_cache=False).loss
        nats += float(loss) * (len(ids) - 1)
        chars += len(doc.text)
    return nats / math.log(2) / chars


def test_measure_matches_a_transformers_reference(tiny_model_dir, files):
    from domaintune.advise import measure
    from domaintune.models import load_for_eval

    m = measure(tiny_model_dir, [files["domain"]], general=[files["general"]], sft=[files["sft"]],
                gpu_mem="16GiB", arch="qwen2.5-7b", seq_len=2048, max_len=512)  # fmt: skip
    model, tok = load_for_eval(tiny_model_dir)
    assert m.domain.bpc == pytest.approx(_reference_bpc(model, tok, files["domain"]), 1e-4)
    assert m.general.bpc == pytest.approx(_reference_bpc(model, tok, files["general"]), 1e-4)
    texts = make_texts(40, seed=5)
    assert m.domain.tokens == sum(
        len(tok(t, add_special_tokens=False).input_ids) for t in texts[:12]
    )
    assert m.domain.chars == sum(len(t) for t in texts[:12])
    assert (m.domain.documents, m.sft_rows) == (12, 2)
    assert m.parameters == 7_615_616_512  # planned for --arch, measured with the tiny model
    assert m.fits["qlora"].fits and not m.fits["lora"].fits
    assert m.gap == pytest.approx(m.domain.bpc / m.general.bpc)
    assert not m.chat_model


def test_chat_model_name_and_cli(tiny_model_dir, files, tmp_path):
    from domaintune.cli import app
    from domaintune.recipes import load_recipe, recipe_problems

    chat = tmp_path / "tiny-chat"
    shutil.copytree(tiny_model_dir, chat)
    out = tmp_path / "advised.yaml"
    args = ["advise", "--model", str(chat), "--domain", str(files["domain"]), "--general",
            str(files["general"]), "--sft", str(files["sft"]), "--json", "--write-recipe",
            str(out), "--eval-domain", str(files["general"])]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    # CliRunner mixes stderr in: transformers' loading bar precedes the JSON line
    text = result.output[result.output.index('{"measurements"') :]
    doc = json.loads(text.splitlines()[0])
    assert doc["measurements"]["chat_model"] is True
    assert doc["recommendations"][0]["choice"] == "start from the Base model"
    assert doc["measurements"]["domain"]["documents"] == 12
    recipe = load_recipe(out)
    assert recipe_problems(recipe) == []
    assert recipe.stages[-1].type == "eval" and recipe.model.path == str(chat)
