"""The advisor's rules: from measurements to recommendations, each with its reason and numbers.

Every threshold is a named constant below with where it comes from; docs/advisor.md lists them.
"Experiment N" is docs/experiments.md (examples/experiments/*.yaml, run by domaintune run).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from domaintune.advise.measure import Measurements

# --- CPT or not (source document §15: CPT when the knowledge gap is large and raw text is
# plentiful; SFT alone when the gap is small; CPT then SFT is best when both hold).
# Domain bits/char at least this multiple of general bits/char: a large gap. Our choice: the
# model predicts domain text at least 30% worse than general text. Experiment 2 measured CPT's
# benefit at a gap of 1.71x (the experiments' pre-trained model, measured by `domaintune
# advise`); the boundary itself is not measured.
GAP_LARGE = 1.3
# Raw domain tokens per model parameter for CPT to be worth a stage. Experiment 1 (general_15):
# 40 steps of 1,024 tokens, 85% domain, i.e. 0.038 domain tokens per parameter of the
# 0.92M-parameter model, cut domain perplexity by 71%; we ask a quarter of that volume.
MIN_CPT_TOKENS_PER_PARAM = 0.01

# --- General data (source document §2/§5: mix 5-20% general data to limit forgetting).
# Share of every step's trained tokens: the top of §5's range. Experiment 1 measured 0 / 5 / 15 /
# 30%: forgetting fell at every step (+140% -> +49% general perplexity) while the domain gain
# moved by less than the seed-to-seed spread (-69.0% .. -67.8%).
GENERAL_SHARE = 0.2
# PTX (InstructGPT, Ouyang et al. 2022: a pre-training loss during fine-tuning limits
# regressions); its share of each SFT step, and the loss weight, as in the quickstart.
# Experiment 1: at 15% general, PTX cut forgetting from +86% to +71% (spreads 11 and 1.4).
PTX_SHARE = 0.1
PTX_COEF = 0.5

# --- Vocabulary (source document §4; Cui et al. 2023, Chinese-LLaMA: extending LLaMA's
# vocabulary with 20k Chinese tokens halved the tokens of Chinese text).
# Domain tokens per character over general tokens per character, same tokenizer: 1.5 means the
# domain text costs 50% more tokens per character than the text the tokenizer fits.
FERTILITY_RATIO_HIGH = 1.5
# Without general text, absolute limits: more than one token per character of mostly-CJK text
# means characters are split into byte pieces (a vocabulary holding them never needs more);
# for other text, more than 0.5 tokens per character is twice OpenAI's rule of thumb of about
# four characters per token of English.
FERTILITY_CJK_HIGH = 1.0
FERTILITY_OTHER_HIGH = 0.5

# --- Learning rates. Models of at least TINY_PARAMS: LLaMA-Factory's example recipes (full
# fine-tuning 1e-5, LoRA/QLoRA 1e-4). Smaller (the built-in tiny models): the quickstart's
# rates, which experiment 3 compared with x3 and /3: x3 gained no more on domain text (-69.5%
# both) and forgot more on average (+126% vs +89%, seed spread 55); /3 forgot far less (+35%)
# but gained less (-59%). The middle keeps the gain; lower it when forgetting matters more.
TINY_PARAMS = 100_000_000
LR_FULL, LR_LORA = 1e-5, 1e-4
LR_TINY_FULL, LR_TINY_LORA = 2e-3, 2e-3

# --- Batch: sequences per optimizer step reached with gradient accumulation. Our default,
# LLaMA-Factory's examples (micro-batch 1-2, accumulation 8) on 1-2 GPUs.
GLOBAL_BATCH = 16


@dataclass
class Recommendation:
    topic: str  # plan | general | method | learning_rate | vocabulary | model
    choice: str
    reason: str
    figures: dict[str, Any] = field(default_factory=dict)
    warning: bool = False


@dataclass
class Advice:
    measurements: Measurements
    plan: str  # "cpt+sft" or "sft"
    general_share: float
    ptx: bool
    cpt_method: str
    sft_method: str
    batch: int
    grad_accum: int
    grad_ckpt: bool
    lr_cpt: float
    lr_sft: float
    recommendations: list[Recommendation] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("measurements",)}
        return {"measurements": self.measurements.to_json(), **out}


def _plan(m: Measurements) -> Recommendation:
    tokens_per_param = m.domain.tokens / m.parameters
    figures = {
        "gap": m.gap,
        "domain_tokens": m.domain.tokens,
        "tokens_per_param": tokens_per_param,
        "GAP_LARGE": GAP_LARGE,
        "MIN_CPT_TOKENS_PER_PARAM": MIN_CPT_TOKENS_PER_PARAM,
    }
    enough = tokens_per_param >= MIN_CPT_TOKENS_PER_PARAM
    volume = (f"{m.domain.tokens:,} raw domain tokens ({tokens_per_param:.3g} per parameter; "
              f"CPT needs >= {MIN_CPT_TOKENS_PER_PARAM:g})")  # fmt: skip
    if m.gap is None:
        reason = "no --general text to measure the knowledge gap against; " + volume
        choice = "CPT then SFT" if enough else "SFT only"
        return Recommendation("plan", choice, reason, figures, warning=True)
    gap = (f"domain text costs {m.gap:.2f}x the bits per character of general text "
           f"({m.domain.bpc:.3f} vs {m.general.bpc:.3f}; large from {GAP_LARGE:g}x)")  # fmt: skip
    if m.gap >= GAP_LARGE and enough:
        return Recommendation("plan", "CPT then SFT", f"{gap}, and {volume} (§15)", figures)
    if m.gap >= GAP_LARGE:
        reason = (f"{gap}, but only {volume}: SFT alone, and gather more raw text (or generate "
                  "it: domaintune synth) for a CPT stage later (§15)")  # fmt: skip
        return Recommendation("plan", "SFT only", reason, figures, warning=True)
    return Recommendation("plan", "SFT only", f"{gap}: the model already knows the domain (§15)",
                          figures)  # fmt: skip


def _general(m: Measurements, plan: str) -> Recommendation:
    if m.general is None:
        return Recommendation(
            "general", "no general data",
            "no --general text given: mix 10-20% general text in to limit forgetting (§5); "
            "rerun with --general FILE to have it in the recipe", warning=True,
        )  # fmt: skip
    if plan == "sft":
        reason = (
            f"SFT with a PTX loss on the general text (share {PTX_SHARE:g} of each step, "
            f"coef {PTX_COEF:g}; InstructGPT's remedy for forgetting; experiment 1)"
        )
        return Recommendation("general", "PTX on general text", reason,
                              {"PTX_SHARE": PTX_SHARE, "PTX_COEF": PTX_COEF})  # fmt: skip
    reason = (f"{GENERAL_SHARE:.0%} general text in every CPT step (§2/§5: 5-20%; experiment 1), "
              f"and a PTX loss on it in SFT (share {PTX_SHARE:g}, coef {PTX_COEF:g})")  # fmt: skip
    return Recommendation("general", f"{GENERAL_SHARE:.0%} general + PTX", reason,
                          {"GENERAL_SHARE": GENERAL_SHARE, "PTX_SHARE": PTX_SHARE})  # fmt: skip


def _method(m: Measurements, stage: str, order: tuple[str, ...]) -> tuple[str, Recommendation]:
    fits = m.fits
    if m.gpu_mem_gib is None:
        choice = order[0]
        peak = fits[choice].peak_gib
        reason = f"{stage}: {choice} (no --gpu-mem: fit not checked; {peak:.1f} GiB at batch 1)"
        return choice, Recommendation("method", f"{stage}: {choice}", reason, {})
    for method in order:
        f = fits[method]
        if f.fits:
            ckpt = " with gradient checkpointing" if f.grad_ckpt else ""
            skipped = list(order[: order.index(method)])
            why = f" ({', '.join(skipped)} does not fit)" if skipped else ""
            reason = (f"{stage}: {method}{why}, micro-batch {f.batch}{ckpt}: {f.peak_gib:.1f} "
                      f"GiB of {m.gpu_mem_gib:g} GiB at {m.seq_len} tokens")  # fmt: skip
            figures = {x: asdict(fits[x]) for x in order}
            return method, Recommendation("method", f"{stage}: {method}", reason, figures)
    last = fits[order[-1]]
    reason = (f"{stage}: nothing fits {m.gpu_mem_gib:g} GiB at {m.seq_len} tokens, not even "
              f"{order[-1]} at batch 1 with checkpointing ({last.peak_gib:.1f} GiB): shorten "
              "max_len, use more GPUs (ZeRO) or a smaller model (domaintune memory)")  # fmt: skip
    return order[-1], Recommendation("method", f"{stage}: does not fit", reason, {}, warning=True)


def _vocabulary(m: Measurements) -> Recommendation | None:
    d = m.domain.fertility
    if d is None:
        return None
    ratio = m.fertility_ratio
    if ratio is not None:
        high = ratio >= FERTILITY_RATIO_HIGH
        reason = (f"{d:.3f} tokens per character on domain text, {ratio:.2f}x general "
                  f"(high from {FERTILITY_RATIO_HIGH:g}x)")  # fmt: skip
    else:
        limit = FERTILITY_CJK_HIGH if m.domain_cjk else FERTILITY_OTHER_HIGH
        high = d > limit
        reason = f"{d:.3f} tokens per character on domain text (high above {limit:g})"
    if not high:
        return Recommendation("vocabulary", "keep the vocabulary", reason, {"fertility": d})
    reason += ": look at `domaintune tokenizer analyze` before training (vocabulary expansion)"
    return Recommendation("vocabulary", "look at vocabulary expansion", reason,
                          {"fertility": d, "ratio": ratio}, warning=True)  # fmt: skip


def _chat(m: Measurements) -> Recommendation | None:
    if not m.chat_model:
        return None
    return Recommendation(
        "model", "start from the Base model",
        f"{m.model} looks like a chat/instruct model: CPT and SFT on it erode its alignment and "
        "fight its chat format; train the Base model of the same family (source document §7)",
        warning=True,
    )  # fmt: skip


def _learning_rates(
    m: Measurements, cpt: str, sft: str, plan: str
) -> tuple[float, float, Recommendation]:
    tiny = m.parameters < TINY_PARAMS
    full, lora = (LR_TINY_FULL, LR_TINY_LORA) if tiny else (LR_FULL, LR_LORA)
    lr_cpt = full if cpt == "full" else lora
    lr_sft = full if sft == "full" else lora
    trade = ("experiment 3: x3 learned no more and forgot more on average, /3 forgot less "
             "but learned less")  # fmt: skip
    source = (f"the quickstart's rates for a model under 100M parameters ({trade})" if tiny else
              f"LLaMA-Factory's example recipes (full 1e-5, LoRA 1e-4; {trade})")  # fmt: skip
    if plan == "sft":
        reason = f"SFT {lr_sft:g} ({sft}): {source}"
        return lr_cpt, lr_sft, Recommendation("learning_rate", f"SFT {lr_sft:g}", reason)
    reason = f"CPT {lr_cpt:g} ({cpt}), SFT {lr_sft:g} ({sft}): {source}"
    return lr_cpt, lr_sft, Recommendation("learning_rate", f"{lr_cpt:g} / {lr_sft:g}", reason)


def recommend(m: Measurements) -> Advice:
    """The advice for these measurements (see the module's constants for every threshold)."""
    plan_rec = _plan(m)
    plan = "cpt+sft" if plan_rec.choice == "CPT then SFT" else "sft"
    recs = [r for r in (_chat(m), plan_rec, _general(m, plan)) if r is not None]
    cpt_method, cpt_rec = _method(m, "CPT", ("full", "lora", "qlora"))
    sft_method, sft_rec = _method(m, "SFT", ("lora", "qlora"))
    recs += [cpt_rec, sft_rec] if plan == "cpt+sft" else [sft_rec]
    lr_cpt, lr_sft, lr_rec = _learning_rates(m, cpt_method, sft_method, plan)
    vocab = _vocabulary(m)
    recs += [lr_rec] + ([vocab] if vocab else [])
    main = m.fits[sft_method if plan == "sft" else cpt_method]
    batch = main.batch
    return Advice(
        m, plan, GENERAL_SHARE if m.general else 0.0, m.general is not None,
        cpt_method, sft_method, batch, max(1, GLOBAL_BATCH // batch), main.grad_ckpt,
        lr_cpt, lr_sft, recs,
    )  # fmt: skip
