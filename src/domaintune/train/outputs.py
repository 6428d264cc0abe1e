"""A training stage's outputs: final/ (the model or adapter) and merged/, each complete or absent.

Each is written to a temp folder, given the tokenizer and generation config, and renamed into place.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domaintune.models import QUANTIZATION_FILE

if TYPE_CHECKING:
    from transformers import Trainer

    from domaintune.train.trainer import TrainSettings


def save_outputs(trainer: Trainer, tokenizer: Any, out: Path, s: TrainSettings) -> None:
    """Write final/ (and merged/ for LoRA with merge), each as a temp folder renamed into place.

    Every process takes part in `save_model` (ZeRO-3 and FSDP gather the shards there); only the
    main process writes the other files and renames.
    """
    model = trainer.model
    model.config.use_cache = True  # inference default for whoever loads the result
    gen = getattr(model, "generation_config", None)  # stop tokens travel with every output
    main = trainer.is_world_process_zero()
    wait = trainer.accelerator.wait_for_everyone
    final_tmp = out / "final.tmp"
    if main:
        shutil.rmtree(final_tmp, ignore_errors=True)
    wait()
    trainer.save_model(str(final_tmp))
    wait()
    if main:
        if s.method == "qlora":  # evaluation loads the base the adapter trained against: 4-bit
            (final_tmp / QUANTIZATION_FILE).write_text(json.dumps(s.qlora.model_dump(), indent=2))
        _finish_dir(final_tmp, out / "final", tokenizer, gen)
        if s.method == "lora" and s.merge:
            merged = model.merge_and_unload()
            _save_dir(out / "merged", merged.save_pretrained, tokenizer, gen)
        elif s.method == "qlora" and s.merge:
            # Merge into the full-precision base, not into the 4-bit weights (rounding twice).
            from peft import PeftModel

            from domaintune.models import load_model

            base = load_model(model.peft_config["default"].base_model_name_or_path)
            merged = PeftModel.from_pretrained(base, str(out / "final")).merge_and_unload()
            _save_dir(out / "merged", merged.save_pretrained, tokenizer, gen)
    wait()


def _save_dir(dst: Path, save: Any, tokenizer: Any, gen: Any) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save(tmp)
    _finish_dir(tmp, dst, tokenizer, gen)


def _finish_dir(tmp: Path, dst: Path, tokenizer: Any, gen: Any) -> None:
    tokenizer.save_pretrained(tmp)
    if gen is not None and not (tmp / "generation_config.json").exists():
        gen.save_pretrained(tmp)
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)
