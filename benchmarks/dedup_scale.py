"""`data dedup` past one process: MB/s per core of the local engine (1 process, --num-proc 2)
and of `--engine ray` with 1 and 2 workers, on a generated corpus, with Ray's fixed cost apart.

Corpus: documents of 8-40 sentences drawn from the bundled corpora's sentences (Chinese and
English), plus near copies (a sentence dropped) and exact copies, written as jsonl.
Each engine runs `dedup_documents` end to end (read, hash, band, cluster, write); all four must
write the same bytes. Ray runs on one local instance with 2 CPUs started before the timed runs:
its start-up and its first (warm-up) job are the fixed overhead, reported apart, and the
break-even size is where that overhead is paid back. MB/s per core = input MB / seconds /
processes doing the work (1, 2, 1 worker, 2 workers); "per core in use" also counts the driver
(reading, keeping signatures, writing: a busy process beside the workers), capped at the CPUs.
Baseline: the Ray 1-worker run (RESULT ratio = 2-worker / 1-worker throughput, target >= 1.8
at 100 MB+); data-juicer's Ray MinHash figure, 0.39 MB/s per core, is the second reference.
Run: .venv/bin/python benchmarks/dedup_scale.py [--mb 100]   (--smoke: 2 MB, a few seconds of
work plus Ray's start-up).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from domaintune.data.dedup import dedup_documents
from domaintune.resources import data_path

_SENT = re.compile(r"(?<=[。！？!?.])\s*")
DATA_JUICER_MB_S_PER_CORE = 0.39  # 5 TB in 168 min on 1,280 cores (issue 18)


def sentences() -> list[str]:
    found: set[str] = set()
    for name in ("domain_corpus_zh", "domain_corpus_en", "general_corpus"):
        for line in data_path(f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            found.update(s.strip() for s in _SENT.split(json.loads(line)["text"]) if len(s) > 8)
    return sorted(found)


def make_corpus(path: Path, megabytes: float, seed: int = 0) -> dict[str, int]:
    """Write about `megabytes` MB of jsonl documents; 10% near copies, 5% exact copies."""
    rng, pool = random.Random(seed), sentences()
    target, size, kinds = megabytes * 1e6, 0, {"base": 0, "near": 0, "exact": 0}
    docs: list[list[str]] = []
    with path.open("w", encoding="utf-8") as f:
        while size < target:
            roll = rng.random()
            if docs and roll < 0.10:
                parts = list(rng.choice(docs))
                del parts[rng.randrange(len(parts))]
                kind = "near"
            elif docs and roll < 0.15:
                parts, kind = rng.choice(docs), "exact"
            else:
                parts, kind = rng.sample(pool, rng.randint(8, 40)), "base"
                docs.append(parts)
                docs = docs[-2000:]  # copies of recent documents: copies land in later blocks
            kinds[kind] += 1
            line = json.dumps({"id": f"d{sum(kinds.values())}", "text": " ".join(parts)},
                              ensure_ascii=False) + "\n"  # fmt: skip
            f.write(line)
            size += len(line.encode("utf-8"))
    return kinds


DRIVER_CPU: dict[str, float] = {}  # run -> the driver process's CPU seconds / wall seconds


def timed_dedup(src: Path, out: Path, name: str = "", **kwargs) -> tuple[float, str, int]:
    start, cpu = time.perf_counter(), time.process_time()
    result = dedup_documents(src, out, **kwargs)
    seconds = time.perf_counter() - start
    DRIVER_CPU[name] = round((time.process_time() - cpu) / seconds, 2)
    return seconds, hashlib.sha256(out.read_bytes()).hexdigest(), result.counts.kept


def _spin(loops: int) -> float:
    start, x = time.perf_counter(), 0
    for i in range(loops):
        x += i
    return time.perf_counter() - start


def machine_scaling(loops: int = 20_000_000) -> float:
    """What this machine gives 2 processes right now: throughput of a pure-Python loop in 2
    processes at once over 1 process alone (2.0 on 2 free cores; less when others use them)."""
    import multiprocessing

    one = _spin(loops)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [1000, 1000])  # processes started and warm
        start = time.perf_counter()
        pool.map(_spin, [loops, loops])
        two = time.perf_counter() - start
    return round(2 * one / two, 2)


PHASES: dict[str, dict[str, float]] = {}  # run -> phase -> wall seconds (--phases)


def time_phases(name: str) -> contextlib.AbstractContextManager:
    """Time dedup's phases on Ray: hashing (workers read + sign, the driver keeps signatures),
    band buckets, components, writing (workers read, the driver writes); the rest is the
    driver's planning (estimated Jaccard, keep rule)."""
    import domaintune.data.dedup as dedup_mod
    from domaintune.data.ray_engine import RayEngine

    phases = PHASES.setdefault(name, {})
    stack = contextlib.ExitStack()

    def timed(label: str, fn):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[label] = round(time.perf_counter() - start, 2)

        return run

    def timed_iter(fn):
        labels = iter(("hashing", "writing"))

        def run(*args, **kwargs):
            label, start = next(labels), time.perf_counter()
            yield from fn(*args, **kwargs)
            phases[label] = round(time.perf_counter() - start, 2)

        return run

    patches = [
        (dedup_mod, "map_rows", timed_iter(dedup_mod.map_rows)),
        (RayEngine, "band_pairs", timed("band_buckets", RayEngine.band_pairs)),
        (RayEngine, "components", timed("components", RayEngine.components)),
    ]
    for owner, attr, new in patches:
        stack.callback(setattr, owner, attr, getattr(owner, attr))
        setattr(owner, attr, new)
    return stack


def ray_fixed_overhead(stack) -> dict[str, float]:
    """Seconds to start a local Ray (2 CPUs) and to run a first one-document job on it."""
    from domaintune.data.ray_engine import RayEngine, ray_session

    start = time.perf_counter()
    stack.enter_context(ray_session(None, 2))
    init = time.perf_counter() - start
    start = time.perf_counter()
    assert list(RayEngine().ordered_map(lambda c: c, ["x"])) == ["x"]
    return {"ray_init_s": round(init, 2), "first_job_s": round(time.perf_counter() - start, 2)}


def components_only(edges: int, partitions: int = 2) -> None:
    """--components M: dedup's connected components on M random edges over 2M nodes, the
    driver's union-find (the baseline) against large-star/small-star on Ray; same labels."""
    import numpy as np

    from domaintune.data.dedup import _union_find
    from domaintune.data.ray_components import components_on_ray
    from domaintune.data.ray_engine import ray_session

    graph = np.random.default_rng(1).integers(0, 2 * edges, (edges, 2))
    load_at_start = round(os.getloadavg()[0], 2)
    start = time.perf_counter()
    expected = np.asarray(_union_find(2 * edges, graph))
    local = time.perf_counter() - start
    with ray_session(None, partitions):
        start = time.perf_counter()
        labels, rounds = components_on_ray(2 * edges, graph, partitions=partitions)
        ray_s = time.perf_counter() - start
    if not np.array_equal(labels, expected):
        raise SystemExit("components on Ray differ from the union-find")
    print(f"{edges} edges: union-find {local:.2f} s, Ray {partitions} partitions {ray_s:.2f} s "
          f"({rounds} rounds)")  # fmt: skip
    result = {"ratio": round(local / ray_s, 3), "edges": edges, "union_find_s": round(local, 2),
              "ray_s": round(ray_s, 2), "rounds": rounds, "partitions": partitions,
              "load_avg_1min": [load_at_start, round(os.getloadavg()[0], 2)]}  # fmt: skip
    print("RESULT " + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=100.0, help="corpus size in MB")
    parser.add_argument("--smoke", action="store_true", help="2 MB: checks the script runs")
    parser.add_argument(
        "--phases", action="store_true", help="also time dedup's phases in the Ray runs"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each engine N times, alternating within each pair; report the medians",
    )
    parser.add_argument(
        "--worker-niceness",
        type=int,
        default=None,
        help="diagnostic: Ray's worker niceness (Ray's default, 15, yields the CPU to every "
        "other process on a busy machine); not what a user gets unless they set it too",
    )
    parser.add_argument(
        "--components",
        type=int,
        default=None,
        metavar="EDGES",
        help="only compare connected components: union-find vs Ray on EDGES random edges",
    )
    args = parser.parse_args()
    if args.components is not None:
        components_only(args.components)
        return
    megabytes = 2.0 if args.smoke else args.mb
    if args.worker_niceness is not None:  # read by the raylet that ray.init starts
        os.environ["RAY_worker_niceness"] = str(args.worker_niceness)  # noqa: SIM112 (its name)
    load_at_start = round(os.getloadavg()[0], 2)
    spin = 2_000_000 if args.smoke else 20_000_000
    scaling = [machine_scaling(spin)]  # before and after the runs: the ceiling for 2 processes
    print(f"machine: 2 processes of pure CPU work run {scaling[0]}x as fast as 1", flush=True)
    from contextlib import ExitStack

    from domaintune.data.ray_engine import RayEngine

    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        src = Path(tmp) / "corpus.jsonl"
        kinds = make_corpus(src, megabytes)
        mb = src.stat().st_size / 1e6
        print(f"corpus: {mb:.1f} MB, {sum(kinds.values())} documents {kinds}", flush=True)
        runs: dict[str, tuple[int, dict]] = {
            "local_1proc": (1, {}),
            "local_2proc": (2, {"num_proc": 2}),
        }
        results, times = {}, {}
        # --repeat N: the two engines of a pair alternate (1, 2, 1, 2 ...), so drifting load on
        # a shared machine hits both alike; each one's time is its median.
        for _ in range(args.repeat):
            for name, (cores, kwargs) in runs.items():
                out = Path(tmp) / f"{name}.jsonl"
                results[name] = (cores, *timed_dedup(src, out, name, **kwargs))
                times.setdefault(name, []).append(results[name][1])
                print(f"{name}: {results[name][1]:.1f} s", flush=True)
        overhead = ray_fixed_overhead(stack)
        print(f"ray fixed overhead: {overhead}", flush=True)
        for _ in range(args.repeat):
            for workers in (1, 2):
                name = f"ray_{workers}worker"
                engine = RayEngine(workers=workers)
                out = Path(tmp) / f"{name}.jsonl"
                with time_phases(name) if args.phases else contextlib.nullcontext():
                    results[name] = (workers, *timed_dedup(src, out, name, engine=engine))
                times.setdefault(name, []).append(results[name][1])
                if args.phases:
                    phases = PHASES[name]
                    phases["rest"] = round(results[name][1] - sum(phases.values()), 2)
                    print(f"{name} phases (s): {phases}", flush=True)
                print(f"{name}: {results[name][1]:.1f} s", flush=True)
        for name, (cores, _, digest, kept) in results.items():
            results[name] = (cores, statistics.median(times[name]), digest, kept)
    scaling.append(machine_scaling(spin))
    digests = {r[2] for r in results.values()}
    per_core = {n: round(mb / s / c, 3) for n, (c, s, _, _) in results.items()}
    # The driver (reading, signatures kept, writing) is a busy process too: cores in use =
    # workers + the driver (local 1 process: itself), at most the machine's CPUs.
    cpus = os.cpu_count() or 1
    used = {n: min(c + (n != "local_1proc"), cpus) for n, (c, _, _, _) in results.items()}
    per_used = {n: round(mb / results[n][1] / used[n], 3) for n in results}
    seconds = {n: round(s, 2) for n, (_, s, _, _) in results.items()}
    ratio = seconds["ray_1worker"] / seconds["ray_2worker"]
    fixed = overhead["ray_init_s"] + overhead["first_job_s"]
    best_local = min(seconds["local_1proc"], seconds["local_2proc"]) / mb  # s per MB
    ray_rate = seconds["ray_2worker"] / mb
    breakeven = fixed / (best_local - ray_rate) if best_local > ray_rate else None
    for name in results:
        print(f"{name:12s} {seconds[name]:8.2f} s {per_core[name]:8.3f} MB/s per worker "
              f"{per_used[name]:8.3f} MB/s per core in use ({used[name]}), "
              f"driver CPU {DRIVER_CPU[name]:.2f}")  # fmt: skip
    print(f"machine 2 / 1 processes (pure CPU, before, after): {scaling}")
    print(f"ray 2 workers / 1 worker: {ratio:.2f}x; fixed overhead {fixed:.1f} s; "
          f"break-even vs best local: {breakeven and round(breakeven)} MB")  # fmt: skip
    result = {
        "ratio": round(ratio, 3),
        "mb": round(mb, 2),
        "documents": sum(kinds.values()),
        "seconds": seconds,
        "mb_s_per_core": per_core,
        "mb_s_per_core_in_use": per_used,
        "cores_in_use": used,
        "fixed_overhead_s": overhead,
        "breakeven_mb_vs_best_local": breakeven and round(breakeven, 1),
        "data_juicer_mb_s_per_core": DATA_JUICER_MB_S_PER_CORE,
        "same_output": len(digests) == 1,
        "kept": results["local_1proc"][3],
        "cpus": os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "load_avg_1min_at_start": load_at_start,
        # the driver's share of one core while each run lasted (reading, signatures, writing)
        "driver_cpu_share": DRIVER_CPU,
        "ray_phases_s": PHASES or None,
        "ray_worker_niceness": args.worker_niceness,
        # the baseline for "ratio": 2 spinning processes / 1, before and after the runs
        "machine_2proc_scaling": scaling,
        "repeat": args.repeat,
        "all_seconds": {n: [round(t, 2) for t in ts] for n, ts in times.items()},
    }
    if len(digests) != 1:
        raise SystemExit(f"engines wrote different outputs: {result}")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
