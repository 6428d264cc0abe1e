"""Loss curves from a stage's metrics.jsonl, as a PNG beside it."""

from __future__ import annotations

from pathlib import Path

from domaintune.diagnose.curves import read_metrics


def plot_loss_curves(metrics_path: str | Path, out_png: str | Path, *, title: str) -> Path:
    """Training loss (and per source when logged), each eval set's loss against step, learning
    rate on a second axis."""
    import matplotlib

    matplotlib.use("Agg")  # no display on training machines
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    train = [(r["step"], r["loss"]) for r in rows if isinstance(r.get("loss"), float)]
    lr = [(r["step"], r["lr"]) for r in rows if isinstance(r.get("lr"), float)]
    evals: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        for name, value in (r.get("eval_loss") or {}).items():
            if isinstance(value, float):
                evals.setdefault(name, []).append((r["step"], value))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    if train:
        ax.plot(*zip(*train, strict=True), label="train loss", color="tab:blue")
    colors = ["tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink"]
    for i, (name, points) in enumerate(evals.items()):
        color = colors[i % len(colors)]
        ax.plot(*zip(*points, strict=True), marker="o", color=color, label=f"eval loss: {name}")
    by_source: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        for name, value in (r.get("loss_by_source") or {}).items():
            if isinstance(value, float):
                by_source.setdefault(name, []).append((r["step"], value))
    for name, points in by_source.items():  # thin dashed lines: each source's train loss
        ax.plot(*zip(*points, strict=True), linestyle="--", linewidth=0.8, label=f"train: {name}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if lr:
        ax2 = ax.twinx()
        ax2.plot(*zip(*lr, strict=True), color="gray", linestyle=":", label="learning rate")
        ax2.set_ylabel("learning rate", color="gray")
    ax.legend(loc="upper right")
    fig.tight_layout()
    out = Path(out_png)
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out)
    return out
