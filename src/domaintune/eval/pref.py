"""`eval pref`: held-out preference accuracy, the share of pairs whose chosen answer the model
prefers, and the mean margin.

A pair is rendered exactly as the dpo stage renders it (data/pref.py: the SFT template, one
end-of-turn token per completion) and each completion is scored by its log-probability given the
prompt. The score of a completion is, by `score`:
  sum     log pi(y|x), the summed log-prob (default): the model prefers chosen when it is more
          likely to produce it than the rejected answer
  mean    mean token log-prob (length-normalised as in SimPO: a short answer does not win by
          being short)
  reward  with a reference model: the DPO implicit reward, summed log-prob minus the reference's
Accuracy counts pairs with score(chosen) > score(rejected) (ties are not preferences).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from domaintune.cli_common import fail

app = typer.Typer()
SCORES = ("mean", "sum", "reward")


def completion_logps(
    model: Any, rendered: list, *, batch_size: int = 8
) -> list[tuple[float, int, float, int]]:
    """(chosen sum log-prob, chosen tokens, rejected sum, rejected tokens) per rendered pair."""
    import torch

    with torch.no_grad():
        return _logps(model, rendered, batch_size)


def _logps(model: Any, rendered: list, batch_size: int) -> list[tuple[float, int, float, int]]:
    import torch

    seqs = []
    for r in rendered:
        seqs += [(r.prompt_ids, r.chosen_ids), (r.prompt_ids, r.rejected_ids)]
    device = next(model.parameters()).device
    out: list[tuple[float, int]] = []
    for i in range(0, len(seqs), batch_size):
        chunk = seqs[i : i + batch_size]
        width = max(len(p) + len(c) for p, c in chunk)
        ids = torch.zeros(len(chunk), width, dtype=torch.long)
        attn = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        for j, (p, c) in enumerate(chunk):
            ids[j, : len(p) + len(c)] = torch.tensor(p + c)
            attn[j, : len(p) + len(c)] = 1
            mask[j, len(p) : len(p) + len(c)] = 1
        logits = model(
            input_ids=ids.to(device), attention_mask=attn.to(device), use_cache=False
        ).logits.float()  # [batch, seq, vocab]
        logp = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None].to(device))
        logp = logp.squeeze(-1).cpu() * mask[:, 1:]  # [batch, seq-1]
        out += [(float(s), int(n)) for s, n in zip(logp.sum(1), mask[:, 1:].sum(1), strict=True)]
    return [(*out[2 * k], *out[2 * k + 1]) for k in range(len(out) // 2)]


def _scores(lp, ref, score: str) -> list[tuple[float, float]]:
    if score == "mean":
        return [(c / max(nc, 1), r / max(nr, 1)) for c, nc, r, nr in lp]
    if score == "sum":
        return [(c, r) for c, _, r, _ in lp]
    return [(c - rc, r - rr) for (c, _, r, _), (rc, _, rr, _) in zip(lp, ref, strict=True)]


def pref_accuracy(
    model: Any,
    tokenizer: Any,
    rows: list,
    *,
    template: str | None = None,
    ref_model: Any = None,
    score: str = "sum",
    max_len: int | None = None,
    batch_size: int = 8,
) -> dict[str, Any]:
    """Accuracy (share of pairs preferring chosen), mean margin and counts over pair rows."""
    from domaintune.data.pref import length_problem, render_pref

    if score not in SCORES:
        raise ValueError(f"score {score!r}: choose one of {', '.join(SCORES)}")
    if (score == "reward") != (ref_model is not None):
        raise ValueError("score reward needs a reference model (--ref), and only it does")
    rendered = [render_pref(tokenizer, r, template=template) for r in rows if r.label is None]
    skipped = len(rows) - len(rendered)
    if max_len:
        kept = [r for r in rendered if not length_problem(r, max_len)]
        skipped, rendered = skipped + len(rendered) - len(kept), kept
        rendered = [_truncate(r, max_len) for r in rendered]
    if not rendered:
        raise ValueError("no pair rows to score")
    lp = completion_logps(model, rendered, batch_size=batch_size)
    ref = completion_logps(ref_model, rendered, batch_size=batch_size) if ref_model else None
    pairs = _scores(lp, ref, score)
    margins = [c - r for c, r in pairs]
    return {
        "pairs": len(pairs),
        "skipped": skipped,
        "score": score,
        "accuracy": sum(m > 0 for m in margins) / len(margins),
        "margin": sum(margins) / len(margins),
        "chosen_logp": sum(x[0] for x in lp) / len(lp),
        "rejected_logp": sum(x[2] for x in lp) / len(lp),
    }


def _truncate(r, max_len: int):
    from domaintune.data.pref import Rendered

    room = max_len - len(r.prompt_ids)
    return Rendered(r.prompt_ids, r.chosen_ids[:room], r.rejected_ids[:room])


def evaluate_pref_file(
    model_dir: str | Path,
    data: str | Path,
    *,
    template: str | None = None,
    ref: str | Path | None = None,
    score: str | None = None,
    max_len: int | None = None,
    dtype: str = "float32",
) -> dict[str, Any]:
    """Load the model (and reference), read the pairs, return `pref_accuracy`'s result."""
    from domaintune.data.pref_io import read_pref
    from domaintune.models import load_for_eval

    model, tokenizer = load_for_eval(model_dir, dtype=dtype)
    ref_model = load_for_eval(ref, dtype=dtype)[0] if ref else None
    model.eval()
    score = score or ("reward" if ref_model is not None else "sum")
    result = pref_accuracy(
        model,
        tokenizer,
        read_pref(data),
        template=template,
        ref_model=ref_model,
        score=score,
        max_len=max_len,
    )
    return {"model": str(model_dir), "data": str(data), **result}


@app.command("pref")
def pref(
    model: Path = typer.Option(..., "--model", help="Model directory or PEFT adapter directory."),
    data: Path = typer.Option(..., "--data", help="Held-out preference pairs (.jsonl)."),
    ref: Path | None = typer.Option(
        None, "--ref", help="Reference model: score by the DPO implicit reward."
    ),
    template: str | None = typer.Option(
        None, "--template", help="Chat template (default: the model's saved one)."
    ),
    score: str | None = typer.Option(
        None, "--score", help="sum (default), mean, or reward (default with --ref)."
    ),
    max_len: int | None = typer.Option(None, "--max-len", help="Truncate as training does."),
    out: Path | None = typer.Option(None, "--out", help="Write the result JSON here."),
) -> None:
    """Held-out pair accuracy (the model prefers chosen) and mean margin."""
    from domaintune.io import write_json
    from domaintune.records import DataError

    try:
        result = evaluate_pref_file(
            model, data, template=template, ref=ref, score=score, max_len=max_len
        )
    except (DataError, ValueError, OSError) as err:
        raise fail(str(err), 1) from None
    typer.echo(
        f"{data}: {result['pairs']} pairs, accuracy {result['accuracy']:.3f}, "
        f"mean margin {result['margin']:+.4f} (score {result['score']})"
    )
    if out is not None:
        write_json(out, result)


from domaintune.verbs import make_callable  # noqa: E402 (last: the module is complete)

make_callable(__name__, "domaintune.eval.pref:evaluate_pref_file")  # dt.eval.pref(model, pairs)
