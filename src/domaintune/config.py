"""The one recipe schema: pydantic models, one per section, plus YAML loading and `--set` overrides.

A recipe is YAML. Unknown or misspelt keys are errors that name the key, where it sits in the
file (line and dotted path) and the closest valid key. Library code takes plain arguments, not
these objects.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializeAsAny,
    ValidationError,
    model_validator,
)


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
    """One input of a stage: a file or folder (`path:`), or an earlier stage's output (`from:`)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    path: str | None = Field(None, description="a data file or folder; builtin:NAME for bundled")
    from_: str | None = Field(None, alias="from", description="an earlier stage's output")
    fraction: float = Field(1.0, gt=0.0, le=1.0, description="share of the rows to use (seeded)")
    name: str | None = Field(None, description="source name in logs (default: the file stem)")
    share: float | None = Field(
        None, gt=0.0, le=1.0, description="target share of trained tokens in every batch"
    )

    @model_validator(mode="after")
    def _path_or_from(self) -> DataSource:
        if (self.path is None) == (self.from_ is None):
            raise ValueError("give either path: FILE or from: STAGE (one of them)")
        return self


def source_label(source: DataSource) -> str:
    """A data source's name in logs: `name`, else the file stem (builtin: prefix dropped)."""
    if source.name:
        return source.name
    if source.from_ is not None:
        return source.from_
    return Path(source.path.removeprefix("builtin:")).stem


class PtxConfig(_Section):
    """sft only: pre-training text trained alongside, loss = sft + coef * ptx (InstructGPT)."""

    data: list[DataSource] = Field(min_length=1)
    coef: float = Field(1.0, ge=0.0, description="weight of the pre-training loss")
    share: float = Field(
        0.1, gt=0.0, lt=1.0, description="share of each batch's trained tokens that is ptx text"
    )


class StageBase(_Section):
    """What every stage type's config shares; each type subclasses it in its own package.

    The runner reads only this interface: the names of the earlier stages a stage reads
    (`upstream`), the files it reads (`input_paths`, content-hashed for the cache), what it
    produces (`produces`: "data", "model" or "" for reports), and which fields cannot change its
    results (`volatile`, left out of the fingerprint).
    """

    name: str
    type: str
    produces: ClassVar[str] = ""
    # fields (dotted paths) that do not change the stage's results: logging, cadence, workers
    volatile_fields: ClassVar[frozenset[str]] = frozenset()

    def sources(self) -> list[DataSource]:
        """Every DataSource this stage reads (for from: references and input files)."""
        return []

    def models(self) -> list[str]:
        """Models this stage reads: 'base' or earlier stages that produce a model."""
        return []

    def upstream(self) -> list[str]:
        froms = [s.from_ for s in self.sources() if s.from_ is not None]
        return list(dict.fromkeys([*self.models(), *froms]))

    def input_paths(self) -> list[str]:
        return [s.path for s in self.sources() if s.path is not None]

    def inputs(self, recipe: Recipe) -> list[str]:
        """Files read (content-hashed into the fingerprint); may look at other stages' files."""
        return self.input_paths()

    def eval_files(self) -> list[str]:
        """Evaluation files this stage scores on (what a decontaminate stage can check against)."""
        return []

    def volatile(self) -> frozenset[str]:
        return self.volatile_fields

    def summary(self, counts: dict) -> list:
        """Tables (rich renderables) that sum up a finished run of this stage; none by default."""
        return []

    def ref_problems(
        self, earlier: Mapping[str, StageBase], stages: Mapping[str, StageBase]
    ) -> list[str]:
        """What is wrong with this stage's references (empty when nothing).

        `earlier`: the stages before this one; `stages`: all of them, by name.
        """
        models = [n for n, s in earlier.items() if s.produces == "model"]
        datas = [n for n, s in earlier.items() if s.produces == "data"]
        problems = []
        for ref in self.models():
            if ref != "base" and ref not in models:
                problems.append(
                    f"model {ref!r} is not 'base' or an earlier stage that trains a model "
                    f"(earlier model stages: {models})"
                )
        for src in self.sources():
            if src.from_ is not None and src.from_ not in datas:
                problems.append(
                    f"from: {src.from_!r} is not an earlier data stage "
                    f"(earlier data stages: {datas})"
                )
        return problems


class Recipe(_Section):
    name: str
    output_dir: str | None = Field(None, description="default: runs/<name>")
    seed: int = 42
    model: ModelConfig
    train: TrainConfig = TrainConfig()
    stages: list[SerializeAsAny[StageBase]] = Field(min_length=1)
    sweep: dict[str, Any] | None = Field(
        None,
        description="variants to run side by side: dotted field -> list of values (a grid, as "
        "--set spells fields; stages.NAME: [true, false] turns a stage on/off), and/or "
        "variants: {name: {field: value}} (docs/experiments.md)",
    )
    # With `sweep:`, the mapping the recipe was validated from (overrides applied, before
    # train: inheritance): a variant is this mapping with its overrides, validated again.
    _raw: dict | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _check_sweep(self) -> Recipe:
        for key, values in (self.sweep or {}).items():
            if key == "variants":
                if (
                    not isinstance(values, dict)
                    or not values
                    or not all(isinstance(v, dict) for v in values.values())
                ):
                    raise ValueError(
                        "sweep.variants: give a mapping of variant name -> {field: value}"
                    )
            elif not isinstance(values, list) or not values:
                raise ValueError(
                    f"sweep.{key}: give a non-empty list of values, e.g. {key}: [1.0e-4, 3.0e-4]"
                )
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir or f"runs/{self.name}")

    def stage(self, name: str) -> StageBase:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(f"no stage named {name!r}; stages are {[s.name for s in self.stages]}")

    def to_yaml(self) -> str:
        data = self.model_dump(mode="json", by_alias=True)
        if data.get("sweep") is None:
            data.pop("sweep", None)  # a recipe without variants reads as before
        return yaml.safe_dump(_drop_unset_sources(data), sort_keys=False, allow_unicode=True)


def _drop_unset_sources(node: Any) -> Any:
    """`{path: x, from: null}` -> `{path: x}` in a dumped recipe (a source has one of the two)."""
    if isinstance(node, list):
        return [_drop_unset_sources(x) for x in node]
    if not isinstance(node, dict):
        return node
    if "from" in node and "path" in node:
        node = {k: v for k, v in node.items() if not (k in ("from", "path") and v is None)}
    return {k: _drop_unset_sources(v) for k, v in node.items()}


# --------------------------------------------------------------------------- loading


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping key, for error messages."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if hasattr(k, "value")}
    return _LineDict(mapping, lines, node.start_mark.line + 1)


class _LineDict(dict):
    def __init__(self, data: dict, lines: dict[str, int], start: int | None = None):
        super().__init__(data)
        self.lines = lines
        self.start = start  # the line where this mapping begins

    def __deepcopy__(self, memo: dict) -> _LineDict:
        data = {k: copy.deepcopy(v, memo) for k, v in self.items()}
        return _LineDict(data, dict(self.lines), self.start)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_of(raw: Any, loc: tuple) -> int | None:
    """Line of the deepest key (or list item) in `loc` that the YAML file spelled out."""
    line, node = getattr(raw, "start", None) if not loc else None, raw
    for part in loc:
        if isinstance(node, _LineDict) and part in node.lines:
            line = node.lines[part]
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(part, int) and isinstance(node, _LineDict) and node.start:
            line = node.start
    return line


StageTypes = Mapping[str, "type[StageBase]"]


def _model_at(loc: tuple, raw: Any, stage_types: StageTypes) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of `loc`, following the recipe's structure."""
    model: Any = Recipe
    node = raw
    parts = list(loc[:-1])
    if len(parts) >= 2 and parts[0] == "stages" and isinstance(parts[1], int):
        stages = raw.get("stages") if isinstance(raw, dict) else None
        node = stages[parts[1]] if isinstance(stages, list) and parts[1] < len(stages) else {}
        model = stage_types.get(node.get("type")) if isinstance(node, dict) else None
        parts = parts[2:]
    for part in parts:
        if model is None:
            return None
        field = model.model_fields.get(part)
        ann = field.annotation if field else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model, node = ann, (node.get(part) if isinstance(node, dict) else {})
    return model


def _inherited(loc: tuple, raw: Any) -> bool:
    """True when the error sits in a stage's train block but came from the recipe-level one."""
    if len(loc) < 4 or loc[0] != "stages" or loc[2] != "train":
        return False
    try:
        block = raw["stages"][loc[1]]["train"]
    except (KeyError, IndexError, TypeError):
        return False
    top = raw.get("train") if isinstance(raw, dict) else None
    # A key the stage's own block got from --set (or a sweep) has no line; it is the stage's.
    from_top = isinstance(top, dict) and loc[3] in top
    return isinstance(block, _LineDict) and loc[3] not in block.lines and from_top


def _format_errors(
    err: ValidationError, raw: Any, source: str, stage_types: StageTypes, prefix: tuple = ()
) -> list[str]:
    lines = []
    for e in err.errors():
        loc = prefix + tuple(e["loc"])
        if _inherited(loc, raw):
            continue  # reported once, at the recipe-level `train:` key
        dotted = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc)
        dotted = dotted.replace(".[", "[")
        line = _line_of(raw, loc)
        where = f"{source}:{line}" if line else source
        if e["type"] == "extra_forbidden":
            model = _model_at(loc, raw, stage_types)
            valid = sorted(_keys_of(model)) if model else []
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(
                f"{where}: unknown key {dotted!r}{hint} Valid keys here: {', '.join(valid)}"
            )
            continue
        msg = e["msg"].removeprefix("Value error, ")
        got = e.get("input")
        # A whole mapping is noise (a stage-level check would print the stage): scalars only.
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        lines.append(f"{where}: {dotted or '(recipe)'}: {msg}{shown}")
    return lines


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


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
            pick = _list_item if part.isdigit() else _stage_by_name
            node = pick(node, part, key)
            continue
        if not isinstance(node.get(part), dict | list):
            node[part] = {}
        node = node[part]
        if i == 0 and part == "stages" and not isinstance(node, list):
            raise ConfigError(f"--set {key}: recipe has no stages list")
    last = parts[-1]
    if isinstance(node, list) and last.isdigit():
        _list_item(node, last, key)
        node[int(last)] = yaml.safe_load(value)
        return
    if isinstance(node, list):
        raise ConfigError(
            f"--set {key}: name a field inside the stage, e.g. stages.sft.train.max_len"
        )
    node[last] = yaml.safe_load(value)


def _list_item(items: list, index: str, key: str) -> Any:
    """`--set stages.cpt.data.1.share=0.3`: item 1 (from 0) of a list."""
    if int(index) >= len(items):
        raise ConfigError(f"--set {key}: the list has {len(items)} items (numbered from 0)")
    return items[int(index)]


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


def _takes_train(cls: type[BaseModel] | None) -> bool:
    field = cls.model_fields.get("train") if cls is not None else None
    return field is not None and field.annotation is TrainConfig


def _inherit_train(raw: dict, stage_types: StageTypes) -> dict:
    """Give each training stage the recipe-level `train:` block, overridden by its own."""
    base = raw.get("train") or {}
    if not isinstance(base, dict) or not isinstance(raw.get("stages"), list):
        return raw
    for s in raw["stages"]:
        if isinstance(s, dict) and _takes_train(stage_types.get(s.get("type"))):
            own = s.get("train") or {}
            lines = getattr(own, "lines", {})
            s["train"] = _LineDict(_merge(base, own if isinstance(own, dict) else {}), lines)
    return raw


def _stage_objects(raw: dict, source: str, stage_types: StageTypes) -> tuple[list, list[str]]:
    """Validate each stage mapping with its own type's model; errors carry the stage's line."""
    stages, errors = [], []
    items = raw.get("stages")
    if not isinstance(items, list):
        return items, errors  # the Recipe model reports it
    for i, item in enumerate(items):
        line = _line_of(raw, ("stages", i))
        where = f"{source}:{line}" if line else source
        kind = item.get("type") if isinstance(item, dict) else None
        cls = stage_types.get(kind) if isinstance(kind, str) else None
        if cls is None:
            valid = sorted(stage_types)
            close = difflib.get_close_matches(str(kind), valid, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            what = "a mapping with name: and type:" if not isinstance(item, dict) else "type:"
            errors.append(
                f"{where}: stages[{i}]: unknown or missing {what} {kind!r}{hint} "
                f"Stage types: {', '.join(valid)}"
            )
            continue
        try:
            stages.append(cls.model_validate(item))
        except ValidationError as err:
            errors += _format_errors(err, raw, source, stage_types, prefix=("stages", i))
    return stages, errors


def _check_refs(recipe: Recipe, raw: dict, source: str) -> list[str]:
    """Every model and from: reference names 'base' or an earlier stage of the right kind."""
    errors, earlier = [], {}
    stages = {s.name: s for s in recipe.stages}
    for i, stage in enumerate(recipe.stages):
        line = _line_of(raw, ("stages", i))
        where = f"{source}:{line}" if line else source
        if stage.name in earlier or stage.name == "base":
            errors.append(f"{where}: stage name {stage.name!r} is used twice (or is reserved)")
        for problem in stage.ref_problems(earlier, stages):
            errors.append(f"{where}: stage {stage.name!r}: {problem}")
        earlier[stage.name] = stage
    return errors


def validate_recipe(
    raw: Any, *, stage_types: StageTypes, source: str = "<recipe>", overrides: list[str] = ()
) -> Recipe:
    """Validate a raw recipe mapping (from YAML) with `--set` overrides applied.

    `stage_types` maps each stage `type:` to its config model (the registry, `domaintune.recipes`).
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a recipe must be a YAML mapping, got {type(raw).__name__}")
    raw = copy.deepcopy(raw)  # overrides and inherited train: blocks never touch the caller's
    for assignment in overrides:
        _set_override(raw, assignment)
    given = copy.deepcopy(raw)
    _inherit_train(raw, stage_types)
    stages, errors = _stage_objects(raw, source, stage_types)
    recipe = None
    try:
        recipe = Recipe.model_validate({**raw, "stages": stages})
    except ValidationError as err:
        errors += _format_errors(err, raw, source, stage_types)
    if recipe is not None and not errors:
        errors += _check_refs(recipe, raw, source)
    if errors:
        raise ConfigError("\n".join(dict.fromkeys(errors)))
    if recipe.sweep:
        recipe._raw = given  # only a sweep needs it (recipes compare their private fields too)
    return recipe


def read_recipe_yaml(path: str | Path) -> Any:
    """A recipe file's raw mapping, every key remembering its line (for error messages)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: recipe file not found")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 (safe)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
