"""Plain-language notes under the breakdown: where the big numbers come from."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domaintune.memory.estimate import Estimate

GB = 1e9


def notes(est: Estimate) -> list[str]:
    """Notes that apply to this estimate, most important first."""
    s = est.setup
    out = []
    if s.method == "full" and s.optimizer == "adamw" and s.zero == 0 and not s.offload:
        out += _full_adamw(est)
    if s.grad_accum == 1 and s.gpus == 1 and s.zero == 0:
        out.append(
            "Peak = weights + optimizer states + the larger of (activations + output-layer "
            "gradient) at the start of backward and (all gradients) at its end; gradients are "
            "freed between steps (zero_grad(set_to_none=True))."
        )
    if s.method in ("lora", "qlora") and s.mixed:
        out.append(
            "LoRA adapters are fp32 (peft autocast_adapter_dtype) and are their own master "
            "copy; peft's input casts to the adapter dtype add small copies not counted here."
        )
    if s.attention == "eager":
        out.append("Eager attention keeps the fp32 softmax (heads x seq^2 per sequence): use sdpa.")
    if s.optimizer == "paged_adamw_8bit":
        out.append("Paged optimizer states live in unified memory and can spill to CPU RAM.")
    if s.offload:
        out.append(f"{est.cpu_offloaded / GB:.1f} GB per GPU moved to CPU RAM by --offload.")
    return out


def _full_adamw(est: Estimate) -> list[str]:
    """The 16 bytes/param of mixed-precision AdamW, and the 12 bytes/param of 16-bit moments."""
    s, n = est.setup, est.params
    if not s.mixed:
        per = s.weight_bytes * 2 + 2 * s.state_bytes
        return [f"{s.precision} AdamW: {per} bytes/param before activations."]
    state = s.state_bytes
    per = 2 + 2 + 4 + 2 * state
    lines = [
        f"Mixed-precision AdamW: 2 (16-bit weights) + 2 (gradients) + 4 (fp32 master copy) + "
        f"{2 * state} (Adam moments) = {per} bytes/param: {n / GB:.2f}B params x {per} = "
        f"{n * per / GB:.1f} GB before activations (ZeRO, Rajbhandari et al. 2020, §3.1)."
    ]
    if state == 4:
        lines.append(
            f"A figure of 84 GB for a 7B model assumes 12 bytes/param: Adam moments kept in "
            f"16-bit (2+2+4+2+2). For this model that is {n * 12 / GB:.1f} GB: "
            f"--optimizer-state-precision bf16."
        )
    return lines
