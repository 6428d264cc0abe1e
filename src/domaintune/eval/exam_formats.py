"""Readers and official answer rules for three more exam layouts (docs/eval-mcq.md, "More exam
formats"): GAOKAO-Bench objective questions, CMB-Exam and LongBench.

- GAOKAO-Bench (OpenLMLab/GAOKAO-Bench, Data/Objective_Questions/*.json): one JSON object per
  file, {"keywords" (or "keyword"), "example": [{"year", "category", "question", "answer":
  [letters], "analysis", "index", "score"}]}; the options are written inside the question
  ("A．..." / "A. ..." / "A、..."). The file's keyword names the question type (`GAOKAO_TYPES`).
- CMB-Exam (FreedomIntelligence/CMB): rows {"exam_type", "exam_class", "exam_subject",
  "question", "answer" ("ACD" for 多项选择题), "question_type", "option": {"A": ...}} in a .json
  list or a .jsonl file.
- LongBench (THUDM/LongBench): .jsonl rows {"input", "context", "answers": [...], "length",
  "dataset", "language", "all_classes", "_id"}; scored by eval/longbench.py.

`eval mcq` reads GAOKAO single/multiple-choice questions and CMB questions as lettered items (a
multiple-answer item's `answer` holds all its letters, "ACD"); `eval gen` reads all three as
open items whose prompt is the benchmark's own and scores the answers by its official rule
(`official_score`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from domaintune.io import PathLike, eval_subject, iter_rows, not_utf8
from domaintune.records import DataError, EvalItem

EXAM_FORMATS = ("gaokao", "cmb", "longbench")

# GAOKAO-Bench's objective files and their question types (Bench/Obj_Prompt.json).
GAOKAO_TYPES = {
    **dict.fromkeys(
        ["2010-2022_Math_II_MCQs", "2010-2022_Math_I_MCQs", "2010-2022_History_MCQs",
         "2010-2022_Biology_MCQs", "2010-2022_Political_Science_MCQs",
         "2010-2022_Chemistry_MCQs", "2010-2013_English_MCQs"], "single_choice",
    ),
    "2010-2022_Physics_MCQs": "multi_choice",
    **dict.fromkeys(
        ["2010-2022_Chinese_Modern_Lit", "2010-2022_English_Fill_in_Blanks",
         "2010-2022_Geography_MCQs", "2010-2022_English_Reading_Comp",
         "2010-2022_Chinese_Lang_and_Usage_MCQs"], "multi_question_choice",
    ),
    "2012-2022_English_Cloze_Test": "five_out_of_seven",
}  # fmt: skip
_GAOKAO_SUBJECT = {
    "Math_I": "理科数学", "Math_II": "文科数学", "History": "历史", "Biology": "生物",
    "Political_Science": "政治", "Chemistry": "化学", "English": "英语", "Physics": "物理",
    "Chinese": "语文", "Geography": "地理",
}  # fmt: skip


def gaokao_subject(keyword: str) -> str:
    """The Chinese subject of a GAOKAO-Bench file keyword (`2010-2022_Math_I_MCQs` -> 理科数学),
    else the keyword."""
    for name, zh in _GAOKAO_SUBJECT.items():
        if re.search(rf"(^|_){name}(_|$)", keyword):
            return zh
    return keyword


# The answer formats GAOKAO-Bench's prompts ask for (Bench/Obj_Prompt.json; one per type).
_THINK = "请你一步一步思考并将思考过程写在【解析】和<eoe>之间。"
_FORMAT = "完整的题目回答的格式如下：\n【解析】 ... <eoe>\n【答案】 ... <eoa>\n"
_STRICT = "请你严格按照上述格式作答。\n"
GAOKAO_PROMPTS = {
    "single_choice": "请你做一道{subject}选择题\n"
    + _THINK
    + "你将从A，B，C，D中选出正确的答案，并写在【答案】和<eoa>之间。\n"
    + "例如：【答案】: A <eoa>\n"
    + _FORMAT
    + _STRICT
    + "题目如下：",
    "multi_choice": "请你做一道物理选择题。\n"
    + _THINK
    + "你将从A，B，C，D中选出所有符合题意的答案，并写在【答案】和<eoa>之间。\n"
    + "例如：【答案】 AB <eoa>\n"
    + _FORMAT.replace("【答案】 ...", "【答案】...")
    + _STRICT,
    "multi_question_choice": "请你做一道包含多个小题的选择题。\n请你一步一步思考。"
    + "每一题你将从A，B，C，D中选出正确的答案，并写在【答案】和<eoa>之间。\n"
    + "例如：（1）【答案】 A <eoa>\n（2）【答案】 B <eoa>\n"
    + _STRICT,
    "five_out_of_seven": "请回答下面的问题，将符合题意的五个选项的字母写在【答案】和<eoa>之间，"
    + "例如“【答案】 A B C D E <eoa>\n请严格按照上述格式作答。\n",
}
CMB_PROMPT = (
    "以下是中国{exam_type}中{exam_class}考试的一道{question_type}，不需要做任何分析和解释，直接输出答案选项。"
    "\n{question}\n{options}"
)
CMB_MULTI = "多项选择题"
_OPTION = re.compile(r"(?<![A-Za-z])([A-G])\s*[．.、:：]")


# ---------------------------------------------------------------- detection


def detect_exam_format(path: PathLike) -> str | None:
    """gaokao, cmb or longbench by the first record's fields; None for other layouts."""
    p = Path(path)
    first = _first_record(p)
    if first is None:
        return None
    if p.suffix.lower() == ".json" and isinstance(first, dict) and "example" in first:
        return "gaokao"
    if isinstance(first, dict) and isinstance(first.get("option"), dict):
        return "cmb" if "question_type" in first else None
    if isinstance(first, dict) and {"context", "input", "answers"} <= first.keys():
        return "longbench"
    return None


def _first_record(p: Path) -> Any:
    """The first JSON record, or None (not .json/.jsonl, or not valid JSON: the reader of the
    file's own layout then reports where)."""
    suffix = p.suffix.lower()
    if suffix not in (".json", ".jsonl") or not p.is_file():
        return None
    try:
        if suffix == ".jsonl":
            with p.open(encoding="utf-8-sig") as f:
                line = next((ln for ln in f if ln.strip()), None)
            return json.loads(line) if line else None
        data = json.loads(p.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data[0] if isinstance(data, list) and data else data


def _load_json(p: Path) -> Any:
    """A GAOKAO-Bench file's one JSON object (the rows of other layouts: `_rows`)."""
    try:
        return json.loads(p.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as e:
        raise not_utf8(p, e) from None
    except json.JSONDecodeError as e:
        raise DataError(p, e.lineno, f"not valid JSON ({e.msg}); fix the file") from None


# ---------------------------------------------------------------- GAOKAO-Bench


def split_options(text: str) -> tuple[str, dict[str, str]] | None:
    """(stem, {letter: option}) from a question with its options written inline, A first and
    in order; the last "A．" starts the options. None when they cannot be told apart."""
    marks = list(_OPTION.finditer(text))
    starts = [i for i, m in enumerate(marks) if m.group(1) == "A"]
    if not starts:
        return None
    found = marks[starts[-1] :]
    letters = [m.group(1) for m in found]
    if letters != [chr(ord("A") + i) for i in range(len(letters))] or len(letters) < 2:
        return None
    options = {}
    for m, nxt in zip(found, [*found[1:], None], strict=True):
        end = nxt.start() if nxt else len(text)
        options[m.group(1)] = text[m.end() : end].strip()
    if not all(options.values()):
        return None
    return text[: found[0].start()].strip(), options


def read_gaokao(path: PathLike, *, kind: str = "choice") -> list[EvalItem]:
    """A GAOKAO-Bench objective file as lettered items (`kind` "choice": single- and
    multiple-choice files) or as open items with the benchmark's prompt (`kind` "open")."""
    p = Path(path)
    data = _load_json(p)
    if not isinstance(data, dict) or not isinstance(data.get("example"), list):
        raise DataError(p, None, 'a GAOKAO-Bench file is an object with an "example" list')
    keyword = str(data.get("keywords") or data.get("keyword") or eval_subject(p))
    items = []
    for n, ex in enumerate(data["example"]):
        where = f"{p}:example {n}"
        answer = _gaokao_answer(ex, where)
        qtype = GAOKAO_TYPES.get(keyword) or _guess_type(answer)
        meta = {
            "format": "gaokao", "type": qtype, "answers": answer, "multi": qtype == "multi_choice",
            **{k: ex.get(k) for k in ("year", "category", "score", "index", "analysis")},
        }  # fmt: skip
        question = _field(ex, "question", where)
        item_id = f"{keyword}-{ex.get('index', n)}"
        if kind == "open":
            subject = gaokao_subject(keyword).removeprefix("理科").removeprefix("文科")
            head = GAOKAO_PROMPTS[qtype].replace("{subject}", subject)
            prompt = head + question.strip() + "\n"
            answer_text = "".join(answer)
            items.append(EvalItem(item_id, prompt, answer_text, None, meta, keyword, where=where))
            continue
        if qtype not in ("single_choice", "multi_choice"):
            raise DataError(
                p,
                None,
                f"{keyword} is a {qtype} file (several answers per "
                "passage); score it with `eval gen`, which applies its own rule",
            )
        split = split_options(question)
        if split is None:
            raise _bad(
                where,
                "question",
                "the options A. B. C. ... could not be found in the "
                "question; write them as A．text B．text ...",
            )
        stem, options = split
        if any(letter not in options for letter in answer[0]):
            raise _bad(
                where, "answer", f"answer {answer[0]} is not among the options {''.join(options)}"
            )
        items.append(EvalItem(item_id, stem, answer[0], options, meta, keyword, where=where))
    if not items:
        raise DataError(p, None, 'no examples: the "example" list is empty')
    return items


def _gaokao_answer(ex: Any, where: str) -> list[str]:
    answer = ex.get("answer") if isinstance(ex, dict) else None
    if (
        not isinstance(answer, list)
        or not answer
        or not all(isinstance(a, str) and re.fullmatch(r"[A-G]+", a) for a in answer)
    ):
        raise _bad(where, "answer", 'the answer must be a list of letters, e.g. ["B"] or ["AC"]')
    return answer


def _guess_type(answer: list[str]) -> str:
    if len(answer) > 1:
        return "multi_question_choice"
    return "multi_choice" if len(answer[0]) > 1 else "single_choice"


def _bad(where: str, field: str, message: str) -> DataError:
    """A DataError naming the row and the field, as the project's readers word them."""
    return DataError(where, None, f'field "{field}": {message}', field)


def _field(row: dict, name: str, where: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _bad(where, name, "missing or empty; fill it in")
    return value


def gaokao_extract(output: str, qtype: str, n_answers: int) -> list[str]:
    """The answer letters GAOKAO-Bench reads from a model's output (Bench/bench_function.py)."""
    if qtype == "single_choice":
        last = re.findall(r"[A-D]", output[::-1])
        return last[:1]
    if qtype == "multi_question_choice":
        tagged = re.findall(r"【答案】\s*[:：]*\s*[A-Z]", output)
        if len(tagged) == n_answers:
            return [re.findall(r"[A-Z]", t)[0] for t in tagged]
        return re.findall(r"[A-Z]", output)[:n_answers]
    if qtype == "multi_choice":
        content = re.sub(r"\s+", "", output)
        at = content.find("【答案】")
        letters = "".join(re.findall(r"[A-D]", content[at:] if at > 0 else content[-10:]))
        return [letters] if letters else []
    if qtype == "five_out_of_seven":
        return re.findall(r"[A-G]", output)[:5]
    raise ValueError(f"unknown GAOKAO-Bench question type {qtype!r}")


def gaokao_points(
    model: list[str], standard: list[str], score: float, *, partial: bool
) -> tuple[float, float]:
    """(points available, points earned) for one example (Bench/OBJ_score_evaluation.py).

    Each of the standard answers is worth `score`; a model answer list of another length counts
    as all wrong. With `partial` (the Physics file) an answer earns 6 when exact, 3 when it
    holds no wrong letter, else 0."""
    total = len(standard) * score
    if len(model) != len(standard):
        model = ["Z"] * len(standard)
    earned = 0.0
    for got, want in zip(model, standard, strict=True):
        if got == want:
            earned += 6 if partial else score
        elif partial and all(ch in want for ch in got):
            earned += 3
    return total, earned


# ---------------------------------------------------------------- CMB


def _rows(p: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, row object) per row of a .jsonl file or a .json list (io.iter_rows: UTF-8, JSON
    and object checks); where is FILE:LINE, or FILE:row N in a .json file."""
    row = "row " if p.suffix.lower() == ".json" else ""
    for n, obj in iter_rows(p):
        yield f"{p}:{row}{n}", obj


def read_cmb(path: PathLike, *, kind: str = "choice") -> list[EvalItem]:
    """CMB-Exam rows as lettered items (`kind` "choice") or open items with CMB's
    answer-only prompt (`kind` "open"); subject: exam_class, dimension left empty."""
    p = Path(path)
    items = []
    for i, (where, row) in enumerate(_rows(p)):
        given = row.get("option") or {}
        options = {k: str(v).strip() for k, v in given.items() if str(v).strip()}
        if not options or not all(re.fullmatch(r"[A-J]", k) for k in options):
            raise _bad(where, "option", 'give the options as "option": {"A": ..., "B": ...}')
        question, answer = _field(row, "question", where), str(row.get("answer") or "").strip()
        if not answer or any(ch not in options for ch in answer):
            raise _bad(
                where, "answer", f"answer {answer!r} must be option letters of {''.join(options)}"
            )
        qtype = str(row.get("question_type") or "")
        meta = {
            "format": "cmb",
            "question_type": qtype,
            "multi": qtype == CMB_MULTI,
            **{k: row.get(k) for k in ("exam_type", "exam_class", "exam_subject")},
        }
        subject = str(row.get("exam_class") or eval_subject(p))
        item_id = str(row.get("id", f"{eval_subject(p)}-{i}"))
        if kind == "open":
            opts = "\n".join(f"{k}. {v}" for k, v in options.items())
            prompt = CMB_PROMPT.format(
                options=opts,
                question=question,
                question_type=qtype,
                exam_type=row.get("exam_type", ""),
                exam_class=row.get("exam_class", ""),
            )
            items.append(EvalItem(item_id, prompt, answer, None, meta, subject, where=where))
        else:
            # Letter order, as eval mcq writes the letter combinations it scores.
            letters = "".join(sorted(answer))
            items.append(EvalItem(item_id, question, letters, options, meta, subject, where=where))
    if not items:
        raise DataError(p, None, "no rows: the file is empty; fill it in or leave it out")
    return items


def cmb_extract(output: str, *, multi: bool) -> str:
    """The answer CMB reads from an output (src/utils.py `match_choice`): the letters A-G after
    答案/正确选项 + 是/：/为/应该是/应该为 up to 。 or . (else all letters A-G in the output);
    only the first letter for a question that is not 多项选择题."""
    found = re.search(r"(答案|正确选项)(?:是|：|为|应该是|应该为)(.*?)(。|\.|$)", output, re.S)
    text = found.group(2) if found else output
    letters = "".join(ch for ch in text if ch in "ABCDEFG")
    return letters[:1] if not multi else letters


# ---------------------------------------------------------------- LongBench


def read_longbench(path: PathLike) -> list[EvalItem]:
    """LongBench rows as open items: the prompt is the task's LongBench prompt filled with the
    row's context and input (every task `metric_for` knows has one); the reference is its
    first answer; the task, all answers and all_classes go to meta."""
    from domaintune.eval.longbench import PROMPTS, metric_for, task_of

    p = Path(path)
    items = []
    for i, (where, row) in enumerate(_rows(p)):
        answers = row.get("answers")
        if not isinstance(answers, list) or not answers:
            raise _bad(where, "answers", "must be a non-empty list of texts")
        dataset = str(row.get("dataset") or eval_subject(p))
        try:
            metric = metric_for(dataset)
        except ValueError as e:
            raise _bad(where, "dataset", str(e)) from None
        meta = {
            "format": "longbench",
            "dataset": dataset,
            "metric": metric,
            "answers": [str(a) for a in answers],
            "all_classes": row.get("all_classes") or [],
            "language": row.get("language"),
            "length": row.get("length"),
        }
        text = PROMPTS[task_of(dataset)].format(
            context=row.get("context", ""), input=row.get("input", "")
        )
        item_id = str(row.get("_id") or f"{dataset}-{i}")
        items.append(EvalItem(item_id, text, str(answers[0]), None, meta, dataset, where=where))
    if not items:
        raise DataError(p, None, "no rows: the file is empty; fill it in or leave it out")
    return items


# ---------------------------------------------------------------- reading and scoring


def read_exam_file(path: PathLike, fmt: str, *, kind: str) -> list[EvalItem]:
    """Read one file of an EXAM_FORMATS format as "choice" (eval mcq) or "open" (eval gen)."""
    if fmt == "gaokao":
        return read_gaokao(path, kind=kind)
    if fmt == "cmb":
        return read_cmb(path, kind=kind)
    if fmt == "longbench":
        if kind == "choice":
            raise DataError(path, None, "LongBench rows are open questions; use `eval gen`")
        return read_longbench(path)
    raise ValueError(f"unknown exam format {fmt!r}; choose one of {', '.join(EXAM_FORMATS)}")


def official_score(item: EvalItem, prediction: str) -> tuple[float, float] | None:
    """(points earned, points available) of an answer by its benchmark's rule; None for items
    of other formats. LongBench: its task metric (0-1) of 1; CMB: 1 when the extracted answer
    equals the answer string; GAOKAO-Bench: the points of `gaokao_points`."""
    meta = item.meta
    fmt = meta.get("format")
    if fmt == "longbench":
        from domaintune.eval.longbench import score_row

        return score_row(meta["dataset"], prediction, meta["answers"], meta["all_classes"]), 1.0
    if fmt == "cmb":
        return float(cmb_extract(prediction, multi=bool(meta.get("multi"))) == item.answer), 1.0
    if fmt == "gaokao":
        standard = list(meta["answers"])
        got = gaokao_extract(prediction, meta["type"], len(standard))
        score = float(meta.get("score") or 1)
        total, earned = gaokao_points(got, standard, score, partial=meta["type"] == "multi_choice")
        return earned, total
    return None


def add_official(result: dict[str, Any], items: list[EvalItem]) -> None:
    """Add the benchmarks' own figure, `official` (percent), to a `gen` result in place: per row
    (its points / available x 100), per set and overall (earned / available x 100: the scoring
    rate of GAOKAO-Bench, CMB's accuracy, LongBench's task score, rounded to 2 decimals as
    LongBench does). Rows of other formats get none; nothing changes when no row has one."""
    sets: dict[str, list[float]] = {}
    total = [0.0, 0.0]
    for item, row in zip(items, result["items"], strict=True):
        points = official_score(item, item.prediction or "")
        if points is None:
            continue
        earned, available = points
        row["scores"]["official"] = 100.0 * earned / available if available else 0.0
        acc = sets.setdefault(str(item.subject), [0.0, 0.0])
        acc[0], acc[1] = acc[0] + earned, acc[1] + available
        total[0], total[1] = total[0] + earned, total[1] + available
    if not sets:
        return
    for name, (earned, available) in sets.items():
        result["by_set"][name]["official"] = round(100.0 * earned / available, 2)
    result["metrics"]["official"] = round(100.0 * total[0] / total[1], 2)
    result["counts"]["official_rows"] = sum(1 for r in result["items"] if "official" in r["scores"])
