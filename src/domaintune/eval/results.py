"""The one JSON layout every `domaintune eval` command writes with `--out`, read by `eval compare`.

    {
      "kind": "mcq" | "gen" | "ppl",
      "model": "<model dir or predictions file>",
      "group": "domain" | "general",            # --group; what `eval compare` calls forgetting
      "metrics": {"<metric>": float},          # overall figures (accuracies and scores in 0-100)
      "by_set": {"<set>": {"<metric>": float, "n": int}},        # per subject / file
      "by_dimension": {"<dimension>": {"<metric>": float, "n": int}},  # items' `dimension` tag
      "items": [...],                          # per item / row, command specific
      ...                                      # command specific extras (settings, counts)
    }

Metric direction: names in LOWER_IS_BETTER fall when the model improves; all others rise.
"""

from __future__ import annotations

from typing import Any

from domaintune.records import DIMENSIONS  # noqa: F401  (re-exported)

GROUPS = ("domain", "general")
LOWER_IS_BETTER = frozenset({"perplexity", "nll", "loss", "bits_per_byte"})


def group_of(name: str) -> str:
    """A recipe eval set's group: general when its name says so (forgetting), else domain."""
    return "general" if "general" in name else "domain"


def result_doc(
    kind: str,
    model: str,
    *,
    group: str,
    metrics: dict[str, float],
    by_set: dict[str, dict[str, Any]],
    by_dimension: dict[str, dict[str, Any]] | None = None,
    items: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Assemble an eval result in the shared layout (see the module docstring)."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, got {group!r}")
    return {
        "kind": kind,
        "model": model,
        "group": group,
        "metrics": metrics,
        "by_set": by_set,
        "by_dimension": by_dimension or {},
        "items": items or [],
        **extra,
    }
