"""Questions per second of `eval mcq` (letter and option scoring) vs lm-evaluation-harness.

Same model (the built-in tiny model: Qwen2, hidden 256, 4 layers, 8k vocabulary), same
questions (the bundled 48, each also with its options rotated and reversed: 240), same batch
size, same process and threads. Both sides have the model loaded already; lm-eval's time is its
`simple_evaluate` (building the prompts, tokenising, its loglikelihood requests), ours is
`mcq.score` (building the prompts, tokenising, the forward passes). The accuracies must agree.

    .venv/bin/python benchmarks/eval_mcq.py [--batch-size 16] [--threads N] [--repeat 1] [--smoke]

The last line is `RESULT {json}`; `ratio` is the smaller of the two speed ratios (letter and
option scoring, lm-eval's seconds / ours). --smoke: 4 questions (20 with their variants) on a
2-layer, hidden-64 model with a 1024-token tokenizer (seconds).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import yaml  # noqa: E402

from domaintune.eval import mcq  # noqa: E402
from domaintune.io import write_jsonl  # noqa: E402
from domaintune.models import build_tiny_model, bundled_texts, load_for_eval  # noqa: E402
from domaintune.records import EvalItem  # noqa: E402
from domaintune.resources import data_path  # noqa: E402


def variants(questions: list[EvalItem]) -> list[EvalItem]:
    """Each question as given, with its options rotated 1-3 places, and reversed."""
    out = []
    for q in questions:
        options = q.choices or {}
        texts = list(options.values())
        right = texts[list(options).index(q.answer)]
        orders = [texts[i:] + texts[:i] for i in range(len(texts))] + [texts[::-1]]
        for n, order in enumerate(orders):
            letters = mcq.LETTERS[: len(order)]
            answer = letters[order.index(right)]
            out.append(
                EvalItem(
                    f"{q.id}-v{n}",
                    q.question,
                    answer,
                    dict(zip(letters, order, strict=True)),
                    subject=q.subject,
                )
            )
    return out


def run_lm_eval(lm, workdir: Path, questions: list[EvalItem], choices: str) -> tuple[float, dict]:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    name = f"bench_{choices}"
    data = workdir / "questions.jsonl"
    write_jsonl(data, [mcq.lm_eval_doc(q) for q in questions])
    config = mcq.lm_eval_task(mcq.STYLES["ceval"], name, "mcq_domain", data, choices=choices)
    config["dataset_kwargs"]["cache_dir"] = str(workdir / "hf_cache")
    (workdir / f"{name}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    manager = TaskManager(include_path=str(workdir), include_defaults=False)
    start = time.perf_counter()
    result = simple_evaluate(model=lm, tasks=[name], task_manager=manager, log_samples=False)
    return time.perf_counter() - start, result["results"][name]


def run_ours(model, tok, questions: list[EvalItem], scoring: str, batch_size: int):
    start = time.perf_counter()
    items = mcq.score(
        model, tok, questions, style=mcq.STYLES["ceval"], scoring=scoring, batch_size=batch_size
    )
    return time.perf_counter() - start, mcq.summarize(items)[0]


def tiny_model(out: Path, smoke: bool) -> Path:
    """The built-in tiny model: hidden 256, 4 layers, vocab 8192 (smoke: 64, 2, 1024)."""
    if not smoke:
        return build_tiny_model(out)
    texts = itertools.islice(bundled_texts(), 300)  # a small tokenizer trains in a blink
    return build_tiny_model(out, texts=texts, vocab_size=1024, hidden_size=64, num_layers=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the fastest counts")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    args = parser.parse_args()
    if args.smoke:
        args.batch_size, args.repeat, args.threads = 8, 1, 1
    logging.getLogger("lm_eval").setLevel(logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    from lm_eval.models.huggingface import HFLM

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_dir = tiny_model(workdir / "tiny", args.smoke)
        questions = mcq.read_questions(data_path("mcq_domain.jsonl"))
        questions = variants(questions[:4] if args.smoke else questions)
        n = len(questions)
        model, tok = load_for_eval(model_dir)
        lm = HFLM(
            pretrained=str(model_dir), dtype="float32", batch_size=args.batch_size, device="cpu"
        )
        print(
            f"{n} questions, batch size {args.batch_size}, {torch.get_num_threads()} threads",
            flush=True,
        )
        run_ours(model, tok, questions[:8], "both", args.batch_size)  # warm-up
        figures: dict[str, float] = {}
        for scoring, choices in (("letter", "letter"), ("option", "option")):
            ours, theirs = [], []
            for _ in range(args.repeat):  # interleaved, so load changes hit both
                seconds, metrics = run_ours(model, tok, questions, scoring, args.batch_size)
                ours.append(seconds)
                seconds, scores = run_lm_eval(lm, workdir, questions, choices)
                theirs.append(seconds)
            pairs = (
                [("acc", "acc_letter")]
                if scoring == "letter"
                else [("acc", "acc_option"), ("acc_norm", "acc_option_norm")]
            )
            for theirs_name, ours_name in pairs:  # equal counts of right answers
                assert round(scores[f"{theirs_name},none"] * n) == round(
                    metrics[ours_name] * n / 100
                ), (scores, metrics)
            figures[f"ours_{scoring}_qps"] = n / min(ours)
            figures[f"lm_eval_{scoring}_qps"] = n / min(theirs)
            figures[f"{scoring}_ratio"] = min(theirs) / min(ours)
            accuracy = ", ".join(f"{k} {v:.2f}" for k, v in metrics.items() if "macro" not in k)
            print(
                f"{scoring:6s} scoring: ours {n / min(ours):7.1f} q/s, lm-eval "
                f"{n / min(theirs):7.1f} q/s, ratio {min(theirs) / min(ours):.2f}x; "
                f"same accuracy ({accuracy})",
                flush=True,
            )
        seconds, _ = run_ours(model, tok, questions, "both", args.batch_size)
        figures["ours_both_qps"] = n / seconds
        print(f"both scorings in one pass: ours {n / seconds:.1f} q/s", flush=True)
    figures.update(questions=n, batch_size=args.batch_size, threads=torch.get_num_threads())
    figures["ratio"] = min(figures["letter_ratio"], figures["option_ratio"])
    result = {k: round(v, 2) for k, v in figures.items()}
    print("RESULT " + json.dumps({**result, "smoke": args.smoke}))


if __name__ == "__main__":
    main()
