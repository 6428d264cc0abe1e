"""Does a run fit in GPU memory, and if not, which changes make it fit (best first)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from domaintune.memory.arch import Arch, resolve_arch
from domaintune.memory.estimate import GIB, Estimate, estimate
from domaintune.memory.setup import RunSetup

MIN_SEQ_LEN = 256
GPU_COUNTS = (2, 4, 8, 16, 32, 64)
_UNITS = {"": GIB, "b": 1, "k": 1e3, "kb": 1e3, "kib": 2**10, "m": 1e6, "mb": 1e6, "mib": 2**20,
          "g": GIB, "gb": 1e9, "gib": GIB, "t": 2**40, "tb": 1e12, "tib": 2**40}  # fmt: skip


def parse_size(text: str) -> int:
    """'80GiB', '80GB', '24G' or '80' (GiB) -> bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS:
        raise ValueError(f"cannot read memory size {text!r}; write e.g. 80GiB, 80GB or 24G")
    return int(float(m.group(1)) * _UNITS[unit])


@dataclass
class Suggestion:
    """One change to the run, with the estimate it leads to."""

    change: str
    setup: RunSetup
    total: int
    fits: bool
    rank: float  # lower is less disruptive to the run (speed, quality, hardware)

    def to_json(self) -> dict:
        return {"change": self.change, "total": self.total, "fits": self.fits}


@dataclass
class PlanResult:
    """The estimate, the verdict against `gpu_mem` and the planner's suggestions."""

    estimate: Estimate
    gpu_mem: int | None
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def fits(self) -> bool | None:
        return None if self.gpu_mem is None else self.estimate.total <= self.gpu_mem

    def to_json(self) -> dict:
        out = self.estimate.to_json()
        out["gpu_mem"] = self.gpu_mem
        out["fits"] = self.fits
        out["suggestions"] = [s.to_json() for s in self.suggestions]
        return out

    def message(self) -> str:
        """A short verdict and the suggestions, for logs and the pre-flight refusal."""
        gib = self.estimate.total / GIB
        if self.gpu_mem is None:
            return f"estimated peak {gib:.1f} GiB per GPU"
        verdict = "fits" if self.fits else "does NOT fit"
        lines = [f"estimated peak {gib:.1f} GiB per GPU {verdict} in {self.gpu_mem / GIB:.1f} GiB"]
        for s in self.suggestions:
            mark = "fits" if s.fits else "still too big"
            lines.append(f"  - {s.change}: {s.total / GIB:.1f} GiB ({mark})")
        return "\n".join(lines)


def plan(model: Arch | str | Path | dict, setup: RunSetup, gpu_mem: int | None) -> PlanResult:
    """Estimate; when a GPU size is given and the run does not fit, list what would make it fit."""
    a = model if isinstance(model, Arch) else resolve_arch(model)
    result = PlanResult(estimate(a, setup), gpu_mem)
    if gpu_mem is not None and not result.fits:
        result.suggestions = suggest(a, setup, gpu_mem)
    return result


def suggest(a: Arch, s: RunSetup, gpu_mem: int) -> list[Suggestion]:
    """Single changes that fit first (least disruptive first), then a combination if needed."""
    found = [sug for make in CANDIDATES if (sug := make(a, s, gpu_mem)) is not None]
    combo = _combine(a, s, gpu_mem)
    if combo is not None and " + " in combo.change:
        found.append(combo)
    found.sort(key=lambda x: (not x.fits, x.rank if x.fits else x.total))
    return found


def _try(a: Arch, s: RunSetup, gpu_mem: int, change: str, rank: int, **kw) -> Suggestion:
    new = s.with_(**kw)
    total = estimate(a, new).total
    return Suggestion(change, new, total, total <= gpu_mem, rank)


def _first_fit(options: list[Suggestion]) -> Suggestion | None:
    """The first option that fits, else the last one tried (the furthest change)."""
    return next((o for o in options if o.fits), options[-1] if options else None)


def _optimizer_8bit(a, s, m):
    if s.optimizer in ("adamw", "adafactor") and (s.method != "full" or s.zero < 3):
        return _try(a, s, m, "8-bit AdamW (--optimizer adamw_8bit)", 0, optimizer="adamw_8bit")
    return None


def _grad_ckpt(a, s, m):
    if s.grad_ckpt:
        return None
    return _try(a, s, m, "gradient checkpointing (--grad-ckpt, ~30% slower)", 1, grad_ckpt=True)


def _micro_batch(a, s, m):
    options, b = [], s.batch
    while b > 1:
        b //= 2
        accum = s.grad_accum * s.batch // b
        change = f"micro-batch {b} x {accum} accumulation (--batch {b}; same global batch)"
        options.append(_try(a, s, m, change, 2, batch=b, grad_accum=accum))
    return _first_fit(options)


def _zero(a, s, m):
    if s.gpus < 2:
        return None
    options = [
        _try(a, s, m, f"ZeRO stage {z} over {s.gpus} GPUs (--zero {z})", 3, zero=z)
        for z in range(s.zero + 1, 4)
    ]
    return _first_fit(options)


def _more_gpus(a, s, m):
    zero = s.zero or 3
    options = [
        _try(
            a,
            s,
            m,
            f"{g} GPUs with ZeRO stage {zero} (--gpus {g} --zero {zero})",
            4,
            gpus=g,
            zero=zero,
        )  # fmt: skip
        for g in GPU_COUNTS
        if g > s.gpus
    ]
    return _first_fit(options)


def _offload(a, s, m):
    if s.offload:
        return None
    zero = max(s.zero, 2)
    change = f"offload optimizer states to CPU (--zero {zero} --offload optimizer; slower)"
    return _try(a, s, m, change, 5, zero=zero, offload="optimizer")


def _lora(a, s, m):
    if s.method not in ("full", "freeze"):
        return None
    return _try(a, s, m, f"LoRA r={s.lora_rank} (--method lora)", 6, method="lora")


def _qlora(a, s, m):
    if s.method == "qlora":
        return None
    return _try(a, s, m, "QLoRA, 4-bit base weights (--method qlora)", 7, method="qlora")


def _shorter(a, s, m):
    options, n = [], s.seq_len
    while n // 2 >= MIN_SEQ_LEN:
        n //= 2
        options.append(_try(a, s, m, f"sequences of {n} tokens (--seq-len {n})", 8, seq_len=n))
    return _first_fit(options)


CANDIDATES: list[Callable] = [
    _optimizer_8bit,
    _grad_ckpt,
    _micro_batch,
    _zero,
    _more_gpus,
    _offload,
    _lora,
    _qlora,
    _shorter,
]


def _combine(a: Arch, s: RunSetup, gpu_mem: int) -> Suggestion | None:
    """Apply the changes in order of disruption, one after another, until the run fits.

    A change that saves under 2% is skipped. The combination ranks just after its most
    disruptive part.
    """
    current, total, changes, rank = s, estimate(a, s).total, [], 0.0
    for make in CANDIDATES:
        sug = make(a, current, gpu_mem)
        if sug is None or sug.total > 0.98 * total:
            continue
        current, total = sug.setup, sug.total
        changes.append(sug.change.split(" (")[0])
        rank = max(rank, sug.rank + 0.5)
        if sug.fits:
            return Suggestion("together: " + " + ".join(changes), current, total, True, rank)
    return None
