"""Peak memory (RSS) vs input size for `data clean`, `data dedup` and `data validate --tokenizer`.

Each command runs as the CLI in its own process; its peak RSS is the ru_maxrss that os.wait4
returns for that process alone. Two input shapes per size S: one document (or one alpaca
sample, for validate) of S MiB, the huge-document case, and S MiB of ~2 KiB documents. The text
is zh and en sentences of the bundled corpora in random order. The baseline is the target from
issue 20: `data dedup` of a 20 MB document under 1.5 GiB; `ratio` = 1536 MiB / dedup's peak on
the largest single document (above 1: within the target).
Run: .venv/bin/python benchmarks/data_memory.py [--sizes 1,5,20] [--smoke]
(the 20 MiB single document takes minutes in `data clean`: ftfy and the quality rules)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from domaintune.io import write_jsonl
from domaintune.resources import data_path

TARGET_MIB = 1536
_SENT = re.compile(r"(?<=[。！？!?.])\s*")


def sentences() -> list[str]:
    out = []
    for name in ("domain_corpus_zh", "domain_corpus_en"):
        for line in Path(data_path(f"{name}.jsonl")).read_text(encoding="utf-8").splitlines():
            out += [s for s in _SENT.split(json.loads(line)["text"]) if len(s) > 8]
    return out


def text_of(mib: float, rng: random.Random, pool: list[str]) -> str:
    """About `mib` MiB of UTF-8 text: sentences in random order, a paragraph every eight."""
    parts, size, target = [], 0, int(mib * 2**20)
    while size < target:
        s = rng.choice(pool) + ("\n" if len(parts) % 8 == 7 else "")
        parts.append(s)
        size += len(s.encode("utf-8"))
    return "".join(parts)


def write_inputs(folder: Path, mib: float, rng: random.Random, pool: list[str]) -> dict:
    """Input files for one size: documents and alpaca rows, one huge or many small."""
    one = text_of(mib, rng, pool)
    many = [text_of(2 / 1024, rng, pool) for _ in range(max(1, int(mib * 512)))]
    files = {
        "one_doc": [{"id": "huge", "text": one}],
        "many_docs": [{"id": f"d{i}", "text": t} for i, t in enumerate(many)],
        "one_sample": [{"instruction": "Summarise this.", "output": one}],
        "many_samples": [{"instruction": "Summarise.", "output": t} for t in many],
    }
    paths = {}
    for name, rows in files.items():
        paths[name] = folder / f"{name}_{mib}.jsonl"
        write_jsonl(paths[name], rows)
    return paths


def peak_rss(args: list[str], timeout: float) -> tuple[float, float, int]:
    """(peak MiB, seconds, exit code) of one CLI run in its own process (-9: timed out)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "domaintune.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)  # this process's own rusage
    timer.cancel()
    code = os.waitstatus_to_exitcode(status)
    return round(usage.ru_maxrss / 1024, 1), round(time.perf_counter() - start, 2), code


def tokenizer_dir(folder: Path, pool: list[str]) -> Path:
    """A small BPE tokenizer trained on the sentences (validate's --tokenizer)."""
    from domaintune.models import train_tokenizer

    out = folder / "tokenizer"
    train_tokenizer(pool[:2000], vocab_size=1024).save_pretrained(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,20", help="input sizes in MiB")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--smoke", action="store_true", help="one 0.2 MiB document, seconds")
    args = parser.parse_args()
    sizes = [0.2] if args.smoke else [float(s) for s in args.sizes.split(",")]
    shapes = ("one",) if args.smoke else ("one", "many")
    rng, pool = random.Random(0), sentences()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tok = tokenizer_dir(folder, pool)
        for mib in sizes:
            paths = write_inputs(folder, mib, rng, pool)
            out = str(folder / "out.jsonl")
            for shape in shapes:
                docs = str(paths["one_doc" if shape == "one" else "many_docs"])
                samples = str(paths["one_sample" if shape == "one" else "many_samples"])
                runs = {
                    "clean": ["data", "clean", docs, out],
                    "dedup": ["data", "dedup", docs, out],
                    "validate": ["data", "validate", samples, "--tokenizer", str(tok)],
                }
                for stage, cli in runs.items():
                    peak, secs, code = peak_rss(cli, args.timeout)
                    row = {"stage": stage, "shape": shape, "mib": mib, "peak_mib": peak,
                           "seconds": secs, "exit": code}  # fmt: skip
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    largest = max(sizes)
    dedup_peak = next(
        r["peak_mib"]
        for r in rows
        if r["stage"] == "dedup" and r["shape"] == "one" and r["mib"] == largest
    )
    result = {
        "rows": rows,
        "target_mib": TARGET_MIB,
        "dedup_one_doc_mib": largest,
        "ratio": round(TARGET_MIB / dedup_peak, 2),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
