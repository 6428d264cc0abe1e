"""Crash safety and bounded resources in training.

Checkpoints complete or absent: a save cut off by a kill is skipped, and the resumed stage ends
where an uninterrupted one does (weights within 1e-6, train_loss and seconds of the whole stage).
Huge documents and conversations are cut by characters before tokenizing; truncation and empty
sources are named.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from domaintune.models import UnsafeWeightsError, load_for_eval
from domaintune.records import Conversation, DataError, Document, Message
from domaintune.train.checkpoints import RECORD, newest_complete, rotate, write_record
from domaintune.train.data import (
    build_pt_dataset,
    char_bound,
    encode_conversations,
    encode_documents,
)
from domaintune.train.sources import Source, build_train_set
from domaintune.train.trainer import run_training
from helpers import make_texts, train_settings

SETTINGS = dict(max_steps=8, save_steps=2, save_total_limit=2, gradient_accumulation_steps=2)


def _docs():
    return [Document(id=str(i), text=t) for i, t in enumerate(make_texts(120, seed=1))]


def _train(model_dir, out, *, resume=False, callbacks=None):
    model, tok = load_for_eval(model_dir)
    train_set, _ = build_pt_dataset(_docs(), tok, max_len=64)
    settings = train_settings(**SETTINGS)
    return run_training(
        model, tok, train_set, {}, out, settings, packed=True, resume=resume, callbacks=callbacks
    )


class _KilledWhileSaving(TrainerCallback):
    """Stops the process in the Trainer's `on_save` of `step`: its files are written, its record
    is not (the record is written by the callback that runs after this one)."""

    def __init__(self, step):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt


class _Evil:
    """A pickle that creates `path` when it is unpickled."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


@pytest.fixture(scope="module")
def straight(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("straight")
    summary = _train(tiny_model_dir, out)
    return summary, load_file(out / "final" / "model.safetensors")


@pytest.fixture(scope="module")
def torn(tiny_model_dir, tmp_path_factory):
    """A stage stopped while checkpoint-6 was being saved, with one of its files cut short."""
    out = tmp_path_factory.mktemp("torn")
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_model_dir, out, callbacks=[_KilledWhileSaving(6)])
    ckpt = out / "checkpoints"
    assert sorted(p.name for p in ckpt.iterdir()) == [f"checkpoint-{n}" for n in (2, 4, 6)]
    assert (ckpt / "checkpoint-4" / RECORD).exists()
    assert not (ckpt / "checkpoint-6" / RECORD).exists()
    optimizer = ckpt / "checkpoint-6" / "optimizer.pt"
    optimizer.write_bytes(optimizer.read_bytes()[:1000])  # the write that was going on
    (ckpt / "checkpoint-6" / "trainer_state.json").unlink()
    return out


def test_torn_checkpoint_is_skipped_and_resume_equals_uninterrupted(
    tiny_model_dir, straight, torn, tmp_path, caplog
):
    out = tmp_path / "run"
    shutil.copytree(torn, out)
    carried = json.loads((out / "checkpoints" / "checkpoint-4" / RECORD).read_text())["totals"]
    with caplog.at_level(logging.WARNING, logger="domaintune.train.checkpoints"):
        summary = _train(tiny_model_dir, out, resume=True)
    assert summary["resumed_from"] == str(out / "checkpoints" / "checkpoint-4")
    skipped = [r.getMessage() for r in caplog.records if r.name.startswith("domaintune")]
    assert skipped == [
        f"resume: removed {out}/checkpoints/checkpoint-6: it has no {RECORD} "
        "(the process stopped while writing it)"
    ]
    weights = load_file(out / "final" / "model.safetensors")
    assert weights.keys() == straight[1].keys()
    for key, value in straight[1].items():
        torch.testing.assert_close(weights[key], value, atol=1e-6, rtol=0)
    # train_loss and seconds cover all 8 steps, not the 4 after the resume
    assert summary["global_step"] == 8
    assert summary["train_loss"] == pytest.approx(straight[0]["train_loss"], abs=1e-6)
    assert summary["seconds"] >= carried["seconds"] > 0
    record = json.loads((out / "checkpoints" / "checkpoint-8" / RECORD).read_text())
    assert record["totals"]["loss_sum"] / 8 == pytest.approx(summary["train_loss"], abs=1e-6)
    names = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert names == ["checkpoint-6", "checkpoint-8"]  # save_total_limit 2, both complete


def test_checkpoint_state_files_are_read_weights_only(tiny_model_dir, torn, tmp_path):
    """A checkpoint's rng_state.pth is unpickled with weights_only: a planted one runs nothing."""
    out = tmp_path / "run"
    shutil.copytree(torn, out)
    ckpt = out / "checkpoints" / "checkpoint-4"
    sentinel = tmp_path / "pwned"
    torch.save({"python": _Evil(sentinel)}, ckpt / "rng_state.pth")
    record = json.loads((ckpt / RECORD).read_text())
    write_record(ckpt, 4, record["totals"])  # as if the run directory itself were changed
    with pytest.raises(UnsafeWeightsError, match="weights-only loader refused") as err:
        _train(tiny_model_dir, out, resume=True)
    assert str(err.value).startswith(f"{ckpt}: ") and "\n" not in str(err.value)
    assert not sentinel.exists()


def test_pickled_checkpoint_weights_are_refused(tiny_model_dir, torn, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(torn, out)
    ckpt = out / "checkpoints" / "checkpoint-4"
    sentinel = tmp_path / "pwned"
    (ckpt / "model.safetensors").unlink()
    with open(ckpt / "pytorch_model.bin", "wb") as f:
        pickle.dump(_Evil(sentinel), f)
    write_record(ckpt, 4, {"loss_sum": 0.0, "seconds": 0.0})
    with pytest.raises(UnsafeWeightsError, match="pytorch_model.bin is a pickle file"):
        _train(tiny_model_dir, out, resume=True)
    assert not sentinel.exists()


def _complete(folder: Path, step: int) -> Path:
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"x" * step)
    write_record(path, step, {"loss_sum": 1.0 * step, "seconds": 0.5 * step})
    return path


def test_newest_complete_checkpoint_and_rotation_over_complete_ones(tmp_path, caplog):
    folder = tmp_path / "checkpoints"
    for step in (2, 4, 6):
        _complete(folder, step)
    (folder / "checkpoint-6" / "model.safetensors").write_bytes(b"x")  # shorter than written
    (folder / "checkpoint-8").mkdir()  # cut off before any file
    (folder / "checkpoint-8" / "model.safetensors").write_bytes(b"y" * 8)
    with caplog.at_level(logging.WARNING, logger="domaintune.train.checkpoints"):
        assert newest_complete(folder) == folder / "checkpoint-4"
    assert [r.getMessage() for r in caplog.records if r.name.startswith("domaintune")] == [
        f"resume: skipped {folder}/checkpoint-8: it has no {RECORD} "
        "(the process stopped while writing it)",
        f"resume: skipped {folder}/checkpoint-6: model.safetensors has 1 bytes where 6 were "
        "written",
    ]
    # a limit of 1 deletes only complete checkpoints older than the newest complete one
    assert rotate(folder, 1, best=None) == [folder / "checkpoint-2"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "checkpoint-4",
        "checkpoint-6",
        "checkpoint-8",
    ]
    assert newest_complete(folder, remove_incomplete=True) == folder / "checkpoint-4"
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint-4"]
    # the best checkpoint is kept beside the newest
    for step in (10, 12):
        _complete(folder, step)
    assert rotate(folder, 1, best=str(folder / "checkpoint-4")) == [folder / "checkpoint-10"]


_KILL_DURING_SAVE = """
import os, signal, sys
import torch
sys.path.insert(0, {tests!r})
real_save = torch.save

def save(obj, f, *args, **kwargs):
    # the optimizer state of checkpoint-6: half its bytes reach the disk, then kill -9
    if str(f).endswith("checkpoint-6/optimizer.pt"):
        real_save(obj, f, *args, **kwargs)
        with open(f, "r+b") as fh:
            fh.truncate(os.path.getsize(f) // 2)
        os.kill(os.getpid(), signal.SIGKILL)
    return real_save(obj, f, *args, **kwargs)

torch.save = save
from test_crash_safety import _train
_train({model!r}, {out!r})
"""


@pytest.mark.slow
def test_kill_9_during_a_checkpoint_write_then_resume(tiny_model_dir, straight, tmp_path):
    out = tmp_path / "run"
    script = _KILL_DURING_SAVE.format(
        tests=str(Path(__file__).parent), model=str(tiny_model_dir), out=str(out)
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env, timeout=300)
    assert proc.returncode == -9
    assert not (out / "checkpoints" / "checkpoint-6" / RECORD).exists()
    summary = _train(tiny_model_dir, out, resume=True)
    assert summary["resumed_from"].endswith("checkpoint-4")
    weights = load_file(out / "final" / "model.safetensors")
    for key, value in straight[1].items():
        torch.testing.assert_close(weights[key], value, atol=1e-6, rtol=0)
    assert summary["train_loss"] == pytest.approx(straight[0]["train_loss"], abs=1e-6)


# ---------------------------------------------------------------- huge rows, truncation, empty


def test_long_document_is_tokenized_in_parts_with_the_same_pieces(tiny_model_dir, caplog):
    _, tok = load_for_eval(tiny_model_dir)
    bound = char_bound(tok, 48)
    assert bound == 48 * 13
    text = " ".join(make_texts(200, seed=2))  # ~55 KB: about 90 parts of at most `bound`
    whole = tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    docs = [Document(id="short", text="the heart ."), Document(id="long", text=text)]
    with caplog.at_level(logging.INFO, logger="domaintune.train.data"):
        pieces = encode_documents(docs, tok, max_len=48)
    assert [p.input_ids for p in pieces[1:]] == [
        whole[i : i + 48] for i in range(0, len(whole), 48)
    ]
    train = build_train_set([Source("corpus", docs, "pt")], tok, max_len=48)
    assert train.total.cut_by_chars == train.stats["corpus"]["cut_by_chars"] == 1
    assert [r.getMessage() for r in caplog.records if r.name == "domaintune.train.data"] == [
        "1 documents longer than 624 characters (max_len x the longest token) were tokenized "
        "624 characters at a time (first: long)"
    ]


def _conv(i, answer):
    return Conversation(id=f"c{i}", messages=[Message("user", "q ."), Message("assistant", answer)])


def test_sft_truncation_is_named_and_huge_conversations_are_cut_first(tiny_model_dir, caplog):
    _, tok = load_for_eval(tiny_model_dir)
    huge = " ".join(make_texts(100, seed=4))  # over 2 x 32 x 13 characters
    convs = [_conv(0, "blood ."), _conv(1, "the heart pumps blood " * 8), _conv(2, huge)]
    with caplog.at_level(logging.WARNING, logger="domaintune.train.data"):
        samples = encode_conversations(convs, tok, max_len=32)
    assert [r.getMessage() for r in caplog.records if r.name == "domaintune.train.data"] == [
        "2 of 3 conversations are longer than max_len 32 tokens and were truncated to it "
        "(first: c1, c2); raise max_len, or list them with `domaintune data validate FILE "
        "--tokenizer MODEL --max-len 32`"
    ]
    uncut = encode_conversations([convs[2]], tok, max_len=100_000)[0]
    assert samples[2].input_ids == uncut.input_ids[:32]  # the cut changed none of the kept tokens
    assert len(huge) > 2 * 32 * 13


def test_empty_or_fully_rejected_source_names_its_file(tiny_model_dir):
    _, tok = load_for_eval(tiny_model_dir)
    empty = Source("sft", [], "sft", path="data/sft.jsonl")
    with pytest.raises(DataError) as err:
        build_train_set([empty], tok, max_len=32)
    assert (
        str(err.value) == "data/sft.jsonl: has no rows (it is empty or blank); nothing to train on"
    )
    blank = Source("corpus", [Document(id="1", text=" \n")], "pt")
    with pytest.raises(DataError) as err:
        build_train_set([blank], tok, max_len=32)
    assert str(err.value) == (
        "corpus: none of its 1 rows can be trained on (empty text: 1); fix or drop it"
    )


_TRAIN_PEAK = """
import json, sys, time
from transformers import AutoTokenizer
from domaintune.records import Document
from domaintune.train.data import build_pt_dataset

tok = AutoTokenizer.from_pretrained(sys.argv[1])
text = "the heart pumps blood through the arteries. " * int(float(sys.argv[2]) * 2**20 / 44)


def peak():  # KiB. The process's VmHWM: getrusage's ru_maxrss also keeps exited threads' peaks
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0])


with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # Linux: the peak restarts from the current RSS (the setup is not counted)
before = peak()
start = time.perf_counter()
if sys.argv[3] == "whole":  # the baseline: the document tokenized in one call
    tokens, cut = len(tok(text, add_special_tokens=False)["input_ids"]) + 1, 0
else:
    _, stats = build_pt_dataset([Document(id="big", text=text)], tok, max_len=64)
    tokens, cut = stats.tokens, stats.cut_by_chars
after = peak()
print(json.dumps({"mib": round((after - before) / 1024), "s": round(time.perf_counter() - start, 2),
                  "tokens": tokens, "cut": cut}))
"""


@pytest.mark.slow
def test_huge_document_peak_memory_is_bounded(tiny_model_dir):
    """4 MiB in one document: our build_pt_dataset vs tokenizing the document in one call."""
    result = {}
    for mode in ("whole", "ours"):
        args = [sys.executable, "-c", _TRAIN_PEAK, str(tiny_model_dir), "4", mode]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=600, check=True)
        result[mode] = json.loads(proc.stdout.splitlines()[-1])
    print("RESULT", json.dumps(result))
    assert result["ours"]["tokens"] == result["whole"]["tokens"] == 762_602
    assert result["ours"]["cut"] == 1
    # ours holds the 762k tokens' pieces themselves (~120 MiB): not the tokenizer's ~580 MiB
    assert result["ours"]["mib"] < 200 and result["whole"]["mib"] > 2 * result["ours"]["mib"]
