"""`cpt_prompts:` on pt stages: a seeded share of documents end with a task prompt and their own
title or first line (source document §6); Chinese or English by the document's language."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domaintune.records import Document
from domaintune.train.cpt_prompts import CptPromptsConfig, apply_cpt_prompts, target_of, wrap

EN = Document(
    id="en",
    text="Drug information: lisinopril\n\nLisinopril is an ACE inhibitor. It lowers blood "
    "pressure.",
)
ZH = Document(id="zh", text="患者须知：冠心病\n\n冠心病是常见的心血管疾病。本病多见于中老年人。")


def test_golden_english_and_chinese_layouts():
    assert wrap(EN, *target_of(EN, 80)).text == (
        "Drug information: lisinopril\n\nLisinopril is an ACE inhibitor. It lowers blood "
        "pressure.\n\nSummarise the document above in one line:\nDrug information: lisinopril"
    )
    assert wrap(ZH, *target_of(ZH, 80)).text == (
        "患者须知：冠心病\n\n冠心病是常见的心血管疾病。本病多见于中老年人。\n\n"
        "总结上文的主题：\n患者须知：冠心病"
    )


def test_title_field_is_the_target_and_long_first_lines_are_cut_at_a_sentence():
    titled = Document(id="t", text="Some text.\nMore text.", meta={"title": "Hypertension"})
    assert wrap(titled, *target_of(titled, 80)).text == (
        "Some text.\nMore text.\n\nGive the document above a title:\nHypertension"
    )
    long = Document(id="l", text="A first sentence here. " + "x " * 60 + "\nSecond line.")
    assert target_of(long, 40) == ("A first sentence here.", False)
    assert target_of(Document(id="o", text="one paragraph only"), 80) is None


def test_share_is_seeded_and_counted():
    docs = [Document(id=str(i), text=f"Title {i}\nBody {i}.") for i in range(20)]
    docs.append(Document(id="one", text="no second line"))
    cfg = CptPromptsConfig(share=0.3)
    out, n = apply_cpt_prompts(docs, cfg, seed=7)
    again, _ = apply_cpt_prompts(docs, cfg, seed=7)
    other, _ = apply_cpt_prompts(docs, cfg, seed=8)
    wrapped = [d.id for d, o in zip(out, docs, strict=True) if d.text != o.text]
    assert n == 6 == len(wrapped)  # round(21 * 0.3)
    assert [d.text for d in out] == [d.text for d in again]
    assert [d.text for d in out] != [d.text for d in other]
    assert "one" not in wrapped
    assert all(d.meta["cpt_prompt"] == "Summarise the document above in one line:"
               for d in out if d.id in wrapped)  # fmt: skip


def test_stage_accepts_cpt_prompts_on_pt_only():
    from domaintune.train.stage import TrainStage

    pt = {"name": "cpt", "type": "pt", "data": [{"path": "a.jsonl", "name": "dom"}]}
    stage = TrainStage.model_validate({**pt, "cpt_prompts": {"share": 0.5, "sources": ["dom"]}})
    assert stage.cpt_prompts.share == 0.5
    # unset, it stays out of the fingerprint (runs from before the option are not redone)
    assert "cpt_prompts" in TrainStage.model_validate(pt).volatile()
    assert "cpt_prompts" not in stage.volatile()
    with pytest.raises(ValidationError, match=r"cpt_prompts.sources \['other'\] are not data"):
        TrainStage.model_validate({**pt, "cpt_prompts": {"sources": ["other"]}})
    with pytest.raises(ValidationError, match="cpt_prompts applies to type pt only"):
        TrainStage.model_validate({**pt, "type": "sft", "cpt_prompts": {}})


def test_a_pt_stage_trains_on_the_wrapped_documents(tmp_path):
    """The stage's sources (what build_train_set encodes) hold the wrapped texts."""
    from domaintune.io import write_jsonl
    from domaintune.recipes import parse_recipe
    from domaintune.stages import StageContext
    from domaintune.train.stage import _train_sources

    rows = [{"text": f"Title {i}\n\nBody {i}."} for i in range(10)]
    write_jsonl(tmp_path / "d.jsonl", rows)
    write_jsonl(tmp_path / "g.jsonl", rows)
    recipe = parse_recipe({
        "name": "p", "output_dir": str(tmp_path / "run"), "seed": 3, "model": {"path": "x/y"},
        "stages": [{
            "name": "cpt", "type": "pt",
            "data": [{"path": str(tmp_path / "d.jsonl"), "name": "dom", "share": 0.5},
                     {"path": str(tmp_path / "g.jsonl"), "name": "gen", "share": 0.5}],
            "cpt_prompts": {"share": 0.5, "sources": ["dom"]},
        }],
    })  # fmt: skip
    stage = recipe.stage("cpt")
    dom, gen = _train_sources(StageContext(recipe, tmp_path / "run" / "cpt"), stage)
    expected, n = apply_cpt_prompts(
        [Document(id=str(i), text=r["text"]) for i, r in enumerate(rows)], stage.cpt_prompts, 3
    )
    assert n == 5
    assert [d.text for d in dom.records] == [d.text for d in expected]
    assert sum(d.text.endswith("\n\nSummarise the document above in one line:\nTitle " + d.text[6])
               for d in dom.records) == 5  # fmt: skip
    assert [d.text for d in gen.records] == [r["text"] for r in rows]  # not a named source
