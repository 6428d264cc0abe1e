"""Build src/domaintune/resources/data/raw/: the quickstart's raw crawl (deterministic).

The medical documents of domain_corpus_{zh,en}.jsonl arrive as a crawl would: HTML pages with
site chrome (navigation, cookie banners, share and follow lines, related-article lists, ads,
footers), plain text files and a JSONL dump, with planted problems that `data clean`, `data dedup`
and `data decontaminate` must find: exact and near duplicates, copies of held-out documents and
of exam questions, documents too short or garbled to keep, pages that are only navigation,
pages in another language, and a file of a type no reader takes. `raw_manifest.json` (beside
the folder) lists what was planted, by kind and id.

    python scripts/make_raw_corpus.py [--out DIR]
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import shutil
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "src" / "domaintune" / "resources" / "data"
SEED = 20261203

NAV = {
    "en": ["Home", "Conditions", "Medicines", "Tests", "News", "About us", "Contact"],
    "zh": ["首页", "疾病百科", "用药指南", "检查项目", "健康资讯", "关于我们", "联系我们"],
}
COOKIE = {
    "en": "We use cookies to improve your experience. By continuing you accept our cookie policy.",
    "zh": "本站使用Cookie以改善您的浏览体验，继续浏览即表示您同意我们的Cookie政策。",
}
SHARE = {
    "en": "Share this article: Facebook | Twitter | Email",
    "zh": "分享到：微信 | 微博 | QQ空间",
}
FOLLOW = {"en": "Sign in to save this article.", "zh": "扫码关注公众号，获取更多健康知识"}
AD = {"en": "Advertisement", "zh": "广告"}
FOOTER = {
    "en": "Copyright 2026 Example Health Network. All rights reserved. Privacy policy | Terms",
    "zh": "版权所有 © 2026 示例健康网 保留所有权利 | 隐私政策 | 免责声明",
}
RELATED = {"en": "Related articles", "zh": "相关文章"}
PREV_NEXT = {"en": ("Previous", "Next"), "zh": ("上一篇", "下一篇")}
OTHER_LANGUAGE = [
    "La tension artérielle est la pression exercée par le sang sur la paroi des artères. "
    "Une hypertension non traitée augmente le risque d'accident vasculaire cérébral, "
    "d'infarctus du myocarde et d'insuffisance rénale. Le traitement associe des mesures "
    "hygiéno-diététiques, comme la réduction du sel et l'activité physique régulière, et des "
    "médicaments choisis selon le profil du patient. " * 3,
    "Der Blutdruck ist der Druck, den das Blut auf die Gefäßwände ausübt. Ein unbehandelter "
    "Bluthochdruck erhöht das Risiko für Schlaganfall, Herzinfarkt und Nierenversagen. Die "
    "Behandlung umfasst eine salzarme Ernährung, regelmäßige Bewegung und Medikamente, die "
    "nach dem Profil des Patienten ausgewählt werden. " * 3,
]


def _jsonl(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _lang(doc: dict) -> str:
    return "zh" if doc["id"].startswith("med-zh") or "zh" in doc.get("source", "") else "en"


def _page(title: str, body: str, lang: str, rng: random.Random, related: list[str]) -> str:
    """One article page: chrome around <article>, paragraphs from the text's blank lines."""
    e = html.escape
    nav = " | ".join(f'<a href="/{i}">{e(x)}</a>' for i, x in enumerate(NAV[lang]))
    paragraphs = "\n".join(f"<p>{e(p.strip())}</p>" for p in body.split("\n\n") if p.strip())
    links = "".join(f'<li><a href="/a/{i}">{e(t)}</a></li>' for i, t in enumerate(related))
    prev, nxt = PREV_NEXT[lang]
    parts = [
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{e(title)}'
        f"</title></head>\n<body>",
        f'<div class="cookie-banner">{e(COOKIE[lang])} <button>OK</button></div>',
        f'<header><nav class="menu">{nav}</nav></header>',
        f'<div class="ad">{AD[lang]}</div>' if rng.random() < 0.5 else "",
        f"<main><article><h1>{e(title)}</h1>\n{paragraphs}\n</article>",
        f'<div class="share">{e(SHARE[lang])}</div>',
        f'<p class="follow">{e(FOLLOW[lang])}</p>' if rng.random() < 0.5 else "",
        f"<aside><h3>{RELATED[lang]}</h3><ul>{links}</ul></aside>",
        f'<div class="pager"><a href="/p">{prev}</a> <a href="/n">{nxt}</a></div></main>',
        f"<footer>{e(FOOTER[lang])}</footer>\n</body></html>\n",
    ]
    return "\n".join(p for p in parts if p)


def _split(doc: dict) -> tuple[str, str]:
    title, _, body = doc["text"].partition("\n\n")
    return title.strip(), body


def _near_copy(text: str, rng: random.Random, lang: str) -> str:
    """One realistic edit: a sentence dropped, a sentence added, or punctuation changed."""
    paras = [p for p in text.split("\n\n") if p.strip()]
    kind = rng.choice(["drop", "add", "punct"])
    if kind == "drop" and len(paras) > 4:
        k = rng.randrange(1, len(paras))
        sentences = re.findall(r".+?(?:[。！？]|[.!?](?=\s)|$)\s*", paras[k], flags=re.S)
        if len(sentences) > 1:  # the paragraph's last sentence, else the one-sentence paragraph
            paras[k] = "".join(sentences[:-1]).rstrip()
        else:
            del paras[k]
    elif kind == "punct":
        return text.replace("。", "；", 2) if lang == "zh" else text.replace(". ", "; ", 2)
    else:
        extra = {
            "zh": "如有疑问，请咨询医生或药师。",
            "en": "If in doubt, ask your doctor or pharmacist.",
        }[lang]
        paras.insert(rng.randrange(1, len(paras) + 1), extra)
    return "\n\n".join(paras)


def _exam_page(items: list[dict], rng: random.Random) -> tuple[str, str]:
    """A 'practice questions' page that copies exam items verbatim (a leak to remove)."""
    lines = []
    for it in items:
        opts = " ".join(f"{k}. {it[k]}" for k in "ABCD")
        lines.append(f"{it['question']} {opts} 答案：{it['answer']}。{it.get('explanation', '')}")
    body = "\n\n".join(lines)
    intro = "以下是执业医师考试的常见练习题及解析，供复习参考。每道题后附有答案和简要解析。"
    return "执业医师考试练习题", intro + "\n\n" + body


def build(out: Path) -> dict:
    rng = random.Random(SEED)
    docs = _jsonl("domain_corpus_zh.jsonl") + _jsonl("domain_corpus_en.jsonl")
    rng.shuffle(docs)
    heldout, exam = _jsonl("heldout_domain.jsonl"), _jsonl("mcq_domain.jsonl")
    if out.exists():
        shutil.rmtree(out)
    (out / "site").mkdir(parents=True)
    (out / "notes").mkdir()
    planted: dict[str, list[str]] = {k: [] for k in (
        "exact_duplicate", "near_duplicate", "heldout_copy", "exam_copy", "too_short",
        "garbled", "navigation_only", "other_language", "unsupported_file",
    )}  # fmt: skip
    titles = [_split(d)[0] for d in docs]
    crawl: list[dict] = []
    for doc in docs:
        lang, (title, body) = _lang(doc), _split(doc)
        related = rng.sample(titles, 3)
        where = rng.random()
        if where < 0.45:  # an article page
            (out / "site" / f"{doc['id']}.html").write_text(
                _page(title, body, lang, rng, related), encoding="utf-8"
            )
        elif where < 0.65:  # a plain text file
            (out / "notes" / f"{doc['id']}.txt").write_text(doc["text"] + "\n", encoding="utf-8")
        else:  # a row of the crawl dump
            crawl.append({"id": doc["id"], "url": f"https://example.org/{doc['id']}",
                          "text": doc["text"]})  # fmt: skip
    picks = rng.sample(docs, 90)
    for k, doc in enumerate(picks[:45]):  # the same text again under another id
        copy_id = f"{doc['id']}-mirror{k}"
        crawl.append({"id": copy_id, "url": f"https://mirror.example.net/{k}", "text": doc["text"]})
        planted["exact_duplicate"].append(copy_id)
    for k, doc in enumerate(picks[45:]):  # one edit away
        copy_id = f"{doc['id']}-edited{k}"
        text = _near_copy(doc["text"], rng, _lang(doc))
        crawl.append({"id": copy_id, "url": f"https://repost.example.com/{k}", "text": text})
        planted["near_duplicate"].append(copy_id)
    for k, doc in enumerate(rng.sample(heldout, 6)):  # held-out text must not be trained on
        title, body = _split(doc)
        name = f"site/heldout-copy-{k}.html"
        lang = "zh" if "zh" in doc["id"] else "en"
        (out / name).write_text(_page(title, body, lang, rng, []), encoding="utf-8")
        planted["heldout_copy"].append(name.removesuffix(".html"))
    zh_exam = [it for it in exam if any("\u4e00" <= ch <= "\u9fff" for ch in it["question"])]
    for k in range(2):
        title, body = _exam_page(zh_exam[6 * k : 6 * k + 6], rng)
        name = f"site/practice-{k}.html"
        (out / name).write_text(_page(title, body, "zh", rng, []), encoding="utf-8")
        planted["exam_copy"].append(name.removesuffix(".html"))
    for k, text in enumerate(["Call us today.", "联系我们：400-000-0000", "Page not found."]):
        (out / "notes" / f"short-{k}.txt").write_text(text + "\n", encoding="utf-8")
        planted["too_short"].append(f"notes/short-{k}")
    donor = docs[0]["text"]
    mojibake = donor.encode("utf-8").decode("latin-1")  # UTF-8 read as Latin-1: Ã¦Â‚Â£...
    crawl.append({"id": "garbled-0", "url": "https://example.org/g0", "text": mojibake})
    crawl.append({"id": "garbled-1", "url": "https://example.org/g1",
                  "text": "".join(rng.choice("锟斤拷烫屯�") for _ in range(600))})  # fmt: skip
    planted["garbled"] += ["garbled-0", "garbled-1"]
    for k, lang in enumerate(("en", "zh")):
        name = f"site/index-{lang}.html"
        (out / name).write_text(_page("", "", lang, rng, titles[k * 8 : k * 8 + 8]), "utf-8")
        planted["navigation_only"].append(name.removesuffix(".html"))
    for k, text in enumerate(OTHER_LANGUAGE):
        crawl.append({"id": f"other-language-{k}", "url": f"https://example.eu/{k}", "text": text})
        planted["other_language"].append(f"other-language-{k}")
    (out / "site" / "brochure.pdf").write_bytes(b"%PDF-1.4\n% a scanned brochure, not text\n")
    planted["unsupported_file"].append("site/brochure.pdf")
    rng.shuffle(crawl)
    with open(out / "crawl.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in crawl)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    by_type: dict[str, int] = {}
    for p in files:
        by_type[p.suffix] = by_type.get(p.suffix, 0) + 1
    manifest = {
        "seed": SEED,
        "documents": len(docs),
        "files_by_type": by_type,
        "crawl_rows": len(crawl),
        "bytes": sum(p.stat().st_size for p in files),
        "planted": {k: {"count": len(v), "ids": v} for k, v in planted.items()},
    }
    listing = out.with_name(f"{out.name}_manifest.json")  # beside the folder: not a document
    listing.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA / "raw")
    args = parser.parse_args()
    manifest = build(args.out)
    counts = {k: v["count"] for k, v in manifest["planted"].items()}
    print(f"wrote {args.out}: {manifest['files_by_type']}, {manifest['bytes']:,} bytes; {counts}")


if __name__ == "__main__":
    main()
