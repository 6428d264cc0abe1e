"""Labelled NLP datasets (QA, classification, summarisation, translation, NER as JSONL/CSV with
named columns) into instructions, with several templates per task and language (§3.1: vary the
template so the model learns the task, not one wording). No teacher is involved.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import xxhash

from domaintune.io import PathLike, file_stem, iter_rows
from domaintune.records import DataError
from domaintune.synth.engine import Candidate
from domaintune.synth.filters import language

TASKS = ("qa", "classification", "summarisation", "translation", "ner")
# Columns each task reads (option name -> default column name).
COLUMNS = {
    "qa": {"question": "question", "answer": "answer", "context": "context"},
    "classification": {"text": "text", "label": "label"},
    "summarisation": {"text": "text", "summary": "summary"},
    "translation": {"source": "source", "target": "target"},
    "ner": {"text": "text", "entities": "entities"},
}
OPTIONAL = {"context"}

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "qa": {
        "zh": ["{question}", "请根据下面的材料回答问题。\n材料：{context}\n问题：{question}",
               "阅读以下内容：\n{context}\n\n{question}", "问题：{question}\n请简要作答。"],
        "en": ["{question}", "Answer the question using the passage.\nPassage: {context}\n"
               "Question: {question}", "Read this:\n{context}\n\n{question}",
               "Question: {question}\nAnswer briefly."],
    },
    "classification": {
        "zh": ["请判断下面文本的类别（可选：{labels}）。\n文本：{text}",
               "{text}\n\n以上内容属于哪一类？从 {labels} 中选择。",
               "给下面这段话分类，只回答类别名称（{labels}）：{text}"],
        "en": ["Classify the text into one of: {labels}.\nText: {text}",
               "{text}\n\nWhich category does this belong to? Choose from {labels}.",
               "Label the following with one of {labels}, answering with the label only: {text}"],
    },
    "summarisation": {
        "zh": ["请总结下面的内容：\n{text}", "{text}\n\n用几句话概括上文。",
               "为下面的文章写一段摘要：{text}"],
        "en": ["Summarize the following:\n{text}", "{text}\n\nSum up the text above in a few "
               "sentences.", "Write a short summary of this article: {text}"],
    },
    "translation": {
        "zh": ["把下面的句子翻译成{target_lang}：{source}", "{source}\n\n请译成{target_lang}。",
               "翻译成{target_lang}：{source}"],
        "en": ["Translate into {target_lang}: {source}", "{source}\n\nTranslate the above into "
               "{target_lang}.", "What is this in {target_lang}? {source}"],
    },
    "ner": {
        "zh": ["找出下面文本中的命名实体，并标注类型：{text}",
               "{text}\n\n列出上文中的实体（类型：实体）。", "从这段话中抽取实体及其类型：{text}"],
        "en": ["Find the named entities in the text and give their types: {text}",
               "{text}\n\nList the entities above as type: entity.",
               "Extract the entities and their types from: {text}"],
    },
}  # fmt: skip
LANG_NAMES = {"zh": {"zh": "中文", "en": "英文"}, "en": {"zh": "Chinese", "en": "English"}}


def _cell(path: PathLike, line: int, data: dict[str, Any], column: str, option: str) -> Any:
    if column not in data or data[column] in (None, ""):
        have = ", ".join(f'"{k}"' for k in data) or "none"
        raise DataError(path, line, f'missing column "{column}" (columns: {have}); name the '
                        f"right one with --{option.replace('_', '-')}-col", column)  # fmt: skip
    return data[column]


_SHAPE = '{"text": ..., "type": ...} objects or [text, type] pairs'


def _entities(path: PathLike, line: int, value: Any, column: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DataError(path, line, f'column "{column}" must be a JSON list of {_SHAPE}',
                            column) from None  # fmt: skip
    out = []
    for e in value if isinstance(value, list) else [None]:
        if isinstance(e, dict) and "text" in e and ("type" in e or "label" in e):
            out.append((str(e["text"]), str(e.get("type", e.get("label")))))
        elif isinstance(e, list | tuple) and len(e) == 2:
            out.append((str(e[0]), str(e[1])))
        else:
            raise DataError(path, line, f'column "{column}": each entity must be one of {_SHAPE}',
                            column)  # fmt: skip
    return out


def _pick(row_key: str, n: int, seed: int) -> int:
    return xxhash.xxh64_intdigest(f"{seed}:{row_key}".encode()) % n


def convert_rows(
    path: PathLike,
    task: str,
    *,
    columns: dict[str, str] | None = None,
    labels: Sequence[str] | None = None,
    seed: int = 0,
) -> list[Candidate]:
    """One candidate per row; rows take the task's templates in turn (offset by seed, file)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    cols = {**COLUMNS[task], **(columns or {})}
    rows = list(iter_rows(path))
    if task == "classification" and not labels:
        labels = sorted({str(r.get(cols["label"])) for _, r in rows if r.get(cols["label"])})
    out = []
    for line, data in rows:
        values = {opt: _cell(path, line, data, col, opt) for opt, col in cols.items()
                  if opt not in OPTIONAL or data.get(col)}  # fmt: skip
        out.append(_candidate(path, line, task, values, labels or [], seed))
    return out


def _candidate(path, line, task, values: dict[str, Any], labels, seed) -> Candidate:
    main = str(values.get("text") or values.get("question") or values.get("source"))
    lang = language(main)
    choices = TEMPLATES[task][lang]
    if task == "qa" and "context" not in values:
        choices = [t for t in choices if "{context}" not in t]
    # Templates in turn (an even mix), starting at a place set by the seed and the file.
    index = (line + _pick(file_stem(path), len(choices), seed)) % len(choices)
    fields = {k: str(v) for k, v in values.items() if k != "entities"}
    if task == "classification":
        fields["labels"] = ("、" if lang == "zh" else ", ").join(labels)
        answer = fields["label"]
    elif task == "translation":
        target = language(fields["target"])
        fields["target_lang"] = LANG_NAMES[lang][target]
        answer = fields["target"]
    elif task == "ner":
        ents = _entities(path, line, values["entities"], "entities")
        sep = "：" if lang == "zh" else ": "
        answer = "\n".join(f"{t}{sep}{e}" for e, t in ents) or ("无" if lang == "zh" else "none")
    else:
        answer = fields.get("answer") or fields["summary"]
    prompt = choices[index].format(**fields)
    prov = {"file": str(path), "line": line, "task": task, "template": index}
    turns = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
    cand = Candidate(turns, None, prov, {"category": _CATEGORY[task]})
    cand.skip_restates = task in ("classification", "ner", "qa")  # short answers in the prompt
    return cand


_CATEGORY = {"qa": "qa", "classification": "classification", "summarisation": "summarisation",
             "translation": "translation", "ner": "extraction"}  # fmt: skip
