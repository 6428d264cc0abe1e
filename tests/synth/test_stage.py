"""The synth recipe stage: config validation and runs (a stub context: only out, run_dir, paths)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from domaintune.io import write_jsonl
from domaintune.synth.stage import SynthStage, run_synth
from synth.scripted_server import ScriptedServer

RESPONDER = f"{Path(__file__).with_name('responder.py')}:reply"


def _ctx(tmp_path: Path, name: str) -> SimpleNamespace:
    out = tmp_path / "run" / name
    out.mkdir(parents=True)
    return SimpleNamespace(out=out, run_dir=tmp_path / "run",
                           all_paths=lambda sources: [Path(s.path) for s in sources])  # fmt: skip


def test_config_requires_a_teacher_for_teacher_kinds():
    with pytest.raises(ValidationError, match="kind qa asks a teacher: give base_url and model"):
        SynthStage(name="s", type="synth", kind="qa", data=[{"path": "d.jsonl"}])
    with pytest.raises(ValidationError, match="kind convert needs task"):
        SynthStage(name="s", type="synth", kind="convert", data=[{"path": "d.jsonl"}])
    stage = SynthStage.model_validate({"name": "s", "type": "synth", "kind": "qa", "as": "eval",
                                       "data": [{"path": "d.jsonl"}], "base_url": "http://x/v1",
                                       "model": "m", "against": [{"from": "sft"}]})  # fmt: skip
    assert stage.as_ == "eval" and stage.upstream() == ["sft"]
    assert "base_url" in stage.volatile() and "temperature" not in stage.volatile()


def test_stage_runs_qa_with_the_cache_in_the_run_dir(tmp_path):
    docs = [{"id": "d1", "text": "Salt raises blood pressure. Exercise lowers it. Sleep helps."}]
    write_jsonl(tmp_path / "docs.jsonl", docs)
    with ScriptedServer(responder=RESPONDER) as server:
        data = [{"path": str(tmp_path / "docs.jsonl")}]
        stage = SynthStage(name="teacher_qa", type="synth", kind="qa", base_url=server.url,
                           model="teacher", data=data)  # fmt: skip
        counts = run_synth(stage, _ctx(tmp_path, "teacher_qa"))
        again = run_synth(stage, _ctx(tmp_path, "rerun"))  # same run dir, another out folder
        received = sum(server.stats()["received"].values())
    assert counts["read"] == counts["kept"] + counts["rejected"] == 3
    assert counts["rejected_by_reason"] == {"quote_not_in_source": 1}
    assert (tmp_path / "run" / "synth-cache" / "teacher_qa.sqlite").exists()
    assert received == 1 and again["teacher"]["cache_hits"] == 1  # the rerun asked nothing
    rows = [json.loads(x) for x in (tmp_path / "run/teacher_qa/data.jsonl").open()]
    assert [r["meta"]["source"] for r in rows] == ["teacher_qa", "teacher_qa"]
    assert json.loads((tmp_path / "run/teacher_qa/report.json").read_text())["kept"] == 2


def test_stage_runs_convert_without_a_teacher(tmp_path):
    write_jsonl(tmp_path / "mt.jsonl", [{"source": "Drink water.", "target": "多喝水。"}])
    stage = SynthStage(name="conv", type="synth", kind="convert", task="translation",
                       data=[{"path": str(tmp_path / "mt.jsonl")}])  # fmt: skip
    counts = run_synth(stage, _ctx(tmp_path, "conv"))
    assert (counts["read"], counts["kept"]) == (1, 1) and "teacher" not in counts
