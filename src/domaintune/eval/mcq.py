"""Multiple-choice exams (C-Eval, CMMLU, MMLU, jsonl): reading, official prompts, two scorings.

Letter scoring (the official C-Eval/CMMLU method) compares the log-probabilities of the answer
letters right after the prompt. Option scoring is lm-evaluation-harness's `multiple_choice`:
the summed log-probability of " " + each option's text (`acc`), divided by the option's length
in characters (`acc_norm`) or UTF-8 bytes (`acc_bytes`), tokenised as lm-eval's `_encode_pair`
does. Each question is one forward pass: its options (and letters) are packed after the shared
prompt, each attending only to the prompt and to itself (see docs/eval-mcq.md).
"""

from __future__ import annotations

import csv
import inspect
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from domaintune.eval.results import DIMENSIONS
from domaintune.io import decode_jsonl_line, file_stem, iter_jsonl_lines, parse_jsonl_line
from domaintune.records import DataError, json_type

FORMATS = ("ceval", "cmmlu", "mmlu", "jsonl")
SCORINGS = ("both", "letter", "option")
METRICS = ("acc_letter", "acc", "acc_norm", "acc_bytes")
LETTERS = "ABCDEFGHIJ"
SPLIT_SUFFIXES = ("_val", "_dev", "_test")  # C-Eval/MMLU file names: <subject>_<split>.csv
OPTION_DELIMITER = " "  # lm-eval's default target_delimiter, before each option's text

# Chinese subject names: C-Eval's subject_mapping.json (hkust-nlp/ceval) and CMMLU's
# src/categories.py (haonan-li/CMMLU); lm-eval 0.4.13 ships the same in its _generate_configs.py.
_CEVAL_NAMES = """
computer_network:计算机网络 operating_system:操作系统 computer_architecture:计算机组成
college_programming:大学编程 college_physics:大学物理 college_chemistry:大学化学
advanced_mathematics:高等数学 probability_and_statistics:概率统计 discrete_mathematics:离散数学
electrical_engineer:注册电气工程师 metrology_engineer:注册计量师 high_school_mathematics:高中数学
high_school_physics:高中物理 high_school_chemistry:高中化学 high_school_biology:高中生物
middle_school_mathematics:初中数学 middle_school_biology:初中生物 middle_school_physics:初中物理
middle_school_chemistry:初中化学 veterinary_medicine:兽医学 college_economics:大学经济学
business_administration:工商管理 marxism:马克思主义基本原理
mao_zedong_thought:毛泽东思想和中国特色社会主义理论体系概论 education_science:教育学
teacher_qualification:教师资格 high_school_politics:高中政治 high_school_geography:高中地理
middle_school_politics:初中政治 middle_school_geography:初中地理 modern_chinese_history:近代史纲要
ideological_and_moral_cultivation:思想道德修养与法律基础 logic:逻辑学 law:法学
chinese_language_and_literature:中国语言文学 art_studies:艺术学 professional_tour_guide:导游资格
legal_professional:法律职业资格 high_school_chinese:高中语文 high_school_history:高中历史
middle_school_history:初中历史 civil_servant:公务员 sports_science:体育学
plant_protection:植物保护 basic_medicine:基础医学 clinical_medicine:临床医学
urban_and_rural_planner:注册城乡规划师 accountant:注册会计师 fire_engineer:注册消防工程师
environmental_impact_assessment_engineer:环境影响评价工程师 tax_accountant:税务师
physician:医师资格
"""
_CMMLU_NAMES = """
agronomy:农学 anatomy:解剖学 ancient_chinese:古汉语 arts:艺术学 astronomy:天文学
business_ethics:商业伦理 chinese_civil_service_exam:中国公务员考试
chinese_driving_rule:中国驾驶规则 chinese_food_culture:中国饮食文化
chinese_foreign_policy:中国外交政策 chinese_history:中国历史 chinese_literature:中国文学
chinese_teacher_qualification:中国教师资格 clinical_knowledge:临床知识
college_actuarial_science:大学精算学 college_education:大学教育学
college_engineering_hydrology:大学工程水文学 college_law:大学法律 college_mathematics:大学数学
college_medical_statistics:大学医学统计 college_medicine:大学医学 computer_science:计算机科学
computer_security:计算机安全 conceptual_physics:概念物理学
construction_project_management:建设工程管理 economics:经济学 education:教育学
electrical_engineering:电气工程 elementary_chinese:小学语文 elementary_commonsense:小学常识
elementary_information_and_technology:小学信息技术 elementary_mathematics:初等数学
ethnology:民族学 food_science:食品科学 genetics:遗传学 global_facts:全球事实
high_school_biology:高中生物 high_school_chemistry:高中化学 high_school_geography:高中地理
high_school_mathematics:高中数学 high_school_physics:高中物理学 high_school_politics:高中政治
human_sexuality:人类性行为 international_law:国际法学 journalism:新闻学 jurisprudence:法理学
legal_and_moral_basis:法律与道德基础 logical:逻辑学 machine_learning:机器学习 management:管理学
marketing:市场营销 marxist_theory:马克思主义理论 modern_chinese:现代汉语 nutrition:营养学
philosophy:哲学 professional_accounting:专业会计 professional_law:专业法学
professional_medicine:专业医学 professional_psychology:专业心理学 public_relations:公共关系
security_study:安全研究 sociology:社会学 sports_science:体育学
traditional_chinese_medicine:中医中药 virology:病毒学 world_history:世界历史
world_religions:世界宗教
"""


def _names(blob: str) -> dict[str, str]:
    return dict(pair.split(":") for pair in blob.split())


@dataclass
class Question:
    """One exam question; `where` ("file:row N") locates it for messages."""

    id: str
    subject: str
    question: str
    options: dict[str, str]  # letter -> text, letters A, B, C ... in order
    answer: str
    dimension: str | None = None
    where: str = ""


@dataclass(frozen=True)
class Style:
    """An official prompt format: header, item layout, answer cue and the text before a letter."""

    name: str
    header: str  # with {subject}
    item_prefix: str
    cue: str
    letter_delimiter: str  # between the cue and the answer letter
    subject_names: dict[str, str]

    def subject_name(self, subject: str) -> str:
        """The subject as the header names it: the official name when known."""
        return self.subject_names.get(subject, subject.replace("_", " "))

    def item(self, q: Question) -> str:
        """One question without its answer, ending in the answer cue."""
        lines = [self.item_prefix + q.question, *(f"{k}. {v}" for k, v in q.options.items())]
        return "\n".join(lines) + "\n" + self.cue

    def prompt(self, q: Question, shots: Sequence[Question] = ()) -> str:
        """Header, then each shot with its answer letter, then the question."""
        solved = "".join(f"{self.item(s)}{self.letter_delimiter}{s.answer}\n\n" for s in shots)
        return self.header.format(subject=self.subject_name(q.subject)) + solved + self.item(q)


# Sources and the differences from lm-eval's versions: docs/eval-mcq.md, "Prompts".
STYLES = {
    "ceval": Style(
        "ceval",
        "以下是中国关于{subject}考试的单项选择题，请选出其中的正确答案。\n\n",
        "",
        "答案：",
        "",
        _names(_CEVAL_NAMES),
    ),
    "cmmlu": Style(
        "cmmlu",
        "以下是关于{subject}的单项选择题，请直接给出正确答案的选项。\n\n",
        "题目：",
        "答案是：",
        "",
        _names(_CMMLU_NAMES),
    ),
    "mmlu": Style(
        "mmlu",
        "The following are multiple choice questions (with answers) about {subject}.\n\n",
        "",
        "Answer:",
        " ",
        {},
    ),
}
DEFAULT_STYLE = {"ceval": "ceval", "cmmlu": "cmmlu", "mmlu": "mmlu", "jsonl": "ceval"}


# ---------------------------------------------------------------- reading


def subject_of(path: str | Path) -> str:
    """The file's subject: its stem without a C-Eval/MMLU split suffix (`law_val.csv` -> law)."""
    stem = file_stem(path)
    for suffix in SPLIT_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def exam_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders to the .csv/.jsonl files directly inside them, sorted."""
    files: list[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            files.append(p)
            continue
        found = sorted(f for f in p.iterdir() if f.suffix.lower() in (".csv", ".jsonl"))
        if not found:
            raise DataError(p, None, "no .csv or .jsonl files in this folder")
        files += found
    return files


def detect_format(path: str | Path) -> str:
    """jsonl by extension; a CSV by its header: `,Question` cmmlu, `question` ceval, else mmlu."""
    p = _existing(path)
    if p.suffix.lower() == ".jsonl":
        return "jsonl"
    if p.suffix.lower() != ".csv":
        raise DataError(p, None, "unsupported file type; exams are .csv or .jsonl files")
    first = next(_csv_rows(p), None)
    if first is None:
        raise DataError(p, None, "empty file: no questions; fill it in or leave it out")
    if "question" in (h.strip().lower() for h in first):
        return "cmmlu" if first[0].strip() == "" else "ceval"
    return "mmlu"


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise DataError(p, None, "no such file; check the path")
    return p


def read_exam(paths: Iterable[str | Path], fmt: str | None = None) -> list[Question]:
    """Read every question of every file (folders expanded); `fmt` None detects each file's."""
    out: list[Question] = []
    for path in exam_files(paths):
        out += read_questions(path, fmt)
    return out


def read_questions(path: str | Path, fmt: str | None = None) -> list[Question]:
    """All questions of one file, validated; bad rows raise a DataError naming file:row."""
    p = _existing(path)
    fmt = fmt or detect_format(p)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if (fmt == "jsonl") != (p.suffix.lower() == ".jsonl"):
        kind = "a .jsonl file" if fmt == "jsonl" else "a .csv file"
        raise DataError(p, None, f"--format {fmt} reads {kind}; pass the right --format")
    rows = _jsonl_questions(p) if fmt == "jsonl" else _csv_questions(p, fmt)
    questions = list(rows)
    if not questions:
        raise DataError(p, None, "empty file: no questions; fill it in or leave it out")
    return questions


def _csv_rows(path: Path) -> Iterator[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            yield from (values for values in reader if values)  # blank lines are not rows
        except csv.Error as exc:
            raise DataError(path, reader.line_num, f"malformed CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise DataError(path, None, f"not valid UTF-8 ({exc.reason}); re-save it") from None


_MMLU_COLUMNS = ["question", "A", "B", "C", "D", "answer"]


def _csv_questions(path: Path, fmt: str) -> Iterator[Question]:
    rows = _csv_rows(path)
    header = _MMLU_COLUMNS if fmt == "mmlu" else next(rows, None)
    if header is None:
        return
    columns = _csv_columns(path, header, fmt)
    for n, values in enumerate(rows, 1):
        if len(values) != len(header):
            expected = ",".join(_MMLU_COLUMNS) if fmt == "mmlu" else "the header's"
            raise DataError(
                path,
                n,
                f"row has {len(values)} fields, not {len(header)} ({expected}); "
                "quote values that contain commas",
                row=True,
            )
        record = {name: values[i] for name, i in columns.items()}
        yield _question(path, n, record, subject_of(path), row=True)


def _csv_columns(path: Path, header: list[str], fmt: str) -> dict[str, int]:
    names = [h.strip() for h in header]
    lower = [h.lower() for h in names]
    columns = {n: i for i, n in enumerate(names) if _is_letter(n)}
    for field in ("question", "answer", "id", "dimension"):
        if field in lower:
            columns[field] = lower.index(field)
    if fmt == "cmmlu" and names[0] == "":
        columns["id"] = 0  # CMMLU's unnamed index column
    for field in ("question", "answer"):
        if field not in columns:
            raise DataError(
                path,
                None,
                f'the header (line 1) has no "{field}" column; {fmt} files need '
                f"question, A, B, C, D and answer columns (header seen: {','.join(header)})",
                field,
            )
    return columns


def _jsonl_questions(path: Path) -> Iterator[Question]:
    for line, raw in iter_jsonl_lines(path):
        text = decode_jsonl_line(path, line, raw)
        if not text.strip():
            continue
        row = parse_jsonl_line(path, line, text)
        if not isinstance(row, dict):
            raise DataError(path, line, f"row must be a JSON object, got {json_type(row)}")
        subject = row.get("subject")
        if subject is not None and (not isinstance(subject, str) or not subject.strip()):
            raise DataError(path, line, 'field "subject" must be a non-empty string', "subject")
        record = {k: v for k, v in row.items() if not _is_letter(k)}
        record.update(_jsonl_options(path, line, row))
        yield _question(path, line, record, subject or subject_of(path), row=False)


def _is_letter(key: str) -> bool:
    return len(key) == 1 and key in LETTERS


def _jsonl_options(path: Path, line: int, row: dict[str, Any]) -> dict[str, Any]:
    choices = row.get("choices")
    if choices is None:  # letter fields; null ones are absent
        return {k: v for k, v in row.items() if _is_letter(k) and v is not None}
    if isinstance(choices, list) and len(choices) <= len(LETTERS):
        return dict(zip(LETTERS, choices, strict=False))
    if isinstance(choices, dict):
        return {str(k): v for k, v in choices.items()}
    raise DataError(
        path,
        line,
        f'field "choices" must be a list of at most {len(LETTERS)} options or an object '
        f"mapping letters to options, got {json_type(choices)}",
        "choices",
    )


def _question(path: Path, n: int, rec: dict[str, Any], subject: str, *, row: bool) -> Question:
    def error(message: str, field: str) -> DataError:
        return DataError(path, n, message, field, row=row)

    question = rec.get("question")
    if not isinstance(question, str) or not question.strip():
        raise error(
            'field "question" is missing or empty; every row needs the question', "question"
        )
    letters = sorted(k for k in rec if _is_letter(k))
    if len(letters) < 2 or "".join(letters) != LETTERS[: len(letters)]:
        raise error(
            f"options must be lettered A, B, C ... without gaps, 2 to {len(LETTERS)} of them; "
            f"found {', '.join(letters) or 'none'}",
            "choices",
        )
    options: dict[str, str] = {}
    for k in letters:
        value = rec[k]
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)  # numeric options ("42") are common in exam files
        if not isinstance(value, str) or not value.strip():
            raise error(f'option "{k}" is empty; every option needs its text', k)
        options[k] = value
    answer = _answer(rec.get("answer"), options, error)
    dimension = rec.get("dimension") or None
    if dimension is not None and dimension not in DIMENSIONS:
        raise error(
            f'field "dimension" is {dimension!r}; use one of {", ".join(DIMENSIONS)}', "dimension"
        )
    qid = rec.get("id")
    qid = f"{subject}-{n}" if qid in (None, "") else str(qid)
    where = f"{path}:row {n}" if row else f"{path}:{n}"
    return Question(qid, subject, question.strip(), options, answer, dimension, where)


def _answer(raw: Any, options: dict[str, str], error: Callable[[str, str], DataError]) -> str:
    letters = list(options)
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw < len(letters):
        return letters[raw]  # MMLU on the Hub: a 0-based index
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise error(
            'field "answer" is missing or empty; give the letter of the right option', "answer"
        )
    answer = str(raw).strip()
    if answer not in options:
        raise error(
            f'field "answer" is {raw!r}, not one of the options {", ".join(letters)}', "answer"
        )
    return answer


def pick_shots(questions: Sequence[Question], dev: Sequence[Question], k: int) -> dict[str, list]:
    """The first k dev questions (file order) of each subject that has questions."""
    by_subject: dict[str, list[Question]] = defaultdict(list)
    for d in dev:
        by_subject[d.subject].append(d)
    shots: dict[str, list[Question]] = {}
    for subject in dict.fromkeys(q.subject for q in questions):
        have = by_subject.get(subject, [])
        if len(have) < k:
            raise ValueError(
                f"--shots {k} but subject {subject!r} has {len(have)} dev questions; give a "
                f"dev file named {subject}_dev.csv (or rows with that subject) or lower --shots"
            )
        shots[subject] = have[:k]
    return shots


# ---------------------------------------------------------------- scoring


@dataclass
class _Row:
    """One forward-pass row: a shared prefix and continuations packed after it."""

    prefix: list[int]
    branches: list[tuple[int, int, list[int]]]  # (question, continuation index, tokens)

    @property
    def length(self) -> int:
        return len(self.prefix) + sum(len(b) - 1 for _, _, b in self.branches)

    @property
    def packed(self) -> bool:
        # Needs the tree mask when two continuations contribute input tokens.
        return sum(len(b) > 1 for _, _, b in self.branches) > 1


def _encode_pairs(tokenizer: Any, context: str, conts: list[str]) -> tuple[list[int], list[list]]:
    """lm-eval's `_encode_pair`: trailing spaces move to the continuation; whole minus context."""
    n = len(context) - len(context.rstrip())
    if n:
        context, conts = context[:-n], [context[-n:] + c for c in conts]
    ids = tokenizer([context] + [context + c for c in conts])["input_ids"]
    ctx = ids[0]
    return ctx, [whole[len(ctx) :] for whole in ids[1:]]


def _rows(ctx: list[int], conts: list[list[int]], q: int, max_len: int, pack: bool) -> list[_Row]:
    rows, shared = [], []
    for j, cont in enumerate(conts):
        if len(ctx) + len(cont) > max_len + 1:
            # lm-eval keeps the last max_len tokens of context + continuation (minus the last).
            keep = (ctx + cont)[-(max_len + 1) :]
            rows.append(_Row(keep[: len(keep) - len(cont)], [(q, j, cont)]))
        else:
            shared.append((q, j, cont))
    if pack:
        groups = [shared]
    else:  # one input-bearing continuation per row, so plain causal attention is exact
        single = [b for b in shared if len(b[2]) == 1]
        multi = [b for b in shared if len(b[2]) > 1]
        groups = [single + multi[:1]] + [[b] for b in multi[1:]]
    return rows + [_Row(list(ctx), g) for g in groups if g]


def _supports(model: Any, argument: str) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return argument in inspect.signature(base.forward).parameters


def _can_pack(model: Any) -> bool:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    # Custom 4D masks reach the attention as-is with these two; flash attention ignores them.
    return getattr(base.config, "_attn_implementation", None) in ("sdpa", "eager")


def _pack(batch: list[_Row], pad_id: int):
    """Input ids, segment ids (0 prefix, k continuation k, -1 padding), positions, targets."""
    width = max(row.length for row in batch)
    ids, seg, pos = [], [], []
    targets: list[tuple[int, int, int, int, int]] = []  # row, position, token, question, index
    for r, row in enumerate(batch):
        n = len(row.prefix)
        ids_r, seg_r, pos_r = list(row.prefix), [0] * n, list(range(n))
        for k, (q, j, cont) in enumerate(row.branches, 1):
            # cont[0] is predicted at the prefix's last token, cont[t] at cont[t - 1]'s.
            at = [n - 1, *range(len(ids_r), len(ids_r) + len(cont) - 1)]
            targets += [(r, a, token, q, j) for a, token in zip(at, cont, strict=True)]
            ids_r += cont[:-1]
            seg_r += [k] * (len(cont) - 1)
            pos_r += range(n, n + len(cont) - 1)  # every continuation starts right after
        pad = width - len(ids_r)
        ids.append(ids_r + [pad_id] * pad)
        seg.append(seg_r + [-1] * pad)
        pos.append(pos_r + [0] * pad)
    return torch.tensor(ids), torch.tensor(seg), torch.tensor(pos), targets


@torch.no_grad()
def _score_rows(model: Any, rows: list[_Row], *, batch_size: int, pad_id: int, progress=None):
    """Summed log-prob of every continuation: {(question, continuation index): float}."""
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    keep_arg = _supports(model, "logits_to_keep")
    out: dict[tuple[int, int], float] = defaultdict(float)
    order = sorted(range(len(rows)), key=lambda i: -rows[i].length)  # longest first, as lm-eval
    for start in range(0, len(order), batch_size):
        batch = [rows[i] for i in order[start : start + batch_size]]
        ids, seg, pos, targets = _pack(batch, pad_id)
        kwargs: dict[str, Any] = {"use_cache": False}
        if any(row.packed for row in batch):
            kwargs["attention_mask"] = _tree_mask(seg.to(device), dtype)
            kwargs["position_ids"] = pos.to(device)
        # Else right padding under causal attention needs no mask: pads come after every token.
        keep = ids.shape[1] - min(len(row.prefix) for row in batch) + 1  # from the first target
        if keep_arg:
            kwargs["logits_to_keep"] = keep  # the logits of the earlier positions are never used
        logits = model(input_ids=ids.to(device), **kwargs).logits[:, -keep:]  # [b, keep, vocab]
        rows_at = torch.tensor([t[0] for t in targets], device=device)
        at = torch.tensor([t[1] - (ids.shape[1] - keep) for t in targets], device=device)
        token = torch.tensor([t[2] for t in targets], device=device)
        logprobs = logits[rows_at, at].float().log_softmax(-1)  # [targets, vocab]
        picked = logprobs.gather(-1, token[:, None]).squeeze(-1).tolist()
        for (_, _, _, q, j), lp in zip(targets, picked, strict=True):
            out[(q, j)] += lp
        if progress is not None:
            progress(min(start + batch_size, len(rows)), len(rows))
    return out


def _tree_mask(seg: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[b, 1, t, t] additive mask: causal, and a continuation sees the prefix and itself only."""
    width = seg.shape[1]
    causal = torch.ones(width, width, dtype=torch.bool, device=seg.device).tril()
    same = seg[:, :, None] == seg[:, None, :]  # padding (-1) sees only padding: no empty rows
    allowed = causal & (same | (seg[:, None, :] == 0))
    mask = torch.zeros(allowed.shape, dtype=dtype, device=seg.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]


def model_max_length(model: Any, tokenizer: Any, default: int = 2048) -> int:
    """The context length lm-eval would use: the config's, else the tokenizer's, else 2048."""
    config = model.config
    for cfg in (getattr(config, "text_config", None), config):
        for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
            if cfg is not None and isinstance(getattr(cfg, attr, None), int):
                return getattr(cfg, attr)
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and limit < 10**9 else default


def score(
    model: Any,
    tokenizer: Any,
    questions: Sequence[Question],
    *,
    style: Style,
    shots: dict[str, list[Question]] | None = None,
    scoring: str = "both",
    batch_size: int = 8,
    max_len: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Score each question after its prompt; one result row per question (docs/eval-mcq.md).

    `progress(done, total)` is called after each batch, counting forward rows (one per question,
    plus one per continuation that had to be cut to `max_len`).
    """
    if scoring not in SCORINGS:
        raise ValueError(f"scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}")
    plan = _plan(
        model, tokenizer, questions, style=style, shots=shots, scoring=scoring, max_len=max_len
    )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    sums = _score_rows(model, plan.rows, batch_size=batch_size, pad_id=pad, progress=progress)
    return [
        _item(q, kinds, [sums[(qi, j)] for j in range(len(kinds))], n_ctx, cut)
        for qi, (q, (kinds, n_ctx, cut)) in enumerate(zip(questions, plan.layouts, strict=True))
    ]


@dataclass
class _Plan:
    """Tokenised questions: the forward rows and, per question, what each continuation is."""

    rows: list[_Row]
    layouts: list[tuple[list[tuple[str, str]], int, bool]]  # kinds, prompt tokens, truncated


def _plan(
    model: Any,
    tokenizer: Any,
    questions: Sequence[Question],
    *,
    style: Style,
    shots: dict[str, list[Question]] | None = None,
    scoring: str = "both",
    max_len: int | None = None,
) -> _Plan:
    """Build every question's prompt, tokenise its continuations and pack them into rows."""
    shots = shots or {}
    max_len = max_len or model_max_length(model, tokenizer)
    pack = _can_pack(model)
    plan = _Plan([], [])
    for qi, q in enumerate(questions):
        prompt = style.prompt(q, shots.get(q.subject, ()))
        kinds = [("letter", k) for k in q.options] if scoring != "option" else []
        kinds += [("option", k) for k in q.options] if scoring != "letter" else []
        texts = [
            (style.letter_delimiter + k) if kind == "letter" else (OPTION_DELIMITER + q.options[k])
            for kind, k in kinds
        ]
        ctx, conts = _encode_pairs(tokenizer, prompt, texts)
        for text, cont in zip(texts, conts, strict=True):
            if not cont or len(cont) > max_len:
                raise DataError(
                    q.where,
                    None,
                    f"{text!r} gives {len(cont)} tokens after the prompt; "
                    f"a continuation needs 1 to --max-len ({max_len})",
                )
        plan.rows += _rows(ctx, conts, qi, max_len, pack)
        cut = any(len(ctx) + len(c) > max_len + 1 for c in conts)
        plan.layouts.append((kinds, len(ctx), cut))
    return plan


def _argmax(scores: dict[str, float]) -> str:
    keys = list(scores)
    values = [scores[k] for k in keys]
    return keys[values.index(max(values))]  # first of equal maxima, as numpy's argmax


def _item(
    q: Question, kinds: list[tuple[str, str]], lls: list[float], n_ctx: int, truncated: bool
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": q.id,
        "subject": q.subject,
        "dimension": q.dimension,
        "answer": q.answer,
        "where": q.where,
        "prompt_tokens": n_ctx,
        "truncated": truncated,
    }
    pred: dict[str, str] = {}
    letter = {k: ll for (kind, k), ll in zip(kinds, lls, strict=True) if kind == "letter"}
    if letter:
        top = max(letter.values())
        lse = top + math.log(sum(math.exp(v - top) for v in letter.values()))
        item["letter_logprobs"] = {k: v - lse for k, v in letter.items()}
        item["letter_raw_logprobs"] = letter
        pred["acc_letter"] = _argmax(letter)
    option = {k: ll for (kind, k), ll in zip(kinds, lls, strict=True) if kind == "option"}
    if option:
        chars = {k: len(q.options[k]) for k in option}
        nbytes = {k: len(q.options[k].encode("utf-8")) for k in option}
        item["option_loglikelihoods"] = option
        item["option_chars"] = chars
        item["option_bytes"] = nbytes
        pred["acc"] = _argmax(option)
        pred["acc_norm"] = _argmax({k: option[k] / chars[k] for k in option})
        pred["acc_bytes"] = _argmax({k: option[k] / nbytes[k] for k in option})
    item["pred"] = pred
    item["correct"] = {metric: choice == q.answer for metric, choice in pred.items()}
    return item


def summarize(items: Sequence[dict[str, Any]]) -> tuple[dict, dict, dict]:
    """(metrics, by_set, by_dimension) in percent; metrics hold micro and `_macro` averages.

    Micro: over all questions (lm-eval's group score). Macro: the mean of the subjects'
    accuracies (what C-Eval, CMMLU and MMLU papers report).
    """
    if not items:
        raise ValueError("no questions were scored")
    names = [m for m in METRICS if m in items[0]["correct"]]
    by_set = _accuracy_by(items, "subject", names)
    by_dimension = _accuracy_by([i for i in items if i["dimension"]], "dimension", names)
    metrics = {m: 100.0 * sum(i["correct"][m] for i in items) / len(items) for m in names}
    for m in names:
        metrics[f"{m}_macro"] = sum(s[m] for s in by_set.values()) / len(by_set)
    return metrics, by_set, by_dimension


def _accuracy_by(items: Sequence[dict[str, Any]], key: str, names: list[str]) -> dict:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        groups[item[key]].append(item)
    return {
        name: {
            **{m: 100.0 * sum(i["correct"][m] for i in group) / len(group) for m in names},
            "n": len(group),
        }
        for name, group in groups.items()
    }


# ---------------------------------------------------------------- lm-eval parity


def lm_eval_doc(q: Question) -> dict[str, Any]:
    """A question as a row of the data file `lm_eval_task` reads."""
    return {
        "id": q.id,
        "question": q.question,
        "letters": list(q.options),
        "options": list(q.options.values()),
        "answer": q.answer,
    }


def lm_eval_task(
    style: Style,
    task: str,
    subject: str,
    test_file: str | Path,
    *,
    choices: str,
    dev_file: str | Path | None = None,
    shots: int = 0,
) -> dict[str, Any]:
    """An lm-evaluation-harness task config (for its YAML) that builds exactly our prompts.

    `choices="letter"` scores the answer letters (our letter scoring), `"option"` the option
    texts (our acc/acc_norm/acc_bytes). The files hold `lm_eval_doc` rows of one subject; the
    `shots` are the first rows of `dev_file`.
    """
    if choices not in ("letter", "option"):
        raise ValueError(f'choices must be "letter" or "option", got {choices!r}')
    if shots and not dev_file:
        raise ValueError("shots come from dev_file: give one")
    options = "{% for i in range(letters|length) %}\n{{letters[i]}}. {{options[i]}}{% endfor %}"
    files = {"test": str(test_file), **({"dev": str(dev_file)} if dev_file else {})}
    config: dict[str, Any] = {
        "task": task,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": files},
        "test_split": "test",
        "output_type": "multiple_choice",
        "description": style.header.format(subject=style.subject_name(subject)),
        "doc_to_text": style.item_prefix + "{{question}}" + options + "\n" + style.cue,
        "doc_to_choice": "{{letters}}" if choices == "letter" else "{{options}}",
        "doc_to_target": "{{letters.index(answer)}}",
        "target_delimiter": style.letter_delimiter if choices == "letter" else OPTION_DELIMITER,
        "metric_list": [{"metric": m} for m in ("acc", "acc_norm", "acc_bytes")],
    }
    if shots:
        # Shots show the answer letter whatever the choices are, as in our prompts.
        config["num_fewshot"] = shots
        config["fewshot_split"] = "dev"
        config["fewshot_config"] = {
            "sampler": "first_n",
            "doc_to_target": "{{answer}}",
            "target_delimiter": style.letter_delimiter,
        }
    return config
