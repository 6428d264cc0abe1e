"""docs/tokenizer.md's Python block runs as written (slow: it builds a tiny model)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "tokenizer.md"


@pytest.mark.slow
def test_the_documented_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], str(DOC), "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("200 2304 ")
    assert (tmp_path / "tiny-zh" / "domaintune_vocab.json").exists()
