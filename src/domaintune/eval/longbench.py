"""LongBench's per-task metrics (THUDM/LongBench, `metrics.py` and `eval.py`), our implementation.

Each LongBench row names its task in `dataset`; `DATASET_METRIC` maps the task to its metric,
as LongBench's `dataset2metric`. A row scores the best of its `answers` (each metric gives 0-1);
a task's score is `round(100 * mean, 2)`. For trec, triviaqa, samsum and lsht only the first
line of the prediction is scored (leading newlines dropped), as LongBench's `scorer` does.

The rules reproduced, including LongBench's quirks (docs/eval-gen.md, "LongBench"):
- qa_f1: SQuAD normalisation (lowercase, ASCII punctuation and a/an/the removed) then
  bag-of-words F1; qa_f1_zh: jieba words, each lowercased with Chinese and ASCII punctuation and
  whitespace removed, empty words dropped, then the same F1.
- rouge / rouge_zh: the `rouge` package's (1.0.1) ROUGE-L F: texts split into sentences at ".",
  words at single spaces, word *sets* (its default `exclusive=True`), the union of one LCS per
  (reference sentence, prediction sentence), F = 2PR / (P + R + 1e-8); an empty side scores 0.
  rouge_zh first joins jieba's words with spaces.
- classification: each class named in `all_classes` that occurs in the prediction is a match;
  matches that are substrings of the answer (but not the answer) are dropped, with the
  skipping of Python's remove-while-iterating kept; score 1/len(matches) when the answer is
  among them, else 0 (LongBench's difflib fallback is unreachable: `list != 0` is always true).
- retrieval (en/zh): the paragraph number in the answer ("Paragraph 3" / "段落3") against every
  number in the prediction: right numbers / all numbers. count: the same with the answer itself.
- code_sim: the first prediction line (after leading newlines) without `, # or //, compared
  with fuzzywuzzy's `fuzz.ratio` rule (difflib ratio x 100, rounded to an integer) / 100.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Callable, Sequence
from typing import Any

from domaintune.eval.metrics import bag_f1, normalize_en

FIRST_LINE_TASKS = frozenset({"trec", "triviaqa", "samsum", "lsht"})
_ZH_PUNCT = (
    "！？｡。＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝"
    "〞〟〰〾〿–—‘’‛“”„‟…‧﹏."
)
_ALL_PUNCT = frozenset(string.punctuation + _ZH_PUNCT)
_NUMBER = re.compile(r"\d+")


def normalize_zh(text: str) -> str:
    """LongBench's `normalize_zh_answer`: lowercase, punctuation and all whitespace removed."""
    return "".join(ch for ch in text.lower() if ch not in _ALL_PUNCT and not ch.isspace())


def qa_f1(prediction: str, answer: str, **_: Any) -> float:
    """English QA F1 over SQuAD-normalised words."""
    return bag_f1(normalize_en(prediction).split(), normalize_en(answer).split())


def _zh_words(text: str) -> list[str]:
    # jieba keeps whitespace tokens here (they normalise to "" and are dropped).
    from domaintune.eval.metrics import _jieba

    words = (normalize_zh(w) for w in _jieba().lcut(text))
    return [w for w in words if w]


def qa_f1_zh(prediction: str, answer: str, **_: Any) -> float:
    """Chinese QA F1 over normalised jieba words."""
    return bag_f1(_zh_words(prediction), _zh_words(answer))


# ---------------------------------------------------------------- ROUGE-L (the `rouge` package)


def _sentences(text: str) -> list[str]:
    return [" ".join(s.split()) for s in text.split(".") if s]


def _lcs_words(x: list[str], y: list[str]) -> set[str]:
    """The words of one LCS of x and y, traced back as the `rouge` package does (on a tie it
    moves along y)."""
    n, m = len(x), len(y)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if x[i - 1] == y[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    words: set[str] = set()
    i, j = n, m
    while i and j:
        if x[i - 1] == y[j - 1]:
            words.add(x[i - 1])
            i, j = i - 1, j - 1
        elif table[i - 1][j] > table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return words


def rouge_l(prediction: str, answer: str, **_: Any) -> float:
    """The `rouge` package's summary-level ROUGE-L F (0-1); 0 when a side has no sentence."""
    hyp, ref = _sentences(prediction), _sentences(answer)
    if not hyp or not ref:
        return 0.0
    ref_words = {w for s in ref for w in s.split(" ")}
    hyp_words = {w for s in hyp for w in s.split(" ")}
    union: set[str] = set()
    for r in ref:
        for h in hyp:
            union |= _lcs_words(r.split(" "), h.split(" "))
    recall, precision = len(union) / len(ref_words), len(union) / len(hyp_words)
    return 2.0 * (precision * recall) / (precision + recall + 1e-8)


def rouge_l_zh(prediction: str, answer: str, **_: Any) -> float:
    """rouge_l on jieba words joined by spaces."""
    from domaintune.eval.metrics import _jieba

    return rouge_l(" ".join(_jieba().lcut(prediction)), " ".join(_jieba().lcut(answer)))


# ---------------------------------------------------------------- the other tasks


def classification(prediction: str, answer: str, *, all_classes: Sequence[str], **_: Any) -> float:
    """1/len(matches) when the answer is one of the classes found in the prediction, else 0."""
    matches = [c for c in all_classes if c in prediction]
    i = 0
    while i < len(matches):  # LongBench removes while iterating: the next match is skipped
        term = matches[i]
        if term in answer and term != answer:
            matches.remove(term)
        i += 1
    return 1.0 / len(matches) if answer in matches else 0.0


def _share_right(prediction: str, wanted: str) -> float:
    numbers = _NUMBER.findall(prediction)
    return sum(n == wanted for n in numbers) / len(numbers) if numbers else 0.0


def count(prediction: str, answer: str, **_: Any) -> float:
    """Share of the numbers in the prediction that equal the answer."""
    return _share_right(prediction, str(answer))


def _retrieval(pattern: str) -> Callable[..., float]:
    def score(prediction: str, answer: str, **_: Any) -> float:
        found = re.findall(pattern, answer)
        if not found:
            raise ValueError(f"answer {answer!r} names no paragraph ({pattern})")
        return _share_right(prediction, found[0])

    return score


retrieval = _retrieval(r"Paragraph (\d+)")
retrieval_zh = _retrieval(r"段落(\d+)")


def fuzz_ratio(a: str, b: str) -> int:
    """fuzzywuzzy's `fuzz.ratio` without python-Levenshtein: difflib's ratio x 100, rounded;
    100 for equal texts (two empty ones too), else 0 when either is empty."""
    if a == b:
        return 100
    if not a or not b:
        return 0
    return int(round(100 * difflib.SequenceMatcher(None, a, b).ratio()))


def code_sim(prediction: str, answer: str, **_: Any) -> float:
    """fuzz ratio / 100 of the first code line of the prediction against the answer."""
    line = next(
        (s for s in prediction.lstrip("\n").split("\n") if not any(c in s for c in "`#")
         and "//" not in s),
        "",
    )  # fmt: skip
    return fuzz_ratio(line, answer) / 100


METRICS: dict[str, Callable[..., float]] = {
    "qa_f1": qa_f1,
    "qa_f1_zh": qa_f1_zh,
    "rouge": rouge_l,
    "rouge_zh": rouge_l_zh,
    "classification": classification,
    "retrieval": retrieval,
    "retrieval_zh": retrieval_zh,
    "count": count,
    "code_sim": code_sim,
}
# LongBench (v1) `dataset2metric`; LongBench-E uses the same names with an "_e" suffix.
DATASET_METRIC = {
    **dict.fromkeys(
        ["narrativeqa", "qasper", "multifieldqa_en", "hotpotqa", "2wikimqa", "musique",
         "triviaqa"], "qa_f1",
    ),
    "multifieldqa_zh": "qa_f1_zh",
    **dict.fromkeys(["dureader", "vcsum"], "rouge_zh"),
    **dict.fromkeys(["gov_report", "qmsum", "multi_news", "samsum"], "rouge"),
    **dict.fromkeys(["trec", "lsht"], "classification"),
    "passage_retrieval_en": "retrieval",
    "passage_retrieval_zh": "retrieval_zh",
    "passage_count": "count",
    **dict.fromkeys(["lcc", "repobench-p"], "code_sim"),
}  # fmt: skip


def task_of(dataset: str) -> str:
    """The LongBench task of a `dataset` field (LongBench-E's `_e` suffix dropped)."""
    return dataset[:-2] if dataset.endswith("_e") and dataset[:-2] in DATASET_METRIC else dataset


def metric_for(dataset: str) -> str:
    """The metric name of a LongBench task; ValueError naming the known tasks otherwise."""
    task = task_of(dataset)
    if task not in DATASET_METRIC:
        raise ValueError(
            f"unknown LongBench dataset {dataset!r}; known: {', '.join(sorted(DATASET_METRIC))}"
        )
    return DATASET_METRIC[task]


def score_row(
    dataset: str, prediction: str, answers: Sequence[str], all_classes: Sequence[str] = ()
) -> float:
    """One row's score (0-1): the best over its answers, by its task's metric."""
    if task_of(dataset) in FIRST_LINE_TASKS:
        prediction = prediction.lstrip("\n").split("\n")[0]
    metric = METRICS[metric_for(dataset)]
    best = 0.0
    for answer in answers:
        best = max(best, metric(prediction, answer, all_classes=list(all_classes or [])))
    return best


def score_task(
    dataset: str,
    predictions: Sequence[str],
    answers: Sequence[Sequence[str]],
    all_classes: Sequence[str] = (),
) -> float:
    """A task's score as LongBench reports it: round(100 * mean row score, 2)."""
    if not predictions:
        raise ValueError("no predictions to score")
    rows = zip(predictions, answers, strict=True)
    total = sum(score_row(dataset, p, a, all_classes) for p, a in rows)
    return round(100 * total / len(predictions), 2)


# LongBench's prompts (config/dataset2prompt.json): a row's `context` and `input` fill them.
PROMPTS = {
    "narrativeqa": (
        "You are given a story, which can be either a novel or a movie script, and "
        "a question. Answer the question as concisely as you can, using a single "
        "phrase if possible. Do not provide any explanation.\n\nStory: {context}\n"
        "\nNow, answer the question based on the story as concisely as you can, using "
        "a single phrase if possible. Do not provide any explanation.\n\nQuestion: "
        "{input}\n\nAnswer:"
    ),
    "qasper": (
        "You are given a scientific article and a question. Answer the question as "
        "concisely as you can, using a single phrase or sentence if possible. If "
        "the question cannot be answered based on the information in the article, "
        'write "unanswerable". If the question is a yes/no question, answer "yes", '
        '"no", or "unanswerable". Do not provide any explanation.\n\nArticle: '
        "{context}\n\n Answer the question based on the above article as concisely "
        "as you can, using a single phrase or sentence if possible. If the question "
        'cannot be answered based on the information in the article, write "unanswerable'
        '". If the question is a yes/no question, answer "yes", "no", or "unanswera'
        'ble". Do not provide any explanation.\n\nQuestion: {input}\n\nAnswer:'
    ),
    "multifieldqa_en": (
        "Read the following text and answer briefly.\n\n{context}\n\nNow, answer "
        "the following question based on the above text, only give me the answer "
        "and do not output any other words.\n\nQuestion: {input}\nAnswer:"
    ),
    "multifieldqa_zh": (
        "阅读以下文字并用中文简短回答：\n\n{context}\n\n现在请基于上面的文章回答下面的问题"
        "，只告诉我答案，不要输出任何其他字词。\n\n问题：{input}\n回答："
    ),
    "hotpotqa": (
        "Answer the question based on the given passages. Only give me the answer "
        "and do not output any other words.\n\nThe following are given passages.\n"
        "{context}\n\nAnswer the question based on the given passages. Only give "
        "me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:"
    ),
    "2wikimqa": (
        "Answer the question based on the given passages. Only give me the answer "
        "and do not output any other words.\n\nThe following are given passages.\n"
        "{context}\n\nAnswer the question based on the given passages. Only give "
        "me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:"
    ),
    "musique": (
        "Answer the question based on the given passages. Only give me the answer "
        "and do not output any other words.\n\nThe following are given passages.\n"
        "{context}\n\nAnswer the question based on the given passages. Only give "
        "me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:"
    ),
    "dureader": (
        "请基于给定的文章回答下述问题。\n\n文章：{context}\n\n请基于上述文章回答下面的问题"
        "。\n\n问题：{input}\n回答："
    ),
    "gov_report": (
        "You are given a report by a government agency. Write a one-page summary "
        "of the report.\n\nReport:\n{context}\n\nNow, write a one-page summary of "
        "the report.\n\nSummary:"
    ),
    "qmsum": (
        "You are given a meeting transcript and a query containing a question or "
        "instruction. Answer the query in one or more sentences.\n\nTranscript:\n"
        "{context}\n\nNow, answer the query based on the above meeting transcript "
        "in one or more sentences.\n\nQuery: {input}\nAnswer:"
    ),
    "multi_news": (
        "You are given several news passages. Write a one-page summary of all news. "
        "\n\nNews:\n{context}\n\nNow, write a one-page summary of all the news.\n"
        "\nSummary:"
    ),
    "vcsum": (
        "下面有一段会议记录，请你阅读后，写一段总结，总结会议的内容。\n会议记录：\n"
        "{context}\n\n会议总结："
    ),
    "trec": (
        "Please determine the type of the question below. Here are some examples "
        "of questions.\n\n{context}\n{input}"
    ),
    "triviaqa": (
        "Answer the question based on the given passage. Only give me the answer "
        "and do not output any other words. The following are some examples.\n\n{context}"
        "\n\n{input}"
    ),
    "samsum": (
        "Summarize the dialogue into a few short sentences. The following are some "
        "examples.\n\n{context}\n\n{input}"
    ),
    "lsht": ("请判断给定新闻的类别，下面是一些例子。\n\n{context}\n{input}"),
    "passage_count": (
        "There are some paragraphs below sourced from Wikipedia. Some of them may "
        "be duplicates. Please carefully read these paragraphs and determine how "
        "many unique paragraphs there are after removing duplicates. In other words, "
        "how many non-repeating paragraphs are there in total?\n\n{context}\n\nPlease "
        "enter the final count of unique paragraphs after removing duplicates. The "
        "output format should only contain the number, such as 1, 2, 3, and so on.\n"
        "\nThe final answer is: "
    ),
    "passage_retrieval_en": (
        "Here are 30 paragraphs from Wikipedia, along with an abstract. Please determine "
        "which paragraph the abstract is from.\n\n{context}\n\nThe following is an "
        "abstract.\n\n{input}\n\nPlease enter the number of the paragraph that the "
        'abstract is from. The answer format must be like "Paragraph 1", "Paragraph '
        '2", etc.\n\nThe answer is: '
    ),
    "passage_retrieval_zh": (
        "以下是若干段落文字，以及其中一个段落的摘要。请确定给定的摘要出自哪一段。"
        "\n\n{context}\n\n下面是一个摘要\n\n{input}\n\n请输入摘要所属段落的编号。"
        '答案格式必须是"段落1"，"段落2"等格式\n\n答案是：'
    ),
    "lcc": ("Please complete the code given below. \n{context}Next line of code:\n"),
    "repobench-p": ("Please complete the code given below. \n{context}{input}Next line of code:\n"),
}
