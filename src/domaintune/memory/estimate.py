"""GPU memory of a fine-tuning run, term by term, per GPU.

Bytes per parameter (mixed precision, Rajbhandari et al. 2020, "ZeRO", §3.1): 2 (16-bit weights)
+ 2 (16-bit gradients) + 12 (fp32 master copy 4, Adam momentum 4, variance 4) = 16. ZeRO stage 1
shards the optimizer states (master copy included) over the GPUs, stage 2 also the gradients,
stage 3 also the weights (§5). The peak is the persistent terms plus the larger of the two phases
of a step: the start of backward (all activations, the output layer's gradient) and its end (all
gradients, activations freed); with gradient accumulation, DDP or ZeRO the gradients persist, so
both add up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from domaintune.memory.activations import activation_terms, lora_linears
from domaintune.memory.arch import Arch, count_params, layer_linears
from domaintune.memory.setup import RunSetup

GIB = 1024**3
# CUDA context, cuBLAS/cuDNN workspaces and kernels: 0.3-1 GiB depending on GPU and CUDA version
# (PyTorch "CUDA semantics" notes); not counted by torch.cuda.max_memory_allocated.
CUDA_CONTEXT_BYTES = GIB
# Caching-allocator fragmentation: reserved exceeds allocated by a few percent in steady training.
FRAGMENTATION = 0.05
BNB_MIN_8BIT_SIZE = 4096  # bitsandbytes keeps 32-bit states for smaller tensors (min_8bit_size)
BNB_STATE_BLOCK = 256  # bitsandbytes 8-bit optimizers: one fp32 absmax per 256 values per state
NF4_BLOCK = 64  # QLoRA (Dettmers et al. 2023) §3: one absmax per 64 weights
DQ_BLOCK = 256  # double quantisation: 8-bit absmax, one fp32 constant per 256 of them
TORCH_STEP_BYTES = 4  # torch.optim.AdamW keeps a fp32 'step' tensor per parameter tensor

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Term:
    """One row of the breakdown: bytes per GPU, which column it adds to, where it comes from."""

    key: str
    group: str  # weights | gradients | optimizer | activations | overhead
    bytes: int
    note: str


@dataclass
class Estimate:
    """The breakdown of one run on one GPU; `total` is the estimated peak."""

    arch: Arch
    setup: RunSetup
    params: int
    trainable_params: int
    terms: list[Term]
    total: int
    cpu_offloaded: int = 0
    notes: list[str] = field(default_factory=list)

    def group(self, name: str) -> int:
        return sum(t.bytes for t in self.terms if t.group == name)

    def term(self, key: str) -> int:
        return sum(t.bytes for t in self.terms if t.key == key)

    def to_json(self) -> dict:
        """`params`, `trainable_params`, per-GPU bytes by column and by term, and the notes."""
        groups = ("weights", "gradients", "optimizer", "activations", "overhead")
        return {
            "model": self.arch.name,
            "params": self.params,
            "trainable_params": self.trainable_params,
            **{g: self.group(g) for g in groups},
            "total": self.total,
            "allocated": self.total - self.group("overhead"),
            "cpu_offloaded": self.cpu_offloaded,
            "terms": {t.key: t.bytes for t in self.terms},
            "setup": {k: v for k, v in vars(self.setup).items()},
            "notes": self.notes,
        }


def param_shapes(a: Arch) -> list[tuple[Shape, int | None, str]]:
    """Every parameter tensor: (shape, layer index or None, kind: embed|linear|bias|norm)."""
    h = a.hidden_size
    shapes: list[tuple[Shape, int | None, str]] = [((a.vocab_size, h), None, "embed")]
    for i in range(a.num_layers):
        for lin in layer_linears(a):
            shapes.append(((lin.out_features, lin.in_features), i, "linear"))
            if lin.bias:
                shapes.append(((lin.out_features,), i, "bias"))
        shapes += [((h,), i, "norm"), ((h,), i, "norm")]
    shapes.append(((h,), None, "norm"))
    if not a.tied_embeddings:
        shapes.append(((a.vocab_size, h), None, "embed"))
    return shapes


def trainable_shapes(a: Arch, s: RunSetup) -> list[Shape]:
    """Shapes of the base model's trainable tensors (none for LoRA and QLoRA)."""
    if s.method == "full":
        return [shape for shape, _, _ in param_shapes(a)]
    if s.method == "freeze":
        first = a.num_layers - min(s.trainable_layers, a.num_layers)
        return [sh for sh, layer, _ in param_shapes(a) if layer is not None and layer >= first]
    return []


def adapter_shapes(a: Arch, s: RunSetup) -> list[Shape]:
    """LoRA A [r, in] and B [out, r] for each adapted projection of every layer."""
    if s.method not in ("lora", "qlora"):
        return []
    r = s.lora_rank
    one = [sh for lin in lora_linears(a, s.lora_targets) for sh in _ab(lin, r)]
    return one * a.num_layers


def _ab(lin, r: int) -> list[Shape]:
    return [(r, lin.in_features), (lin.out_features, r)]


def numel(shapes: list[Shape]) -> int:
    return sum(math.prod(sh) for sh in shapes)


def optimizer_bytes(shapes: list[Shape], s: RunSetup, state_bytes: int) -> int:
    """Optimizer state of these tensors (the fp32 master copy is a separate term)."""
    return sum(_state_bytes(sh, s.optimizer, state_bytes) for sh in shapes)


def _state_bytes(shape: Shape, optimizer: str, state_bytes: int) -> int:
    n = math.prod(shape)
    if optimizer == "adamw":  # exp_avg and exp_avg_sq (Loshchilov & Hutter 2019)
        return 2 * n * state_bytes + TORCH_STEP_BYTES
    if optimizer in ("adamw_8bit", "paged_adamw_8bit"):  # Dettmers et al. 2022, block-wise 8-bit
        if n < BNB_MIN_8BIT_SIZE:
            return 2 * n * 4
        return 2 * n + 2 * 4 * math.ceil(n / BNB_STATE_BLOCK)
    if optimizer == "adafactor":  # factored second moment, no momentum (Shazeer & Stern 2018)
        return 4 * (shape[0] + shape[1]) if len(shape) == 2 else 4 * n
    return 0  # sgd without momentum keeps no state


def qlora_weight_bytes(a: Arch, s: RunSetup) -> tuple[int, int]:
    """(4-bit linear weights with their constants, the layers kept in 16-bit)."""
    quant = 0
    for lin in layer_linears(a):
        n = lin.in_features * lin.out_features
        blocks = math.ceil(n / NF4_BLOCK)
        # With double quantisation: 8-bit absmax + a fp32 constant per 256 of them (QLoRA §3).
        dq = blocks + 4 * math.ceil(blocks / DQ_BLOCK)
        consts = dq if s.double_quant else 4 * blocks
        quant += n // 2 + consts
    quant *= a.num_layers
    linear_weights = a.num_layers * sum(
        lin.in_features * lin.out_features for lin in layer_linears(a)
    )
    kept = (count_params(a).total - linear_weights) * s.weight_bytes
    return quant, kept


def estimate(model: Arch | str | dict, setup: RunSetup | None = None) -> Estimate:
    """Estimate per-GPU memory of fine-tuning `model` (Arch, built-in name, directory or dict)."""
    from domaintune.memory.arch import resolve_arch

    a = model if isinstance(model, Arch) else resolve_arch(model)
    s = setup or RunSetup()
    base, adapters = trainable_shapes(a, s), adapter_shapes(a, s)
    terms = (
        _weight_terms(a, s, adapters)
        + _state_terms(a, s, base, adapters)
        + _activation_rows(a, s, adapters)
    )
    total, overhead = _peak(a, s, terms, base)
    terms += overhead
    cpu = _offloaded(a, s, base, adapters)
    params = count_params(a).total
    trainable = numel(base) + numel(adapters)
    est = Estimate(a, s, params, trainable, terms, total, cpu)
    from domaintune.memory.explain import notes

    est.notes = notes(est)
    return est


def _shards(s: RunSetup) -> tuple[int, int, int]:
    """(optimizer, gradient, weight) shard counts for the ZeRO stage (ZeRO §5.1-5.3)."""
    g = s.gpus
    return (g if s.zero >= 1 else 1, g if s.zero >= 2 else 1, g if s.zero == 3 else 1)


def _weight_terms(a: Arch, s: RunSetup, adapters: list[Shape]) -> list[Term]:
    _, _, shard_w = _shards(s)
    w, pc = s.weight_bytes, count_params(a)
    rows = []
    if s.method == "qlora":
        quant, kept = qlora_weight_bytes(a, s)
        dq = "with" if s.double_quant else "without"
        rows.append(Term("weights_4bit", "weights", quant // shard_w, f"NF4, constants {dq} DQ"))
        rows.append(
            Term("weights", "weights", kept // shard_w, f"embeddings, norms in {s.precision}")
        )
    else:
        rows.append(Term("weights", "weights", pc.total * w // shard_w, f"{w} B/param"))
    if s.offload == "params":
        rows = [Term(t.key, t.group, 0, "offloaded to CPU (ZeRO-Infinity)") for t in rows]
    if s.zero == 3 and s.gpus > 1:  # a layer is all-gathered before use and the next prefetched
        gathered = 2 * pc.layer * w
        rows.append(Term("zero3_gathered", "weights", gathered, "2 layers all-gathered"))
    if s.pref and s.reference == "copy":  # TRL loads the reference like the policy
        rows.append(Term("reference_weights", "weights", pc.total * w // shard_w, "frozen copy"))
    if adapters:
        lora = numel(adapters) * s.adapter_bytes // shard_w
        rows.append(
            Term("lora_weights", "weights", lora, f"{s.adapter_bytes} B/param, r={s.lora_rank}")
        )
    return rows


def _state_terms(a: Arch, s: RunSetup, base: list[Shape], adapters: list[Shape]) -> list[Term]:
    """Gradients, fp32 master copy and optimizer states, sharded by the ZeRO stage."""
    shard_o, shard_g, _ = _shards(s)
    off = s.offload in ("optimizer", "params")
    keep = 0 if off else 1
    where = " (on CPU)" if off else ""
    n, w = numel(base), s.weight_bytes
    rows = [Term("gradients", "gradients", n * w // shard_g, f"{w} B/trainable param")]
    if s.mixed and n:
        rows.append(Term("master_weights", "optimizer", keep * n * 4 // shard_o, f"fp32{where}"))
    opt = optimizer_bytes(base, s, s.state_bytes) // shard_o
    rows.append(Term("optimizer", "optimizer", keep * opt, f"{s.optimizer}{where}"))
    if adapters:
        na, ab = numel(adapters), s.adapter_bytes
        rows.append(Term("lora_gradients", "gradients", na * ab // shard_g, f"{ab} B/param"))
        lopt = optimizer_bytes(adapters, s, s.state_bytes) // shard_o
        rows.append(Term("lora_optimizer", "optimizer", keep * lopt, f"{s.optimizer}{where}"))
    if s.gpus > 1 and s.zero == 0 and n:  # DDP: gradient_as_bucket_view=False copies gradients
        rows.append(Term("ddp_buckets", "gradients", n * w, "DDP all-reduce buckets"))
    return rows


def _activation_rows(a: Arch, s: RunSetup, adapters: list[Shape]) -> list[Term]:
    targets = lora_linears(a, s.lora_targets) if adapters else []
    # DPO: chosen and rejected go through the model together, twice the sequences; the
    # reference pass runs without gradients and keeps nothing for backward.
    parts = activation_terms(a, s.with_(batch=s.sequences), targets)
    ckpt = "checkpointed" if s.grad_ckpt else "no checkpointing"
    tokens = f"{s.sequences}x{s.seq_len} tokens" + (" (2 per pair)" if s.pref == "dpo" else "")
    tokens += f" incl. {s.ptx_rows} PTX rows" if s.ptx_rows else ""
    return [
        Term(
            "activations", "activations", parts["layers"] + parts["final_norm"], f"{ckpt}, {tokens}"
        ),
        Term("logits", "activations", parts["logits"], f"fp32 loss over {a.vocab_size:,} tokens"),
    ]


def _peak(a: Arch, s: RunSetup, terms: list[Term], base: list[Shape]) -> tuple[int, list[Term]]:
    """Peak bytes and the overhead rows (see the module docstring for the two phases)."""
    by = {g: sum(t.bytes for t in terms if t.group == g) for g in ("weights", "gradients")}
    persistent = by["weights"] + sum(t.bytes for t in terms if t.group == "optimizer")
    act = sum(t.bytes for t in terms if t.group == "activations")
    grads = by["gradients"]
    if s.grad_accum > 1 or s.gpus > 1 or s.zero > 0:
        dynamic = act + grads
    else:
        head = a.vocab_size * a.hidden_size * s.weight_bytes if s.method == "full" else 0
        dynamic = max(act + min(head, grads), grads)
    tensors = persistent + dynamic
    if s.device != "cuda":
        return tensors, []
    frag = int(FRAGMENTATION * tensors)
    rows = [
        Term("cuda_context", "overhead", CUDA_CONTEXT_BYTES, "CUDA context, cuBLAS workspace"),
        Term("fragmentation", "overhead", frag, f"{FRAGMENTATION:.0%} allocator fragmentation"),
    ]
    return tensors + CUDA_CONTEXT_BYTES + frag, rows


def _offloaded(a: Arch, s: RunSetup, base: list[Shape], adapters: list[Shape]) -> int:
    """Bytes moved to CPU memory by --offload (per GPU's share)."""
    if not s.offload:
        return 0
    shard_o, _, shard_w = _shards(s)
    cpu = (numel(base) * 4 if s.mixed else 0) + optimizer_bytes(base + adapters, s, s.state_bytes)
    cpu //= shard_o
    if s.offload == "params":
        cpu += count_params(a).total * s.weight_bytes // shard_w
    return cpu
