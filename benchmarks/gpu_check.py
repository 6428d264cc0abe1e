"""One GPU check, within 8 minutes on one GPU: the memory estimate vs the measured peak, packed
attention kernels vs samples one by one, bf16 training speed, serving speed, and the versions.

Sections, each with its own time budget and try/except (an error or a timeout is recorded in the
JSON, with the figures it had, and the next section runs): env, memory (Qwen2.5-0.5B's shape with
random weights: full / LoRA / QLoRA x seq 512 / 2048 x checkpointing off / on x batch 1 / 4,
measured vs `domaintune.memory.estimate`, term by term), attention (sdpa, per-sample SDPA and
flash_attention_2 when it imports: loss and gradients vs fp32 samples one by one, tokens/s),
training (benchmarks/train_throughput.py's setups in bf16), serving (benchmarks/serve.py's engine vs
a serial loop at 8 and 32 clients). What each measures and how: docs/gpu.md.
--dry-run: the same code paths at tiny sizes on the CPU (CUDA figures null), for the test suite.
Run: python benchmarks/gpu_check.py [--out FILE.json] [--sections memory,attention] [--dry-run]
The JSON is rewritten after every section; the last line is RESULT {json}, a summary whose
`ratio` is the training section's tokens/s, ours / the best baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

HERE = Path(__file__).resolve().parent
if importlib.util.find_spec("domaintune") is None:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(HERE.parent / "src"))
SECTIONS = ("env", "memory", "attention", "training", "serving")
# seconds; past budget + GRACE_S a section is interrupted (between two Python bytecodes), so the
# whole check ends within 8 minutes: 420 s of budgets + 5 x 10 s + start-up
BUDGET_S = {"env": 10, "memory": 150, "attention": 60, "training": 140, "serving": 60}
GRACE_S = 10
MEMORY_GRID = [  # every method once before any configuration twice, in case the budget runs out
    (method, seq, ckpt, batch)
    for seq in (512, 2048)
    for batch in (1, 4)
    for ckpt in (False, True)
    for method in ("full", "lora", "qlora")
]
DRY_MEMORY_GRID = [("full", 64, False, 2), ("lora", 64, True, 1), ("qlora", 64, False, 1)]
TARGET = 0.10  # issue 22: the estimate within 10% of the measured peak
LOSS_FLOOR, GRAD_FLOOR = 1e-3, 1e-2  # tolerance floors where bf16 alone errs less still


class SectionTimeout(Exception):
    """A section ran past its budget plus the grace period."""


@dataclass
class Ctx:
    """What every section gets: sizes (dry run or not), the device, a work folder, a deadline."""

    dry: bool
    device: str
    workdir: Path
    deadline: float = 0.0
    partial: dict = field(default_factory=dict)  # a section's figures so far (kept on failure)
    shared: dict = field(default_factory=dict)  # model folders built once, used by several

    def left(self) -> float:
        return self.deadline - time.monotonic()


def sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def load_benchmark(name: str):
    """A sibling script under benchmarks/ as a module (its functions, not its main)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------- env


def section_env(ctx: Ctx) -> dict:
    import torch

    out = {"python": platform.python_version(), "torch": torch.__version__}
    out["cuda"] = torch.version.cuda
    for lib in ("transformers", "peft", "trl", "accelerate", "bitsandbytes", "flash-attn"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[lib] = importlib.metadata.version(lib)  # without importing it
    if ctx.device != "cuda":
        return {**out, "gpu": None, "note": "no CUDA device: dry run on the CPU"}
    props = torch.cuda.get_device_properties(0)
    out.update(
        gpu=torch.cuda.get_device_name(0),
        gpu_memory_bytes=props.total_memory,
        capability=".".join(map(str, torch.cuda.get_device_capability(0))),
        cudnn=torch.backends.cudnn.version(),
        bf16_supported=torch.cuda.is_bf16_supported(),
    )
    query = ["nvidia-smi", "--query-gpu=driver_version,name", "--format=csv,noheader"]
    with contextlib.suppress(Exception):
        out["driver"] = subprocess.run(query, capture_output=True, text=True, timeout=15).stdout
        out["driver"] = out["driver"].strip()
    return out


# ----------------------------------------------------------------------------- models


def memory_model_config(dry: bool):
    """Qwen2.5-0.5B's shape (its config.json values), or a 2-layer hidden-64 one for --dry-run."""
    from transformers import Qwen2Config

    from domaintune.models import tiny_config

    if dry:
        return tiny_config("qwen2", 1024, hidden_size=64, num_layers=2, eos_id=0, pad_id=0)
    return Qwen2Config(
        vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
        num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
        rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
        attn_implementation="sdpa", use_cache=False,
    )  # fmt: skip


def memory_model(ctx: Ctx) -> Path:
    """Random weights from the config, saved once (safetensors, bf16) for every configuration."""
    if "memory_model" not in ctx.shared:
        import torch
        from transformers import AutoModelForCausalLM

        path = ctx.workdir / "qwen2-random"
        torch.manual_seed(0)
        with torch.device(ctx.device):
            model = AutoModelForCausalLM.from_config(
                memory_model_config(ctx.dry), dtype=torch.bfloat16
            )
        model.save_pretrained(path)
        del model
        free(ctx.device)
        ctx.shared["memory_model"] = path
    return ctx.shared["memory_model"]


def train_model(ctx: Ctx) -> Path:
    """The tiny model's tokenizer and recipe at hidden 896, 24 layers (hidden 64, 2: dry run)."""
    if "train_model" not in ctx.shared:
        from domaintune.models import build_tiny_model

        size = {"hidden_size": 64, "num_layers": 2} if ctx.dry else {"hidden_size": 896}
        size["num_layers"] = size.get("num_layers", 24)
        ctx.shared["train_model"] = build_tiny_model(ctx.workdir / "train-model", **size)
    return ctx.shared["train_model"]


def free(device: str) -> None:
    """Give the GPU's cached blocks back between configurations (nothing to do on the CPU)."""
    import torch

    if device == "cuda":
        gc.collect()  # models held in reference cycles (peft, hooks) go now, not later
        torch.cuda.empty_cache()


# ----------------------------------------------------------------------------- memory


def load_trainable(path: Path, method: str, ckpt: bool, device: str):
    """The model as our trainer would hold it for this method, with bf16 mixed precision."""
    from domaintune.models import load_model
    from domaintune.train.trainer import TrainSettings, apply_method

    if method == "qlora":
        qlora = {"quant_type": "nf4", "double_quant": True, "compute_dtype": "bfloat16"}
        model = load_model(path, quantization=qlora)  # on the GPU when there is one
    else:  # full: fp32 master weights under autocast; LoRA: a bf16 base
        model = load_model(path, dtype="float32" if method == "full" else "bfloat16")
        model.to(device)
    settings = TrainSettings(method=method, gradient_checkpointing=ckpt)
    model = apply_method(model, settings)
    if ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    return model, settings


def one_step(model, opt, batch: dict, device: str) -> int:
    """Forward (bf16 autocast), our loss, backward, AdamW step; returns the gradients' bytes."""
    import torch

    from domaintune.train.loss import LossComputer

    with torch.autocast(device, dtype=torch.bfloat16):
        ce = LossComputer()(model, dict(batch)).ce
    ce.mean().backward()
    grads = sum(p.grad.nelement() * p.grad.element_size() for p in grad_params(model))
    opt.step()
    opt.zero_grad(set_to_none=True)
    return grads


def grad_params(model) -> list:
    return [p for p in model.parameters() if p.requires_grad and p.grad is not None]


def estimate_for(cfg, method: str, seq: int, ckpt: bool, batch: int, settings, device: str):
    from domaintune.memory import RunSetup, estimate

    setup = RunSetup(
        method=method, precision="bf16", seq_len=seq, batch=batch, grad_ckpt=ckpt,
        lora_rank=settings.lora_r, lora_dropout=settings.lora_dropout,
        device="cuda" if device == "cuda" else "cpu",
    )  # fmt: skip
    return estimate(cfg.to_dict(), setup)


def measure_config(ctx: Ctx, method: str, seq: int, ckpt: bool, batch: int) -> dict:
    """Measured bytes (CUDA) around two optimizer steps, and the estimate's, term by term."""
    import torch

    cuda, cfg, path = ctx.device == "cuda", memory_model_config(ctx.dry), memory_model(ctx)
    mem = torch.cuda.memory_allocated if cuda else lambda: 0
    free(ctx.device)
    start = mem()
    model, settings = load_trainable(path, method, ckpt, ctx.device)
    m = {"weights": mem() - start}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    ids = torch.randint(0, cfg.vocab_size, (batch, seq), device=ctx.device)
    batch_in = {"input_ids": ids, "labels": ids.clone()}  # every position trained (CPT)
    peaks, reserved = [], []
    for step in (1, 2):  # step 1 allocates the AdamW states; step 2 is a steady one
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        m["gradients"] = one_step(model, opt, batch_in, ctx.device)
        if cuda:
            peaks.append(torch.cuda.max_memory_allocated() - start)
            reserved.append(torch.cuda.max_memory_reserved())
        if step == 1:
            m["persistent"] = mem() - start  # weights + optimizer states
    est = estimate_for(cfg, method, seq, ckpt, batch, settings, ctx.device)
    row = {"method": method, "seq_len": seq, "grad_ckpt": ckpt, "batch": batch}
    row["estimate"] = estimate_terms(est)
    if not cuda:
        row["measured"] = {"gradients": m["gradients"], "weights": None, "persistent": None}
        return row
    free_b, total_b = torch.cuda.mem_get_info()
    m.update(optimizer=m["persistent"] - m["weights"], allocated=max(peaks),
             transient=max(peaks) - m["persistent"], peak_steps=peaks,
             reserved=max(reserved), device_used=total_b - free_b)  # fmt: skip
    row["measured"] = m
    e = row["estimate"]  # estimate / measured, per term and in total
    row["ratio"] = {k: round(e[k] / v, 4) for k, v in m.items() if k in e and v}
    return row


def estimate_terms(est) -> dict:
    """The estimate's columns, its persistent and transient parts, reserved and device totals."""
    e = est.to_json()
    out = {k: e[k] for k in ("weights", "gradients", "optimizer", "activations", "allocated")}
    out["persistent"] = e["weights"] + e["optimizer"]
    out["transient"] = e["allocated"] - out["persistent"]
    out["reserved"] = e["total"] - est.term("cuda_context")  # allocated + fragmentation
    out["device_used"] = e["total"]  # + the CUDA context (nvidia-smi's view)
    return out


def section_memory(ctx: Ctx) -> dict:
    grid = DRY_MEMORY_GRID if ctx.dry else MEMORY_GRID
    rows = ctx.partial.setdefault("rows", [])
    for i, (method, seq, ckpt, batch) in enumerate(grid):
        if ctx.left() < 0:
            ctx.partial["skipped"] = [list(c) for c in grid[i:]]
            ctx.partial["note"] = "time budget spent: the configurations listed were not run"
            break
        try:
            rows.append(measure_config(ctx, method, seq, ckpt, batch))
        except Exception as e:  # an OOM or a library error in one configuration
            rows.append({"method": method, "seq_len": seq, "grad_ckpt": ckpt, "batch": batch,
                         "error": f"{type(e).__name__}: {e}"[:500]})  # fmt: skip
            free(ctx.device)
        print(f"memory: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    totals = [r["ratio"]["allocated"] for r in rows if "ratio" in r]
    out = {"rows": rows, **{k: v for k, v in ctx.partial.items() if k != "rows"}}
    if ctx.device != "cuda":
        return {**out, "note": "no CUDA device: estimates only, measured figures skipped"}
    if totals:
        out.update(
            allocated_ratio_min=min(totals), allocated_ratio_max=max(totals),
            within_10pct=sum(abs(r - 1) <= TARGET for r in totals), measured_configs=len(totals),
        )  # fmt: skip
    return out


# ----------------------------------------------------------------------------- attention


def packed_inputs(vocab: int, max_len: int, rows: int, device: str, seed: int = 0):
    """Random samples of 16..max_len*3/4 tokens packed best-fit-decreasing into `rows` rows."""
    import random

    from domaintune.templates import IGNORE_INDEX
    from domaintune.train.data import PackedCollator, Sample, pack_samples

    rng = random.Random(seed)
    samples: list[Sample] = []
    while sum(len(s.input_ids) for s in samples) < rows * max_len * 0.9:
        ids = [rng.randrange(1, vocab) for _ in range(rng.randint(16, max_len * 3 // 4))]
        samples.append(Sample(ids, [IGNORE_INDEX] + ids[1:]))
    packed = pack_samples(samples, max_len)[:rows]
    kept = {tuple(p) for r in packed for p in split_row(r)}
    samples = [s for s in samples if tuple(s.input_ids) in kept]
    batch = PackedCollator(pad_id=0)(packed)
    batch.pop("num_tokens")
    batch.pop("source")
    return {k: v.to(device) for k, v in batch.items()}, samples


def split_row(row: dict) -> list[list[int]]:
    """The samples of a packed row, from its position_ids."""
    starts = [i for i, p in enumerate(row["position_ids"]) if p == 0] + [len(row["input_ids"])]
    return [row["input_ids"][a:b] for a, b in zip(starts, starts[1:], strict=False)]


def loss_grads(model, loss_fn, *args) -> tuple[float, dict]:
    """`loss_fn(model, *args)`, backward; the loss and every gradient in fp32."""
    model.zero_grad(set_to_none=True)
    loss = loss_fn(model, *args)
    loss.backward()
    grads = {n: p.grad.float() for n, p in model.named_parameters() if p.grad is not None}
    return float(loss), grads


def grad_error(grads: dict, ref: dict) -> float:
    """|g - g_ref| / |g_ref| over all parameters together."""
    diff = sum(float((grads[n] - g).pow(2).sum()) for n, g in ref.items())
    norm = sum(float(g.pow(2).sum()) for g in ref.values())
    return (diff / norm) ** 0.5


def one_by_one(model, samples, device: str):
    """The reference: each sample alone, transformers' own loss, mean over all targets."""
    import torch

    n = sum(s.trained for s in samples)
    total = 0
    for s in samples:
        ids = torch.tensor([s.input_ids], device=device)
        total = total + model(input_ids=ids, labels=ids, use_cache=False).loss.float() * s.trained
    return total / n


def packed_loss(model, batch: dict):
    from domaintune.train.loss import LossComputer

    return LossComputer()(model, dict(batch)).ce.mean()


def tokens_per_s(model, batch: dict, device: str, reps: int) -> float:
    """Forward + backward of the packed batch: real tokens per second (after one warm-up)."""
    real = int((batch["labels"] != -100).sum())
    loss_grads(model, packed_loss, batch)
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        loss_grads(model, packed_loss, batch)
    sync(device)
    return round(real * reps / (time.perf_counter() - start), 1)


def attention_impls() -> list[str]:
    from transformers.utils import is_flash_attn_2_available

    impls = ["sdpa", "domaintune_segments"]
    return impls + (["flash_attention_2"] if is_flash_attn_2_available() else [])


def section_attention(ctx: Ctx) -> dict:
    import torch

    import domaintune.train.attention  # noqa: F401  (registers "domaintune_segments")
    from domaintune.models import load_model

    cfg = memory_model_config(ctx.dry)
    max_len, rows = (128, 3) if ctx.dry else (2048, 4)
    batch, samples = packed_inputs(cfg.vocab_size, max_len, rows, ctx.device)
    out = ctx.partial
    out.update(rows=rows, max_len=max_len, samples=len(samples),
               tokens=int(sum(len(s.input_ids) for s in samples)))  # fmt: skip
    model = load_model(memory_model(ctx), dtype="float32").to(ctx.device).train()
    ref_loss, ref = loss_grads(model, one_by_one, samples, ctx.device)
    model.to(torch.bfloat16)
    loss, grads = loss_grads(model, one_by_one, samples, ctx.device)
    noise = {"loss": abs(loss - ref_loss), "grad": grad_error(grads, ref)}
    tol = {"loss": max(3 * noise["loss"], LOSS_FLOOR), "grad": max(3 * noise["grad"], GRAD_FLOOR)}
    out.update(reference_loss_fp32=ref_loss, bf16_one_by_one=noise, tolerance=tol, impls={})
    no_pos = {k: v for k, v in batch.items() if k != "position_ids"}
    loss, grads = loss_grads(model, packed_loss, no_pos)
    leak = {"loss": abs(loss - ref_loss), "grad": grad_error(grads, ref)}
    # the check can fail: rows whose samples see each other are outside the tolerance
    out["leak_control"] = {
        **leak,
        "detected": leak["loss"] > tol["loss"] or leak["grad"] > tol["grad"],
    }
    reps = 1 if ctx.dry else 3
    for impl in attention_impls():
        if ctx.left() < 0:
            out["impls"][impl] = {"skipped": "time budget spent"}
            continue
        try:
            out["impls"][impl] = packed_check(model, impl, batch, ref_loss, ref, tol, ctx, reps)
        except Exception as e:
            out["impls"][impl] = {"error": f"{type(e).__name__}: {e}"[:500]}
        print(f"attention {impl}: {out['impls'][impl]}", file=sys.stderr, flush=True)
    if "flash_attention_2" not in out["impls"]:
        out["flash_attention_2"] = "not run: flash-attn is not importable here"
    return out


def packed_check(model, impl, batch, ref_loss, ref, tol, ctx: Ctx, reps: int) -> dict:
    """Loss and gradients of the packed batch under `impl` vs the fp32 reference, and speed."""
    previous = model.config._attn_implementation
    model.set_attn_implementation(impl)
    try:
        loss, grads = loss_grads(model, packed_loss, batch)
        err = {"loss": abs(loss - ref_loss), "grad": grad_error(grads, ref)}
        del grads
        ok = err["loss"] <= tol["loss"] and err["grad"] <= tol["grad"]
        return {**err, "equal_within_bf16": ok,
                "tokens_per_s": tokens_per_s(model, batch, ctx.device, reps)}  # fmt: skip
    finally:
        model.set_attn_implementation(previous)


# ----------------------------------------------------------------------------- training


def section_training(ctx: Ctx) -> dict:
    tt = load_benchmark("train_throughput")
    args = SimpleNamespace(
        steps=3 if ctx.dry else 30, warmup=1 if ctx.dry else 5, batch=2 if ctx.dry else 16,
        samples=24 if ctx.dry else 600, max_len=256 if ctx.dry else 512, method="full",
        threads=1 if ctx.dry else 4, model=str(train_model(ctx)), repeats=1, profile=False,
        smoke=ctx.dry, dtype="bfloat16",
    )  # fmt: skip
    workdir = ctx.workdir / "train"
    workdir.mkdir(exist_ok=True)
    model_dir, info = tt.prepare(args, workdir)
    out = ctx.partial  # filled setup by setup: a timeout keeps the finished ones
    out.update(settings={k: v for k, v in vars(args).items() if k != "model"}, data=info)
    keep = ("tokens_per_s", "padding", "seconds", "real_tokens", "final_loss", "rows_per_step")
    results = out.setdefault("setups", {})
    for name in ("domaintune", "trainer_grouped", "trl"):  # each in its own process on a GPU
        r = tt.run_setups(args, [name], workdir, model_dir)[name]
        results[name] = {k: r[k] for k in keep}
    best = max((n for n in results if n != "domaintune"), key=lambda n: results[n]["tokens_per_s"])
    out["best_baseline"] = best
    out["ratio"] = round(results["domaintune"]["tokens_per_s"] / results[best]["tokens_per_s"], 3)
    return out


# ----------------------------------------------------------------------------- serving


def section_serving(ctx: Ctx) -> dict:
    if importlib.util.find_spec("domaintune.serve") is None:
        return {"skipped": "domaintune.serve is not importable here"}
    import torch

    from domaintune.io import read_conversations
    from domaintune.resources import data_path
    from domaintune.serve.engine import Engine
    from domaintune.serve.loading import load_served
    from domaintune.serve.server import chat_prompt

    bench = load_benchmark("serve")  # its serial loop, client threads and figures
    n, max_tokens, levels = (8, 4, (8,)) if ctx.dry else (32, 32, (8, 32))  # serial: ~20 s
    dtype = "float32" if ctx.dry else "bfloat16"
    model, served = load_served(train_model(ctx), name="m", dtype=dtype, device=ctx.device)
    torch.manual_seed(0)
    rows = list(read_conversations(data_path("sft_domain_alpaca.jsonl")))
    questions = [rows[i % len(rows)].messages[0].content for i in range(n)]
    prompts = [chat_prompt(served["m"], [{"role": "user", "content": q}]) for q in questions]
    bench.serial(model, served["m"], prompts[:1], max_tokens)  # warm-up (first-call costs)
    base_s, reference = bench.serial(model, served["m"], prompts, max_tokens)
    out = {"requests": n, "max_tokens": max_tokens, "dtype": dtype}
    out["serial"] = bench.figures(base_s, reference)
    engine = Engine(model, served, max_batch=32).start()
    try:
        bench.ours(engine, "m", prompts[:2], max_tokens, 2)  # warm-up
        for clients in levels:
            seconds, outputs = bench.ours(engine, "m", prompts, max_tokens, clients)
            same = sum(a == b for a, b in zip(outputs, reference, strict=True))
            out[f"clients_{clients}"] = {**bench.figures(seconds, outputs),
                                         "ratio": round(base_s / seconds, 2),
                                         "same_as_serial": f"{same}/{n}"}  # fmt: skip
    finally:
        engine.close()
    del model
    free(ctx.device)
    return out


# ----------------------------------------------------------------------------- driver


def _alarm(signum, frame):
    raise SectionTimeout("ran past its time budget")


def run_section(name: str, fn, ctx: Ctx, budget: float) -> dict:
    """Run one section with its budget; its figures, or its error with what it had so far."""
    ctx.partial = {}
    ctx.deadline = time.monotonic() + budget
    start, cpu = time.monotonic(), time.process_time()
    use_alarm = hasattr(signal, "SIGALRM")
    if use_alarm:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, budget + GRACE_S)
    try:
        out = fn(ctx)
    except (Exception, SectionTimeout) as e:
        tb = traceback.format_exc().strip().splitlines()[-6:]
        out = {**ctx.partial, "error": f"{type(e).__name__}: {e}"[:1000], "traceback": tb}
        free(ctx.device)
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
        free(ctx.device)  # the section's models are gone with its frames
    out["seconds"] = round(time.monotonic() - start, 1)
    out["cpu_seconds"] = round(time.process_time() - cpu, 1)  # this process's threads
    out["budget_s"] = budget
    return out


def summary(report: dict, out_path: Path) -> dict:
    """The RESULT line: the headline figures and where the rest is."""
    s = {"ratio": report.get("training", {}).get("ratio"), "dry_run": report["dry_run"]}
    s["gpu"] = report.get("env", {}).get("gpu")
    mem = report.get("memory", {})
    keys = ("measured_configs", "within_10pct", "allocated_ratio_min", "allocated_ratio_max")
    s["memory"] = {k: mem.get(k) for k in keys}
    s["memory"]["configs"] = len(mem.get("rows", []))
    impls = report.get("attention", {}).get("impls", {})
    s["attention"] = {k: v.get("equal_within_bf16") for k, v in impls.items()}
    s["training_tokens_per_s"] = {
        k: v["tokens_per_s"] for k, v in report.get("training", {}).get("setups", {}).items()
    }
    serving = report.get("serving", {})
    s["serving_ratio"] = {k: v["ratio"] for k, v in serving.items() if k.startswith("clients_")}
    s["errors"] = {k: v["error"][:200] for k, v in report.items()
                   if isinstance(v, dict) and "error" in v}  # fmt: skip
    s["seconds"] = report["seconds"]
    s["json"] = str(out_path)
    return s


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default: runs/...)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset")
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU")
    parser.add_argument("--budget-scale", type=float, default=1.0, help="x every section budget")
    args = parser.parse_args(argv)
    import torch

    device = "cuda" if torch.cuda.is_available() and not args.dry_run else "cpu"
    if args.dry_run:
        torch.set_num_threads(1)  # tiny tensors: more threads only wait for each other
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    out_path = args.out or Path("runs") / "gpu_check" / f"{stamp}.json"
    from domaintune.io import write_json

    report: dict = {"dry_run": args.dry_run, "device": device, "started_utc": stamp}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="domaintune-gpu-check-") as tmp:
        ctx = Ctx(dry=args.dry_run, device=device, workdir=Path(tmp))
        for name in [s for s in args.sections.split(",") if s]:
            if name not in SECTIONS:
                parser.error(f"unknown section {name!r}; choose from {', '.join(SECTIONS)}")
            print(f"== {name}", file=sys.stderr, flush=True)
            fn = globals()[f"section_{name}"]
            report[name] = run_section(name, fn, ctx, BUDGET_S[name] * args.budget_scale)
            report["seconds"] = round(time.monotonic() - start, 1)
            write_json(out_path, report)  # after every section: a later crash keeps these
    result = summary(report, out_path)
    print("RESULT " + json.dumps(result))
    return result


if __name__ == "__main__":
    main()
