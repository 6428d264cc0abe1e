"""`data clean` throughput: ours vs what a user would otherwise write, in the same run.

- ours: clean_documents (HTML extraction, ftfy + NFKC, boilerplate lines, language id, every
  quality filter), one process.
- baseline "trafilatura+ftfy": trafilatura.extract on HTML pages, then ftfy.fix_text; no filters.

Corpus: the bundled zh and en medical documents, repeated to --docs, every other one wrapped in an
HTML page with navigation, a cookie banner and a footer.
Run: .venv/bin/python benchmarks/clean.py [--docs 3000]
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import time

from domaintune.data.clean import clean_documents, detect_language
from domaintune.io import read_documents
from domaintune.records import Document
from domaintune.resources import data_path

PAGE = (
    "<html><head><title>{title}</title></head><body>"
    "<nav><a href='/'>首页</a> | <a href='/news'>News</a> | <a href='/about'>关于我们</a></nav>"
    "<div class='cookie'>We use cookies to improve your experience.</div>"
    "<article><h1>{title}</h1>{paragraphs}</article>"
    "<footer>版权所有 © 2024 Example Health. All rights reserved.</footer></body></html>"
)


def build_corpus(n: int) -> list[Document]:
    """n documents, zh and en alternating sources, every other one as an HTML page."""
    base = [
        *read_documents(data_path("domain_corpus_zh.jsonl")),
        *read_documents(data_path("domain_corpus_en.jsonl")),
    ]
    docs = []
    for i, doc in enumerate(itertools.islice(itertools.cycle(base), n)):
        text = doc.text
        if i % 2:
            paras = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p.strip())
            text = PAGE.format(title=html.escape(text.split("\n")[0]), paragraphs=paras)
        docs.append(Document(f"b{i}", text, source=doc.source))
    return docs


def baseline(docs: list[Document]) -> int:
    import ftfy
    import trafilatura

    kept = 0
    for doc in docs:
        text = doc.text
        if text.startswith("<html"):
            text = trafilatura.extract(text) or ""
        kept += bool(ftfy.fix_text(text).strip())
    return kept


def timed(fn, docs) -> tuple[float, int]:
    start = time.perf_counter()
    kept = fn(docs)
    return len(docs) / (time.perf_counter() - start), kept


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=3000)
    args = parser.parse_args()
    docs = build_corpus(args.docs)
    detect_language("warm up")  # load langid's model outside the timing
    baseline(docs[:10])  # and trafilatura's imports
    ours_rate, ours_kept = timed(lambda d: sum(r.kept for r in clean_documents(d)), docs)
    base_rate, base_kept = timed(baseline, docs)
    print(f"ours: {ours_rate:.1f} docs/s ({ours_kept} of {len(docs)} kept)")
    print(f"trafilatura+ftfy: {base_rate:.1f} docs/s ({base_kept} kept, no filtering)")
    result = {
        "docs": len(docs),
        "ours_docs_per_s": round(ours_rate, 1),
        "baseline_docs_per_s": round(base_rate, 1),
        "ratio_ours_over_baseline": round(ours_rate / base_rate, 3),
        "ours_kept": ours_kept,
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
