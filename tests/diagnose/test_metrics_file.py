"""metrics.jsonl has one parser (diagnose.curves.read_metrics), used by diagnose, report, plots
and the resuming callback."""

from __future__ import annotations

import pytest

from domaintune.diagnose.curves import read_curves, read_metrics
from domaintune.records import DataError

ROWS = '{"step": 1, "loss": 2.5, "lr": 0.001}\n{"step": 2, "loss": "nan", "eval_loss": {"a": 2}}\n'


def test_rows_curves_and_a_torn_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(ROWS + '{"step": 3, "lo', encoding="utf-8")  # killed mid-write
    assert read_metrics(path) == [
        {"step": 1, "loss": 2.5, "lr": 0.001},
        {"step": 2, "loss": "nan", "eval_loss": {"a": 2}},
    ]
    curves = read_curves(path)
    assert curves.steps == [1, 2] and curves.loss[0] == 2.5 and curves.finite == [0]
    assert curves.evals == {"a": [(2, 0.0, 2.0)]}


def test_a_bad_line_is_named(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(ROWS + '{"loss": 1.0}\n{"step": 4}\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_metrics(path)
    assert str(err.value) == (
        f'{path}:3: not a metrics row: needs a JSON object with an integer "step" '
        "(see the metrics.jsonl fields in the README)"
    )
    path.write_text(ROWS + "[1, 2]", encoding="utf-8")  # complete but not a row: no newline
    with pytest.raises(DataError, match=r"metrics\.jsonl:3: not a metrics row"):
        read_metrics(path)
