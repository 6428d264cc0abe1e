"""The dpo/kto memory pre-flight is the training stages' one, plus the pairs' two sequences and
the reference: the same `train:` settings reach the estimator (freeze's trainable layers too)."""

from __future__ import annotations

import pytest

from domaintune.train.pref_stage import PrefStage, preflight_pref
from domaintune.train.stage import TrainStage, preflight_stage


class _Stop(Exception):
    pass


def _captured(monkeypatch, call) -> dict:
    import torch

    import domaintune.memory as memory

    seen: dict = {}

    def fake(source, **kwargs):
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(memory, "preflight", fake)
    with pytest.raises(_Stop):
        call()
    return seen


def test_pref_preflight_passes_what_sft_passes_plus_pairs_and_reference(monkeypatch):
    train = {"method": "freeze", "freeze_trainable_layers": 3, "max_len": 256, "batch_size": 2}
    sft = TrainStage(name="sft", type="sft", data=[{"path": "x.jsonl"}], train=train)
    dpo = PrefStage(name="dpo", type="dpo", data=[{"path": "p.jsonl"}], train=train)
    want = _captured(monkeypatch, lambda: preflight_stage(None, sft, "m"))
    got = _captured(monkeypatch, lambda: preflight_pref(None, dpo, "m"))
    assert got == {**want, "pref": "dpo", "reference": "copy", "ptx_rows": 0}
    assert got["trainable_layers"] == 3  # the dpo copy of the pre-flight used to leave it out
    with_ptx = _captured(monkeypatch, lambda: preflight_pref(None, dpo, "m", ptx_rows=3))
    assert with_ptx == {**got, "ptx_rows": 3}


def test_ptx_rows_are_activations_of_the_same_backward():
    """Each PTX row is one more sequence kept for backward: the activations of a dpo micro-batch
    of 2 pairs + 2 PTX rows equal those of 6 plain sequences."""
    from domaintune.memory.estimate import estimate
    from domaintune.memory.setup import RunSetup

    arch = "qwen2.5-7b"
    plain = RunSetup(method="lora", seq_len=512, batch=6)
    dpo = RunSetup(method="lora", seq_len=512, batch=2, pref="dpo", reference="adapter")
    act = {
        name: estimate(arch, s).group("activations")
        for name, s in (("plain", plain), ("dpo", dpo), ("ptx", dpo.with_(ptx_rows=2)))
    }
    assert act["ptx"] == act["plain"] > act["dpo"]
    with pytest.raises(ValueError, match="ptx_rows=-1"):
        RunSetup(ptx_rows=-1)
