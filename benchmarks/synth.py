"""data synth: teacher client throughput and rate-limit recovery; the novelty filter at scale.

(a) Client vs the scripted OpenAI-compatible server (tests/synth/scripted_server.py, its own
    process on 127.0.0.1) answering each request after 200 ms:
    - throughput at concurrency 32: requests/s against the ideal 32 / 0.2 s = 160 (target >= 0.9x),
      and client CPU per request; baseline: the same client on openai's default httpx transport;
      ceiling: plain aiohttp posting the same bodies without openai (what the machine allows);
    - a 429 storm: every request gets 429 with Retry-After for `storm_s` seconds. Ours vs the
      `openai` package's own retries (AsyncOpenAI defaults, max_retries=2) on the same storm:
      requests completed, the longest wait, and the time from the storm's end to the last reply.
(b) Novelty filter (MinHash LSH + exact ROUGE-L, synth/filters.py) on N instructions (Chinese and
    English, from the bundled corpora's sentences in instruction templates, 10% planted
    paraphrases) vs pairwise ROUGE-L: for a random sample of queries, every pair (query, any
    other) with ROUGE-L > 0.7 is found exactly (a sound token-count bound prunes, LCS decides);
    recall = share of those pairs not both kept by the filter. Pairwise time is measured on
    random pairs and extrapolated to N (N - 1) / 2 pairs.

Run: .venv/bin/python benchmarks/synth.py [--smoke]. Last line: RESULT {json}; `ratio` is the
throughput over the ideal.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse

from domaintune.data.minhash import text_tokens
from domaintune.synth.client import TeacherClient
from domaintune.synth.filters import NOVELTY_THRESHOLD, NoveltyFilter, rouge_l

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
from dedup import sentence_pools  # noqa: E402  (the bundled corpora's zh / en sentences)


def _scripted_server() -> type:
    """tests/synth/scripted_server.py (this file's name, synth, hides the tests' package)."""
    path = _HERE.parent / "tests" / "synth" / "scripted_server.py"
    spec = importlib.util.spec_from_file_location("scripted_server", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ScriptedServer


ScriptedServer = _scripted_server()

TEMPLATES = {
    "zh": ["请解释：{}", "根据下面的内容回答问题：{}", "用一句话总结：{}", "{}这句话是什么意思？",
           "把下面这句话改写得更通俗：{}", "判断下面的说法是否正确：{}", "{}请说明理由。",
           "阅读材料并提取要点：{}"],
    "en": ["Explain: {}", "Answer from the text below: {}", "Summarize in one sentence: {}",
           "What does this mean? {}", "Rewrite in plain words: {}", "Is this claim correct? {}",
           "{} Explain why.", "Extract the key points: {}"],
}  # fmt: skip


# ---------------------------------------------------------------- (b) novelty


def _paraphrase(text: str, lang: str, pool: list[str], rng: random.Random) -> str:
    """A planted near copy: a few tokens replaced, dropped or inserted, or the template swapped."""
    if lang == "zh":
        chars = list(text)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(chars))
            op = rng.choice(("sub", "del", "ins"))
            filler = rng.choice(rng.choice(pool))
            if op == "sub":
                chars[i] = filler
            elif op == "del" and len(chars) > 4:
                del chars[i]
            else:
                chars.insert(i, filler)
        return "".join(chars)
    words = text.split()
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(words))
        op = rng.choice(("sub", "del", "ins"))
        filler = rng.choice(rng.choice(pool).split())
        if op == "sub":
            words[i] = filler
        elif op == "del" and len(words) > 4:
            del words[i]
        else:
            words.insert(i, filler)
    return " ".join(words)


def make_instructions(n: int, *, seed: int = 0, planted: float = 0.1) -> list[str]:
    """n unique instructions, half Chinese, with `planted` of them near copies of earlier ones."""
    rng = random.Random(seed)
    pools = sentence_pools()
    out: list[str] = []
    langs: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        if out and rng.random() < planted:
            j = rng.randrange(len(out))
            text, lang = _paraphrase(out[j], langs[j], pools[langs[j]], rng), langs[j]
        else:
            lang = rng.choice(("zh", "en"))
            body = rng.choice(pools[lang])
            if rng.random() < 0.5:  # two sentences: longer instructions
                body += ("" if lang == "zh" else " ") + rng.choice(pools[lang])
            text = rng.choice(TEMPLATES[lang]).format(body)
        if text not in seen:
            seen.add(text)
            out.append(text)
            langs.append(lang)
    return out


def _count_matrix(tokens: list[list[str]]) -> sparse.csr_matrix:
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for i, toks in enumerate(tokens):
        counts: dict[int, int] = {}
        for t in toks:
            k = vocab.setdefault(t, len(vocab))
            counts[k] = counts.get(k, 0) + 1
        rows += [i] * len(counts)
        cols += list(counts)
        vals += list(counts.values())
    shape = (len(tokens), len(vocab))
    return sparse.csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float32)


def similar_pairs(tokens: list[list[str]], queries: list[int]) -> set[tuple[int, int]]:
    """Every (i, j), i < j, i or j a query, with ROUGE-L > threshold: exact.

    Prune with a sound bound: LCS <= sum over shared token types of min(count_i, count_j)
    <= min(sum of i's counts of types j has, the same the other way round).
    """
    counts = _count_matrix(tokens)
    present = (counts > 0).astype(np.float32)
    lengths = np.array([len(t) for t in tokens], dtype=np.float32)
    found = set()
    for start in range(0, len(queries), 200):
        q = np.array(queries[start : start + 200])
        bound = np.minimum((present @ counts[q].T).toarray(), (counts @ present[q].T).toarray())
        f_bound = 2 * bound / (lengths[:, None] + lengths[q][None, :])  # [N, queries]
        for j, k in zip(*np.nonzero(f_bound > NOVELTY_THRESHOLD), strict=True):
            i = int(q[k])
            if i != j and rouge_l(tokens[i], tokens[j]) > NOVELTY_THRESHOLD:
                found.add((min(i, int(j)), max(i, int(j))))
    return found


def bench_novelty(n: int, sample: int, timing_pairs: int, seed: int = 0) -> dict:
    texts = make_instructions(n, seed=seed)
    start = time.perf_counter()
    verdicts = NoveltyFilter().filter(texts)
    ours_s = time.perf_counter() - start
    kept = [v.novel for v in verdicts]
    tokens = [text_tokens(t) for t in texts]
    rng = random.Random(seed + 1)
    queries = rng.sample(range(n), min(sample, n))
    truth = similar_pairs(tokens, queries)
    missed = [p for p in truth if kept[p[0]] and kept[p[1]]]
    pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(timing_pairs)]
    start = time.perf_counter()
    for i, j in pairs:
        rouge_l(tokens[i], tokens[j])
    per_pair = (time.perf_counter() - start) / timing_pairs
    pairwise_s = per_pair * n * (n - 1) / 2
    return {
        "instructions": n,
        "kept": sum(kept),
        "novelty_seconds": round(ours_s, 2),
        "sample_queries": len(queries),
        "true_pairs": len(truth),
        "missed_pairs": len(missed),
        "recall": round(1 - len(missed) / len(truth), 4) if truth else None,
        "pairwise_seconds_extrapolated": round(pairwise_s, 1),
        "speedup_vs_pairwise": round(pairwise_s / ours_s, 1),
    }


# ---------------------------------------------------------------- (a) client


def _prompts(n: int, tag: str) -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": f"{tag} request {i}"}] for i in range(n)]


def _throughput(server, n: int, concurrency: int, transport: str) -> tuple[float, float, int]:
    client = TeacherClient(server.url, "teacher", concurrency=concurrency, transport=transport)
    # No warm-up: each run() opens its own connections, so the timed run includes that, as a
    # synth run does (the plain-aiohttp ceiling below is timed the same way).
    start, cpu = time.perf_counter(), time.process_time()
    replies = client.run(_prompts(n, f"throughput {transport}"))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return n / seconds, 1000 * cpu / n, sum(r is not None for r in replies)


async def _plain_aiohttp(url: str, n: int, concurrency: int) -> float:
    """What this machine allows: aiohttp posting the same bodies, no openai layer, no retries."""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int, tag: str) -> None:
            async with gate:
                body = {"model": "teacher", "messages": _prompts(1, f"{tag} {i}")[0]}
                async with session.post(f"{url}/chat/completions", json=body) as resp:
                    await resp.json()

        start = time.perf_counter()
        await asyncio.gather(*(one(i, "plain") for i in range(n)))
        return n / (time.perf_counter() - start)


def bench_throughput(server, n: int, concurrency: int, delay: float) -> dict:
    """Ours (aiohttp transport) vs the same client on openai's default httpx transport, and
    plain aiohttp without openai as the machine's ceiling."""
    server.control(delay=delay, storm_s=0.0)
    for transport in ("auto", "httpx"):  # imports and the TLS context: once per process, untimed
        TeacherClient(server.url, "teacher", transport=transport).run(_prompts(1, transport))
    rate, cpu_ms, done = _throughput(server, n, concurrency, "auto")
    base_rate, base_cpu_ms, _ = _throughput(server, n, concurrency, "httpx")
    plain = asyncio.run(_plain_aiohttp(server.url, n, concurrency))
    ideal = concurrency / delay
    return {"requests": n, "completed": done, "req_per_s": round(rate, 1),
            "ideal_req_per_s": ideal, "ratio_to_ideal": round(rate / ideal, 3),
            "client_cpu_ms_per_request": round(cpu_ms, 2),
            "httpx_req_per_s": round(base_rate, 1),
            "httpx_client_cpu_ms_per_request": round(base_cpu_ms, 2),
            "plain_aiohttp_req_per_s": round(plain, 1),
            "ratio_to_plain_aiohttp": round(rate / plain, 3)}  # fmt: skip


async def _openai_defaults(url: str, prompts: list, concurrency: int) -> list[float | None]:
    """Baseline: the openai package's own retry policy (max_retries=2), same concurrency."""
    import openai
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key="EMPTY")
    gate = asyncio.Semaphore(concurrency)

    async def one(messages) -> float | None:
        async with gate:
            try:
                await client.chat.completions.create(model="teacher", messages=messages)
                return time.perf_counter()
            except openai.APIError:
                return None

    try:
        return await asyncio.gather(*(one(m) for m in prompts))
    finally:
        await client.close()


def bench_storm(server, n: int, concurrency: int, delay: float, storm_s: float, retry: str) -> dict:
    server.control(delay=delay, storm_s=storm_s, retry_after=retry)
    client = TeacherClient(server.url, "teacher", concurrency=concurrency)
    start = time.perf_counter()
    replies = client.run(_prompts(n, "storm"))
    ours_s = time.perf_counter() - start
    server.control(storm_s=storm_s)  # the same storm again for the baseline
    start = time.perf_counter()
    done = asyncio.run(_openai_defaults(server.url, _prompts(n, "baseline"), concurrency))
    base_s = time.perf_counter() - start
    server.control(storm_s=0.0)
    return {"requests": n, "storm_s": storm_s, "retry_after": retry,
            "completed": sum(r is not None for r in replies),
            "seconds": round(ours_s, 2), "after_storm_s": round(ours_s - storm_s, 2),
            "longest_wait_s": round(client.usage.longest_wait_s, 3),
            "retries_429": client.usage.retries.get("429", 0),
            "openai_defaults_completed": sum(d is not None for d in done),
            "openai_defaults_seconds": round(base_s, 2)}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    args = parser.parse_args(argv)
    if args.smoke:
        sizes = dict(tp=32, storm_n=32, storm_s=0.2, retry="0.05", n=1000, sample=100, pairs=1000,
                     delay=0.05)  # fmt: skip
    else:
        sizes = dict(tp=1600, storm_n=640, storm_s=20.0, retry="2", n=50_000, sample=1000,
                     pairs=20_000, delay=0.2)  # fmt: skip
    with ScriptedServer() as server:
        throughput = bench_throughput(server, sizes["tp"], 32, sizes["delay"])
        print("throughput:", json.dumps(throughput), flush=True)
        storm = bench_storm(server, sizes["storm_n"], 32, sizes["delay"], sizes["storm_s"],
                            sizes["retry"])  # fmt: skip
        print("429 storm:", json.dumps(storm), flush=True)
    novelty = bench_novelty(sizes["n"], sizes["sample"], sizes["pairs"])
    print("novelty:", json.dumps(novelty), flush=True)
    result = {"ratio": throughput["ratio_to_ideal"], "smoke": args.smoke,
              "load_average_1m_at_end": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
              "throughput": throughput, "storm": storm, "novelty": novelty}  # fmt: skip
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
