"""`data decontaminate`: drop training rows that share a long n-gram with an evaluation item."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domaintune.data.accounting import Counts, Rejects, progress, write_report
from domaintune.data.minhash import text_tokens
from domaintune.data.parallel import Engine
from domaintune.data.ray_read import map_rows
from domaintune.data.ray_shards import open_output
from domaintune.data.rows import output_row
from domaintune.io import PathLike, label, read_eval_items, read_records
from domaintune.records import Conversation, DataError, Document
from domaintune.text import is_han

# GPT-3's contamination rule: 13-gram overlap on words (Brown et al. 2020, Appendix C).
WORD_NGRAM = 13
# Chinese has no spaces: character n-grams. 25 characters ~ 13 words at about 2 characters per
# word (our conversion, not from a paper).
CHAR_NGRAM = 25
# One unit per CJK character, one per run of other letters/digits; punctuation and case dropped:
# the same tokens as `data dedup` shingles.
units = text_tokens


def _is_chinese(toks: list[str]) -> bool:
    return sum(is_han(t) for t in toks) * 2 >= len(toks)


def _grams(toks: list[str], n: int) -> Iterator[str]:
    for i in range(len(toks) - n + 1):
        yield " ".join(toks[i : i + n])


@dataclass
class EvalIndex:
    """N-grams of evaluation texts: word n-grams for spaced text, character n-grams for Chinese."""

    word_n: int = WORD_NGRAM
    char_n: int = CHAR_NGRAM
    grams: dict[int, dict[str, str]] = field(default_factory=dict)  # n -> n-gram -> eval item id
    items: int = 0
    too_short: list[str] = field(default_factory=list)  # items with no n-gram: cannot be checked

    def add(self, item_id: str, texts: Iterable[str]) -> None:
        """Index one evaluation item (its question, choices ...), each text on its own."""
        self.items += 1
        found = False
        for text in texts:
            toks = units(text)
            n = self.char_n if _is_chinese(toks) else self.word_n
            table = self.grams.setdefault(n, {})
            for gram in _grams(toks, n):
                table.setdefault(gram, item_id)
                found = True
        if not found:
            self.too_short.append(item_id)

    def first_hit(self, text: str) -> tuple[str, str] | None:
        """(eval item id, overlapping n-gram) for the first n-gram of `text` found, else None."""
        toks = units(text)
        for n, table in self.grams.items():
            for gram in _grams(toks, n):
                if gram in table:
                    return table[gram], gram.replace(" ", "") if n == self.char_n else gram
        return None


def _eval_texts(path: PathLike) -> Iterator[tuple[str, list[str]]]:
    """(id, texts) per eval item: the question and options, or an open question's question and
    reference answer (alpaca rows read as open questions too); else each record's text."""
    try:
        items = list(read_eval_items(path))
    except DataError:
        items = None  # not question rows: held-out documents or conversations
    if items is not None:
        for item in items:
            if item.choices is None:
                yield item.id, [item.question, item.answer]
                continue
            # A copied exam item is the question and its options together (C-Eval's layout:
            # "question A. ... B. ..."): a short question or option alone may be too short.
            laid_out = "\n".join([item.question, *(f"{k}. {v}" for k, v in item.choices.items())])
            yield item.id, [item.question, *item.choices.values(), laid_out]
        return
    for record in read_records(path):
        yield record.id, [record_text(record)]


def build_index(paths: Iterable[PathLike], *, word_n: int = WORD_NGRAM, char_n: int = CHAR_NGRAM):
    """Index every item of the evaluation files (ids prefixed by the file name)."""
    index = EvalIndex(word_n=word_n, char_n=char_n)
    for path in paths:
        for item_id, texts in _eval_texts(path):
            index.add(f"{Path(path).name}:{item_id}", texts)
    return index


def record_text(record: Document | Conversation) -> str:
    """All the text of a training row: a document's text, or a conversation's every turn."""
    if isinstance(record, Document):
        return record.text
    return "\n".join([record.system or "", *(m.content for m in record.messages)])


def _check_chunk(pairs: list, *, index: EvalIndex) -> list[tuple[Any, tuple[str, str] | None]]:
    return [((row, r), index.first_hit(record_text(r))) for row, r in pairs]


def decontaminate_file(
    src: PathLike,
    out: PathLike,
    index: EvalIndex,
    *,
    rejects: PathLike | None = None,
    report: PathLike | None = None,
    num_proc: int = 1,
    engine: Engine | None = None,
    shards: int | None = None,
) -> tuple[Counts, list[dict[str, Any]]]:
    """Copy the rows of `src` that overlap no evaluation item to `out`; return counts and hits."""
    import json

    counts, hits = Counts(), []
    # Large chunks: the eval index travels with every chunk sent to a worker process. On Ray the
    # workers read the input (ray_read).
    checked = map_rows(
        functools.partial(_check_chunk, index=index), src, pairs=True, records=True,
        num_proc=num_proc, chunk_size=2048, engine=engine,
    )  # fmt: skip
    # a folder output (`out/`, or `shards`): part files (ray_shards)
    with open_output(out, shards) as f, Rejects(rejects, counts) as rej:
        for (row, record), hit in progress(checked, f"decontaminating {label(src)}"):
            counts.read += 1
            row = output_row(row, record)  # the input's own format and id
            if hit is None:
                counts.kept += 1
                f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                continue
            value = {"eval_item": hit[0], "ngram": hit[1]}
            hits.append({"id": record.id, **value})
            rej.add(row, "eval_overlap", value)
    write_report(
        report,
        counts,
        hits=hits,
        eval_items=index.items,
        eval_items_too_short=index.too_short,
        ngram={"words": index.word_n, "chinese_chars": index.char_n},
    )
    return counts, hits


from domaintune.verbs import make_callable  # noqa: E402 (last: the module is complete)

make_callable(__name__, "domaintune.data.api:decontaminate")  # dt.data.decontaminate(...)
