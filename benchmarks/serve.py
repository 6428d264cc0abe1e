"""Serving throughput: our continuous-batching engine vs a serial `generate` loop, same answers.

- ours: `domaintune.serve.engine.Engine` (the engine behind `domaintune serve`), max batch 32, with
  1, 8 and 32 concurrent clients; each client sends its next request when its answer is complete.
- baseline "serial generate": one request at a time through transformers' `model.generate` (what a
  server with one generation slot does, e.g. LLaMA-Factory's API with MAX_CONCURRENT=1); its
  throughput does not depend on the number of clients, so it is measured once.
- every answer of ours equals the serial loop's, token for token (asserted).
Figures: requests/s and generated tokens/s; `ratio` = ours / serial at 8 clients.
Model: the built-in tiny Qwen2 architecture (random weights, tokenizer trained on bundled text),
greedy, `--max-tokens` new tokens per request, one torch thread by default; in-process, and once
more through the HTTP server at 8 clients (uvicorn and the httpx clients in this same process).
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


def questions_for(n: int) -> list[str]:
    """The bundled SFT questions, cycled to n."""
    rows = read_conversations(data_path("sft_domain_alpaca.jsonl"))
    questions = [c.messages[0].content for c in rows]
    return [questions[i % len(questions)] for i in range(n)]


def over_http(engine: Engine, questions: list[str], max_tokens: int, clients: int) -> tuple:
    """The same requests through the HTTP server (uvicorn in a thread, httpx clients)."""
    import socket

    import httpx
    import uvicorn

    from domaintune.serve.server import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1/chat/completions"
    server = uvicorn.Server(uvicorn.Config(create_app(engine), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    answers: list = [None] * len(questions)
    todo, lock = iter(range(len(questions))), threading.Lock()

    def client() -> None:
        with httpx.Client(timeout=600) as http:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                body = {"model": "tiny", "max_tokens": max_tokens, "temperature": 0,
                        "messages": [{"role": "user", "content": questions[i]}]}  # fmt: skip
                r = http.post(url, json=body).json()
                usage = r["usage"]["completion_tokens"]
                answers[i] = (r["choices"][0]["message"]["content"], usage)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    server.should_exit = True
    thread.join()
    return seconds, answers


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
    questions = questions_for(n)
    prompts = [chat_prompt(served["tiny"], [{"role": "user", "content": q}]) for q in questions]
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
        seconds, answers = over_http(engine, questions, max_tokens, 8)
        tok = served["tiny"].tokenizer
        assert answers == [(tok.decode(r, skip_special_tokens=True), len(r)) for r in reference]
        http = {**figures(seconds, reference), "ratio": round(base_s / seconds, 2)}
        print("ours over HTTP, 8 clients:", json.dumps(http), flush=True)
    finally:
        engine.close()
    result = {"ratio": rows[8]["ratio"], "smoke": args.smoke, "requests": n,
              "max_tokens": max_tokens, "threads": args.threads, "serial": base,
              "ours": {str(k): v for k, v in rows.items()}, "http_8_clients": http,
              "same_outputs": True,
              "model": {"params": sum(p.numel() for p in model.parameters()), **size}}  # fmt: skip
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
