"""`export` in one place: the library function behind the CLI verb, and the recipe stage.

Recipe:
    - name: gguf
      type: export
      model_from: sft        # or base
      format: gguf           # hf | gguf | ollama
      quant: q8_0            # gguf/ollama: f16 | q8_0
Registered in recipes.STAGE_TYPES as "export": ("domaintune.serve.stage", "ExportStage",
"run_export"). The output goes to the stage folder's `export/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from domaintune.config import StageBase

FORMATS = ("hf", "gguf", "ollama")


def export_model(
    model_or_run: str | Path, out: str | Path, *, fmt: str, quant: str = "f16",
    max_shard_size: str | int = "2GB", template: str | None = None,
) -> Path:  # fmt: skip
    """Export a model folder or a run's last model: hf (merged), gguf or ollama."""
    from domaintune.serve.export_gguf import QUANTS

    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if quant not in QUANTS:
        raise ValueError(f"--quant {quant!r}: choose one of {', '.join(QUANTS)}")
    if fmt == "hf":
        from domaintune.serve.export_hf import export_hf

        return export_hf(model_or_run, out, max_shard_size=max_shard_size)
    if fmt == "gguf":
        from domaintune.serve.export_gguf import export_gguf

        return export_gguf(model_or_run, out, quant=quant)
    from domaintune.serve.ollama import export_ollama

    return export_ollama(model_or_run, out, quant=quant, template=template)


class ExportStage(StageBase):
    """Export a model the recipe produced (or its base) as hf, gguf or ollama."""

    type: Literal["export"]
    model_from: str = Field("base", description="'base' or an earlier model-producing stage")
    format: Literal["hf", "gguf", "ollama"] = "gguf"
    quant: Literal["f16", "q8_0"] = "f16"
    max_shard_size: str = "2GB"
    template: str | None = Field(None, description="ollama: registry template name")

    produces: ClassVar[str] = ""

    def models(self) -> list[str]:
        return [self.model_from]


def run_export(stage: ExportStage, ctx: Any) -> dict:
    """Write the export into `ctx.out/export`; counts name the files and their bytes."""
    source = ctx.model_dir(stage.model_from)
    out = ctx.out / "export"
    path = export_model(source, out, fmt=stage.format, quant=stage.quant,
                        max_shard_size=stage.max_shard_size, template=stage.template)  # fmt: skip
    files = sorted(p for p in out.rglob("*") if p.is_file())
    ctx.console.print(f"exported {source} as {stage.format} to {path}", highlight=False)
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files),
            "format": stage.format, "path": str(path)}  # fmt: skip
