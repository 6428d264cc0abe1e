"""SFT training throughput: domaintune vs transformers' Trainer and TRL's SFTTrainer, on CPU.

Data: conversations generated deterministically from the bundled data with a long-tailed length
distribution like real SFT sets (prompt 10-80 tokens; answer lengths Pareto-distributed, so most
are short and a few reach max_len). Nothing is truncated: every conversation fits in max_len.
Model: the built-in tiny Qwen2 (hidden 256, 4 layers, vocab 8192, sdpa), fp32, one init for all.

Setups (same model init, conversations, max_len, lr 1e-4 constant, no warmup, seed 42, steps):
- domaintune: `build_sft_dataset(pack=True)` (best-fit-decreasing packing, position ids restart
  per conversation) + `run_training(packed=True)`; B rows of up to max_len per step.
- trainer: transformers' Trainer on the same encoded conversations (same tokens and labels), one
  conversation per row, DataCollatorForSeq2Seq (right padding, labels -100 on prompt and padding).
  Rows per step = B * conversations per packed row, rounded: the same number of conversations,
  and so in expectation the same real tokens, per step as domaintune.
- trainer_grouped: the same with `train_sampling_strategy="group_by_length"` (the old
  `group_by_length=True`).
- trl: SFTTrainer, prompt/completion conversational data (completion_only_loss), `packing=True`
  with its default strategy (bfd, which turns on padding-free: a batch is one flattened row),
  max_length = max_len, B packed rows per step.

Each setup runs in its own subprocess (separate peak RSS) with --threads torch threads. Timed: from
the end of optimizer step `--warmup` to the end of the last step (each timed step includes its
batch fetch and collation, forward, backward, optimizer step and the previous step's log).
Figures: real (non-padding) input tokens per second of wall time and per CPU second (steadier
when other work shares the machine), padding share of token slots, peak RSS, loss; `--repeats`
runs the setups round-robin and keeps each one's fastest run; `--profile` profiles 3 steps and
splits them into LM head / attention / matmul / elementwise / optimizer / Python time.
On a GPU (benchmarks/gpu_check.py runs it there) `--dtype bfloat16` loads every setup's weights in
bf16; the timing window waits for the GPU's queued work at both ends.
--smoke: 24 conversations, max_len 256, 3 steps, a 2-layer hidden-64 model, every setup in this
process (seconds; a check that each setup still runs, not a measurement).
Run: .venv/bin/python benchmarks/train_throughput.py [--method lora] [--repeats 2] [--profile]
     [--smoke]
See docs/benchmarks-train.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETUPS = ("domaintune", "trainer", "trainer_grouped", "trl")
SEED = 42
PROFILE_STEPS = 3  # --profile: optimizer steps profiled after the warmup
TOP_OPS = 8  # --profile: ops listed by self time
MIN_CPU_USE = 0.9  # a setup that got less of its cores than this was disturbed
PARETO_ALPHA = 1.2  # answer tokens = 20 * Pareto(1.2): median ~36, ~15% over 100, ~3% over 400
TEMPLATE_SLACK = 16  # ChatML markup (~9 tokens) plus merges at the excerpt boundaries


# ----------------------------------------------------------------------------- data


def corpus_excerpts(tokenizer):
    """A function n -> text of about n tokens, cut at token boundaries of the bundled corpora."""
    from transformers.utils import logging as hf_logging

    from domaintune.io import read_documents
    from domaintune.resources import data_path

    text = "\n\n".join(
        d.text
        for name in ("domain_corpus_zh.jsonl", "domain_corpus_en.jsonl")
        for d in read_documents(data_path(name))
    )
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the corpus is longer than model_max_length: it is not fed
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    hf_logging.set_verbosity(verbosity)
    offsets = enc["offset_mapping"]

    def excerpt(n: int, rng: random.Random) -> str:
        start = rng.randrange(len(offsets) - n)
        return text[offsets[start][0] : offsets[start + n - 1][1]].strip()

    return excerpt


def make_conversations(tokenizer, n: int, max_len: int, seed: int = 0) -> list[dict]:
    """`n` conversations (canonical dicts): instruction (+ context) prompt, long-tailed answer."""
    from domaintune.io import read_conversations
    from domaintune.resources import data_path

    rng = random.Random(seed)
    instructions = [
        c.messages[0].content for c in read_conversations(data_path("sft_domain_alpaca.jsonl"))
    ]
    excerpt = corpus_excerpts(tokenizer)
    convs = []
    for i in range(n):
        instruction = rng.choice(instructions)
        target = rng.randint(10, 80)
        have = len(tokenizer(instruction, add_special_tokens=False)["input_ids"])
        prompt = (
            instruction if have >= target else instruction + "\n\n" + excerpt(target - have, rng)
        )
        prompt_len = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        cap = max_len - prompt_len - TEMPLATE_SLACK
        answer_len = min(cap, round(20 * rng.paretovariate(PARETO_ALPHA)))
        messages = [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": excerpt(answer_len, rng)},
        ]
        convs.append({"id": f"bench-{i}", "messages": messages, "system": None})
    return convs


def percentiles(values: list[int], qs=(10, 50, 90, 99, 100)) -> dict[str, int]:
    s = sorted(values)
    return {f"p{q}": s[min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1)] for q in qs}


# ----------------------------------------------------------------------------- measuring


def step_callbacks(warmup: int, last: int, profile: bool):
    """A TrainerCallback timing (or profiling) optimizer steps `warmup`+1 .. `last`."""
    import torch
    from transformers import TrainerCallback

    class StepWindow(TrainerCallback):
        prof = None

        def on_step_end(self, args, state, control, **kwargs):
            if torch.cuda.is_available() and state.global_step in (warmup, last):
                torch.cuda.synchronize()  # the step's kernels are done: time the work, not launch
            if state.global_step == warmup:
                if profile:
                    self.prof = torch.profiler.profile(
                        activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True
                    )
                    self.prof.start()
                self.wall, self.cpu = time.perf_counter(), time.process_time()
            elif state.global_step == last:
                self.wall = time.perf_counter() - self.wall
                self.cpu = time.process_time() - self.cpu
                if self.prof is not None:
                    self.prof.stop()

    return StepWindow()


def counting(trainer_cls):
    """Subclass a Trainer to record (real tokens, token slots) of every training batch."""

    class Counting(trainer_cls):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.batch_counts: list[tuple[int, int]] = []

        def compute_loss(self, model, inputs, *args, **kwargs):
            if model.training:
                ids, mask = inputs["input_ids"], inputs.get("attention_mask")
                # padding-free batches (trl, bfd packing) have no mask and no padding
                real = int(mask.sum()) if mask is not None else ids.numel()
                self.batch_counts.append((real, ids.numel()))
            return super().compute_loss(model, inputs, *args, **kwargs)

    return Counting


def breakdown(prof, vocab_size: int, wall: float) -> dict[str, float]:
    """Seconds by kind of work, from the ops' self CPU time (main thread, so wall-clock)."""
    in_optimizer: set[int] = set()

    def mark(event) -> None:
        in_optimizer.add(id(event))
        for child in event.cpu_children:
            mark(child)

    events = list(prof.events())
    for e in events:
        if e.name.startswith("Optimizer."):
            mark(e)
    out = dict.fromkeys(CATEGORIES, 0.0)
    for e in events:
        t = e.self_cpu_time_total / 1e6
        name = e.name
        if id(e) in in_optimizer:
            out["optimizer"] += t
        elif not name.startswith("aten::"):
            out["autograd engine, annotations"] += t
        elif "embedding" in name or any(vocab_size in s for s in e.input_shapes or () if s):
            out["vocab: LM head, loss, embedding"] += t
        elif "scaled_dot_product" in name or "attention" in name:
            out["attention kernel"] += t
        elif name in ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear"):
            out["matmul: q/k/v/o, MLP"] += t
        else:
            out["elementwise, norms, rope, copies"] += t
    out["python, trainer, collator (not in ops)"] = wall - sum(out.values())
    return out


CATEGORIES = (
    "vocab: LM head, loss, embedding",
    "attention kernel",
    "matmul: q/k/v/o, MLP",
    "elementwise, norms, rope, copies",
    "optimizer",
    "autograd engine, annotations",
    "python, trainer, collator (not in ops)",
)


def collate_ms(collate, rows: list, k: int, n: int = 10) -> float:
    """Milliseconds to collate one step's batch of `k` random rows (mean of `n`)."""
    rng = random.Random(SEED)
    start = time.perf_counter()
    for _ in range(n):
        collate(rng.sample(rows, k))
    return (time.perf_counter() - start) / n * 1000


def train_counted(trainer, args) -> dict:
    """Train a `counting` trainer; real tokens and slots of the timed steps, and the losses."""
    trainer.train()
    timed = trainer.batch_counts[args.warmup : args.steps]
    return {
        "real_tokens": sum(r for r, _ in timed),
        "slots": sum(s for _, s in timed),
        "losses": [row["loss"] for row in trainer.state.log_history if "loss" in row],
    }


# ----------------------------------------------------------------------------- setups


def load(args):
    from domaintune.models import load_model, load_tokenizer
    from domaintune.records import Conversation

    convs = [Conversation.from_dict(json.loads(line)) for line in args.data.open()]
    return load_model(args.model, dtype=args.dtype), load_tokenizer(args.model), convs


def lora_config():
    """The LoRA that domaintune's TrainSettings defaults to, for the baselines."""
    from peft import LoraConfig

    from domaintune.train.trainer import TrainSettings

    s = TrainSettings()
    return LoraConfig(
        task_type="CAUSAL_LM",
        r=s.lora_r,
        lora_alpha=s.lora_alpha,
        lora_dropout=s.lora_dropout,
        target_modules=s.lora_target_modules,
    )


def common_args(args) -> dict:
    """TrainingArguments of the baselines (domaintune gets the same through TrainSettings)."""
    import torch

    return dict(
        output_dir=str(args.workdir / f"{args.setup}-out"),
        per_device_train_batch_size=args.batch,
        max_steps=args.steps,
        learning_rate=1e-4,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=1.0,
        logging_steps=1,
        save_strategy="no",
        eval_strategy="no",
        seed=SEED,
        data_seed=SEED,
        use_cpu=not torch.cuda.is_available(),
        bf16=False,  # --dtype bfloat16 loads the weights in bf16 (pure bf16, as ours does)
        fp16=False,
        gradient_checkpointing=False,
        dataloader_num_workers=0,
        report_to="none",
    )


def run_domaintune(args, window) -> dict:
    from domaintune.train.data import PackedCollator, build_sft_dataset
    from domaintune.train.trainer import TrainSettings, run_training

    model, tok, convs = load(args)
    train_set, stats = build_sft_dataset(convs, tok, max_len=args.max_len, pack=True)
    settings = TrainSettings(
        method=args.method,
        batch_size=args.batch,
        max_steps=args.steps,
        logging_steps=1,
        eval_steps=10**9,
        save_steps=10**9,
        learning_rate=1e-4,
        warmup_ratio=0.0,
        lr_scheduler="constant",
        seed=SEED,
    )
    out = args.workdir / "domaintune-out"
    run_training(model, tok, train_set, {}, out, settings, packed=True, callbacks=[window])
    # metrics.jsonl has one row per step (logging_steps=1): cumulative real tokens, and the
    # padding share of that step's batch
    rows = {r["step"]: r for r in map(json.loads, (out / "metrics.jsonl").open()) if "loss" in r}
    seen = [rows[s]["tokens_seen"] for s in range(args.warmup, args.steps + 1)]
    per_step = [b - a for a, b in zip(seen, seen[1:], strict=False)]
    pads = [rows[s]["padding"] for s in range(args.warmup + 1, args.steps + 1)]
    slots = sum(n / (1 - p) for n, p in zip(per_step, pads, strict=True))
    if slots > len(per_step) * args.batch * args.max_len + 1:
        raise RuntimeError(f"metrics.jsonl counts {slots:.0f} token slots: more than B x max_len")
    return {
        "real_tokens": sum(per_step),
        "slots": round(slots),
        "losses": [rows[s]["loss"] for s in sorted(rows)],
        "rows_per_step": args.batch,
        "collate_ms": collate_ms(PackedCollator(tok.pad_token_id), train_set.rows, args.batch),
        "dataset": {"rows": len(train_set), **stats.to_dict()},
    }


def trainer_row(row: dict) -> dict:
    """One encoded conversation as the Trainer baselines get it: the model's inputs only.

    Our unpacked rows also carry `source` (each token's data source, for the per-source loss);
    DataCollatorForSeq2Seq would try to make a tensor of it and fail.
    """
    ids = row["input_ids"]
    return {"input_ids": ids, "labels": row["labels"], "attention_mask": [1] * len(ids)}


def run_trainer(args, window, *, grouped: bool) -> dict:
    from peft import get_peft_model
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments, set_seed

    from domaintune.train.data import ListDataset, build_sft_dataset

    model, tok, convs = load(args)
    unpacked, stats = build_sft_dataset(convs, tok, max_len=args.max_len, pack=False)
    rows = [trainer_row(r) for r in unpacked.rows]
    packed, _ = build_sft_dataset(convs, tok, max_len=args.max_len, pack=True)
    per_step = round(args.batch * len(rows) / len(packed))  # = conversations per step of ours
    model.config.use_cache = False
    if args.method == "lora":
        set_seed(SEED)
        model = get_peft_model(model, lora_config())
    targs = TrainingArguments(
        **{**common_args(args), "per_device_train_batch_size": per_step},
        train_sampling_strategy="group_by_length" if grouped else "random",
    )
    collator = DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=-100)
    trainer = counting(Trainer)(
        model=model,
        args=targs,
        train_dataset=ListDataset(rows),
        data_collator=collator,
        processing_class=tok,
        callbacks=[window],
    )
    return {
        **train_counted(trainer, args),
        "rows_per_step": per_step,
        "collate_ms": collate_ms(collator, rows, per_step),
        "dataset": {"rows": len(rows), **stats.to_dict()},
    }


def run_trl(args, window) -> dict:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    model, tok, convs = load(args)
    messages = [[m.to_dict() for m in c.messages] for c in convs]
    data = Dataset.from_list([{"prompt": m[:-1], "completion": m[-1:]} for m in messages])
    config = SFTConfig(
        **common_args(args),
        max_length=args.max_len,
        packing=True,  # default packing_strategy "bfd", which turns on padding_free
        completion_only_loss=True,
        dataset_num_proc=1,
    )
    trainer = counting(SFTTrainer)(
        model=model,
        args=config,
        train_dataset=data,
        processing_class=tok,
        peft_config=lora_config() if args.method == "lora" else None,
        callbacks=[window],
    )
    ds = trainer.train_dataset
    dataset = {
        "rows": len(ds),
        "tokens": sum(map(len, ds["input_ids"])),
        "trained_tokens": sum(t != -100 for labels in ds["labels"] for t in labels),
    }
    return {
        **train_counted(trainer, args),
        "rows_per_step": args.batch,
        "collate_ms": collate_ms(trainer.data_collator, list(ds), args.batch),
        "dataset": dataset,
        "packing_strategy": config.packing_strategy,
        "padding_free": trainer.padding_free,
    }


def child(args) -> None:
    """Run one setup in this process and write its figures to WORKDIR/SETUP.json."""
    import torch

    from domaintune.io import write_json

    torch.set_num_threads(args.threads)
    load_avg = os.getloadavg()[0]
    if args.profile:
        args.steps = args.warmup + PROFILE_STEPS
    window = step_callbacks(args.warmup, args.steps, args.profile)
    if args.setup == "domaintune":
        out = run_domaintune(args, window)
    elif args.setup == "trl":
        out = run_trl(args, window)
    else:
        out = run_trainer(args, window, grouped=args.setup == "trainer_grouped")
    out.update(
        seconds=round(window.wall, 3),
        cpu_seconds=round(window.cpu, 3),
        tokens_per_s=round(out["real_tokens"] / window.wall, 1),
        tokens_per_cpu_s=round(out["real_tokens"] / window.cpu, 1),
        # CPU seconds per wall second per thread: under 1 when other work took the cores
        cpu_use=round(window.cpu / window.wall / args.threads, 3),
        padding=round(1 - out["real_tokens"] / out["slots"], 4),
        final_loss=round(out["losses"][-1], 4),
        loss_last5=round(sum(out["losses"][-5:]) / len(out["losses"][-5:]), 4),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        threads=torch.get_num_threads(),
        load_avg_1min=round(load_avg, 2),
    )
    if window.prof is not None:
        from domaintune.models import load_tokenizer

        seconds = breakdown(window.prof, len(load_tokenizer(args.model)), window.wall)
        out["profile_s"] = {k: round(v, 4) for k, v in seconds.items()}
        ops = sorted(window.prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:TOP_OPS]
        out["top_ops_s"] = {e.key: round(e.self_cpu_time_total / 1e6, 4) for e in ops}
    write_json(args.workdir / f"{args.setup}.json", out)


# ----------------------------------------------------------------------------- driver


def prepare(args, workdir: Path) -> tuple[Path, dict]:
    """Build (or reuse) the tiny model, generate the conversations, return model dir and stats."""
    from domaintune.io import write_jsonl
    from domaintune.models import build_tiny_model, load_tokenizer
    from domaintune.records import Conversation
    from domaintune.train.data import encode_conversations

    if args.model:
        model_dir = Path(args.model)
    elif args.smoke:  # hidden 64, 2 layers (the same tokenizer)
        model_dir = build_tiny_model(workdir / "tiny", hidden_size=64, num_layers=2)
    else:
        model_dir = build_tiny_model(workdir / "tiny")
    tok = load_tokenizer(model_dir)
    convs = make_conversations(tok, args.samples, args.max_len)
    write_jsonl(workdir / "convs.jsonl", convs)
    samples = encode_conversations(
        [Conversation.from_dict(c) for c in convs], tok, max_len=args.max_len
    )
    lengths = [len(s.input_ids) for s in samples]
    answers = [s.trained for s in samples]
    info = {
        "conversations": len(convs),
        "encoded": len(samples),
        "tokens": sum(lengths),
        "mean_length": round(sum(lengths) / len(lengths), 1),
        "length_percentiles": percentiles(lengths),
        "answer_percentiles": percentiles(answers),
        "over_half_max_len": sum(n > args.max_len // 2 for n in lengths),
    }
    return model_dir, info


def print_table(results: dict) -> None:
    head = ("setup", "rows/step", "tokens/s", "tok/CPU-s", "CPU use", "padding", "seconds")
    head += ("real tokens", "collate ms", "peak RSS MB", "loss", "loss last5")
    print(("{:16s}" + " {:>11s}" * (len(head) - 1)).format(*head))
    for name, r in results.items():
        print(
            f"{name:16s} {r['rows_per_step']:11d} {r['tokens_per_s']:11.0f} "
            f"{r['tokens_per_cpu_s']:11.0f} {r['cpu_use']:11.0%} {r['padding']:11.1%} "
            f"{r['seconds']:11.1f} {r['real_tokens']:11d} {r['collate_ms']:11.1f} "
            f"{r['peak_rss_mb']:11.0f} {r['final_loss']:11.3f} {r['loss_last5']:11.3f}"
        )
    starved = [name for name, r in results.items() if r["cpu_use"] < MIN_CPU_USE]
    if starved:
        print(f"note: {', '.join(starved)}: under {MIN_CPU_USE:.0%} use of the --threads cores;")
        print("      other work on the machine slowed the run: rerun (or --repeats 2) to compare")


def print_profile(results: dict) -> None:
    """Milliseconds per 1000 real tokens by kind of work, and its share of the profiled steps.

    Other load on the machine stretches every op of the setup running at that time: the shares
    within a setup survive it, the milliseconds across setups do not.
    """
    print("profile: ms per 1000 real tokens (share of the step); profiler overhead included")
    print(("{:40s}" + " {:>16s}" * len(results)).format("", *results))
    for cat in (*CATEGORIES, "total"):
        cells = []
        for r in results.values():
            s = r["seconds"] if cat == "total" else r["profile_s"][cat]
            cells.append(f"{1e6 * s / r['real_tokens']:9.1f} ({s / r['seconds']:4.0%})")
        print(f"{cat:40s} " + " ".join(cells))
    for name, r in results.items():
        ops = ", ".join(f"{k.removeprefix('aten::')} {v:.2f}s" for k, v in r["top_ops_s"].items())
        print(f"{name} top ops by self time: {ops}")


def run_setups(args, setups: list[str], workdir: Path, model_dir: Path) -> dict:
    """Each setup in its own process, round-robin `--repeats` times; keep each one's fastest run.

    Other work on the machine slows whichever setup runs at that moment; the fastest of several
    interleaved runs is the least disturbed one (as `timeit` reports the minimum).
    """
    runs: dict[str, list[dict]] = {name: [] for name in setups}
    for r in range(args.repeats):
        for name in setups:
            print(f"running {name} ({r + 1}/{args.repeats}) ...", file=sys.stderr, flush=True)
            if args.smoke:  # every setup in this process: the libraries are imported once
                own = {"setup": name, "workdir": workdir, "model": str(model_dir)}
                child(argparse.Namespace(**{**vars(args), **own, "data": workdir / "convs.jsonl"}))
                runs[name].append(json.loads((workdir / f"{name}.json").read_text()))
                continue
            cmd = [sys.executable, __file__, "--setup", name, "--workdir", str(workdir)]
            cmd += ["--data", str(workdir / "convs.jsonl"), "--model", str(model_dir)]
            for opt in ("steps", "warmup", "batch", "max_len", "method", "threads", "dtype"):
                cmd += [f"--{opt.replace('_', '-')}", str(getattr(args, opt))]
            cmd += ["--profile"] if args.profile else []
            # the children's output (progress bars, warnings) goes to stderr: stdout ends in RESULT
            subprocess.run(cmd, check=True, stdout=sys.stderr)
            runs[name].append(json.loads((workdir / f"{name}.json").read_text()))
    results = {}
    for name, rs in runs.items():
        results[name] = max(rs, key=lambda x: x["tokens_per_s"])
        results[name]["tokens_per_s_runs"] = [x["tokens_per_s"] for x in rs]
        results[name]["load_avg_runs"] = [x["load_avg_1min"] for x in rs]
        results[name]["cpu_use_runs"] = [x["cpu_use"] for x in rs]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=12, help="optimizer steps per setup")
    parser.add_argument("--warmup", type=int, default=2, help="first steps left out of the timing")
    parser.add_argument("--batch", type=int, default=4, help="packed rows of max_len per step (B)")
    parser.add_argument("--samples", type=int, default=600, help="conversations to generate")
    parser.add_argument("--max-len", type=int, default=512)
    parser.add_argument("--method", choices=("full", "lora"), default="full")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per setup")
    parser.add_argument(
        "--dtype", choices=("float32", "bfloat16"), default="float32", help="weights' dtype"
    )
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma-separated subset")
    parser.add_argument("--model", default=None, help="tiny model dir (default: build one)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per setup (fastest kept)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"profile {PROFILE_STEPS} steps after the warmup instead of timing --steps",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, every setup in this process (seconds; figures not comparable)",
    )
    parser.add_argument("--setup", choices=SETUPS, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.warmup, args.batch, args.samples, args.max_len = 3, 1, 2, 24, 256
        args.repeats, args.profile, args.threads = 1, False, 1
    if args.warmup < 1 or args.warmup >= args.steps:
        parser.error("--warmup must be at least 1 and less than --steps")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    os.environ.update(
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS=str(args.threads),
    )
    if args.setup:
        child(args)
        return
    setups = [s for s in args.setups.split(",") if s]
    unknown = sorted(set(setups) - set(SETUPS))
    if unknown:
        parser.error(f"unknown setups {unknown}; choose from {', '.join(SETUPS)}")
    with tempfile.TemporaryDirectory(prefix="domaintune-train-bench-") as tmp:
        model_dir, info = prepare(args, Path(tmp))
        print(
            f"{info['conversations']} conversations, {info['tokens']} tokens, mean length "
            f"{info['mean_length']}, {info['over_half_max_len']} longer than max_len/2"
        )
        print(f"length percentiles (tokens): {info['length_percentiles']}")
        print(f"answer percentiles (trained tokens): {info['answer_percentiles']}")
        results = run_setups(args, setups, Path(tmp), model_dir)
    print_table(results)
    if args.profile:
        print_profile(results)
    result = {
        "method": args.method,
        "steps": PROFILE_STEPS + args.warmup if args.profile else args.steps,
        "timed_steps": PROFILE_STEPS if args.profile else args.steps - args.warmup,
        "profile": args.profile,
        "batch": args.batch,
        "max_len": args.max_len,
        "threads": args.threads,
        "dtype": args.dtype,
        "repeats": args.repeats,
        "smoke": args.smoke,
        "data": info,
        **results,
    }
    baselines = {k: v for k, v in results.items() if k != "domaintune"}
    if "domaintune" in results and baselines:
        ours = results["domaintune"]
        best = max(baselines, key=lambda k: baselines[k]["tokens_per_s"])
        ratio = ours["tokens_per_s"] / baselines[best]["tokens_per_s"]
        best_cpu = max(baselines, key=lambda k: baselines[k]["tokens_per_cpu_s"])
        ratio_cpu = ours["tokens_per_cpu_s"] / baselines[best_cpu]["tokens_per_cpu_s"]
        print(f"ours/best-baseline tokens/s: {ratio:.2f}x (best: {best})")
        print(f"ours/best-baseline tokens/CPU-s: {ratio_cpu:.2f}x (best: {best_cpu})")
        result.update(
            best_baseline=best,
            ratio=round(ratio, 3),
            best_baseline_cpu=best_cpu,
            ratio_cpu=round(ratio_cpu, 3),
        )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
