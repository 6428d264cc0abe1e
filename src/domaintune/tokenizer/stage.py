"""The recipe stage `type: tokenizer`: expand the vocabulary of the base (or an earlier model).

Recipe:
    - name: vocab
      type: tokenizer
      model_from: base          # or an earlier model stage
      corpus: [{from: dedup}]   # domain text the tokens are chosen on (files or from:)
      add: 2000                 # at most this many tokens
      init: mean                # mean | noise | zero
    - {name: cpt, type: pt, model_from: vocab, data: [{from: dedup}], train: {method: full}}

Writes an expanded model + tokenizer to the stage's `final/` (a later stage's `model_from`
reads it) with `domaintune_vocab.json`: the added ids, texts and tokens saved. Training after it
switches the new rows on (domaintune.tokenizer.training). Registered in recipes.STAGE_TYPES as
"tokenizer": ("domaintune.tokenizer.stage", "TokenizerStage", "run_tokenizer").
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from domaintune.config import DataSource, StageBase


class TokenizerStage(StageBase):
    """Append domain tokens to a model's vocabulary and resize its embeddings."""

    type: Literal["tokenizer"]
    model_from: str = Field("base", description="'base' or an earlier model-producing stage")
    corpus: list[DataSource] = Field(min_length=1, description="domain text to choose tokens on")
    add: int = Field(2000, ge=1, description="at most this many new tokens")
    init: Literal["mean", "noise", "zero"] = "mean"
    min_freq: int = Field(3, ge=1, description="pairs seen fewer times are never merged")
    within: Literal["word", "run"] = Field("word", description="jieba words or whole CJK runs")
    max_chars: int | None = Field(None, ge=1, description="longest new token, in characters")

    produces: ClassVar[str] = "model"

    def models(self) -> list[str]:
        return [self.model_from]

    def sources(self) -> list[DataSource]:
        return list(self.corpus)


def run_tokenizer(stage: TokenizerStage, ctx: Any) -> dict:
    """Expand into `ctx.out/final`; counts: tokens added, rows, tokens saved on the corpus."""
    from domaintune.tokenizer.expand import expand_model

    source = ctx.model_dir(stage.model_from)
    with ctx.console.status(f"choosing up to {stage.add} tokens ..."):
        rec = expand_model(
            source, ctx.all_paths(stage.corpus), add=stage.add, out=ctx.out / "final",
            init=stage.init, min_freq=stage.min_freq, within=stage.within,
            max_chars=stage.max_chars, seed=ctx.recipe.seed,
        )  # fmt: skip
    saved = sum(t["saved"] for t in rec["tokens"])
    ctx.console.print(
        f"added {rec['added']} tokens to {source} (saving {saved:,} tokens on the corpus); "
        f"embeddings {rec.get('old_rows')} -> {rec.get('rows')} rows, init {stage.init}",
        highlight=False,
    )
    return {"added": rec["added"], "old_vocab": rec["old_vocab"], "rows": rec.get("rows"),
            "saved_on_corpus": saved, "init": stage.init}  # fmt: skip
