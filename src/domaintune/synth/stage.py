"""The `synth` recipe stage: any `data synth` kind, writing data.jsonl, rejects.jsonl, report.json.

    - name: teacher_qa
      type: synth
      kind: qa                      # qa, self-instruct, paraphrase, translate, back-translate,
      data: [{path: docs.jsonl}]    #   adversarial, convert, mine
      base_url: http://127.0.0.1:8000/v1
      model: qwen2.5-72b-instruct   # the key: environment variable api_key_env, never the recipe

The request cache lives in the run directory (`synth-cache/<stage>.sqlite`), outside the stage
folder, so a rerun of a killed or changed stage asks the teacher only what it has not answered.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from domaintune.config import DataSource, StageBase
from domaintune.stages import DATA_FILE, REJECTS_FILE, StageContext

KINDS = ("qa", "self-instruct", "paraphrase", "translate", "back-translate", "adversarial",
         "convert", "mine")  # fmt: skip
NO_TEACHER = frozenset({"convert", "mine"})
REPORT_FILE = "report.json"


class SynthStage(StageBase):
    """Instruction data from a teacher model (OpenAI-compatible), a labelled dataset or pages."""

    type: Literal["synth"]
    kind: Literal["qa", "self-instruct", "paraphrase", "translate", "back-translate",
                  "adversarial", "convert", "mine"]  # fmt: skip
    data: list[DataSource] = Field(min_length=1, description="the kind's input files or from:")
    against: list[DataSource] = Field(
        default_factory=list, description="existing data: novelty pool and decontamination"
    )
    base_url: str | None = Field(None, description="teacher endpoint (OpenAI-compatible)")
    model: str | None = Field(None, description="teacher model name")
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = Field(32, ge=1)
    temperature: float = Field(0.7, ge=0.0)
    max_tokens: int = Field(1024, ge=1)
    max_retries: int = Field(10, ge=0)
    timeout: float = Field(120.0, gt=0.0)
    price_in: float = Field(0.0, ge=0.0, description="cost per million prompt tokens")
    price_out: float = Field(0.0, ge=0.0, description="cost per million completion tokens")
    novelty: float | None = Field(0.7, gt=0.0, lt=1.0, description="ROUGE-L cut; null: off")
    # per kind (the CLI's options of the same names)
    as_: Literal["sft", "eval"] = Field("sft", alias="as", description="qa: SFT rows or eval set")
    per_chunk: int = Field(3, ge=1)
    chunk_chars: int = Field(1500, ge=200)
    num: int = Field(100, ge=1, description="self-instruct: new tasks asked for")
    rounds: int = Field(1, ge=1, description="self-instruct: bootstrapping rounds")
    per_request: int = Field(5, ge=1)
    per_row: int = Field(3, ge=1)
    per_spot: int = Field(20, ge=1)
    top: int = Field(3, ge=1)
    metric: str | None = None
    questions: list[str] = Field(default_factory=list, description="adversarial: eval sets")
    lang: Literal["auto", "zh", "en"] = "auto"
    to: Literal["auto", "zh", "en"] = "auto"
    task: str | None = Field(None, description="convert: qa, classification, ... ner")
    columns: dict[str, str] = Field(default_factory=dict, description="convert: field -> column")
    labels: list[str] | None = None
    seed: int = 0

    produces: ClassVar[str] = "data"
    # The cache key is (model, messages, sampling): where and how fast it is asked changes nothing.
    volatile_fields: ClassVar[frozenset[str]] = frozenset(
        {"base_url", "api_key_env", "concurrency", "max_retries", "timeout", "price_in",
         "price_out"}
    )  # fmt: skip

    @model_validator(mode="after")
    def _needs(self) -> SynthStage:
        if self.kind not in NO_TEACHER and (not self.base_url or not self.model):
            raise ValueError(f"kind {self.kind} asks a teacher: give base_url and model")
        if self.kind == "mine" and bool(self.base_url) != bool(self.model):
            raise ValueError("kind mine: give both base_url and model (teacher) or neither")
        if self.kind == "convert" and not self.task:
            raise ValueError("kind convert needs task: (qa, classification, summarisation, "
                             "translation or ner)")  # fmt: skip
        return self

    def sources(self) -> list[DataSource]:
        return [*self.data, *self.against]

    def input_paths(self) -> list[str]:
        return [*super().input_paths(), *self.questions]


def run_synth(stage: SynthStage, ctx: StageContext) -> dict[str, Any]:
    """Run the stage's kind; counts are the report's (read = kept + rejected, by reason)."""
    from domaintune.synth import api

    files = ctx.all_paths(stage.data)
    o = api.Output(ctx.out / DATA_FILE, report=ctx.out / REPORT_FILE,
                   rejects=ctx.out / REJECTS_FILE, source=stage.name, novelty=stage.novelty,
                   against=ctx.all_paths(stage.against))  # fmt: skip
    if stage.kind == "convert":
        return api.synth_convert(_one(files, stage), o, task=stage.task, columns=stage.columns,
                                 labels=stage.labels, seed=stage.seed)  # fmt: skip
    client = None if stage.kind in NO_TEACHER and not stage.base_url else _client(stage, ctx)
    if stage.kind == "mine":
        return api.synth_mine(_one(files, stage), o, client)
    return _teacher_kind(stage, files, o, client)


def _client(stage: SynthStage, ctx: StageContext) -> Any:
    from domaintune.synth import api

    return api.make_client(
        stage.base_url, stage.model, cache=ctx.run_dir / "synth-cache" / f"{stage.name}.sqlite",
        api_key_env=stage.api_key_env, concurrency=stage.concurrency,
        temperature=stage.temperature, max_tokens=stage.max_tokens,
        max_retries=stage.max_retries, timeout=stage.timeout,
        price_in=stage.price_in, price_out=stage.price_out,
    )  # fmt: skip


def _teacher_kind(stage: SynthStage, files: list, o: Any, client: Any) -> dict[str, Any]:
    from domaintune.synth import api

    if stage.kind == "adversarial":
        return api.synth_adversarial(files, o, client, per_spot=stage.per_spot,
                                     per_request=stage.per_request, top=stage.top,
                                     metric=stage.metric, questions=stage.questions,
                                     lang=stage.lang)  # fmt: skip
    path = _one(files, stage)
    if stage.kind == "qa":
        return api.synth_qa(path, o, client, per_chunk=stage.per_chunk,
                            chunk_chars=stage.chunk_chars, as_eval=stage.as_ == "eval")  # fmt: skip
    if stage.kind == "self-instruct":
        return api.synth_self_instruct(path, o, client, num=stage.num,
                                       per_request=stage.per_request, lang=stage.lang,
                                       rounds=stage.rounds, seed=stage.seed)  # fmt: skip
    if stage.kind == "paraphrase":
        return api.synth_paraphrase(path, o, client, per_row=stage.per_row)
    return api.synth_translate(path, o, client, to=stage.to, back=stage.kind == "back-translate")


def _one(files: list, stage: SynthStage) -> Any:
    if len(files) != 1:
        raise ValueError(f"stage {stage.name}: kind {stage.kind} reads one input (a file or "
                         f"folder), got {len(files)}; merge them or use a stage each")  # fmt: skip
    return files[0]
