"""SFT then DPO on a tiny model; held-out pair accuracy, general perplexity, repetition.

The experiment behind docs/preference.md's end-to-end table (tests/pref/test_e2e.py asserts the
issue's thresholds on one configuration):

    .venv/bin/python scripts/pref_e2e.py OUT [--sft-data both|chosen] [--sft-steps 600]
        [--method full|lora] [--lr 4e-4] [--sft-coef 1.0] [--steps 60] [--beta 0.1]
        [--ptx-share 0.5 (0: none)] [--ptx-coef 1] [--questions 100]

The defaults are the configuration the test asserts. OUT/run holds the recipe's stages; an
unchanged SFT stage is reused (the runner skips it) and the outputs of DPO settings run before are
restored, so several DPO settings can be tried on one SFT model in one OUT (one at a time).
Prints one JSON line per model (SFT, DPO).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from domaintune.data.pref_io import read_pref
from domaintune.eval.generate import generate_answers
from domaintune.eval.metrics import diversity
from domaintune.eval.perplexity import perplexity
from domaintune.eval.pref import pref_accuracy
from domaintune.io import read_documents, write_jsonl
from domaintune.models import build_tiny_model, load_for_eval
from domaintune.pipeline import run_recipe
from domaintune.recipes import parse_recipe
from domaintune.records import EvalItem
from domaintune.resources import resolve

SFT = {
    "method": "full",
    "learning_rate": 3e-3,
    "batch_size": 16,
    "max_len": 160,
    "logging_steps": 20,
}


def measure(model_dir: Path, held: list, general: list, items: list) -> dict:
    model, tok = load_for_eval(model_dir)
    model.eval()
    out = {}
    for score in ("sum", "mean"):
        out[f"accuracy_{score}"] = pref_accuracy(model, tok, held, template="chatml", score=score)[
            "accuracy"
        ]
    out["general_ppl"] = perplexity(model, tok, general, max_len=160)["perplexity"]
    answers = generate_answers(
        model, tok, items, template="chatml", max_new_tokens=60, show_progress=False
    )
    return {**out, **diversity(answers)}


def run_experiment(
    out: Path,
    *,
    sft_data: str = "both",
    method: str = "full",
    lr: float = 4e-4,
    sft_coef: float = 1.0,
    steps: int = 60,
    beta: float = 0.1,
    ptx_share: float = 0.5,
    ptx_coef: float = 1.0,
    sft_steps: int = 600,
    questions: int = 100,
) -> dict[str, dict]:
    """SFT then DPO into `out/run`; {"sft": figures, "dpo": figures} on the held-out pairs, general
    text and the first `questions` held-out questions (the end-to-end test calls this too)."""
    pairs = read_pref(resolve("builtin:pref_pairs.jsonl"))
    held = read_pref(resolve("builtin:pref_heldout.jsonl"))
    general = [d.text for d in read_documents(resolve("builtin:general_corpus.jsonl"))]
    if not (out / "model/config.json").exists():
        texts = [t for r in pairs for t in (r.prompt[-1]["content"], r.chosen, r.rejected)]
        build_tiny_model(
            out / "model",
            texts=texts + general[:200],
            vocab_size=2048,
            hidden_size=128,
            num_layers=2,
            seed=0,
        )
    answers = (
        (lambda r: (r.chosen,)) if sft_data == "chosen" else (lambda r: (r.chosen, r.rejected))
    )
    rows = [
        {"messages": [*r.prompt, {"role": "assistant", "content": x}]}
        for r in pairs
        for x in answers(r)
    ]
    write_jsonl(out / "sft.jsonl", rows)
    write_jsonl(out / "general.jsonl", [{"text": t} for t in general[:150]])
    dpo = {
        "method": method,
        "learning_rate": lr,
        "max_steps": steps,
        "batch_size": 8,
        "max_len": 160,
        "logging_steps": 5,
        "warmup_ratio": 0.1,
    }
    # PTX: the general text the SFT stage mixed in, trained alongside the pairs
    ptx = {"data": [{"path": str(out / "general.jsonl")}], "share": ptx_share, "coef": ptx_coef}
    raw = {
        "name": "pref-e2e",
        "output_dir": str(out / "run"),
        "model": {"path": str(out / "model")},
        "stages": [
            {
                "name": "sft",
                "type": "sft",
                "template": "chatml",
                "train": {**SFT, "max_steps": sft_steps},
                "data": [{"path": str(out / "sft.jsonl")}],
                "ptx": {"data": [{"path": str(out / "general.jsonl")}], "share": 0.2},
            },
            {
                "name": "dpo",
                "type": "dpo",
                "model_from": "sft",
                "template": "chatml",
                "data": [{"path": "builtin:pref_pairs.jsonl"}],
                "loss": "sigmoid",
                "beta": beta,
                "sft_coef": sft_coef,
                "train": dpo,
                **({"ptx": ptx} if ptx_share else {}),
            },
        ],
    }
    run_recipe(parse_recipe(raw))
    heldout_general = list(read_documents(resolve("builtin:heldout_general.jsonl")))[:20]
    items = [EvalItem(id=r.id, question=r.prompt[-1]["content"], answer=r.chosen) for r in held]
    return {
        stage: measure(out / "run" / stage / "final", held, heldout_general, items[:questions])
        for stage in ("sft", "dpo")
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--sft-data", choices=("chosen", "both"), default="both")
    p.add_argument("--method", default="full")
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--sft-coef", type=float, default=1.0)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--beta", type=float, default=0.1)
    p.add_argument("--ptx-share", type=float, default=0.5, help="0: no PTX")
    p.add_argument("--ptx-coef", type=float, default=1.0)
    p.add_argument("--sft-steps", type=int, default=600)
    p.add_argument("--questions", type=int, default=100, help="held-out questions generated")
    a = p.parse_args()
    settings = {k: v for k, v in vars(a).items() if k != "out"}
    for stage, result in run_experiment(a.out, **settings).items():
        print(json.dumps({"model": stage, **vars(a), "out": str(a.out), **result}))


if __name__ == "__main__":
    main()
