"""Memory estimator vs measurement on real training steps, for several configurations.

Baseline: what the tensors really hold. On CPU (fp32), for each configuration it checks the
state terms (weights, gradients, AdamW states: must be equal) and compares the activation
estimate with the bytes autograd actually saves for backward (saved-tensor hooks, each storage
counted once). On a CUDA machine (bf16 mixed) it compares the estimate's allocated peak with
torch.cuda.max_memory_allocated over two steps (target: within 10%).

Run: .venv/bin/python benchmarks/memory_accuracy.py [--quick] [--smoke]
Last line: RESULT {json}; `ratio` is the estimate/measured ratio furthest from 1 (activations
saved for backward on CPU, the allocated peak on CUDA). --smoke: two configurations of a
2-layer, hidden-64 model at sequence 64 (seconds).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from transformers import AutoModelForCausalLM

from domaintune.memory import RunSetup, estimate
from domaintune.memory.activations import layer_activation_bytes, lora_linears
from domaintune.models import tiny_config
from domaintune.train.trainer import TrainSettings, apply_method

CONFIGS = [  # (method, seq_len, gradient checkpointing)
    ("full", 256, False),
    ("full", 1024, False),
    ("full", 1024, True),
    ("freeze", 1024, False),
    ("lora", 256, False),
    ("lora", 1024, False),
    ("lora", 1024, True),
]
SMOKE_CONFIGS = [("full", 64, False), ("lora", 64, True)]
# DPO: (method, seq_len, reference); each micro-batch row is a pair (chosen + rejected)
DPO_CONFIGS = [("full", 256, "copy"), ("lora", 256, "adapter"), ("full", 1024, "precomputed")]
SMOKE_DPO_CONFIGS = [("lora", 64, "adapter")]


def build(cuda: bool, vocab: int, hidden: int, layers: int):
    """A Qwen2-architecture model from config (random weights), fp32 master weights."""
    cfg = tiny_config("qwen2", vocab, hidden_size=hidden, num_layers=layers, eos_id=0, pad_id=0)
    cfg.use_cache = False
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(cfg, dtype=torch.float32), cfg


def saved_bytes(fn) -> int:
    """Bytes of distinct storages autograd saves for backward while `fn` runs the forward."""
    seen: dict[int, int] = {}

    def pack(t):
        st = t.untyped_storage()
        seen[st.data_ptr()] = st.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    params = {p.untyped_storage().data_ptr() for p in MODEL_PARAMS}
    return out, sum(n for ptr, n in seen.items() if ptr not in params)


MODEL_PARAMS: list[torch.Tensor] = []


def nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def run_cpu(method: str, seq: int, ckpt: bool, args) -> dict:
    model, cfg = build(False, args.vocab, args.hidden, args.layers)
    if ckpt:
        model.gradient_checkpointing_enable({"use_reentrant": False})
    model = apply_method(model, TrainSettings(method=method, lora={"r": 8, "dropout": 0.0}))
    MODEL_PARAMS[:] = list(model.parameters())
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    ids = torch.randint(0, cfg.vocab_size, (args.batch, seq))
    out, saved = saved_bytes(lambda: model(input_ids=ids, labels=ids))
    out.loss.backward()
    opt.step()
    states = [v for st in opt.state.values() for v in st.values() if torch.is_tensor(v)]
    setup = RunSetup(
        method=method, precision="fp32", seq_len=seq, batch=args.batch, grad_ckpt=ckpt,
        lora_rank=8, trainable_layers=2, device="cpu",
    )  # fmt: skip
    est = estimate(cfg.to_dict(), setup)
    # Saved in the forward: layer activations + the fp32 log-softmax (1 of the loss's 3 terms).
    # With checkpointing the one recomputed layer lives only during backward: not seen here.
    est_saved = est.term("activations") + est.term("logits") // 3
    if ckpt:
        targets = lora_linears(est.arch, setup.lora_targets) if method == "lora" else []
        est_saved -= layer_activation_bytes(est.arch, setup, targets)[0]
    real = {
        "weights": nbytes(model.parameters()),
        "gradients": nbytes(p.grad for p in model.parameters() if p.grad is not None),
        "optimizer": nbytes(states),
    }
    row = {"method": method, "seq_len": seq, "grad_ckpt": ckpt}
    for k, v in real.items():
        row[f"{k}_ratio"] = est.group(k) / v
    row.update(saved_est=est_saved, saved_measured=saved, saved_ratio=est_saved / saved)
    return row


def run_cpu_dpo(method: str, seq: int, reference: str, args) -> dict:
    """One DPO step: the pairs' 2 x batch sequences through the policy with gradients, the
    reference (a frozen copy, or the same weights with the adapter disabled) without."""
    model, cfg = build(False, args.vocab, args.hidden, args.layers)
    ref = build(False, args.vocab, args.hidden, args.layers)[0] if reference == "copy" else None
    model = apply_method(model, TrainSettings(method=method, lora={"r": 8, "dropout": 0.0}))
    MODEL_PARAMS[:] = [*model.parameters(), *(ref.parameters() if ref is not None else [])]
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    ids = torch.randint(0, cfg.vocab_size, (2 * args.batch, seq))  # [chosen; rejected]

    def step():
        if reference != "precomputed":
            with torch.no_grad():
                if ref is not None:
                    ref(input_ids=ids)
                else:
                    with model.disable_adapter():
                        model(input_ids=ids)
        return model(input_ids=ids, labels=ids)

    out, saved = saved_bytes(step)
    out.loss.backward()
    opt.step()
    states = [v for st in opt.state.values() for v in st.values() if torch.is_tensor(v)]
    setup = RunSetup(
        method=method, precision="fp32", seq_len=seq, batch=args.batch, lora_rank=8,
        device="cpu", pref="dpo", reference=reference,
    )  # fmt: skip
    est = estimate(cfg.to_dict(), setup)
    est_saved = est.term("activations") + est.term("logits") // 3
    real = {
        "weights": nbytes(MODEL_PARAMS),
        "gradients": nbytes(p.grad for p in model.parameters() if p.grad is not None),
        "optimizer": nbytes(states),
    }
    row = {"method": f"dpo-{method}", "seq_len": seq, "reference": reference, "grad_ckpt": False}
    for k, v in real.items():
        row[f"{k}_ratio"] = est.group(k) / v
    row.update(saved_est=est_saved, saved_measured=saved, saved_ratio=est_saved / saved)
    return row


def run_cuda(method: str, seq: int, ckpt: bool, args) -> dict:
    model, cfg = build(True, args.vocab, args.hidden, args.layers)
    if ckpt:
        model.gradient_checkpointing_enable({"use_reentrant": False})
    model = apply_method(model.cuda(), TrainSettings(method=method, lora={"r": 8, "dropout": 0.0}))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    ids = torch.randint(0, cfg.vocab_size, (args.batch, seq), device="cuda")
    torch.cuda.reset_peak_memory_stats()
    for _ in range(2):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    measured = torch.cuda.max_memory_allocated()
    setup = RunSetup(  # bf16 autocast over fp32 weights: bf16 mixed (activations in bf16)
        method=method, precision="bf16", seq_len=seq, batch=args.batch, grad_ckpt=ckpt,
        lora_rank=8, trainable_layers=2,
    )  # fmt: skip
    est = estimate(cfg.to_dict(), setup)
    allocated = est.total - est.group("overhead")
    del model, opt
    torch.cuda.empty_cache()
    return {"method": method, "seq_len": seq, "grad_ckpt": ckpt, "estimate": allocated,
            "measured": measured, "ratio": allocated / measured}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="Fewer, shorter configurations.")
    p.add_argument("--vocab", type=int, default=8192)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--smoke", action="store_true", help="tiny model, two configurations")
    args = p.parse_args()
    cuda = torch.cuda.is_available()
    configs = CONFIGS[::3] if args.quick else CONFIGS
    if args.smoke:
        args.vocab, args.hidden, args.layers, args.batch = 1024, 64, 2, 1
        configs = SMOKE_CONFIGS
        torch.set_num_threads(1)  # tiny tensors: a second thread only adds waiting
    rows, start = [], time.time()
    for method, seq, ckpt in configs:
        row = (run_cuda if cuda else run_cpu)(method, seq, ckpt, args)
        rows.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}))
    dpo = SMOKE_DPO_CONFIGS if args.smoke else DPO_CONFIGS[:1] if args.quick else DPO_CONFIGS
    for method, seq, reference in dpo if not cuda else []:  # CPU: tensors, as above
        row = run_cpu_dpo(method, seq, reference, args)
        rows.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}))
    key = "ratio" if cuda else "saved_ratio"
    ratios = [r[key] for r in rows if key in r]
    result = {
        "ratio": round(max(ratios, key=lambda x: abs(x - 1)), 4),
        "smoke": args.smoke,
        "device": "cuda" if cuda else "cpu",
        "model": f"qwen2 h{args.hidden} L{args.layers} V{args.vocab}, batch {args.batch}",
        "rows": rows,
        "state_terms_exact": all(
            r.get(f"{k}_ratio", 1.0) == 1.0
            for r in rows
            for k in ("weights", "gradients", "optimizer")
        ),
        "ratio_min": round(min(ratios), 4),
        "ratio_max": round(max(ratios), 4),
        "within_10pct": all(0.9 <= x <= 1.1 for x in ratios),
        "seconds": round(time.time() - start, 1),
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
