"""Activation memory: what autograd keeps for the backward pass, per decoder layer and per token.

Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models", §4.1,
count s*b*h*(34 + 5*a*s/h) bytes per GPT layer in 16-bit. We redo their tensor-by-tensor count for
the layers fine-tuned here, as Hugging Face's modelling code runs them:
- no dropout (fine-tuning recipes set attention/hidden dropout to 0), so no masks;
- SDPA / flash attention keeps q, k, v, the output and a fp32 log-sum-exp per head instead of
  the a*s^2 softmax matrix (Dao et al. 2022); eager attention keeps the fp32 softmax;
- grouped-query attention keeps k and v at num_kv_heads (SDPA's native GQA; with a padding mask
  on CUDA transformers expands them to num_heads first, see integrations/sdpa_attention.py);
- gated MLP (SwiGLU): gate output, silu(gate), up output and their product (4 tensors of size i);
- RMSNorm computed in fp32 (LlamaRMSNorm.forward): a fp32 copy of the input, the normalised
  activations and the scaled output;
- the loss upcasts the logits to fp32 (transformers loss_utils.ForCausalLMLoss): log_softmax's
  fp32 output is saved, and at the start of backward its gradient and the logits' gradient
  (fp32) are live too: 12 bytes per token per vocabulary entry, which dominates for 150k-token
  vocabularies at long sequences.
"""

from __future__ import annotations

from domaintune.memory.arch import Arch, Linear, layer_linears
from domaintune.memory.setup import RunSetup

FP32 = 4
LOSS_BYTES_PER_LOGIT = 3 * FP32  # log_softmax output + its gradient + gradient of the logits


def act_bytes(s: RunSetup) -> int:
    """Activations are kept in the compute dtype (bf16/fp16 under autocast or pure 16-bit)."""
    return 4 if s.precision == "fp32" else 2


def norm_bytes(a: Arch, s: RunSetup, *, trainable: bool) -> int:
    """One RMSNorm, per token: fp32 copy of the input (+ normalised and output when trainable)."""
    ab = act_bytes(s)
    return FP32 * a.hidden_size + (2 * ab * a.hidden_size if trainable else 0)


def attention_bytes(a: Arch, s: RunSetup) -> int:
    """Attention core, per token: rotated q and k, v, output (+ fp32 log-sum-exp or softmax)."""
    ab = act_bytes(s)
    if s.attention == "eager":
        probs = FP32 * a.num_heads * s.seq_len + (ab * a.num_heads * s.seq_len if ab != 4 else 0)
        return ab * 3 * a.q_dim + probs  # q and k, v repeated to num_heads (repeat_kv)
    return ab * (2 * a.q_dim + 2 * a.kv_dim) + FP32 * a.num_heads


def trainable_layer_bytes(a: Arch, s: RunSetup) -> int:
    """One decoder layer whose weights train (full, freeze), per token."""
    ab = act_bytes(s)
    linear_inputs = ab * a.q_dim + ab * a.intermediate_size  # o_proj and down_proj inputs
    mlp = ab * 3 * a.intermediate_size  # gate out, silu(gate), up out
    return 2 * norm_bytes(a, s, trainable=True) + attention_bytes(a, s) + mlp + linear_inputs


def lora_layer_bytes(a: Arch, s: RunSetup, targets: list[Linear]) -> int:
    """One frozen decoder layer with LoRA adapters on `targets`, per token."""
    ab = act_bytes(s)
    mlp = ab * 3 * a.intermediate_size
    total = 2 * norm_bytes(a, s, trainable=False) + attention_bytes(a, s) + mlp
    inputs = {}  # each distinct input tensor is kept once (by the adapters' lora_A)
    for lin in targets:
        total += ab * s.lora_rank  # lora_A output, kept for lora_B
        if s.lora_dropout > 0:  # each adapter keeps its own dropout output and a bool mask
            total += (ab + 1) * lin.in_features
        else:
            inputs[_input_of(lin, a)] = ab * lin.in_features
    return total + sum(inputs.values())


def _input_of(lin: Linear, a: Arch) -> str:
    """Which activation tensor a projection reads (q, k, v and gate, up share theirs)."""
    if lin.in_features == a.intermediate_size and lin.in_features != a.hidden_size:
        return "mlp_product"
    if lin.name in ("o_proj", "dense", "wo"):
        return "attention_output"
    if lin.name in ("q_proj", "k_proj", "v_proj", "W_pack", "query_key_value", "wqkv"):
        return "attn_norm_out"
    return "mlp_norm_out"


def logits_bytes(a: Arch, s: RunSetup) -> int:
    """fp32 loss over the vocabulary for one micro-batch (see the module docstring)."""
    return LOSS_BYTES_PER_LOGIT * a.vocab_size * s.seq_len * s.batch


def layer_activation_bytes(a: Arch, s: RunSetup, targets: list[Linear]) -> tuple[int, int]:
    """(per-layer bytes for one micro-batch, number of layers that keep activations)."""
    tokens = s.seq_len * s.batch
    if s.method in ("lora", "qlora"):
        return lora_layer_bytes(a, s, targets) * tokens, a.num_layers
    layers = a.num_layers if s.method == "full" else min(s.trainable_layers, a.num_layers)
    return trainable_layer_bytes(a, s) * tokens, layers


def activation_terms(a: Arch, s: RunSetup, targets: list[Linear]) -> dict[str, int]:
    """Bytes of layer activations, final norm and loss for one micro-batch on one GPU."""
    tokens = s.seq_len * s.batch
    per_layer, layers = layer_activation_bytes(a, s, targets)
    if s.grad_ckpt:  # HF checkpoints each layer: keeps its input, recomputes one at a time
        layers_bytes = layers * act_bytes(s) * a.hidden_size * tokens + per_layer
    else:
        layers_bytes = layers * per_layer
    final_norm = norm_bytes(a, s, trainable=s.method == "full") * tokens
    return {"layers": layers_bytes, "final_norm": final_norm, "logits": logits_bytes(a, s)}


def lora_linears(a: Arch, targets: tuple[str, ...]) -> list[Linear]:
    """The projections of one layer that LoRA adapts ("all-linear": all of them, not lm_head)."""
    linears = layer_linears(a)
    if "all-linear" in targets:
        return linears
    names = {lin.name for lin in linears}
    unknown = [t for t in targets if t not in names]
    if unknown:
        raise ValueError(
            f"LoRA target(s) {', '.join(unknown)} not in {a.family} layers; "
            f"choose from {', '.join(sorted(names))} or all-linear"
        )
    return [lin for lin in linears if lin.name in targets]
