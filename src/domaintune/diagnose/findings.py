"""Findings about a training curve, each from the run's own numbers (source document §39).

Every detector returns `Finding`s with the steps concerned, the evidence, the likely cause and what
to do. Thresholds are stated where they are defined; they are judgement calls tuned on real tiny
runs (tests/diagnose), meant to flag what a careful engineer would look at, not to prove anything.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from domaintune.diagnose.curves import Curves, median, robust_line, warmup_end

SIGMA = 3.0  # a step change must exceed 3 noise standard deviations of the within-epoch trend
MIN_REL = 0.02  # ... and 2% of the loss, so tiny wiggles of a flat curve are not reported
GENERAL_HINTS = ("general", "gen", "common", "mmlu", "ceval")  # eval-set names meaning general


@dataclass
class Finding:
    name: str
    steps: list[int]
    evidence: dict
    cause: str
    advice: str
    severity: str = "warning"  # "warning" or "info"
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        return d


def _is_general(name: str) -> bool:
    return any(h in name.lower() for h in GENERAL_HINTS)


def _round(x: float, n: int = 4) -> float:
    return round(x, n) if math.isfinite(x) else x


def _eval_change(c: Curves, before: float, after: float) -> dict[str, tuple[float, float]]:
    """Per eval set: (loss at the last eval at or before epoch `before`, first eval after it)."""
    out = {}
    for name, points in c.evals.items():
        pre = [p for p in points if p[1] <= before + 1e-9]
        post = [p for p in points if before + 1e-9 < p[1] <= after + 1e-9]
        if pre and post:
            out[name] = (pre[-1][2], post[0][2])
    return out


def _best_before(points: list[tuple[int, float, float]], epoch: float) -> float:
    return min((p[2] for p in points if p[1] <= epoch + 1e-9), default=math.inf)


def epoch_boundary_drops(c: Curves) -> list[Finding]:
    """A step change in train loss at an epoch boundary, against the within-epoch trend."""
    findings = []
    idx = c.finite
    last_epoch = max((c.epoch[i] for i in idx), default=0.0)
    warm = warmup_end(c)
    # Step-to-step noise over the whole stage (robust: MAD of differences, / sqrt 2 for a
    # difference of two draws), so a short window's lucky fit does not set the bar alone.
    diffs = [abs(c.loss[j] - c.loss[i]) for i, j in zip(idx, idx[1:], strict=False)]
    global_noise = 1.4826 * median(diffs) / math.sqrt(2) if diffs else 0.0
    for k in range(1, math.ceil(last_epoch - 1e-9)):
        # Trend: the second half of the previous epoch; effect: the first third of the next.
        pre = [i for i in idx if k - 0.5 <= c.epoch[i] <= k + 1e-9]
        post = [i for i in idx if k + 1e-9 < c.epoch[i] <= k + 0.34]
        if len(pre) < 4 or len(post) < 3:
            continue
        a, b, noise = robust_line([c.steps[i] for i in pre], [c.loss[i] for i in pre])
        # Medians: one lucky batch after the boundary is not a step change.
        expected = median([a + b * c.steps[i] for i in post])
        actual = median([c.loss[i] for i in post])
        drop = expected - actual
        level = sum(c.loss[i] for i in pre) / len(pre)
        if drop <= max(SIGMA * max(noise, global_noise), MIN_REL * level):
            continue
        boundary = c.steps[post[0]]
        findings.append(_explain_drop(c, k, boundary, expected, actual, noise, warm))
    return findings


def _explain_drop(
    c: Curves, k: int, boundary: int, expected: float, actual: float, noise: float, warm: int | None
) -> Finding:
    span = max(2, boundary // max(1, k) // 10)  # "near": within a tenth of an epoch's steps
    warm_near = warm is not None and abs(warm - boundary) <= span
    evals = _eval_change(c, k, k + 0.5)
    # Learning shows as a clear fall to a new best eval loss; anything less (flat, noise, or a
    # dip that stays above an earlier best) is what memorisation looks like on held-out data.
    fell = {
        n: (a, b)
        for n, (a, b) in evals.items()
        if b < a - max(0.02, 0.02 * a) and b < _best_before(c.evals[n], k)
    }
    evidence = {
        "epoch": k,
        "boundary_step": boundary,
        "expected_loss": _round(expected),
        "loss_after": _round(actual),
        "drop": _round(expected - actual),
        "noise": _round(noise),
        "warmup_end_step": warm,
        "eval_loss_before_after": {n: [_round(a), _round(b)] for n, (a, b) in evals.items()},
    }
    if warm_near:
        cause = (
            f"warm-up ended at step {warm}, next to the epoch boundary (step {boundary}): "
            "the learning rate reached its peak there, so the loss falls faster from that "
            "point; the epoch change itself need not matter"
        )
        advice = (
            "nothing to fix if eval loss keeps falling; to see the epoch effect on its own, "
            "end warm-up earlier (warmup_ratio) and compare"
        )
    elif evals and not fell:
        cause = (
            "memorisation: train loss drops when the samples come round again, but eval loss "
            "did not fall with it (early overfitting)"
        )
        advice = (
            "train fewer epochs or stop early on eval loss, add or deduplicate data, "
            "lower the learning rate; keep the checkpoint with the best eval loss"
        )
    elif evals:
        cause = (
            "learning: eval loss fell across the boundary too, so the reshuffled order is "
            "giving new signal, not only memorised samples"
        )
        advice = "nothing to fix; watch eval loss in later epochs for overfitting"
    else:
        cause = "reshuffled order or memorisation; without an eval set the two cannot be told apart"
        advice = "add eval_data to the stage (held-out samples) and rerun diagnose"
    return Finding("epoch_boundary_drop", [boundary], evidence, cause, advice)


def overfitting(c: Curves, checkpoints: list[int] = ()) -> list[Finding]:
    """Eval loss past its minimum and rising while train loss falls."""
    findings = []
    for name, points in c.evals.items():
        # A general set rising is forgetting (its own finding), not overfitting the training data.
        if len(points) < 3 or _is_general(name):
            continue
        best = min(range(len(points)), key=lambda i: points[i][2])
        if points[best][0] == 0:
            continue  # never improved on the starting model: not overfitting
        later = points[best + 1 :]
        if len(later) < 2 or later[-1][2] <= points[best][2] * 1.01:
            continue
        best_step, last_step = points[best][0], later[-1][0]
        train = [(s, v) for s, v in zip(c.steps, c.loss, strict=True) if math.isfinite(v)]
        near_best = [v for s, v in train if abs(s - best_step) <= max(1, best_step // 10)]
        tail = [v for s, v in train if s >= last_step - max(1, (last_step - best_step) // 4)]
        if not near_best or not tail or median(tail) >= median(near_best):
            continue
        saved = [s for s in checkpoints if s <= best_step]
        ckpt = f"checkpoint-{max(saved)}" if saved else None
        findings.append(
            Finding(
                "overfitting",
                [best_step, last_step],
                {
                    "eval_set": name,
                    "best_eval_loss": _round(points[best][2]),
                    "best_step": best_step,
                    "last_eval_loss": _round(later[-1][2]),
                    "train_loss_at_best": _round(median(near_best)),
                    "train_loss_at_end": _round(median(tail)),
                    "best_checkpoint": ckpt,
                },
                f"eval loss on {name!r} bottomed out at step {best_step} and rose to "
                f"{later[-1][2]:.3f} while train loss kept falling: the model is fitting the "
                "training samples, not the task",
                "stop early (eval loss with patience), train fewer epochs, or add data; "
                + (
                    f"use {ckpt}" if ckpt else "save checkpoints at eval steps to keep the best one"
                ),
            )
        )
    return findings


def divergence(c: Curves, *, precision: str | None = None) -> list[Finding]:
    """NaN/inf loss, spikes, gradient-norm explosions, fp16 overflow, loss stuck at zero."""
    found = []
    bad = [c.steps[i] for i, v in enumerate(c.loss) if not math.isfinite(v)]
    grads = [(c.steps[i], g) for i, g in enumerate(c.grad_norm) if g is not None]
    bad_grad = [s for s, g in grads if not math.isfinite(g)]
    if bad_grad and (precision == "fp16" or not bad):
        found.append(
            Finding(
                "divergence",
                bad_grad,
                {"kind": "fp16_overflow", "nonfinite_grad_norm_steps": bad_grad},
                "gradient norm overflowed (inf/nan) while the loss stayed finite: fp16's range is "
                "too small for these activations or gradients",
                "train in bf16 (same memory, fp32's range) or lower the learning rate; fp16 needs "
                "loss scaling and skips those steps",
            )
        )
    if bad:
        after = [c.loss[i] for i, s in enumerate(c.steps) if s > bad[-1]]
        transient = bool(after) and all(math.isfinite(v) for v in after)
        zero_grad = any(g == 0.0 for s, g in grads if s in bad)
        if transient or zero_grad:
            found.append(
                Finding(
                    "divergence",
                    bad,
                    {"kind": "no_trained_tokens", "nan_loss_steps": bad},
                    "the loss was NaN at isolated steps and finite again afterwards: those batches "
                    "had no trained token (every label masked, e.g. answers cut off by max_len)",
                    "run `domaintune data validate FILE --tokenizer DIR --max-len N` and drop the "
                    "samples with no trained token, or raise max_len",
                )
            )
        else:
            found.append(
                Finding(
                    "divergence",
                    bad,
                    {"kind": "nan_loss", "first_nan_step": bad[0]},
                    f"the loss became NaN/inf at step {bad[0]} and stayed so: training diverged",
                    "lower the learning rate (by 3-10x), keep gradient clipping "
                    "(max_grad_norm 1.0), use bf16 instead of fp16, and resume from the last "
                    "good checkpoint",
                )
            )
    found += _spikes(c)
    zeros = [c.steps[i] for i, v in enumerate(c.loss) if v == 0.0]
    if len(zeros) >= 3:
        found.append(
            Finding(
                "divergence",
                zeros,
                {"kind": "zero_loss", "steps_at_zero": len(zeros)},
                "the loss is exactly zero: no token is being trained, or the targets leak into the "
                "inputs",
                "check the loss mask with `domaintune template render --show-labels`",
            )
        )
    return found


def _spikes(c: Curves, window: int = 8) -> list[Finding]:
    """Loss or grad-norm jumps far above their recent median."""
    out = []
    for kind, series, factor in (
        ("loss_spike", c.loss, 1.5),
        ("grad_norm_explosion", c.grad_norm, 10.0),
    ):
        steps = []
        for i in range(window, len(series)):
            v = series[i]
            prev = [x for x in series[i - window : i] if x is not None and math.isfinite(x)]
            if v is None or not math.isfinite(v) or len(prev) < window // 2:
                continue
            if v > factor * median(prev) and v > max(prev):
                steps.append(c.steps[i])
        if steps:
            out.append(
                Finding(
                    "divergence",
                    steps,
                    {"kind": kind, "count": len(steps)},
                    f"{len(steps)} {kind.replace('_', ' ')}(s): values over {factor}x the "
                    f"median of the previous {window} logged steps",
                    "lower the learning rate or lengthen warm-up; check the data at those steps "
                    "for outliers (very long or garbled samples)",
                )
            )
    return out


def learning_rate(c: Curves) -> list[Finding]:
    """Too high (worse after warm-up, repeated spikes) or too low (a flat curve)."""
    idx = c.finite
    if len(idx) < 10:
        return []
    warm = warmup_end(c) or c.steps[idx[0]]
    after = [i for i in idx if c.steps[i] >= warm]
    losses = [c.loss[i] for i in idx]
    k = min(5, max(2, len(idx) // 10))
    first, last = median(losses[:k]), median(losses[-k:])
    if len(after) >= 6:
        at_peak, end = (
            median([c.loss[i] for i in after[:3]]),
            median([c.loss[i] for i in after[-3:]]),
        )
        if end > at_peak * 1.05:
            return [
                Finding(
                    "learning_rate",
                    [c.steps[after[0]], c.steps[after[-1]]],
                    {
                        "verdict": "too_high",
                        "loss_at_warmup_end": _round(at_peak),
                        "loss_at_end": _round(end),
                        "peak_lr": max(x for x in c.lr if x is not None),
                    },
                    "the loss got worse after warm-up reached the peak learning rate: the steps "
                    "are too large for this model and batch",
                    "lower the learning rate 3-10x (LoRA ~1e-4 to 2e-4, full fine-tuning ~1e-5 to "
                    "2e-5 for billion-parameter models), or lengthen warm-up",
                )
            ]
    if first > 0 and (first - last) / first < 0.03:
        lrs = [x for x in c.lr if x is not None]
        return [
            Finding(
                "learning_rate",
                [c.steps[idx[0]], c.steps[idx[-1]]],
                {
                    "verdict": "too_low_or_stuck",
                    "loss_first": _round(first),
                    "loss_last": _round(last),
                    "relative_change": _round((first - last) / first),
                    "peak_lr": max(lrs, default=None),
                },
                "the training loss barely moved (under 3%) over the whole stage",
                "raise the learning rate (try 3x), check that parameters are trainable (method, "
                "freeze_trainable_layers) and that labels are not all masked",
            )
        ]
    return []


def forgetting(c: Curves) -> list[Finding]:
    """General eval loss rising while domain eval loss falls (source document §2, §5)."""
    general = {n: p for n, p in c.evals.items() if _is_general(n)}
    domain = {n: p for n, p in c.evals.items() if n not in general}
    change = {n: (p[0][2], p[-1][2]) for n, p in c.evals.items() if len(p) >= 2}
    rose = {n: change[n] for n in general if n in change and change[n][1] > change[n][0] + 0.02}
    fell = {n: change[n] for n in domain if n in change and change[n][1] < change[n][0] - 0.02}
    if not rose or not fell:
        return []
    evidence = {
        n: {
            "first": _round(a),
            "last": _round(b),
            "change": _round(b - a),
            "perplexity_ratio": _round(math.exp(b - a), 3),
        }
        for n, (a, b) in {**rose, **fell}.items()
    }
    worst = max(rose, key=lambda n: rose[n][1] - rose[n][0])
    up = rose[worst][1] - rose[worst][0]
    return [
        Finding(
            "forgetting",
            [c.steps[0] if c.steps else 0, c.steps[-1] if c.steps else 0],
            evidence,
            f"general ability is being lost: eval loss on {worst!r} rose by {up:.3f} "
            f"(perplexity x{math.exp(up):.2f}) while the domain sets improved (catastrophic "
            "forgetting)",
            "mix 5-20% general data into the stage, lower the learning rate, use LoRA rather than "
            "full fine-tuning, or add a pre-training (PTX) loss; compare before/after with eval",
        )
    ]


def throughput(c: Curves) -> list[Finding]:
    """Padding share and tokens per second over time (information, or a warning on waste)."""
    rates = []
    for i in range(1, len(c.steps)):
        t0, t1, n0, n1 = c.time[i - 1], c.time[i], c.tokens[i - 1], c.tokens[i]
        if None not in (t0, t1, n0, n1) and t1 > t0 and n1 >= n0:
            rates.append((c.steps[i], (n1 - n0) / (t1 - t0)))
    pads = [p for p in c.padding if p is not None]
    if not rates and not pads:
        return []
    evidence: dict = {}
    if rates:
        k = max(1, len(rates) // 4)
        evidence["tokens_per_second_first_quarter"] = round(median([r for _, r in rates[:k]]), 1)
        evidence["tokens_per_second_last_quarter"] = round(median([r for _, r in rates[-k:]]), 1)
    if pads:
        evidence["padding_share"] = _round(sum(pads) / len(pads), 3)
    # Slow-down is judged only on stages long enough for timing noise to average out.
    long_enough = len(rates) >= 8 and (c.time[-1] or 0) - (c.time[0] or 0) > 60
    slowed = long_enough and (
        evidence["tokens_per_second_last_quarter"]
        < 0.7 * evidence["tokens_per_second_first_quarter"]
    )
    wasteful = pads and evidence["padding_share"] > 0.2
    cause, advice = "throughput as measured", "nothing to fix"
    if wasteful:
        cause = f"{evidence['padding_share']:.0%} of the token slots were padding: wasted compute"
        advice = "pack samples (pt packs already) or batch samples of similar length"
    if slowed:
        cause += "; tokens per second fell by more than 30% during the stage"
        advice = "check for other load on the machine, growing sequence lengths, or memory swap"
    return [
        Finding(
            "throughput",
            [s for s, _ in rates[:1] + rates[-1:]],
            evidence,
            cause,
            advice,
            severity="warning" if (wasteful or slowed) else "info",
        )
    ]
