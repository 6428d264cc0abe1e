"""Multiple-choice exams: the formats (C-Eval, CMMLU, MMLU CSVs and jsonl, read by
io.read_eval_items), the official and lm-eval prompt styles and few-shot selection. Scoring
lives in eval/mcq.py."""

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from domaintune.eval.exam_formats import (
    GAOKAO_TYPES,
    detect_exam_format,
    gaokao_subject,
    read_exam_file,
)
from domaintune.io import eval_subject, exam_layout, read_eval_items
from domaintune.records import EVAL_LETTERS, DataError, EvalItem

FORMATS = ("ceval", "cmmlu", "mmlu", "jsonl", "gaokao", "cmb")  # the last two: eval/exam_formats.py
PROMPTS = ("official", "lm-eval")  # --prompt: each format's official prompt, or lm-eval's
SCORINGS = ("both", "letter", "option")
# Names that say what is scored; docs/eval-mcq.md gives lm-eval's name for each.
METRICS = ("acc_letter", "acc_option", "acc_option_norm", "acc_option_bytes")
LETTERS = EVAL_LETTERS
OPTION_DELIMITER = " "  # lm-eval's default target_delimiter, before each option's text
subject_of = eval_subject  # `law_val.csv` -> law

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


@dataclass(frozen=True)
class Style:
    """A prompt format (official or lm-eval's): header, item layout, answer cue, text before a
    letter."""

    name: str
    header: str  # with {subject}
    item_prefix: str
    cue: str
    letter_delimiter: str  # between the cue and the answer letter
    subject_names: dict[str, str]

    def subject_name(self, subject: str) -> str:
        """The subject as the header names it: the official name when known."""
        return self.subject_names.get(subject, subject.replace("_", " "))

    def item(self, q: EvalItem) -> str:
        """One question without its answer, ending in the answer cue."""
        options = (f"{k}. {v}" for k, v in (q.choices or {}).items())
        return "\n".join([self.item_prefix + q.question.strip(), *options]) + "\n" + self.cue

    def prompt(self, q: EvalItem, shots: Sequence[EvalItem] = ()) -> str:
        """Header, then each shot with its answer letter, then the question."""
        solved = "".join(f"{self.item(s)}{self.letter_delimiter}{s.answer}\n\n" for s in shots)
        header = self.header.format(subject=self.subject_name(q.subject or ""))
        return header + solved + self.item(q)


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
# lm-evaluation-harness 0.4.13's own tasks (tasks/ceval/_default_ceval_yaml, tasks/cmmlu/
# _default_template_yaml, tasks/mmlu/default/_default_template_yaml): its descriptions, no
# item prefix, the cue "答案：" (mmlu "Answer:") and target_delimiter " " before the letter.
STYLES.update(
    {
        "lm-eval-ceval": Style(
            "lm-eval-ceval",
            "以下是中国关于{subject}的单项选择题，请选出其中的正确答案。\n\n",
            "",
            "答案：",
            " ",
            _names(_CEVAL_NAMES),
        ),
        "lm-eval-cmmlu": Style(
            "lm-eval-cmmlu",
            "以下是关于{subject}的单项选择题，请直接给出正确答案的选项。\n\n",
            "",
            "答案：",
            " ",
            _names(_CMMLU_NAMES),
        ),
        # Hendrycks et al.'s MMLU prompt, which lm-eval's mmlu task reproduces.
        "lm-eval-mmlu": dataclasses.replace(STYLES["mmlu"], name="lm-eval-mmlu"),
    }
)
_GAOKAO_NAMES = {k: gaokao_subject(k) for k in GAOKAO_TYPES}  # 2010-2022_Physics_MCQs: 物理
_GAOKAO_HEADER = "以下是中国高考{subject}的选择题，请选出其中的正确答案。\n\n"
_CMB_HEADER = "以下是中国{subject}考试的选择题，请直接给出答案选项。\n\n"
# GAOKAO-Bench and CMB score generated answers officially (eval gen); these are our prompts for
# scoring their letters, in C-Eval's layout without its "单项选择题" (some have several answers).
STYLES.update(
    {
        "gaokao": dataclasses.replace(
            STYLES["ceval"], name="gaokao", header=_GAOKAO_HEADER, subject_names=_GAOKAO_NAMES
        ),
        "cmb": dataclasses.replace(STYLES["ceval"], name="cmb", header=_CMB_HEADER),
    }
)
DEFAULT_STYLE = {
    "ceval": "ceval", "cmmlu": "cmmlu", "mmlu": "mmlu", "jsonl": "ceval", "gaokao": "gaokao",
    "cmb": "cmb",
}  # fmt: skip


def style_for(fmt: str, prompt: str = "official") -> Style:
    """The prompt style for a file format: its official prompt, or lm-eval's task prompt.

    `prompt` may also name a style (`ceval`, `lm-eval-mmlu`, ...) for any format.
    """
    if prompt in STYLES:
        return STYLES[prompt]
    if prompt not in PROMPTS:
        choices = ", ".join([*PROMPTS, *STYLES])
        raise ValueError(f"unknown prompt {prompt!r}; choose one of {choices}")
    family = DEFAULT_STYLE[fmt]
    if prompt == "official":
        return STYLES[family]
    return STYLES.get(f"lm-eval-{family}", STYLES["lm-eval-ceval"])


# ---------------------------------------------------------------- reading


def exam_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders to the .csv/.jsonl files directly inside them, sorted."""
    files: list[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            files.append(p)
            continue
        found = sorted(f for f in p.iterdir() if _is_exam_file(f))
        if not found:
            raise DataError(p, None, "no .csv, .jsonl or .json files in this folder")
        files += found
    return files


def _is_exam_file(f: Path) -> bool:
    """A .csv/.jsonl file, or a .json file in the GAOKAO-Bench or CMB layout (a folder may hold
    other .json files, such as C-Eval's subject_mapping.json)."""
    suffix = f.suffix.lower()
    return suffix in (".csv", ".jsonl") or (
        suffix == ".json" and detect_exam_format(f) in ("gaokao", "cmb")
    )


def detect_format(path: str | Path) -> str:
    """gaokao or cmb by the first record's fields (.json/.jsonl), else jsonl by extension; a CSV
    by its header: `,Question` cmmlu, `question` ceval, else mmlu."""
    p = _existing(path)
    exam = detect_exam_format(p)
    if exam in ("gaokao", "cmb"):
        return exam
    if exam == "longbench":
        raise DataError(p, None, "LongBench rows are open questions; score them with eval gen")
    if p.suffix.lower() == ".jsonl":
        return "jsonl"
    if p.suffix.lower() != ".csv":
        raise DataError(
            p,
            None,
            "unsupported file type; exams are .csv or .jsonl files (GAOKAO-Bench and "
            "CMB .json files are detected by their fields)",
        )
    layout = exam_layout(p)
    if layout is None:
        raise DataError(p, None, _EMPTY)
    return layout


_EMPTY = "no rows: the file is empty; fill it in or leave it out"


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise DataError(p, None, "no such file; check the path")
    return p


def read_exam(paths: Iterable[str | Path], fmt: str | None = None) -> list[EvalItem]:
    """Read every question of every file (folders expanded); `fmt` None detects each file's."""
    out: list[EvalItem] = []
    for path in exam_files(paths):
        out += read_questions(path, fmt)
    return out


def read_questions(path: str | Path, fmt: str | None = None) -> list[EvalItem]:
    """All questions of one file (io.read_eval_items, kind "choice"); the subject defaults to
    the file's; bad rows raise a DataError naming file:row."""
    p = _existing(path)
    fmt = fmt or detect_format(p)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt in ("gaokao", "cmb"):
        return read_exam_file(p, fmt, kind="choice")
    if (fmt == "jsonl") != (p.suffix.lower() == ".jsonl"):
        kind = "a .jsonl file" if fmt == "jsonl" else "a .csv file"
        raise DataError(p, None, f"--format {fmt} reads {kind}; pass the right --format")
    layout = None if fmt == "jsonl" else fmt
    return list(read_eval_items(p, kind="choice", layout=layout, default_subject=True))


def pick_shots(
    questions: Sequence[EvalItem], dev: Sequence[EvalItem], k: int
) -> dict[str, list[EvalItem]]:
    """The first k dev questions (file order) of each subject that has questions."""
    by_subject: dict[str | None, list[EvalItem]] = defaultdict(list)
    for d in dev:
        by_subject[d.subject].append(d)
    shots: dict[str, list[EvalItem]] = {}
    for subject in dict.fromkeys(q.subject for q in questions):
        have = by_subject.get(subject, [])
        if len(have) < k:
            raise ValueError(
                f"--shots {k} but subject {subject!r} has {len(have)} dev questions; give a "
                f"dev file named {subject}_dev.csv (or rows with that subject) or lower --shots"
            )
        shots[str(subject)] = have[:k]
    return shots
