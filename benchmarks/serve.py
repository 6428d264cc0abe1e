"""Serving throughput: our continuous-batching engine vs a serial `generate` loop, same answers.

- ours: `domaintune.serve.engine.Engine` (the engine behind `domaintune serve`), max batch 32, with
  1, 8 and 32 concurrent clients; each client sends its next request when its answer is complete.
- baseline "serial generate": one request at a time through transformers' `model.generate` (what a
  server with one generation slot does, e.g. LLaMA-Factory's API with MAX_CONCURRENT=1); its
  throughput does not depend on the number of clients, so it is measured once.
- every answer of ours equals the serial loop's, token for token (asserted).
Figures: requests/s and generated tokens/s; `ratio` = ours / serial at 8 clients.
Model: the built-in tiny Qwen2 architecture (random weights, tokenizer trained on bundled text),
greedy, `--max-tokens` new tokens per request; in-process (no HTTP), one torch thread by default.
Run: .venv/bin/python benchmarks/serve.py [--requests 64] [--max-tokens 32] [--smoke]
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import threading
import time
from pathlib import Path

import torch

from domaintune.eval.generate import generate_ids
from domaintune.io import read_conversations
from domaintune.models import build_tiny_model, bundled_texts
from domaintune.resources import data_path
from domaintune.serve.engine import Engine, SamplingParams, Sequence
from domaintune.serve.loading import load_served
from domaintune.serve.server import chat_prompt


def prompts_for(served, n: int) -> list[list[int]]:
    """Chat prompts from the bundled SFT questions, cycled to n."""
    rows = read_conversations(data_path("sft_domain_alpaca.jsonl"))
    questions = [c.messages[0].content for c in rows]
    return [chat_prompt(served, [{"role": "user", "content": questions[i % len(questions)]}])
            for i in range(n)]  # fmt: skip


def serial(model, served, prompts: list[list[int]], max_tokens: int) -> tuple[float, list]:
    start = time.perf_counter()
    out = [generate_ids(model, [p], stop_ids=served.stop_ids, pad_id=served.stop_ids[0],
                        batch_size=1, max_new_tokens=max_tokens, show_progress=False)[0]
           for p in prompts]  # fmt: skip
    return time.perf_counter() - start, out


def ours(engine: Engine, name: str, prompts: list[list[int]], max_tokens: int,
         clients: int) -> tuple[float, list]:  # fmt: skip
    """`clients` threads, each sending its next request when the previous answer is complete."""
    served, params = engine.served[name], SamplingParams(max_tokens=max_tokens)
    results: list = [None] * len(prompts)
    todo = iter(range(len(prompts)))
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            done = threading.Event()
            seq = engine.submit(Sequence(served, prompts[i], params,
                                         lambda s, d, f, done=done: f and done.set()))  # fmt: skip
            done.wait()
            results[i] = seq.tokens

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, results


def figures(seconds: float, outputs: list) -> dict:
    tokens = sum(len(o) for o in outputs)
    return {"seconds": round(seconds, 3), "requests_per_s": round(len(outputs) / seconds, 2),
            "tokens_per_s": round(tokens / seconds, 1), "tokens": tokens}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (both sides)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    args = parser.parse_args(argv)
    size = dict(hidden_size=64, num_layers=2, vocab_size=512) if args.smoke else {}
    texts = itertools.islice(bundled_texts(), 200) if args.smoke else None  # smoke: fast tokenizer
    n, max_tokens = (8, 6) if args.smoke else (args.requests, args.max_tokens)
    levels = (1, 8) if args.smoke else (1, 8, 32)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_model(Path(tmp) / "tiny", texts=texts, **size)
        model, served = load_served(path, name="tiny")
    prompts = prompts_for(served["tiny"], n)
    base_s, reference = serial(model, served["tiny"], prompts, max_tokens)
    base = figures(base_s, reference)
    print("serial generate:", json.dumps(base), flush=True)
    rows = {}
    engine = Engine(model, served, max_batch=32).start()
    try:
        for clients in levels:
            seconds, outputs = ours(engine, "tiny", prompts, max_tokens, clients)
            assert outputs == reference, f"greedy outputs differ at {clients} clients"
            rows[clients] = {**figures(seconds, outputs),
                             "ratio": round(base_s / seconds, 2)}  # fmt: skip
            print(f"ours, {clients} clients:", json.dumps(rows[clients]), flush=True)
    finally:
        engine.close()
    result = {"ratio": rows[8]["ratio"], "smoke": args.smoke, "requests": n,
              "max_tokens": max_tokens, "threads": args.threads, "serial": base,
              "ours": {str(k): v for k, v in rows.items()}, "same_outputs": True,
              "model": {"params": sum(p.numel() for p in model.parameters()), **size}}  # fmt: skip
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
