"""What a training run looks like to the memory estimator: plain options, validated."""

from __future__ import annotations

from dataclasses import dataclass, replace

METHODS = ("full", "freeze", "lora", "qlora")
PRECISIONS = ("bf16", "fp16", "fp32")
OPTIMIZERS = ("adamw", "adamw_8bit", "paged_adamw_8bit", "adafactor", "sgd")
OFFLOADS = (None, "optimizer", "params")
PREFS = (None, "dpo", "kto")
# Where a preference stage's reference log-probs come from: a second copy of the weights, the
# same weights with the LoRA adapter disabled, a pass before training, or none (SimPO/ORPO).
REFERENCES = ("copy", "adapter", "precomputed", "none")
BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}


@dataclass(frozen=True)
class RunSetup:
    """One fine-tuning run, per GPU. Defaults follow the common recipe (bf16 mixed, AdamW)."""

    method: str = "full"
    precision: str = "bf16"
    pure_16bit: bool = False  # True: 16-bit weights and states, no fp32 master copy
    optimizer: str = "adamw"
    optimizer_state_precision: str | None = None  # None: fp32, or the weights' dtype if pure_16bit
    lora_rank: int = 8
    lora_targets: tuple[str, ...] = ("all-linear",)
    lora_dropout: float = 0.0
    trainable_layers: int = 2  # freeze: the last N decoder layers train
    double_quant: bool = True  # qlora
    seq_len: int = 2048
    batch: int = 1  # micro-batch per GPU
    grad_accum: int = 1
    grad_ckpt: bool = False
    attention: str = "sdpa"  # sdpa / flash (no seq^2 term) or eager (softmax probabilities kept)
    zero: int = 0
    gpus: int = 1
    offload: str | None = None
    device: str = "cuda"  # "cpu": no CUDA context or allocator overhead
    pref: str | None = None  # dpo: chosen + rejected of each pair in one forward; kto
    reference: str = "copy"  # pref only: see REFERENCES
    ptx_rows: int = 0  # pref only: general-text rows (PTX) in the same forward/backward

    def __post_init__(self) -> None:
        _check("method", self.method, METHODS)
        _check("precision", self.precision, PRECISIONS)
        _check("optimizer", self.optimizer, OPTIMIZERS)
        _check("offload", self.offload, OFFLOADS)
        _check("pref", self.pref, PREFS)
        _check("reference", self.reference, REFERENCES)
        if self.optimizer_state_precision is not None:
            _check("optimizer_state_precision", self.optimizer_state_precision, PRECISIONS)
        if self.zero not in (0, 1, 2, 3):
            raise ValueError(f"zero={self.zero}: choose 0, 1, 2 or 3")
        if self.offload == "params" and self.zero != 3:
            raise ValueError("offload=params needs ZeRO stage 3 (--zero 3)")
        if self.offload and self.zero == 0:
            raise ValueError("offload needs a ZeRO stage (--zero 1, 2 or 3)")
        if self.ptx_rows < 0:
            raise ValueError(f"ptx_rows={self.ptx_rows}: must be 0 or more")
        for name in ("seq_len", "batch", "gpus", "grad_accum", "lora_rank"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: must be at least 1")

    @property
    def weight_bytes(self) -> int:
        """Bytes per stored weight: the 16-bit copy in mixed precision, fp32 otherwise."""
        return BYTES[self.precision]

    @property
    def mixed(self) -> bool:
        return self.precision != "fp32" and not self.pure_16bit

    @property
    def state_bytes(self) -> int:
        if self.optimizer_state_precision:
            return BYTES[self.optimizer_state_precision]
        return 4 if self.precision == "fp32" or self.mixed else 2

    @property
    def adapter_bytes(self) -> int:
        """LoRA weights: fp32 unless pure 16-bit (peft's autocast_adapter_dtype upcasts them)."""
        return 2 if self.pure_16bit and self.precision != "fp32" else 4

    @property
    def sequences(self) -> int:
        """Sequences per micro-batch in the forward pass: a DPO pair is two (chosen, rejected);
        a preference stage's PTX rows are kept for the same backward."""
        return self.batch * (2 if self.pref == "dpo" else 1) + self.ptx_rows

    def with_(self, **changes) -> RunSetup:
        return replace(self, **changes)


def _check(name: str, value, allowed) -> None:
    if value not in allowed:
        choices = ", ".join(str(a) for a in allowed if a is not None)
        raise ValueError(f"{name}={value!r}: choose one of {choices}")
