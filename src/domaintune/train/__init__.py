"""Training: continued pre-training (`pt`) and fine-tuning (`sft`) on Hugging Face's Trainer.

`dt.train(model, data, out, ...)` trains one stage from a notebook with plain arguments, the same
code path as a recipe's training stage (`train/stage.py`); the package itself is callable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainResult:
    """Where the trained model is and what the stage reported (as its manifest would)."""

    out: Path
    model_dir: Path  # final/ (a full model or a LoRA adapter), or merged/ when written
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def train_loss(self) -> float | None:
        return self.summary.get("training", {}).get("train_loss")


def train(
    model: str | Path,
    data: str | Path | Sequence[str | Path | Mapping[str, Any]],
    out: str | Path,
    *,
    type: str = "sft",
    method: str = "lora",
    template: str | None = None,
    eval_data: Mapping[str, str | Path] | None = None,
    ptx: Mapping[str, Any] | None = None,
    seed: int = 42,
    resume: bool = True,
    trust_remote_code: bool = False,
    **train_options: Any,
) -> TrainResult:
    """Train `model` on `data` into `out` (checkpoints, metrics.jsonl, final/).

    Args:
        data: a file or folder, or a list of them; an item may be a mapping with `path`,
            `share`, `fraction`, `name` as in a recipe's `data:`.
        type: "pt" (documents, packed whole) or "sft" (conversations through `template`).
        train_options: any field of the recipe's `train:` section (learning_rate, max_steps,
            batch_size, max_len, lora={"r": 16}, merge=True, ...); unknown names are errors.
    """
    from domaintune.config import DataSource, ModelConfig, Recipe, TrainConfig
    from domaintune.stages import StageContext
    from domaintune.train.stage import TrainStage, run_train

    out = Path(out)
    items = [data] if isinstance(data, str | Path) else list(data)
    sources = [
        DataSource(**d) if isinstance(d, Mapping) else DataSource(path=str(d)) for d in items
    ]
    stage = TrainStage(
        name=out.name,
        type=type,
        data=sources,
        eval_data={k: str(v) for k, v in (eval_data or {}).items()},
        ptx=ptx,
        template=template,
        train=TrainConfig(method=method, **train_options),
    )
    recipe = Recipe(
        name=out.name,
        output_dir=str(out.parent),
        seed=seed,
        model=ModelConfig(path=str(model), trust_remote_code=trust_remote_code),
        stages=[stage],
    )
    summary = run_train(stage, StageContext(recipe, out, resume=resume))
    merged = out / "merged"
    return TrainResult(out, merged if merged.exists() else out / "final", summary)


from domaintune.verbs import make_callable  # noqa: E402 (last: the module is complete)

make_callable(__name__, "domaintune.train:train")  # dt.train(...) calls train()
