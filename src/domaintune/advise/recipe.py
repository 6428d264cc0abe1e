"""The advisor's recipe: its recommendations as a recipe `domaintune check` accepts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from domaintune.advise.rules import PTX_COEF, PTX_SHARE, Advice

# A base model without a chat template is fine-tuned in a format it can spell (templates/).
TEMPLATE_WITHOUT_CHAT = "plain"


def _shares(files: Sequence[str], total: float, name: str) -> list[dict]:
    """Each file one source, the `total` share split evenly (the last takes the rounding)."""
    each = round(total / len(files), 6)
    rows = []
    for i, f in enumerate(files):
        share = each if i < len(files) - 1 else round(total - each * (len(files) - 1), 6)
        rows.append({"path": str(f), "name": f"{name}_{i}" if len(files) > 1 else name,
                     "share": share})  # fmt: skip
    return rows


def _train(advice: Advice, method: str, lr: float) -> dict[str, Any]:
    fit = advice.measurements.fits[method]
    out = {
        "method": method,
        "learning_rate": lr,
        "num_epochs": 1,
        "batch_size": fit.batch,
        "gradient_accumulation_steps": max(1, advice.grad_accum * advice.batch // fit.batch),
        "max_len": advice.measurements.seq_len,
    }
    if fit.grad_ckpt:
        out["gradient_checkpointing"] = True
    return out


def _data(domain: Sequence[str], general: Sequence[str], share: float, name: str) -> list:
    if not general:
        return [{"path": str(f)} for f in domain]
    return [*_shares(domain, 1.0 - share, name), *_shares(general, share, "general")]


def recipe_for(
    advice: Advice,
    *,
    domain: Sequence[str | Path],
    general: Sequence[str | Path] = (),
    sft: Sequence[str | Path] = (),
    eval_domain: str | None = None,
    eval_general: str | None = None,
    name: str = "advised",
) -> dict[str, Any]:
    """The recipe mapping: cpt (when advised), sft (when instruction data is given), eval."""
    m = advice.measurements
    stages: list[dict[str, Any]] = []
    general = [str(g) for g in general]
    if advice.plan == "cpt+sft" or not sft:
        stages.append({
            "name": "cpt", "type": "pt",
            "data": _data([str(d) for d in domain], general, advice.general_share, "domain"),
            "train": _train(advice, advice.cpt_method, advice.lr_cpt),
        })  # fmt: skip
    if sft:
        stage = {
            "name": "sft", "type": "sft", "model_from": stages[0]["name"] if stages else "base",
            "data": [{"path": str(f)} for f in sft],
            "train": {**_train(advice, advice.sft_method, advice.lr_sft), "merge": True},
        }  # fmt: skip
        if not m.chat_template:
            stage["template"] = TEMPLATE_WITHOUT_CHAT
        if general and advice.ptx:
            stage["ptx"] = {"data": [{"path": g} for g in general], "coef": PTX_COEF,
                            "share": PTX_SHARE}  # fmt: skip
        stages.append(stage)
    sets = {k: v for k, v in (("domain", eval_domain), ("general", eval_general)) if v}
    if sets:
        models = ["base", *(s["name"] for s in stages)]
        stages.append({"name": "eval", "type": "eval", "models": models, "perplexity": sets,
                       "max_len": min(m.seq_len, 2048)})  # fmt: skip
    return {"name": name, "model": {"path": m.model}, "stages": stages}


def recipe_yaml(advice: Advice, recipe: dict[str, Any]) -> str:
    """The recipe as YAML, headed by the advice's reasons as comments."""
    lines = ["# Written by `domaintune advise`: the reasons behind each choice (docs/advisor.md)."]
    for r in advice.recommendations:
        lines.append(f"# - {r.topic}: {r.choice}. {r.reason}")
    body = yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True)
    return "\n".join(lines) + "\n" + body
