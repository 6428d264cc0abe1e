"""Data stages in a recipe: from: references, counts that add up, caching by fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domaintune.config import ConfigError
from domaintune.io import read_manifest, write_jsonl
from domaintune.pipeline import run_recipe
from domaintune.recipes import parse_recipe
from domaintune.resources import data_path

NAV = "<nav><a href='/'>Home</a> | <a href='/news'>News</a> | <a href='/about'>About</a></nav>"
COOKIE = "<div class='cookie'>We use cookies to improve your experience. Accept all cookies.</div>"
FOOTER = "<footer>Copyright 2026 Example Health. All rights reserved.</footer>"


def _page(title: str, text: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
    return (
        f"<html><head><title>{title}</title></head><body>{NAV}{COOKIE}"
        f"<article><h1>{title}</h1>{paragraphs}</article>{FOOTER}</body></html>"
    )


def _docs(name: str, n: int) -> list[dict]:
    with open(data_path(name), encoding="utf-8") as f:
        return [json.loads(line) for _, line in zip(range(n), f, strict=False)]


@pytest.fixture
def corpus(tmp_path: Path) -> dict[str, Path]:
    """raw/: 4 HTML pages, 3 txt files, a jsonl of 6 rows and one .pdf; planted: one exact and
    one near duplicate, one too-short text, one copy of a held-out document."""
    en, zh = _docs("domain_corpus_en.jsonl", 8), _docs("domain_corpus_zh.jsonl", 4)
    heldout = _docs("heldout_domain.jsonl", 2)
    raw = tmp_path / "raw"
    (raw / "site").mkdir(parents=True)
    for i, d in enumerate(en[:4]):
        (raw / "site" / f"page{i}.html").write_text(_page(d["id"], d["text"]), encoding="utf-8")
    for i, d in enumerate(zh[:2]):
        (raw / f"zh{i}.txt").write_text(d["text"], encoding="utf-8")
    (raw / "short.txt").write_text("Too short to keep.", encoding="utf-8")
    (raw / "scan.pdf").write_bytes(b"%PDF-1.4 not a text document")
    near = en[4]["text"] + "\n\nAsk a pharmacist before combining it with other medicines."
    rows = [en[4], {"id": "near", "text": near}, en[5], {"id": "exact", "text": en[5]["text"]},
            zh[2], {"id": "leak", "text": heldout[0]["text"]}]  # fmt: skip
    write_jsonl(raw / "crawl.jsonl", rows)
    write_jsonl(tmp_path / "heldout.jsonl", heldout)
    sft = _docs("sft_domain_alpaca.jsonl", 12)
    write_jsonl(tmp_path / "sft.jsonl", [*sft, {"instruction": "", "output": "empty question"}])
    return {"raw": raw, "heldout": tmp_path / "heldout.jsonl", "sft": tmp_path / "sft.jsonl"}


def _recipe(tmp_path: Path, corpus: dict[str, Path], *overrides: str):
    raw = {
        "name": "data",
        "output_dir": str(tmp_path / "run"),
        "model": {"path": str(tmp_path / "no-model-needed")},
        "stages": [
            {"name": "clean", "type": "clean", "data": [{"path": str(corpus["raw"])}]},
            {"name": "dedup", "type": "dedup", "data": [{"from": "clean"}], "threshold": 0.8},
            {
                "name": "decon",
                "type": "decontaminate",
                "data": [{"from": "dedup"}],
                "against": [{"path": str(corpus["heldout"])}],
            },
            {"name": "valid", "type": "validate", "data": [{"path": str(corpus["sft"])}]},
            {"name": "alpaca", "type": "convert", "data": [{"from": "valid"}], "to": "openai"},
            {"name": "pick", "type": "select", "data": [{"from": "alpaca"}], "n": 5},
        ],
    }
    return parse_recipe(raw, overrides=list(overrides))


def _created(run: Path) -> dict[str, str]:
    names = ("clean", "dedup", "decon", "valid", "alpaca", "pick")
    return {n: read_manifest(run / n)["created_at_ns"] for n in names}


def test_every_data_stage_with_from_references(tmp_path, corpus):
    counts = run_recipe(_recipe(tmp_path, corpus))
    run = tmp_path / "run"
    assert counts["clean"]["read"] == 4 + 3 + 6 + 1  # pages, txt, jsonl rows, the pdf
    assert counts["clean"]["rejected_by_reason"] == {"length": 1, "unsupported_file": 1}
    assert counts["dedup"] == {**counts["dedup"], "read": 12, "kept": 10, "rejected": 2}
    assert counts["dedup"]["rejected_by_reason"] == {"exact_duplicate": 1, "near_duplicate": 1}
    assert counts["decon"]["rejected_by_reason"] == {"eval_overlap": 1}
    assert (counts["decon"]["read"], counts["decon"]["kept"]) == (10, 9)
    assert (counts["valid"]["read"], counts["valid"]["kept"], counts["valid"]["rejected"]) == (
        13, 12, 1,
    )  # fmt: skip
    assert counts["alpaca"]["kept"] == 12
    assert (counts["pick"]["kept"], counts["pick"]["rejected"]) == (5, 7)
    for name, c in counts.items():
        manifest = read_manifest(run / name)
        assert manifest["status"] == "complete"
        assert (
            c["read"]
            == c["kept"] + c["rejected"]
            == c["kept"] + sum(c["rejected_by_reason"].values())
        )
        kept = (run / name / "data.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(kept) == c["kept"]
        rejects = run / name / "rejects.jsonl"
        assert len(rejects.read_text().splitlines() if rejects.exists() else []) == c["rejected"]
    # HTML pages lose their site chrome; ids come from the path under the folder read
    docs = [json.loads(x) for x in (run / "clean" / "data.jsonl").read_text().splitlines()]
    page = next(d for d in docs if d["id"] == "site/page0")
    assert "cookies" not in page["text"] and "Copyright" not in page["text"]
    original = _docs("domain_corpus_en.jsonl", 1)[0]["text"].split("\n\n")
    assert page["text"].startswith("med-en-0001\nDrug information: lisinopril\nLisinopril is")
    assert all(p.strip() in page["text"] for p in original)  # every paragraph of the article
    assert read_manifest(run / "dedup")["inputs"]["stage:clean"]


def test_reruns_follow_fingerprints(tmp_path, corpus):
    run = tmp_path / "run"
    run_recipe(_recipe(tmp_path, corpus))
    first = _created(run)
    run_recipe(_recipe(tmp_path, corpus))
    assert _created(run) == first  # everything skipped
    # a volatile option (worker processes) changes nothing
    run_recipe(_recipe(tmp_path, corpus, "stages.dedup.num_proc=2"))
    assert _created(run) == first
    # a real option reruns that stage and everything downstream of it, nothing else
    run_recipe(_recipe(tmp_path, corpus, "stages.dedup.threshold=0.5"))
    second = _created(run)
    rerun = {n for n in first if first[n] != second[n]}
    assert rerun == {"dedup", "decon"}
    # its earlier outputs were kept aside until the new ones were complete, then removed
    assert not list((run / ".previous").glob("dedup-*"))
    # changing an input file's content reruns the stages that read it
    rows = corpus["sft"].read_text().splitlines()
    corpus["sft"].write_text("\n".join(rows[1:]) + "\n")
    run_recipe(_recipe(tmp_path, corpus, "stages.dedup.threshold=0.5"))
    third = _created(run)
    assert {n for n in first if second[n] != third[n]} == {"valid", "alpaca", "pick"}


def test_interrupted_other_settings_are_kept_and_restored(tmp_path, corpus, monkeypatch):
    import domaintune.data.stages as data_stages

    run = tmp_path / "run"
    run_recipe(_recipe(tmp_path, corpus))
    first = _created(run)

    def dies(stage, ctx):
        (ctx.out / "partial.txt").write_text("half of the work")
        raise KeyboardInterrupt  # as a kill would stop it, after the manifest said running

    monkeypatch.setattr(data_stages, "run_dedup", dies)
    with pytest.raises(KeyboardInterrupt):
        run_recipe(_recipe(tmp_path, corpus, "stages.dedup.threshold=0.5"), only=["dedup"])
    assert read_manifest(run / "dedup")["status"] == "running"
    monkeypatch.undo()
    # settings changed back: the complete outputs of the first settings come back, not rerun
    run_recipe(_recipe(tmp_path, corpus))
    assert _created(run) == first
    interrupted = list((run / ".previous").glob("dedup-*"))
    assert len(interrupted) == 1 and (interrupted[0] / "partial.txt").exists()
    # --force removes the interrupted work once a run of the stage completes
    run_recipe(_recipe(tmp_path, corpus, "stages.dedup.threshold=0.6"), force=True)
    assert not list((run / ".previous").glob("dedup-*"))


def test_from_must_name_an_earlier_data_stage(tmp_path, corpus):
    raw = {
        "name": "bad",
        "model": {"path": "x"},
        "stages": [
            {"name": "dedup", "type": "dedup", "data": [{"from": "clean"}]},
            {"name": "clean", "type": "clean", "data": [{"path": "raw/"}]},
        ],
    }
    with pytest.raises(ConfigError, match="from: 'clean' is not an earlier data stage"):
        parse_recipe(raw)
    raw["stages"][0] = {"name": "dedup", "type": "dedup", "data": [{"path": "a", "from": "b"}]}
    with pytest.raises(ConfigError, match="give either path: FILE or from: STAGE"):
        parse_recipe(raw)
    raw["stages"][0] = {"name": "dedup", "type": "dedupe", "data": [{"path": "a"}]}
    with pytest.raises(ConfigError, match="unknown or missing type: 'dedupe'; did you mean"):
        parse_recipe(raw)


def test_run_prints_the_data_counts_last(tmp_path, corpus):
    import yaml
    from typer.testing import CliRunner

    from domaintune.cli import app

    recipe = _recipe(tmp_path, corpus)
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(yaml.safe_load(recipe.to_yaml())))
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    summary = result.output[result.output.index("Data stages (read = kept + rejected)") :]
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in summary.splitlines()]
    rows = {r[0]: r[1:] for r in rows if len(r) == 5 and r[0] not in ("stage", "")}
    assert rows["clean"] == ["14", "12", "2", "unsupported_file 1, length 1"]
    assert rows["dedup"][:3] == ["12", "10", "2"] and rows["decon"] == [
        "10",
        "9",
        "1",
        "eval_overlap 1",
    ]
    assert rows["pick"] == ["12", "5", "7", "not_selected 7"]
