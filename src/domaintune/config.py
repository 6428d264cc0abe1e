"""The one recipe schema: pydantic models, one per section, plus YAML loading and `--set` overrides.

A recipe is YAML. Unknown or misspelt keys are errors that name the key, where it sits in the
file (line and dotted path) and the closest valid key. Library code takes plain arguments, not
these objects.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class ConfigError(ValueError):
    """A recipe that cannot be used; the message says where and how to fix it."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class BuiltinModelConfig(_Section):
    """The tiny model `domaintune init-model` builds when `model.path` is `builtin:tiny`."""

    arch: Literal["qwen2", "llama"] = "qwen2"
    seed: int = 0
    vocab_size: int = 8192
    hidden_size: int = 256
    num_layers: int = 4


class ModelConfig(_Section):
    path: str = Field(description="Hugging Face model directory, hub name, or builtin:tiny")
    trust_remote_code: bool = False
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn_implementation: Literal["sdpa", "eager", "flash_attention_2"] | None = Field(
        None,
        description="default: the model's own (sdpa); flash_attention_2 on a GPU uses its "
        "variable-length kernel for packed rows",
    )
    builtin: BuiltinModelConfig = BuiltinModelConfig()


class LoraConfig(_Section):
    r: int = Field(8, gt=0)
    alpha: int = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    # "all-linear" is peft's spelling for every linear layer except the output head (QLoRA paper).
    target_modules: list[str] | Literal["all-linear"] = "all-linear"


class QLoraConfig(_Section):
    """method=qlora: the frozen base is loaded in 4 bits by bitsandbytes; LoRA trains on top."""

    quant_type: Literal["nf4", "fp4"] = "nf4"
    double_quant: bool = Field(True, description="quantise the quantisation constants too")
    compute_dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto: bfloat16 on a GPU that has it, else float32"
    )


class TrainConfig(_Section):
    """Hyperparameters shared by training stages; a stage's own `train:` block overrides fields."""

    method: Literal["full", "freeze", "lora", "qlora"] = "lora"
    learning_rate: float = Field(2e-4, gt=0)
    embedding_learning_rate: float | None = Field(
        None, gt=0, description="learning rate of the input embeddings and LM head (default: same)"
    )
    lr_scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"] = "cosine"
    warmup_ratio: float = Field(0.03, ge=0.0, lt=1.0)
    warmup_steps: int | None = Field(None, ge=0, description="overrides warmup_ratio when set")
    num_epochs: float = Field(1.0, gt=0)
    max_steps: int = -1
    batch_size: int = Field(8, gt=0)
    gradient_accumulation_steps: int = Field(1, gt=0)
    weight_decay: float = Field(0.0, ge=0.0)
    max_grad_norm: float = Field(1.0, gt=0)
    max_len: int = Field(512, gt=8)
    logging_steps: int = Field(10, gt=0)
    eval_steps: int = Field(50, gt=0)
    save_steps: int = Field(100, gt=0)
    save_total_limit: int | None = 2
    freeze_trainable_layers: int = Field(
        2, gt=0, description="method=freeze: train the last N layers"
    )
    lora: LoraConfig = LoraConfig()
    qlora: QLoraConfig = QLoraConfig()
    merge: bool = Field(False, description="method=lora: also write a merged full model")
    pack: bool = Field(
        True, description="sft: pack several conversations per sequence (pt is always packed)"
    )
    early_stopping_patience: int | None = Field(
        None, gt=0, description="stop after this many evaluations without a better eval loss"
    )
    early_stopping_metric: str | None = Field(
        None, description="eval set whose loss decides (default: the first eval set)"
    )
    keep_best: bool = Field(
        False, description="final/ holds the checkpoint with the best eval loss, not the last"
    )
    stop_on_nonfinite: bool = Field(True, description="stop the run when the loss is NaN/inf")
    gradient_checkpointing: bool = False
    deepspeed: str | None = Field(None, description="DeepSpeed JSON config (e.g. examples/...)")
    fsdp: str | None = Field(None, description="FSDP options, e.g. 'full_shard auto_wrap'")
    fsdp_config: str | None = Field(None, description="FSDP JSON config file")


class DataSource(_Section):
    path: str
    fraction: float = Field(1.0, gt=0.0, le=1.0, description="share of the rows to use (seeded)")
    name: str | None = Field(None, description="source name in logs (default: the file stem)")
    share: float | None = Field(
        None, gt=0.0, le=1.0, description="target share of trained tokens in every batch"
    )


def source_label(source: DataSource) -> str:
    """A data source's name in logs: `name`, else the file stem (builtin: prefix dropped)."""
    return source.name or Path(source.path.removeprefix("builtin:")).stem


class PtxConfig(_Section):
    """sft only: pre-training text trained alongside, loss = sft + coef * ptx (InstructGPT)."""

    data: list[DataSource] = Field(min_length=1)
    coef: float = Field(1.0, ge=0.0, description="weight of the pre-training loss")
    share: float = Field(
        0.1, gt=0.0, lt=1.0, description="share of each batch's trained tokens that is ptx text"
    )


class TrainStage(_Section):
    name: str
    type: Literal["pt", "sft"]
    model_from: str | None = Field(None, description="an earlier stage's name, or 'base'")
    data: list[DataSource]
    on_exhausted: Literal["repeat", "stop"] = Field(
        "repeat", description="with shares: repeat a source that runs out, or end the epoch"
    )
    ptx: PtxConfig | None = None
    eval_data: dict[str, str] = Field(default_factory=dict)
    train: TrainConfig = TrainConfig()
    # sft only: the chat format (registry name, or hf / unset: the tokenizer's own template)
    template: str | None = None
    train_on_prompt: bool = False
    mask_history: bool = Field(False, description="train only the last assistant turn")

    @model_validator(mode="after")
    def _sft_only_fields(self) -> TrainStage:
        if self.type == "pt" and (
            self.template or self.train_on_prompt or self.mask_history or self.ptx
        ):
            raise ValueError(
                f"stage {self.name!r}: template, train_on_prompt, mask_history and ptx apply to "
                "type sft only"
            )
        shares = [d.share for d in self.data]
        if any(x is not None for x in shares):
            if any(x is None for x in shares):
                raise ValueError(
                    f"stage {self.name!r}: give every data source a share, or none (got {shares})"
                )
            if abs(sum(shares) - 1.0) > 1e-6:
                raise ValueError(
                    f"stage {self.name!r}: data shares must add up to 1.0, got {sum(shares):g} "
                    f"({shares})"
                )
        names = [source_label(d) for d in self.data]
        if len(set(names)) != len(names):
            raise ValueError(
                f"stage {self.name!r}: two data sources are both called {names}; set `name:` "
                "on each so their losses can be told apart"
            )
        if self.template not in (None, "hf"):
            from domaintune.templates import get_template

            get_template(self.template)  # an unknown name lists the valid ones
        return self


class EvalStage(_Section):
    """Score models: held-out perplexity and/or multiple-choice exams.

    Each set is in the general group (forgetting) when its name contains "general", else domain.
    """

    name: str
    type: Literal["eval"]
    models: list[str] = Field(description="'base' and/or earlier stage names")
    perplexity: dict[str, str] = Field(
        default_factory=dict, description="eval set name -> documents file"
    )
    mcq: dict[str, str] = Field(
        default_factory=dict, description="exam name -> C-Eval/CMMLU/MMLU/jsonl file or folder"
    )
    mcq_shots: int = Field(0, ge=0, description="few-shot examples from mcq_dev")
    mcq_dev: dict[str, str] = Field(default_factory=dict, description="exam name -> dev file")
    max_len: int = Field(512, gt=8)
    max_docs: int | None = None

    @model_validator(mode="after")
    def _something_to_score(self) -> EvalStage:
        if not self.perplexity and not self.mcq:
            raise ValueError(f"eval stage {self.name!r}: give perplexity sets and/or mcq exams")
        if self.mcq_shots and set(self.mcq_dev) != set(self.mcq):
            raise ValueError(
                f"eval stage {self.name!r}: mcq_shots needs an mcq_dev file for every exam "
                f"({sorted(self.mcq)})"
            )
        return self


Stage = Annotated[TrainStage | EvalStage, Field(discriminator="type")]


class Recipe(_Section):
    name: str
    output_dir: str | None = Field(None, description="default: runs/<name>")
    seed: int = 42
    model: ModelConfig
    train: TrainConfig = TrainConfig()
    stages: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_stage_refs(self) -> Recipe:
        seen = {"base"}
        for stage in self.stages:
            if stage.name in seen:
                raise ValueError(f"stage name {stage.name!r} is used twice (or is reserved)")
            refs = stage.models if isinstance(stage, EvalStage) else [stage.model_from or "base"]
            for ref in refs:
                if ref not in seen:
                    raise ValueError(
                        f"stage {stage.name!r} refers to {ref!r}, which is not 'base' or an "
                        f"earlier stage (earlier: {sorted(seen)})"
                    )
            seen.add(stage.name)
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir or f"runs/{self.name}")

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------- loading


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key, for error messages."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if hasattr(k, "value")}
    return _LineDict(mapping, lines)


class _LineDict(dict):
    def __init__(self, data: dict, lines: dict[str, int]):
        super().__init__(data)
        self.lines = lines


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_of(raw: Any, loc: tuple) -> int | None:
    """Line of the deepest key in `loc` that the YAML file spelled out."""
    line, node = None, raw
    for part in loc:
        if isinstance(node, _LineDict) and part in node.lines:
            line = node.lines[part]
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    return line


_STAGES = object()  # marker: inside the `stages` list, element type not yet known


def _model_at(loc: tuple, raw: Any) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of `loc`, following the recipe's structure."""
    model: Any = Recipe
    node = raw
    for part in loc[:-1]:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else {}
            if model is _STAGES:
                is_eval = isinstance(node, dict) and node.get("type") == "eval"
                model = EvalStage if is_eval else TrainStage
            continue
        if model is Recipe and part == "stages":
            model, node = _STAGES, node.get("stages")
            continue
        field = model.model_fields.get(part) if model is not _STAGES else None
        ann = field.annotation if field else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model, node = ann, (node.get(part) if isinstance(node, dict) else {})
    return model if model is not _STAGES else None


def _clean_loc(loc: tuple) -> tuple:
    """Drop pydantic's discriminator tag: ('stages', 0, 'pt', 'train') -> ('stages', 0, 'train')."""
    if len(loc) > 2 and loc[0] == "stages" and isinstance(loc[1], int):
        return loc[:2] + loc[3:]
    return loc


def _inherited(loc: tuple, raw: Any) -> bool:
    """True when the error sits in a stage's train block but came from the recipe-level one."""
    if len(loc) < 4 or loc[0] != "stages" or loc[2] != "train":
        return False
    try:
        block = raw["stages"][loc[1]]["train"]
    except (KeyError, IndexError, TypeError):
        return False
    return isinstance(block, _LineDict) and loc[3] not in block.lines


def _format_errors(err: ValidationError, raw: Any, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = _clean_loc(tuple(e["loc"]))
        if _inherited(loc, raw):
            continue  # reported once, at the recipe-level `train:` key
        dotted = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc)
        dotted = dotted.replace(".[", "[")
        line = _line_of(raw, loc)
        where = f"{source}:{line}" if line else source
        if e["type"] == "extra_forbidden":
            model = _model_at(loc, raw)
            valid = sorted(model.model_fields) if model else []
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(
                f"{where}: unknown key {dotted!r}{hint} Valid keys here: {', '.join(valid)}"
            )
        else:
            lines.append(f"{where}: {dotted or '(recipe)'}: {e['msg']} (got {e.get('input')!r})")
    return "\n".join(dict.fromkeys(lines))


def _set_override(raw: dict, assignment: str) -> None:
    """Apply one `--set a.b.c=value` (value parsed as YAML) to the raw recipe dict."""
    if "=" not in assignment:
        raise ConfigError(
            f"--set {assignment!r}: expected KEY=VALUE, e.g. train.learning_rate=1e-4"
        )
    key, value = assignment.split("=", 1)
    parts = key.strip().split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = _stage_by_name(node, part, key)
            continue
        if not isinstance(node.get(part), dict | list):
            node[part] = {}
        node = node[part]
        if i == 0 and part == "stages" and not isinstance(node, list):
            raise ConfigError(f"--set {key}: recipe has no stages list")
    last = parts[-1]
    if isinstance(node, list):
        raise ConfigError(
            f"--set {key}: name a field inside the stage, e.g. stages.sft.train.max_len"
        )
    node[last] = yaml.safe_load(value)


def _stage_by_name(stages: list, name: str, key: str) -> dict:
    for s in stages:
        if isinstance(s, dict) and s.get("name") == name:
            return s
    names = [s.get("name") for s in stages if isinstance(s, dict)]
    raise ConfigError(f"--set {key}: no stage named {name!r}; stages are {names}")


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _inherit_train(raw: dict) -> dict:
    """Give each training stage the recipe-level `train:` block, overridden by its own."""
    base = raw.get("train") or {}
    if not isinstance(base, dict) or not isinstance(raw.get("stages"), list):
        return raw
    for s in raw["stages"]:
        if isinstance(s, dict) and s.get("type") in ("pt", "sft"):
            own = s.get("train") or {}
            lines = getattr(own, "lines", {})
            s["train"] = _LineDict(_merge(base, own if isinstance(own, dict) else {}), lines)
    return raw


def parse_recipe(raw: Any, *, source: str = "<recipe>", overrides: list[str] = ()) -> Recipe:
    """Validate a raw recipe mapping (from YAML) with `--set` overrides applied."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a recipe must be a YAML mapping, got {type(raw).__name__}")
    for assignment in overrides:
        _set_override(raw, assignment)
    _inherit_train(raw)
    try:
        return Recipe.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_errors(err, raw, source)) from None


def load_recipe(path: str | Path, overrides: list[str] = ()) -> Recipe:
    """Read and validate a recipe YAML file (data paths are relative to the working directory)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: recipe file not found")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 (safe)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return parse_recipe(raw, source=str(path), overrides=list(overrides))
