"""Multiple-choice exams: the file layouts (C-Eval, CMMLU, MMLU, jsonl), subjects, the official
prompt styles and few-shot selection. Scoring lives in eval/mcq.py."""

import csv
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
