"""The advisor's rules on hand-built situations: the plan, general data, method and batch that
fit, learning rates, vocabulary, chat-model warning; and the written recipe passes check."""

from __future__ import annotations

import json

import pytest

from domaintune.advise import recipe_for, recipe_yaml, recommend
from domaintune.advise.measure import Measurements, TextFigures, method_fits
from domaintune.advise.rules import GENERAL_SHARE, PTX_SHARE
from domaintune.memory import resolve_arch
from domaintune.memory.plan import parse_size

GIB = 2**30


def situation(*, domain_bpc=2.0, general_bpc=1.25, tokens=200_000_000, chat=False, gpu=None,
              fertility=(0.30, 0.25), cjk=False) -> Measurements:  # fmt: skip
    """A 7B model (qwen2.5-7b's shape) measured on hand-set figures."""
    dom_chars, gen_chars = round(tokens / fertility[0]), 1_000_000
    mem = parse_size(gpu) if gpu else None
    return Measurements(
        model="/models/Qwen2.5-7B-Instruct" if chat else "/models/Qwen2.5-7B",
        parameters=7_615_616_512,
        chat_model=chat,
        chat_template=True,
        domain=TextFigures(1000, dom_chars, tokens, 64, domain_bpc),
        general=TextFigures(500, gen_chars, round(gen_chars * fertility[1]), 64, general_bpc),
        sft_rows=5000,
        sft_tokens=2_000_000,
        seq_len=2048,
        gpu_mem_gib=mem / GIB if mem else None,
        fits=method_fits(resolve_arch("qwen2.5-7b"), seq_len=2048, gpu_mem=mem),
        domain_cjk=cjk,
    )


def _rec(advice, topic):
    return next(r for r in advice.recommendations if r.topic == topic)


def test_large_gap_and_much_text_gives_cpt_then_sft():
    a = recommend(situation(gpu="80GiB"))
    assert a.plan == "cpt+sft"
    plan = _rec(a, "plan")
    assert plan.choice == "CPT then SFT" and not plan.warning
    assert plan.reason == (
        "domain text costs 1.60x the bits per character of general text (2.000 vs 1.250; large "
        "from 1.3x), and 200,000,000 raw domain tokens (0.0263 per parameter; CPT needs >= "
        "0.01) (§15)"
    )
    assert a.general_share == GENERAL_SHARE and a.ptx
    # full fine-tuning of 7B does not fit 80 GiB (120 GiB at batch 1): LoRA for CPT too
    assert (a.cpt_method, a.sft_method) == ("lora", "lora")
    assert _rec(a, "method").reason.startswith("CPT: lora (full does not fit), micro-batch 4")
    assert (a.lr_cpt, a.lr_sft) == (1e-4, 1e-4)


def test_small_gap_gives_sft_only():
    a = recommend(situation(domain_bpc=1.30, general_bpc=1.25))
    assert a.plan == "sft"
    assert _rec(a, "plan").reason == (
        "domain text costs 1.04x the bits per character of general text (1.300 vs 1.250; large "
        "from 1.3x): the model already knows the domain (§15)"
    )
    assert _rec(a, "general").choice == "PTX on general text"


def test_large_gap_but_little_text_gives_sft_with_a_warning():
    a = recommend(situation(tokens=5_000_000))
    plan = _rec(a, "plan")
    assert (a.plan, plan.choice, plan.warning) == ("sft", "SFT only", True)
    assert "only 5,000,000 raw domain tokens (0.000657 per parameter" in plan.reason


def test_chat_model_is_warned_first():
    a = recommend(situation(chat=True))
    first = a.recommendations[0]
    assert (first.topic, first.choice, first.warning) == (
        "model", "start from the Base model", True
    )  # fmt: skip
    assert "Qwen2.5-7B-Instruct looks like a chat/instruct model" in first.reason
    assert not any(r.topic == "model" for r in recommend(situation()).recommendations)


def test_does_not_fit_gives_qlora_with_checkpointing():
    a = recommend(situation(gpu="16GiB"))
    assert (a.cpt_method, a.sft_method, a.batch, a.grad_ckpt) == ("qlora", "qlora", 2, True)
    assert _rec(a, "method").reason == (
        "CPT: qlora (full, lora does not fit), micro-batch 2 with gradient checkpointing: "
        "15.7 GiB of 16 GiB at 2048 tokens"
    )
    nothing = recommend(situation(gpu="6GiB"))
    method = _rec(nothing, "method")
    assert method.warning and method.choice == "CPT: does not fit"
    assert "not even qlora at batch 1 with checkpointing (11.2 GiB)" in method.reason


def test_vocabulary_expansion_is_pointed_to_when_fertility_is_high():
    high = _rec(recommend(situation(fertility=(0.9, 0.25))), "vocabulary")
    assert high.warning and high.reason == (
        "0.900 tokens per character on domain text, 3.60x general (high from 1.5x): look at "
        "`domaintune tokenizer analyze` before training (vocabulary expansion)"
    )
    assert not _rec(recommend(situation()), "vocabulary").warning


def test_written_recipe_passes_check(tmp_path):
    from domaintune.recipes import load_recipe, recipe_problems

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    files = {n: tmp_path / f"{n}.jsonl" for n in ("dom", "gen", "sft", "hd", "hg")}
    for f in files.values():
        f.write_text(json.dumps({"text": "x"}) + "\n")
    a = recommend(situation(gpu="16GiB"))
    a.measurements.model = str(model)
    recipe = recipe_for(a, domain=[files["dom"]], general=[files["gen"]], sft=[files["sft"]],
                        eval_domain=str(files["hd"]), eval_general=str(files["hg"]))  # fmt: skip
    path = tmp_path / "advised.yaml"
    path.write_text(recipe_yaml(a, recipe))
    loaded = load_recipe(path)
    assert recipe_problems(loaded) == []
    cpt, sft, ev = loaded.stages
    assert [(d.name, d.share) for d in cpt.data] == [("domain", 0.8), ("general", 0.2)]
    assert (cpt.train.method, cpt.train.batch_size, cpt.train.gradient_accumulation_steps) == (
        "qlora", 2, 8
    )  # fmt: skip
    assert cpt.train.gradient_checkpointing and cpt.train.learning_rate == 1e-4
    assert sft.model_from == "cpt" and sft.ptx.share == PTX_SHARE
    assert ev.models() == ["base", "cpt", "sft"]
    assert path.read_text().startswith("# Written by `domaintune advise`")


@pytest.mark.parametrize("files", [1, 3])
def test_shares_add_up_for_several_files(tmp_path, files):
    a = recommend(situation())
    doms = [str(tmp_path / f"d{i}.jsonl") for i in range(files)]
    recipe = recipe_for(a, domain=doms, general=["g1", "g2"], sft=[])
    shares = [d["share"] for d in recipe["stages"][0]["data"]]
    assert sum(shares) == pytest.approx(1.0, abs=1e-9) and len(shares) == files + 2
