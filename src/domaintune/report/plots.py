"""The report's plots as PNG bytes: loss (train and eval, epoch boundaries and warm-up end
marked), learning rate, gradient norm."""

from __future__ import annotations

import io
import math

from domaintune.diagnose.curves import Curves, warmup_end

COLORS = ["tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink"]


def _figure():
    import matplotlib

    matplotlib.use("Agg")  # no display where training runs
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 3.4), dpi=100)
    ax.grid(alpha=0.3)
    return plt, fig, ax


def _png(plt, fig) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _boundaries(c: Curves) -> list[int]:
    """First logged step of every epoch after the first."""
    out, seen = [], 0
    for s, e in zip(c.steps, c.epoch, strict=True):
        if math.floor(e - 1e-9) > seen and e > 1:
            seen = math.floor(e - 1e-9)
            out.append(s)
    return out


def loss_plot(c: Curves, title: str) -> bytes:
    plt, fig, ax = _figure()
    pts = [(s, v) for s, v in zip(c.steps, c.loss, strict=True) if math.isfinite(v)]
    if pts:
        ax.plot(*zip(*pts, strict=True), color="tab:blue", lw=1.2, label="train loss")
    for name, points in c.by_source.items():  # mixed sources / PTX: each one's train loss
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, lw=0.8, ls="--", label=f"train: {name}")
    for i, (name, points) in enumerate(c.evals.items()):
        xs, ys = [p[0] for p in points], [p[2] for p in points]
        ax.plot(xs, ys, marker="o", ms=3, color=COLORS[i % len(COLORS)], label=f"eval: {name}")
    for j, b in enumerate(_boundaries(c)):
        ax.axvline(b, color="gray", ls="--", lw=0.8, label="epoch boundary" if j == 0 else None)
    warm = warmup_end(c)
    if warm is not None:
        ax.axvline(warm, color="black", ls=":", lw=1.0, label="warm-up end")
    ax.set(xlabel="step", ylabel="loss", title=title)
    ax.legend(fontsize=8)
    return _png(plt, fig)


def series_plot(steps: list[int], values: list[float | None], title: str, ylabel: str) -> bytes:
    plt, fig, ax = _figure()
    pts = [(s, v) for s, v in zip(steps, values, strict=True) if v is not None and math.isfinite(v)]
    if pts:
        ax.plot(*zip(*pts, strict=True), color="tab:blue", lw=1.2)
    else:
        ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes)
    ax.set(xlabel="step", ylabel=ylabel, title=title)
    return _png(plt, fig)


def scatter_plot(
    points: dict[str, tuple[float, float]],
    title: str,
    xlabel: str,
    ylabel: str,
    groups: dict[str, str] | None = None,
) -> bytes:
    """One labelled point per name (e.g. a sweep's variants), one colour per group."""
    plt, fig, ax = _figure()
    keys = list(dict.fromkeys((groups or {}).get(n, n) for n in points))
    for name, (x, y) in points.items():
        i = keys.index((groups or {}).get(name, name))
        ax.scatter([x], [y], color=COLORS[i % len(COLORS)], s=30)
        ax.annotate(name, (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return _png(plt, fig)


def pref_plot(c: Curves, title: str, keys: tuple[str, ...], ylabel: str) -> bytes:
    """Preference-stage curves (`pref` objects of metrics.jsonl), one line per key."""
    plt, fig, ax = _figure()
    for i, key in enumerate(keys):
        pts = [(s, p[key]) for s, p in c.pref if key in p and math.isfinite(p[key])]
        if pts:
            ax.plot(*zip(*pts, strict=True), color=COLORS[i % len(COLORS)], lw=1.2, label=key)
    ax.set(xlabel="step", ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    return _png(plt, fig)
