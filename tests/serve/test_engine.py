"""The batching engine against transformers' own generate: same greedy tokens, whatever joins."""

from __future__ import annotations

import json
import threading
import time

import pytest
import torch

from domaintune.eval.generate import generate_ids
from domaintune.models import load_for_eval
from domaintune.serve.engine import (
    Engine,
    SamplingParams,
    Sequence,
    safe_prefix,
    stop_cut,
    wait_idle,
)
from domaintune.serve.loading import ServeError, load_served, resolve_model


@pytest.fixture(scope="module")
def loaded(tiny_model_dir, adapters, server_launch):
    # server_launch: the server for test_server.py starts now, while these tests run
    return load_served(tiny_model_dir, {k: str(v) for k, v in adapters.items()})


def _prompts(tokenizer, texts):
    return [tokenizer(t)["input_ids"] for t in texts]


def _reference(path, prompts, max_new):
    model, tok = load_for_eval(path)
    stops = json.loads((path / "generation_config.json").read_text())["eos_token_id"]
    return generate_ids(model, prompts, stop_ids=stops, pad_id=stops[0], batch_size=1,
                        max_new_tokens=max_new, show_progress=False)  # fmt: skip


def test_greedy_equals_generate_with_joins_and_mixed_adapters(loaded, tiny_model_dir, adapters):
    model, served = loaded
    assert sorted(served) == ["law", "med", "model"]
    texts = [f"the heart pumps {w}" for w in ("blood", "oxygen", "day", "veins", "心脏 把")]
    prompts = _prompts(served["model"].tokenizer, texts)
    refs = {"model": _reference(tiny_model_dir, prompts, 12),
            "med": _reference(adapters["med"], prompts, 12)}  # fmt: skip
    assert refs["model"] != refs["med"]  # the adapter changes the answers
    engine = Engine(model, served, max_batch=3).start()  # fewer slots than requests: some wait
    try:
        done = threading.Semaphore(0)
        seqs = []
        for i, p in enumerate(prompts * 2):  # base and adapter rows interleaved in one batch
            name = "model" if i % 2 == 0 else "med"
            seqs.append((name, i % len(prompts), engine.submit(Sequence(
                served[name], p, SamplingParams(max_tokens=12), lambda s, d, f: f and done.release()
            ))))  # fmt: skip
            if i == 2:  # later requests join a batch that is already decoding
                while engine.steps < 3:
                    time.sleep(0.005)
        for _ in seqs:
            done.acquire()
        for name, k, seq in seqs:
            assert seq.tokens == refs[name][k], (name, k)
            assert seq.finish_reason == ("length" if len(seq.tokens) == 12 else "stop")
        assert engine.stats() == {"running": 0, "waiting": 0, "cancelled": 0}
    finally:
        engine.close()


def test_cancel_frees_slot_and_sampling_is_seeded(loaded):
    model, served = loaded
    engine = Engine(model, served, max_batch=2).start()
    try:
        long = Sequence(served["model"], [5, 6, 7], SamplingParams(max_tokens=500),
                        lambda s, d, f: None)  # fmt: skip
        engine.submit(long)
        while engine.stats()["running"] == 0:
            time.sleep(0.005)
        long.cancel()
        assert wait_idle(engine, 5)
        assert long.finish_reason == "cancelled" and len(long.tokens) < 500
        assert engine.stats()["cancelled"] == 1
        params = SamplingParams(max_tokens=10, temperature=1.0, top_p=0.9, seed=7)
        a = engine.generate("model", [[5, 6, 7]] * 2, params)
        b = engine.generate("model", [[5, 6, 7]], params)
        assert a[0].tokens == a[1].tokens == b[0].tokens  # same seed, same sample
        c = engine.generate("model", [[5, 6, 7]], SamplingParams(10, 1.0, 1.0, seed=8))
        assert c[0].tokens != a[0].tokens
    finally:
        engine.close()


def test_held_back_text_is_sent_when_a_stop_token_ends_the_answer(loaded):
    model, served = loaded
    s = served["model"]
    engine = Engine(model, served)  # not started: _emit is driven by hand
    events = []
    seq = Sequence(s, [1], SamplingParams(max_tokens=10, stop=("END",)),
                   lambda q, d, f: events.append((d, f)))  # fmt: skip
    ids = s.tokenizer.convert_tokens_to_ids(["E", "N"])
    for t in [*ids, s.stop_ids[0]]:
        engine._emit([seq], [t])
    assert events == [("EN", False), ("", True)]  # "EN" was held back: it might have been END
    assert seq.text == "EN" and seq.finish_reason == "stop" and seq.tokens == ids


def test_stop_strings_are_cut_and_held_back():
    assert stop_cut("abc END def", ("END",)) == 4
    assert stop_cut("abc", ("x", "")) is None
    assert safe_prefix("hello EN", ("END",)) == "hello "  # might become END: held back
    assert safe_prefix("hello E\ufffd", ()) == "hello E"  # half a character
    assert safe_prefix("hello ", ("END",)) == "hello "


def test_refuses_expanded_vocabulary_and_missing_model(tiny_model_dir, adapters, tmp_path):
    import shutil

    from transformers import AutoTokenizer

    bigger = tmp_path / "bigger"
    shutil.copytree(adapters["med"], bigger)
    tok = AutoTokenizer.from_pretrained(str(bigger))
    tok.add_tokens([f"<domain_{i}>" for i in range(40)])
    tok.save_pretrained(str(bigger))
    with pytest.raises(ServeError, match=r"expanded vocabulary \(527 tokens; the base has 487 "):
        load_served(tiny_model_dir, {"big": str(bigger)})
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        resolve_model(tmp_path / "nope")


def test_run_dir_resolves_to_last_model_stage(tmp_path, tiny_model_dir, adapters):
    run = tmp_path / "run"
    (run / "cpt").mkdir(parents=True)
    (run / "sft").mkdir()
    (run / "recipe.yaml").write_text("stages:\n- {name: cpt}\n- {name: sft}\n- {name: ppl}\n")
    (run / "cpt" / "final").symlink_to(tiny_model_dir)
    # the SFT stage saved its own stop tokens beside the adapter: serving must use them
    import shutil

    from transformers import GenerationConfig

    shutil.copytree(adapters["law"], run / "sft" / "final")
    saved = GenerationConfig.from_pretrained(str(adapters["law"])).eos_token_id
    base_stops = [saved] if isinstance(saved, int) else list(saved)
    eos = base_stops[0]
    GenerationConfig(eos_token_id=[eos, 7]).save_pretrained(str(run / "sft" / "final"))
    assert resolve_model(run) == run / "sft" / "final"
    _, served = load_served(run)
    assert sorted(served) == ["model", "run"]  # the base and the run's adapter
    assert served["run"].adapter == "run"
    assert served["run"].stop_ids == [eos, 7]  # the adapter's, not the base's
    assert served["model"].stop_ids == base_stops


def test_adapter_with_trained_embeddings_in_a_mixed_batch(tiny_model_dir, tmp_path):
    """An adapter that trains the embedding table (modules_to_save, same vocabulary) is served
    correctly beside the base in one batch."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    torch.manual_seed(3)
    config = LoraConfig(r=4, target_modules=["q_proj"], modules_to_save=["embed_tokens"],
                        init_lora_weights=False)  # fmt: skip
    peft = get_peft_model(model, config)
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "modules_to_save" in name:
                p.add_(torch.randn_like(p) * 0.5)
    out = tmp_path / "emb"
    peft.save_pretrained(str(out))
    AutoTokenizer.from_pretrained(str(tiny_model_dir)).save_pretrained(str(out))
    model.generation_config.save_pretrained(str(out))
    lm, served = load_served(tiny_model_dir, {"emb": str(out)})
    prompts = _prompts(served["emb"].tokenizer, ["the heart pumps", "blood pressure is"])
    refs = {"emb": _reference(out, prompts, 8), "model": _reference(tiny_model_dir, prompts, 8)}
    assert refs["emb"] != refs["model"]
    engine = Engine(lm, served, max_batch=4).start()
    try:
        done = threading.Semaphore(0)
        seqs = [(n, k, engine.submit(Sequence(served[n], p, SamplingParams(max_tokens=8),
                                              lambda s, d, f: f and done.release())))
                for k, p in enumerate(prompts) for n in ("emb", "model")]  # fmt: skip
        for _ in seqs:
            done.acquire()
    finally:
        engine.close()
    assert all(seq.tokens == refs[n][k] for n, k, seq in seqs)


def test_qlora_adapter_is_served_on_its_4bit_base(tiny_model_dir, adapters, tmp_path):
    """As `eval` scores it: the base an adapter trained against (it used to be served on the
    full-precision base); adapters of differently quantised bases are refused."""
    import json
    import shutil

    pytest.importorskip("bitsandbytes")
    from domaintune.models import QUANTIZATION_FILE
    from domaintune.serve.loading import ServeError, load_served

    q = tmp_path / "q"
    shutil.copytree(adapters["law"], q)
    (q / QUANTIZATION_FILE).write_text(
        json.dumps({"quant_type": "nf4", "double_quant": True, "compute_dtype": "float32"})
    )
    model, served = load_served(q)
    assert model.base_model.model.is_loaded_in_4bit and served["q"].adapter == "q"
    with pytest.raises(ServeError, match="differently quantised bases"):
        load_served(q, {"med": adapters["med"]})


def test_the_announced_port_accepts_connections_before_uvicorn_runs(monkeypatch):
    """`serving on URL` comes after the socket listens: a client that connects at once (while
    uvicorn is still starting) is queued, not refused (a test under load met the refusal)."""
    import re
    import socket
    from types import SimpleNamespace

    import uvicorn

    from domaintune.serve.server import run_server

    seen = {}

    def announce(line):
        seen["port"] = int(re.search(r":(\d+)/v1", line).group(1))

    def not_started(self, sockets):  # uvicorn has not run yet: only the socket exists
        with socket.create_connection(("127.0.0.1", seen["port"]), timeout=2):
            seen["connected"] = True
        sockets[0].close()

    monkeypatch.setattr(uvicorn.Server, "run", not_started)
    engine = SimpleNamespace(served=["model"], close=lambda: seen.setdefault("closed", True))
    run_server(engine, port=0, announce=announce)
    assert seen == {"port": seen["port"], "connected": True, "closed": True} and seen["port"] > 0
