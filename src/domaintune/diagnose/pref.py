"""Findings about a preference stage (dpo/kto) from the `pref` objects of its metrics.jsonl.

- likelihood displacement: the chosen answers' log-probability falls while the margin grows;
  DPO widens the gap by pushing both answers down (Razin et al. 2024, "Unintentional
  Unalignment"; Pal et al. 2024, "Smaug"), which is where repetition and gibberish after DPO
  come from (LLaMA-Factory issues 7734, 6458).
- easy pairs: reward accuracy reaches 0.95 within the first 10% of the steps (LLaMA-Factory
  5116): the rejected answers differ by a surface feature the model picks up at once.
- length gap: the chosen answers are much longer (or shorter) than the rejected ones, so the
  margin can grow by rewarding length; after DPO generated answers drift in length (Park et al.
  2024, "Disentangling Length from Quality in DPO").
"""

from __future__ import annotations

from domaintune.diagnose.curves import Curves
from domaintune.diagnose.findings import Finding, _round

DISPLACEMENT_NATS = 1.0  # chosen log-prob (per sequence) must fall by over 1 nat ...
DISPLACEMENT_REL = 0.02  # ... and by over 2% of its starting value
EASY_ACCURACY = 0.95  # reward accuracy that counts as "already separated"
EASY_SHARE = 0.10  # ... within the first 10% of the steps
LENGTH_RATIO = 1.5  # chosen/rejected mean length ratio (or its inverse) that counts as a gap


def _series(c: Curves, key: str) -> list[tuple[int, float]]:
    return [(step, p[key]) for step, p in c.pref if key in p]


def _ends(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Mean of the first and of the last fifth of the points (one point at least each)."""
    k = max(1, len(points) // 5)
    first = sum(v for _, v in points[:k]) / k
    return first, sum(v for _, v in points[-k:]) / k


def likelihood_displacement(c: Curves) -> list[Finding]:
    chosen, margin = _series(c, "logp_chosen"), _series(c, "margin")
    if len(chosen) < 4 or len(margin) < 4:
        return []
    (c0, c1), (m0, m1) = _ends(chosen), _ends(margin)
    fell = c0 - c1
    if not (fell > DISPLACEMENT_NATS and fell > DISPLACEMENT_REL * abs(c0) and m1 > m0):
        return []
    r0, r1 = _ends(_series(c, "logp_rejected")) if _series(c, "logp_rejected") else (0, 0)
    evidence = {
        "logp_chosen": [_round(c0), _round(c1)],
        "logp_rejected": [_round(r0), _round(r1)],
        "margin": [_round(m0), _round(m1)],
    }
    return [
        Finding(
            "likelihood_displacement",
            [chosen[0][0], chosen[-1][0]],
            evidence,
            f"the chosen answers became less likely (log-prob {c0:.1f} -> {c1:.1f}) while the "
            f"margin grew ({m0:.3f} -> {m1:.3f}): the gap is won by pushing both answers down, "
            "and probability moves to text that is in neither (repetition, gibberish)",
            "add the SFT anchor (sft_coef: 0.2-1.0, RPO), lower the learning rate or raise beta; "
            "check generated answers with eval gen (repetition) before and after",
        )
    ]


def easy_pairs(c: Curves) -> list[Finding]:
    acc = _series(c, "accuracy")
    if len(acc) < 2:
        return []
    last = c.pref[-1][0]
    early = [(s, a) for s, a in acc if s <= max(1, EASY_SHARE * last)]
    hit = next(((s, a) for s, a in early if a >= EASY_ACCURACY), None)
    if hit is None:
        return []
    return [
        Finding(
            "easy_pairs",
            [hit[0]],
            {"step": hit[0], "accuracy": _round(hit[1], 3), "of_steps": last},
            f"reward accuracy reached {hit[1]:.2f} at step {hit[0]} of {last}: the pairs are "
            "told apart at once, by a surface feature (length, format, a phrase) rather than by "
            "the quality the rejected answers should lack",
            "use harder rejected answers (the SFT model's own mistakes, near misses), balance "
            "their length and format with the chosen ones, and check that eval pairs are new",
        )
    ]


def length_gap(c: Curves) -> list[Finding]:
    lc, lr = _series(c, "length_chosen"), _series(c, "length_rejected")
    if not lc or not lr:
        return []
    mean_c = sum(v for _, v in lc) / len(lc)
    mean_r = sum(v for _, v in lr) / len(lr)
    ratio = mean_c / max(mean_r, 1e-9)
    if 1 / LENGTH_RATIO <= ratio <= LENGTH_RATIO:
        return []
    longer = "longer" if ratio > 1 else "shorter"
    return [
        Finding(
            "length_gap",
            [lc[0][0], lc[-1][0]],
            {
                "length_chosen": _round(mean_c, 1),
                "length_rejected": _round(mean_r, 1),
                "ratio": _round(ratio, 2),
            },
            f"chosen answers are {ratio:.1f}x the rejected ones' length: the margin can grow by "
            f"preferring {longer} answers, and generated answers drift {longer} after the stage",
            "compare eval gen's mean_tokens before and after; balance the pairs' lengths or use "
            "loss: simpo (length-normalised reward)",
            severity="info",
        )
    ]


def pref_findings(c: Curves) -> list[Finding]:
    """Every preference detector (nothing for a stage without `pref` rows)."""
    if not c.pref:
        return []
    return [*likelihood_displacement(c), *easy_pairs(c), *length_gap(c)]
