"""Preference losses on sequence log-probabilities: DPO (sigmoid, ipo, hinge), SimPO, ORPO.

Every function takes per-sequence sums of completion-token log-probabilities ([batch] tensors,
chosen and rejected of the same prompt at the same index) and returns per-pair losses [batch]
plus the implicit rewards used for logging. The SFT anchor (RPO, Pang et al. 2024; LLaMA-Factory's
`pref_ftx`) is `sft_term`: the mean NLL of the chosen tokens, added with weight `sft_coef`.

References:
  DPO    Rafailov et al. 2023, eq. 7:  -log s(b [(lp_w - ref_w) - (lp_l - ref_l)])
  IPO    Azar et al. 2023, eq. 17:     (h - 1/(2 b))^2, h the log-ratio difference; per token
         as TRL normalises it (confirmed with the IPO authors, trl/trainer/dpo_trainer.py)
  hinge  SLiC, Zhao et al. 2023:       max(0, 1 - b h)
  SimPO  Meng et al. 2024, eq. 6:      -log s(b/|y_w| lp_w - b/|y_l| lp_l - gamma)
  ORPO   Hong et al. 2024, eq. 6-7:    -log s(log odds(y_w) - log odds(y_l)),
         odds(y) = P/(1-P) with P = exp(mean token log-prob); weighted by lambda, plus the NLL
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "LOSSES",
    "REFERENCE_FREE",
    "PrefLoss",
    "dpo_loss",
    "orpo_loss",
    "pref_loss",
    "sft_term",
    "simpo_loss",
]

LOSSES = ("sigmoid", "ipo", "hinge", "simpo", "orpo")
REFERENCE_FREE = frozenset({"simpo", "orpo"})


@dataclass
class PrefLoss:
    """Per-pair losses and the implicit rewards of each side ([batch] each)."""

    losses: torch.Tensor
    chosen_rewards: torch.Tensor
    rejected_rewards: torch.Tensor


def dpo_loss(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    *,
    beta: float = 0.1,
    loss_type: str = "sigmoid",
    chosen_len: torch.Tensor | None = None,
    rejected_len: torch.Tensor | None = None,
) -> PrefLoss:
    """DPO-family losses from policy and reference sequence log-probs (see module docstring)."""
    chosen_ratio = chosen_logps - ref_chosen_logps
    rejected_ratio = rejected_logps - ref_rejected_logps
    h = chosen_ratio - rejected_ratio
    if loss_type == "sigmoid":
        losses = -F.logsigmoid(beta * h)
    elif loss_type == "hinge":
        losses = torch.relu(1 - beta * h)
    elif loss_type == "ipo":
        if chosen_len is None or rejected_len is None:
            raise ValueError("the ipo loss needs the completion lengths")
        h = chosen_ratio / chosen_len.clamp(min=1) - rejected_ratio / rejected_len.clamp(min=1)
        losses = (h - 1 / (2 * beta)) ** 2
    else:
        raise ValueError(f"unknown DPO loss {loss_type!r}; choose sigmoid, ipo or hinge")
    return PrefLoss(losses, beta * chosen_ratio.detach(), beta * rejected_ratio.detach())


def simpo_loss(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    chosen_len: torch.Tensor,
    rejected_len: torch.Tensor,
    *,
    beta: float = 2.0,
    gamma: float = 1.0,
) -> PrefLoss:
    """SimPO: length-normalised log-probs as the reward, a target margin gamma, no reference.

    Defaults: beta 2.0 and gamma/beta 0.5, the paper's recommended setting (Meng et al. 2024, §4).
    """
    chosen_reward = beta * chosen_logps / chosen_len.clamp(min=1)
    rejected_reward = beta * rejected_logps / rejected_len.clamp(min=1)
    losses = -F.logsigmoid(chosen_reward - rejected_reward - gamma)
    return PrefLoss(losses, chosen_reward.detach(), rejected_reward.detach())


def _log_odds(mean_logp: torch.Tensor) -> torch.Tensor:
    # log(P / (1 - P)) with P = exp(mean_logp) < 1; log1p(-exp(x)) is exact near 0.
    return mean_logp - torch.log1p(-torch.exp(mean_logp.clamp(max=-1e-6)))


def orpo_loss(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    chosen_len: torch.Tensor,
    rejected_len: torch.Tensor,
    *,
    beta: float = 0.1,
) -> PrefLoss:
    """ORPO's odds-ratio term, weighted by lambda (`beta`, the paper's 0.1); no reference.

    The NLL on chosen that ORPO adds is `sft_term` (the stage adds it with sft_coef 1.0).
    """
    chosen_mean = chosen_logps / chosen_len.clamp(min=1)
    rejected_mean = rejected_logps / rejected_len.clamp(min=1)
    losses = -beta * F.logsigmoid(_log_odds(chosen_mean) - _log_odds(rejected_mean))
    return PrefLoss(losses, beta * chosen_mean.detach(), beta * rejected_mean.detach())


def sft_term(chosen_token_logps: torch.Tensor, chosen_mask: torch.Tensor) -> torch.Tensor:
    """Mean NLL over every chosen completion token of the batch ([batch, seq] inputs)."""
    n = chosen_mask.sum().clamp(min=1)
    return -(chosen_token_logps * chosen_mask).sum() / n


def pref_loss(
    loss_type: str,
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    chosen_len: torch.Tensor,
    rejected_len: torch.Tensor,
    ref_chosen_logps: torch.Tensor | None = None,
    ref_rejected_logps: torch.Tensor | None = None,
    *,
    beta: float,
    gamma: float = 1.0,
) -> PrefLoss:
    """One entry for every loss in LOSSES (reference log-probs unused by SimPO/ORPO)."""
    if loss_type == "simpo":
        return simpo_loss(
            chosen_logps, rejected_logps, chosen_len, rejected_len, beta=beta, gamma=gamma
        )
    if loss_type == "orpo":
        return orpo_loss(chosen_logps, rejected_logps, chosen_len, rejected_len, beta=beta)
    if ref_chosen_logps is None or ref_rejected_logps is None:
        raise ValueError(f"the {loss_type} loss needs reference log-probs")
    return dpo_loss(
        chosen_logps,
        rejected_logps,
        ref_chosen_logps,
        ref_rejected_logps,
        beta=beta,
        loss_type=loss_type,
        chosen_len=chosen_len,
        rejected_len=rejected_len,
    )
