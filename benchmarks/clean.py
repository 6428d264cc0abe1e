"""`data clean` throughput: ours vs datatrove's equivalent pipeline, in the same run.

- ours: clean_documents (HTML extraction, ftfy + NFKC, boilerplate lines, language id, every
  quality filter), one process.
- datatrove (when installed: `pip install -e '.[bench]'`): its Trafilatura extractor (in its
  sandbox process, favour_precision) on the HTML pages, its FTFYFormatter, the same language ID
  as ours (langid, via detect_language: datatrove's own LanguageFilter downloads a fastText model,
  which this offline machine cannot), then GopherRepetitionFilter, GopherQualityFilter,
  C4QualityFilter and FineWebQualityFilter per language (`en`; `cmn` = jieba words for Chinese,
  with the rules that assume English words off: stop words, mean word length, C4's ASCII
  terminal punctuation; FineWeb's char-duplicate and list rules, which ours does not have).
  Figures: docs/s and the kept sets' agreement.
- baseline "trafilatura+ftfy": trafilatura.extract on HTML pages, then ftfy.fix_text; no filters.
- language ID: detect_language (langid's model on the nonzero features) vs langid's classify,
  the same (lang, score) on every document.

Corpus: the bundled zh and en medical documents, repeated to --docs, every other one wrapped in an
HTML page with navigation, a cookie banner and a footer.
Run: .venv/bin/python benchmarks/clean.py [--docs 3000] [--smoke]
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import time

from domaintune.data.clean import (
    CleanConfig,
    clean_documents,
    detect_language,
    detect_language_reference,
)
from domaintune.data.clean_text import html_to_text, looks_like_html
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


def datatrove_available() -> bool:
    try:
        import datatrove.pipeline.filters  # noqa: F401
        import jieba  # noqa: F401
        import spacy  # noqa: F401
    except ImportError:
        return False
    return True


def _datatrove_filters(lang: str) -> list:
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    zh = lang == "zh"
    language = "cmn" if zh else "en"
    # Rules written for English words, off for Chinese (jieba words are 1-3 characters and
    # punctuation marks come out as words): as a datatrove user adapting the pipeline would.
    gopher_zh = {
        "min_avg_word_length": None,
        "max_avg_word_length": None,
        "min_stop_words": None,
        "max_non_alpha_words_ratio": None,
    }
    c4_zh = {"filter_no_terminal_punct": False, "min_words_per_line": -1}
    return [
        GopherRepetitionFilter(language=language),
        GopherQualityFilter(language=language, **(gopher_zh if zh else {})),
        C4QualityFilter(language=language, **(c4_zh if zh else {})),
        # The two FineWeb rules ours has (line punctuation, short lines; 15 characters for
        # Chinese as ours); its char-duplicate and list rules off (ours: Gopher's duplicates).
        FineWebQualityFilter(
            language=language,
            short_line_length=15 if zh else 30,
            char_duplicates_ratio=1.0,
            new_line_ratio=1e9,
        ),
    ]


def run_datatrove(docs: list[Document], chains: dict) -> set[str]:
    """Ids datatrove's pipeline keeps (steps built once by the caller: `chains`)."""
    from datatrove.data import Document as DTDocument

    extract, ftfy_step = chains["extract"], chains["ftfy"]
    html = [DTDocument(text=d.text, id=d.id) for d in docs if looks_like_html(d.text)]
    plain = [DTDocument(text=d.text, id=d.id) for d in docs if not looks_like_html(d.text)]
    by_lang: dict[str, list] = {"zh": [], "en": []}
    for doc in ftfy_step.run(itertools.chain(extract.run(iter(html)), plain)):
        lang, score = detect_language(doc.text)
        if lang in by_lang and score >= CleanConfig().lang_min_score:
            by_lang[lang].append(doc)
    kept = set()
    for lang, stream in by_lang.items():
        out = iter(stream)
        for step in chains[lang]:
            out = step.run(out)
        kept.update(d.id for d in out)
    return kept


def datatrove_chains() -> dict:
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.formatters import FTFYFormatter
    from loguru import logger

    logger.disable("datatrove")  # its per-step INFO lines
    return {
        "extract": Trafilatura(favour_precision=True),
        "ftfy": FTFYFormatter(),
        **{lang: _datatrove_filters(lang) for lang in ("zh", "en")},
    }


def ours_kept(docs: list[Document]) -> set[str]:
    return {r.doc.id for r in clean_documents(docs) if r.kept}


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def language_id_check(docs: list[Document]) -> dict:
    """detect_language vs langid's own classify on the documents' text: equal, and how fast."""
    texts = [html_to_text(d.text) if looks_like_html(d.text) else d.text for d in docs]
    ours_s, ours = timed(lambda: [detect_language(t) for t in texts])
    ref_s, ref = timed(lambda: [detect_language_reference(t) for t in texts])
    return {
        "docs": len(texts),
        "equal": ours == ref,
        "ours_ms_per_doc": round(1000 * ours_s / len(texts), 3),
        "langid_classify_ms_per_doc": round(1000 * ref_s / len(texts), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=3000)
    parser.add_argument("--smoke", action="store_true", help="a few dozen documents, seconds")
    parser.add_argument("--no-datatrove", dest="datatrove", action="store_false")
    args = parser.parse_args()
    if args.smoke:
        args.docs, args.datatrove = 40, False
    docs = build_corpus(args.docs)
    detect_language("warm up")  # load langid's model outside the timing
    baseline(docs[:10])  # and trafilatura's imports
    ours_s, kept = timed(ours_kept, docs)
    base_s, base_kept = timed(baseline, docs)
    ours_rate, base_rate = len(docs) / ours_s, len(docs) / base_s
    print(f"ours: {ours_rate:.1f} docs/s ({len(kept)} of {len(docs)} kept)")
    print(f"trafilatura+ftfy: {base_rate:.1f} docs/s ({base_kept} kept, no filtering)")
    result = {
        "docs": len(docs),
        "ours_docs_per_s": round(ours_rate, 1),
        "ours_kept": len(kept),
        "baseline_docs_per_s": round(base_rate, 1),
        "ratio_ours_over_baseline": round(ours_rate / base_rate, 3),
        "language_id": language_id_check(docs[: min(len(docs), 400)]),
    }
    print(f"language id: {result['language_id']}")
    if args.datatrove and datatrove_available():
        chains = datatrove_chains()
        run_datatrove(docs[:10], chains)  # imports, jieba's dictionary, the sandbox process
        dt_s, dt_kept = timed(run_datatrove, docs, chains)
        both = kept & dt_kept
        result["datatrove"] = {
            "docs_per_s": round(len(docs) / dt_s, 1),
            "kept": len(dt_kept),
            "kept_by_both": len(both),
            "agreement": round((len(docs) - len(kept ^ dt_kept)) / len(docs), 4),
            "kept_jaccard": round(len(both) / max(len(kept | dt_kept), 1), 4),
        }
        result["ratio"] = round(ours_rate / result["datatrove"]["docs_per_s"], 3)
        print(f"datatrove: {result['datatrove']}; ours/datatrove {result['ratio']}x")
    else:
        result["ratio"] = result["ratio_ours_over_baseline"]  # datatrove not installed
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
