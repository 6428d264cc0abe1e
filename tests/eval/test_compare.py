"""`domaintune eval compare`: deltas, forgetting flags, exit code and one-sided rows."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from domaintune.cli import app
from domaintune.eval.results import result_doc
from domaintune.io import write_json

runner = CliRunner()


def _mcq(group, acc, sets, dims=None):
    by_set = {name: {"accuracy": v, "n": 50} for name, v in sets.items()}
    by_dim = {name: {"accuracy": v, "n": 20} for name, v in (dims or {}).items()}
    return result_doc(
        "mcq",
        "m",
        group=group,
        metrics={"accuracy": acc, "n": 100},
        by_set=by_set,
        by_dimension=by_dim,
    )


def _ppl(group, ppl, nll):
    metrics = {"perplexity": ppl, "nll": nll, "tokens": 5000}
    return result_doc("ppl", "m", group=group, metrics=metrics, by_set={"wiki": metrics})


def _write_sides(tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    dims = {"knowledge": 61.0, "reasoning": 56.0}
    write_json(
        before / "mcq_general.json", _mcq("general", 60.0, {"cmmlu": 62.0, "ceval": 58.0}, dims)
    )
    dims = {"knowledge": 60.0, "reasoning": 50.0}
    write_json(
        after / "mcq_general.json", _mcq("general", 57.5, {"cmmlu": 61.0, "ceval": 54.0}, dims)
    )
    write_json(before / "old.json", _mcq("general", 50.0, {"old_set": 50.0}))  # dropped later
    write_json(after / "new.json", _mcq("general", 70.0, {"new_set": 70.0}))  # added later
    write_json(before / "ppl" / "general.json", _ppl("general", 10.0, 2.0))
    write_json(after / "ppl" / "general.json", _ppl("general", 10.6, 2.05))
    write_json(before / "mcq_domain.json", _mcq("domain", 40.0, {"med": 40.0}))
    write_json(after / "mcq_domain.json", _mcq("domain", 55.0, {"med": 55.0}))
    write_json(before / "ppl" / "domain.json", _ppl("domain", 20.0, 3.0))
    write_json(after / "ppl" / "domain.json", _ppl("domain", 12.0, 2.5))
    write_json(after / "manifest.json", {"stage": "eval", "status": "done"})  # not a result
    return before, after


def _rows(result):
    doc = json.loads(result.stdout)
    keys = ("group", "kind", "scope", "set", "within", "metric")
    return doc, {tuple(r[k] for k in keys): r for r in doc["rows"]}


def test_deltas_flags_and_one_sided_rows(tmp_path):
    before, after = _write_sides(tmp_path)
    result = runner.invoke(app, ["eval", "compare", str(before), str(after), "--json"])
    assert result.exit_code == 0, result.output
    doc, rows = _rows(result)
    sets = "ceval, cmmlu"
    expected = {
        # (group, kind, scope, set, within, metric): (before, after, delta, unit, flagged)
        ("general", "mcq", "overall", "all", sets, "accuracy"): (60.0, 57.5, -2.5, "pts", True),
        ("general", "mcq", "set", "cmmlu", "", "accuracy"): (62.0, 61.0, -1.0, "pts", False),
        ("general", "mcq", "set", "ceval", "", "accuracy"): (58.0, 54.0, -4.0, "pts", True),
        ("general", "mcq", "dimension", "knowledge", sets, "accuracy"): (
            61.0,
            60.0,
            -1.0,
            "pts",
            False,
        ),
        ("general", "mcq", "dimension", "reasoning", sets, "accuracy"): (
            56.0,
            50.0,
            -6.0,
            "pts",
            True,
        ),
        ("general", "ppl", "set", "wiki", "", "nll"): (2.0, 2.05, 2.5, "%", False),
        ("general", "ppl", "set", "wiki", "", "perplexity"): (10.0, 10.6, 6.0, "%", True),
        ("domain", "mcq", "set", "med", "", "accuracy"): (40.0, 55.0, 15.0, "pts", False),
        ("domain", "ppl", "set", "wiki", "", "perplexity"): (20.0, 12.0, -40.0, "%", False),
    }
    for key, (b, a, delta, unit, flagged) in expected.items():
        row = rows[key]
        assert (row["before"], row["after"], row["unit"], row["flagged"]) == (b, a, unit, flagged)
        assert row["delta"] == pytest.approx(delta), key
    assert doc["flagged"] == 4
    old = rows["general", "mcq", "set", "old_set", "", "accuracy"]
    new = rows["general", "mcq", "set", "new_set", "", "accuracy"]
    assert (old["side"], old["before"], old["after"], old["delta"]) == ("before", 50.0, None, None)
    assert (new["side"], new["after"], new["flagged"]) == ("after", 70.0, False)
    assert doc["only_before"] == 1 and doc["only_after"] == 1 and doc["ignored_files"] == 1
    assert len(doc["rows"]) == 12  # general: mcq 5 + old 1 + new 1 + ppl 2; domain 1 + 2
    assert not any(r["metric"] in ("n", "tokens") for r in doc["rows"])  # counts not compared
    assert {r["group"] for r in doc["rows"][:9]} == {"general"}  # general section first
    assert {r["group"] for r in doc["rows"][9:]} == {"domain"}


def test_thresholds_are_options(tmp_path):
    before, after = _write_sides(tmp_path)
    args = ["eval", "compare", str(before), str(after), "--json"]
    result = runner.invoke(app, [*args, "--threshold", "5", "--ppl-threshold", "7"])
    doc, rows = _rows(result)
    assert [(r["set"], r["metric"]) for r in doc["rows"] if r["flagged"]] == [
        ("reasoning", "accuracy")
    ]


def test_fail_on_forgetting_exit_code_and_table(tmp_path):
    before, after = _write_sides(tmp_path)
    args = ["eval", "compare", str(before), str(after)]
    result = runner.invoke(app, [*args, "--fail-on-forgetting"], env={"COLUMNS": "200"})
    assert result.exit_code == 3
    out = result.stdout
    assert out.index("general ability (forgetting check)") < out.index("domain")
    assert "-4.00 pts FORGETTING" in out and "+6.0% FORGETTING" in out
    assert "-1.00 pts FORGETTING" not in out
    assert "forgetting: 4 general-ability drop(s) beyond 2 points / +5% perplexity-like" in out
    assert "only in BEFORE" in out and "only in AFTER" in out
    assert "1 rows only in BEFORE, 1 only in AFTER" in out
    # Same files compared with themselves: nothing flagged, exit 0 even with the option.
    same = runner.invoke(app, [*args[:2], str(after), str(after), "--fail-on-forgetting"])
    assert same.exit_code == 0 and "no general-ability drop" in same.stdout


def test_single_files_and_bad_inputs(tmp_path):
    before, after = _write_sides(tmp_path)
    one = runner.invoke(
        app,
        [
            "eval",
            "compare",
            str(before / "mcq_domain.json"),
            str(after / "mcq_domain.json"),
            "--json",
        ],
    )
    doc, rows = _rows(one)
    assert len(doc["rows"]) == 1 and doc["flagged"] == 0  # overall = the only set: one row
    assert ("general", "ppl", "overall", "all", "wiki", "perplexity") not in rows
    # An overall figure that differs from its only set's (here: a different n) is kept.
    b_doc = _mcq("general", 61.0, {"med": 60.0})
    a_doc = _mcq("general", 58.0, {"med": 59.0})
    write_json(tmp_path / "b.json", b_doc)
    write_json(tmp_path / "a.json", a_doc)
    two = runner.invoke(
        app, ["eval", "compare", str(tmp_path / "b.json"), str(tmp_path / "a.json"), "--json"]
    )
    doc, rows = _rows(two)
    assert rows["general", "mcq", "overall", "all", "med", "accuracy"]["delta"] == -3.0
    assert rows["general", "mcq", "set", "med", "", "accuracy"]["flagged"] is False
    assert doc["flagged"] == 1
    bad = runner.invoke(app, ["eval", "compare", str(after / "manifest.json"), str(after)])
    assert bad.exit_code == 1
    assert f"error: {after / 'manifest.json'}: not an eval result" in bad.stderr
    # Two models' results on one side cannot be matched row by row.
    write_json(after / "other_model.json", _mcq("domain", 30.0, {"med": 30.0}))
    clash = runner.invoke(app, ["eval", "compare", str(before), str(after)])
    assert clash.exit_code == 1 and "give each side the results of one model" in clash.stderr
